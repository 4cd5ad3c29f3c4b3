// A list that renders only the rows in view (plus a margin): fixed-height
// rows absolutely placed in a spacer as tall as all of them, so 5,000 events
// cost the DOM of about thirty. It follows the end while scrolled there.
import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { Box } from '@mui/material';

export function VirtualList<T>({
  items,
  rowHeight,
  height,
  label,
  row,
  follow = true,
}: {
  items: T[];
  rowHeight: number;
  height: number;
  label: string;
  row: (item: T, index: number) => ReactNode;
  follow?: boolean;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const atEnd = useRef(true);
  const total = items.length * rowHeight;

  useLayoutEffect(() => {
    const el = ref.current;
    if (el && follow && atEnd.current) {
      el.scrollTop = Math.max(0, total - height);
      setTop(el.scrollTop);
    }
  }, [total, height, follow]);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const onScroll = () => {
      setTop(el.scrollTop);
      atEnd.current = el.scrollTop + el.clientHeight >= el.scrollHeight - rowHeight;
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    return () => el.removeEventListener('scroll', onScroll);
  }, [rowHeight]);

  const overscan = 10;
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((top + height) / rowHeight) + overscan);
  const rows: ReactNode[] = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <Box key={i} role="listitem" sx={{ position: 'absolute', top: i * rowHeight, left: 0, right: 0, height: rowHeight }}>
        {row(items[i] as T, i)}
      </Box>,
    );
  }
  return (
    <Box
      ref={ref}
      tabIndex={0}
      role="region"
      aria-label={label}
      sx={{ height, overflowY: 'auto', position: 'relative', border: 1, borderColor: 'divider', borderRadius: 1 }}
    >
      <Box role="list" aria-label={`${label}: ${items.length}`} sx={{ height: total, position: 'relative' }}>
        {rows}
      </Box>
    </Box>
  );
}
