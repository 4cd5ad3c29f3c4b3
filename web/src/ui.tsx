import { Box, CircularProgress, Typography } from '@mui/material';

export function Loading({ label }: { label: string }) {
  return (
    <Box role="status" sx={{ display: 'flex', gap: 2, alignItems: 'center', p: 4 }}>
      <CircularProgress size={24} aria-label={label} />
      <Typography>{label}…</Typography>
    </Box>
  );
}
