import { createTheme } from '@mui/material/styles';

export type Mode = 'light' | 'dark';

// Contrast-checked palettes (axe runs on every page in both modes).
export function makeTheme(mode: Mode) {
  return createTheme({
    palette: {
      mode,
      primary: { main: mode === 'light' ? '#1d4ed8' : '#93c5fd' },
      secondary: { main: mode === 'light' ? '#6d28d9' : '#c4b5fd' },
    },
    shape: { borderRadius: 8 },
  });
}

export function initialMode(): Mode {
  const saved = window.localStorage.getItem('troupe.theme');
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}
