// Pieces of the executions pages: the status chip (colours checked for
// contrast in both themes) and the sanitised Markdown of an output
// (CommonMark with GitHub's extensions: tables, strikethrough, task lists,
// autolinks, footnotes).
import { Box, Chip, Link } from '@mui/material';
import { useTheme } from '@mui/material/styles';
import Markdown, { type Components } from 'react-markdown';
import remarkGfm from 'remark-gfm';

const PENDING = { light: '#475569', dark: '#cbd5e1' };
const COLOURS: Record<string, { light: string; dark: string }> = {
  pending: { light: '#475569', dark: '#cbd5e1' },
  queued: { light: '#475569', dark: '#cbd5e1' },
  running: { light: '#1d4ed8', dark: '#93c5fd' },
  retrying: { light: '#6d28d9', dark: '#c4b5fd' },
  succeeded: { light: '#166534', dark: '#86efac' },
  failed: { light: '#b91c1c', dark: '#fca5a5' },
  cancelled: { light: '#9a3412', dark: '#fdba74' },
};

export function StatusChip({ status, label }: { status: string; label?: string }) {
  const mode = useTheme().palette.mode;
  const c = (COLOURS[status] ?? PENDING)[mode];
  return (
    <Chip
      size="small"
      variant="outlined"
      label={label ?? status}
      data-status={status}
      sx={{ color: c, borderColor: c, fontWeight: 600 }}
    />
  );
}

export function statusColour(status: string, mode: 'light' | 'dark'): string {
  return (COLOURS[status] ?? PENDING)[mode];
}

// Markdown with no raw HTML (react-markdown drops it), javascript: and other
// unsafe URLs removed by its urlTransform, links opened with rel=noopener,
// images shown as links (the CSP loads no image from elsewhere), and a task
// list's checkboxes shown as a read-only mark with its state in words.
const components: Components = {
  input: ({ type, checked }) =>
    type === 'checkbox' ? (
      <Box component="span" role="img" aria-label={checked ? 'done' : 'not done'} sx={{ mr: 0.5 }}>
        {checked ? '☑' : '☐'}
      </Box>
    ) : null,
  a: ({ href, children }) => (
    <Link href={href} target="_blank" rel="noopener noreferrer">
      {children}
    </Link>
  ),
  img: ({ src, alt }) => (
    <Link href={src} target="_blank" rel="noopener noreferrer">
      {alt || src}
    </Link>
  ),
};

export function MarkdownView({ text }: { text: string }) {
  return (
    <Box
      className="markdown"
      sx={{
        overflowWrap: 'anywhere',
        '& pre': { overflowX: 'auto', p: 1, bgcolor: 'action.hover', borderRadius: 1 },
        '& code': { fontFamily: 'monospace' },
        '& table': { borderCollapse: 'collapse', my: 1 },
        '& td, & th': { border: 1, borderColor: 'divider', px: 1, py: 0.5 },
        '& th': { bgcolor: 'action.hover' },
        '& ul.contains-task-list': { pl: 2 },
        '& li.task-list-item': { listStyle: 'none' },
      }}
    >
      <Markdown remarkPlugins={[remarkGfm]} components={components} skipHtml>
        {text}
      </Markdown>
    </Box>
  );
}
