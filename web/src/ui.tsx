import { Box, CircularProgress, Typography } from '@mui/material';
import type { FormEvent, ReactNode } from 'react';

export function Loading({ label }: { label: string }) {
  return (
    <Box role="status" sx={{ display: 'flex', gap: 2, alignItems: 'center', p: 4 }}>
      <CircularProgress size={24} aria-label={label} />
      <Typography>{label}…</Typography>
    </Box>
  );
}

/* A form inside an MUI Dialog. The dialog's paper is a flex column whose
 * DialogContent scrolls while the title and the actions stay in view; a
 * plain <form> between them breaks that column, so a long form pushed the
 * Save button below a 800-pixel-high screen. This form continues it. */
export function DialogForm({ onSubmit, children }: { onSubmit: (e: FormEvent<HTMLFormElement>) => void; children: ReactNode }) {
  return (
    <Box
      component="form"
      onSubmit={onSubmit}
      noValidate
      sx={{ display: 'flex', flexDirection: 'column', flex: '1 1 auto', minHeight: 0, overflow: 'hidden' }}
    >
      {children}
    </Box>
  );
}
