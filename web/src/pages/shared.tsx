// Pieces the Tools and Agents pages share: who may edit, the tool and model
// lists the pickers read, a parameters table, a confirm dialog and the
// explanation of a stale save (409 on base_version).
import type { ReactNode } from 'react';
import {
  Alert,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@mui/material';
import { useQuery } from '@tanstack/react-query';
import { api, type Schemas } from '../api/client';
import { useSession } from '../App';
import { useRole } from '../Layout';
import { paramRows } from '../forms';

// Editors, admins and owners change agents and tools; the API refuses the
// others anyway, the page only hides what they cannot use.
export function useCanEdit(): boolean {
  const role = useRole();
  return role === 'editor' || role === 'admin' || role === 'owner';
}

// Every tool of the workspace, or those whose name or definition holds q
// (the API's search; built-ins by name or description).
export function useTools(q = '') {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: q ? ['tools', workspaceId, 'q', q] : ['tools', workspaceId],
    enabled: !!workspaceId,
    // While a new search loads, the list keeps showing the last answer
    // instead of a spinner (TanStack Query v5's keep-previous-data idiom).
    placeholderData: (prev) => prev,
    queryFn: async () => {
      const out: Schemas['Tool'][] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 20; i++) {
        const { data, error } = await api.GET('/api/v1/tools', { params: { query: { limit: 200, cursor, ...(q ? { q } : {}) } } });
        if (error) throw error;
        out.push(...data.items);
        if (!data.next_cursor) break;
        cursor = data.next_cursor;
      }
      return out;
    },
  });
}

export function useChatModels() {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: ['models', workspaceId],
    enabled: !!workspaceId,
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/models', { params: { query: { limit: 100 } } });
      if (error) throw error;
      return data.items;
    },
    select: (items) => items.filter((m) => m.kind === 'chat'),
  });
}

export function ParamsTable({ schema, label }: { schema: unknown; label: string }) {
  const rows = paramRows(schema);
  if (rows.length === 0) return <Typography variant="body2">Takes no parameters.</Typography>;
  return (
    <Table size="small" aria-label={label}>
      <TableHead>
        <TableRow>
          <TableCell sx={{ width: '20%' }}>Parameter</TableCell>
          <TableCell sx={{ width: '14%' }}>Type</TableCell>
          <TableCell sx={{ width: '10%' }}>Required</TableCell>
          <TableCell>Description</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {rows.map((r) => (
          <TableRow key={r.name}>
            <TableCell sx={{ fontFamily: 'monospace' }}>{r.name}</TableCell>
            <TableCell>{r.type}</TableCell>
            <TableCell>{r.required ? 'yes' : 'no'}</TableCell>
            <TableCell>
              {r.description}
              {r.details.length > 0 && (
                <Typography component="span" variant="body2" color="text.secondary">
                  {r.description ? ' (' : '('}
                  {r.details.join('; ')})
                </Typography>
              )}
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

export function ConfirmDialog({
  title,
  text,
  confirm,
  onConfirm,
  onClose,
}: {
  title: string;
  text: ReactNode;
  confirm: string;
  onConfirm: () => void;
  onClose: () => void;
}) {
  return (
    <Dialog open onClose={onClose} aria-labelledby="confirm-title">
      <DialogTitle id="confirm-title">{title}</DialogTitle>
      <DialogContent>
        <DialogContentText component="div">{text}</DialogContentText>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" onClick={onConfirm}>
          {confirm}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

// A save on a stale version: what happened and the two ways on.
export function StaleAlert({
  what,
  mine,
  current,
  onReload,
  onOverwrite,
}: {
  what: string;
  mine: number;
  current: number;
  onReload: () => void;
  onOverwrite: () => void;
}) {
  return (
    <Alert severity="warning" role="alert">
      Someone else saved version {current} of this {what} while you were editing version {mine}. Reload to see their
      version (your changes here are dropped), or overwrite it with yours.
      <Stack direction="row" spacing={1} sx={{ mt: 1 }}>
        <Button size="small" variant="outlined" color="inherit" onClick={onReload}>
          Reload version {current}
        </Button>
        <Button size="small" variant="outlined" color="inherit" onClick={onOverwrite}>
          Overwrite with mine
        </Button>
      </Stack>
    </Alert>
  );
}
