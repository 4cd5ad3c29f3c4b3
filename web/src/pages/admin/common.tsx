// Shared pieces of the administration pages: the signed-in user, the caller's
// role rank, dates, and a confirmation dialog.
import { Button, Dialog, DialogActions, DialogContent, DialogContentText, DialogTitle } from '@mui/material';
import { useQuery } from '@tanstack/react-query';
import { api, type Schemas } from '../../api/client';

export type Role = Schemas['Member']['role'];
export const ROLES: Role[] = ['viewer', 'editor', 'admin', 'owner'];

// viewer < editor < admin < owner (docs/auth.md, Roles); -1 for none.
export function roleRank(r: Role | null | undefined): number {
  return r ? ROLES.indexOf(r) : -1;
}

// The roles a caller may grant: at most their own (the API refuses more).
export function grantable(own: Role | null | undefined): Role[] {
  return ROLES.filter((r) => roleRank(r) <= roleRank(own));
}

export function useMe() {
  return useQuery({
    queryKey: ['me'],
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/users/me');
      if (error) throw error;
      return data;
    },
  });
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function Confirm({
  title,
  text,
  action,
  onConfirm,
  onClose,
}: {
  title: string;
  text: string;
  action: string;
  onConfirm: () => void;
  onClose: () => void;
}) {
  return (
    <Dialog open onClose={onClose} aria-labelledby="confirm-title" aria-describedby="confirm-text">
      <DialogTitle id="confirm-title">{title}</DialogTitle>
      <DialogContent>
        <DialogContentText id="confirm-text">{text}</DialogContentText>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button color="error" variant="contained" onClick={onConfirm}>
          {action}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
