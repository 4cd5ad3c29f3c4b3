// API keys of the workspace (admins): create one with a role and an optional
// expiry, the key shown once with a copy button; the list shows each key's
// prefix and last 4 (trp_AbCdEfGh…wxyz), never the key; revoke takes effect at once.
import { useState, type FormEvent } from 'react';
import {
  Alert,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  MenuItem,
  Paper,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Schemas } from '../../api/client';
import { fieldErrors, problemText, type Problem } from '../../problem';
import { useSession } from '../../App';
import { useRole } from '../../Layout';
import { Loading } from '../../ui';
import { Confirm, grantable, when } from './common';

type ApiKey = Schemas['ApiKey'];
type KeyRole = ApiKey['role'];

function useKeys() {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: ['api-keys', workspaceId],
    enabled: !!workspaceId,
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/api-keys', { params: { query: { limit: 100 } } });
      if (error) throw error;
      return data.items;
    },
  });
}

// A date input's day (YYYY-MM-DD) as the end of that day, local time, in RFC 3339.
export function expiryOf(day: string): string | null {
  if (!day) return null;
  const d = new Date(`${day}T23:59:59`);
  return Number.isNaN(d.getTime()) ? day : d.toISOString();
}

function ShowOnce({ created, onClose }: { created: Schemas['ApiKeyCreated']; onClose: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(created.key ?? '');
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('The browser refused the clipboard: select the key and copy it.');
    }
  }
  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="sm" aria-labelledby="key-created-title">
      <DialogTitle id="key-created-title">API key {created.name} created</DialogTitle>
      <DialogContent>
        <Alert severity="warning" sx={{ mb: 2 }}>
          Copy this key now: it is shown this once and cannot be read again. Anyone holding it acts in this workspace as{' '}
          {created.role}.
        </Alert>
        <TextField
          label="The new API key"
          value={created.key ?? ''}
          fullWidth
          InputProps={{ readOnly: true, sx: { fontFamily: 'monospace' } }}
          onFocus={(e) => e.target.select()}
        />
        {copied && (
          <Typography role="status" sx={{ mt: 1 }}>
            {copied}
          </Typography>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={() => void copy()}>Copy key</Button>
        <Button variant="contained" onClick={onClose}>
          I have copied it
        </Button>
      </DialogActions>
    </Dialog>
  );
}

function CreateKey({ own, onCreated }: { own: KeyRole; onCreated: (k: Schemas['ApiKeyCreated']) => void }) {
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [role, setRole] = useState<KeyRole>('viewer');
  const [expires, setExpires] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  const errs = fieldErrors(problem);
  const create = useMutation({
    mutationFn: async () => {
      const { data, error } = await api.POST('/api/v1/api-keys', {
        body: { name, role, expires_at: expiryOf(expires) },
      });
      if (error) throw error;
      return data;
    },
    onSuccess: (k) => {
      setName('');
      setExpires('');
      void qc.invalidateQueries({ queryKey: ['api-keys'] });
      onCreated(k);
    },
    onError: (e) => setProblem(e as Problem),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    setProblem(null);
    create.mutate();
  }
  const roles = grantable(own).filter((r): r is KeyRole => r !== 'owner');
  return (
    <Paper component="form" onSubmit={submit} noValidate sx={{ p: 2 }} aria-labelledby="create-key-title">
      <Typography id="create-key-title" component="h2" variant="h6">
        Create an API key
      </Typography>
      {problem && !errs.name && !errs.role && !errs.expires_at && (
        <Alert severity="error" sx={{ my: 1 }}>
          {problemText(problem)}
        </Alert>
      )}
      <Stack direction="row" spacing={2} sx={{ alignItems: 'flex-start', mt: 1 }}>
        <TextField
          label="Name"
          name="name"
          required
          sx={{ flexGrow: 1 }}
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={!!errs.name}
          helperText={errs.name ?? 'What uses it, e.g. “CI pipeline”'}
        />
        <TextField
          select
          label="Role"
          name="role"
          sx={{ minWidth: 140 }}
          value={role}
          onChange={(e) => setRole(e.target.value as KeyRole)}
          error={!!errs.role}
          helperText={errs.role ?? 'At most your own'}
        >
          {roles.map((r) => (
            <MenuItem key={r} value={r}>
              {r}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          label="Expires"
          name="expires_at"
          type="date"
          sx={{ minWidth: 170 }}
          InputLabelProps={{ shrink: true }}
          value={expires}
          onChange={(e) => setExpires(e.target.value)}
          error={!!errs.expires_at}
          helperText={errs.expires_at ?? 'Empty: never'}
        />
        <Button type="submit" variant="contained" disabled={create.isPending} sx={{ mt: 1 }}>
          Create key
        </Button>
      </Stack>
    </Paper>
  );
}

export function ApiKeys() {
  const role = useRole();
  const qc = useQueryClient();
  const keys = useKeys();
  const [created, setCreated] = useState<Schemas['ApiKeyCreated'] | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  async function revoke(k: ApiKey) {
    setRevoking(null);
    setProblem(null);
    const { error } = await api.DELETE('/api/v1/api-keys/{id}', { params: { path: { id: k.id } } });
    if (error) setProblem(error as Problem);
    void qc.invalidateQueries({ queryKey: ['api-keys'] });
  }

  if (keys.isError) return <Alert severity="error">{problemText(keys.error as Problem)}</Alert>;
  if (keys.isPending) return <Loading label="Loading API keys" />;
  const own: KeyRole = role === 'owner' || role === 'admin' ? 'admin' : role === 'editor' ? 'editor' : 'viewer';

  return (
    <Stack spacing={2}>
      <CreateKey own={own} onCreated={setCreated} />
      {problem && <Alert severity="error">{problemText(problem)}</Alert>}
      {keys.data.length === 0 ? (
        <Paper sx={{ p: 4, textAlign: 'center' }}>
          <Typography>No API keys yet: create one above for scripts and CI to call the API.</Typography>
        </Paper>
      ) : (
        <TableContainer component={Paper}>
          <Table aria-label="API keys">
            <TableHead>
              <TableRow>
                <TableCell>Name</TableCell>
                <TableCell>Key</TableCell>
                <TableCell>Role</TableCell>
                <TableCell>Created</TableCell>
                <TableCell>Last used</TableCell>
                <TableCell>Expires</TableCell>
                <TableCell>Actions</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {keys.data.map((k) => (
                <TableRow key={k.id}>
                  <TableCell>{k.name}</TableCell>
                  <TableCell sx={{ fontFamily: 'monospace', whiteSpace: 'nowrap' }}>
                    {k.prefix}…{k.last4 ?? ''}
                  </TableCell>
                  <TableCell>{k.role}</TableCell>
                  <TableCell>{when(k.created_at)}</TableCell>
                  <TableCell>{k.last_used_at ? when(k.last_used_at) : 'never'}</TableCell>
                  <TableCell>{k.expires_at ? when(k.expires_at) : 'never'}</TableCell>
                  <TableCell>
                    <Button size="small" color="error" onClick={() => setRevoking(k)} aria-label={`Revoke ${k.name}`}>
                      Revoke
                    </Button>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      )}
      {created && <ShowOnce created={created} onClose={() => setCreated(null)} />}
      {revoking && (
        <Confirm
          title={`Revoke ${revoking.name}?`}
          text="Requests with this key are refused from the next one on. This cannot be undone."
          action="Revoke"
          onConfirm={() => void revoke(revoking)}
          onClose={() => setRevoking(null)}
        />
      )}
    </Stack>
  );
}
