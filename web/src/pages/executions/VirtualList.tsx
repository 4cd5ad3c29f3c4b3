// A list that renders only the rows in view (plus a margin): fixed-height
// rows absolutely placed in a spacer as tall as all of them, so 5,000 events
// cost the DOM of about thirty. It follows the end while scrolled there
// (from the start when follow is set, else it opens at the first row).
// The viewport is a whole number of rows (at most height, at least one, no
// taller than the rows), its border outside, so no row shows cut in half.
// Rows are keyed by index (the list only grows at its end), so a row that
// stays in view keeps its element; the caller's row can be a memo component.
// Rows are plain elements placed by the style property (CSSOM, which the CSP
// allows) under one sx rule: no per-row style to compute on each render.
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
  const [atEnd, setAtEnd] = useState(follow);
  const total = items.length * rowHeight;
  const view = Math.max(1, Math.min(items.length, Math.floor(height / rowHeight))) * rowHeight;
  // Following the end, the window is the last rows: known here, so it renders
  // once, and the layout effect only moves the scroll bar to it.
  const following = atEnd;
  const viewTop = following ? Math.max(0, total - view) : top;

  useLayoutEffect(() => {
    const el = ref.current;
    if (el && following && el.scrollTop !== viewTop) el.scrollTop = viewTop;
  }, [following, viewTop]);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const onScroll = () => {
      setTop(el.scrollTop);
      setAtEnd(el.scrollTop + el.clientHeight >= el.scrollHeight - rowHeight);
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    return () => el.removeEventListener('scroll', onScroll);
  }, [rowHeight]);

  const overscan = 10;
  const first = Math.max(0, Math.floor(viewTop / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((viewTop + view) / rowHeight) + overscan);
  const rows: ReactNode[] = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div key={i} role="listitem" style={{ top: i * rowHeight }}>
        {row(items[i] as T, i)}
      </div>,
    );
  }
  return (
    <Box
      ref={ref}
      tabIndex={0}
      role="region"
      aria-label={label}
      sx={{
        height: view,
        boxSizing: 'content-box',
        overflowY: 'auto',
        position: 'relative',
        border: 1,
        borderColor: 'divider',
        borderRadius: 1,
        '& > [role=list] > [role=listitem]': { position: 'absolute', left: 0, right: 0, height: rowHeight },
      }}
    >
      <Box role="list" aria-label={`${label}: ${items.length}`} sx={{ height: total, position: 'relative' }}>
        {rows}
      </Box>
    </Box>
  );
}
