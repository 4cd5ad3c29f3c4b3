// Workspace members and their roles: everyone sees the list; admins add
// members by email, change roles and remove members (owners: owners only).
import { useState, type FormEvent } from 'react';
import {
  Alert,
  Button,
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
import { Confirm, grantable, roleRank, useMe, when, type Role } from './common';

type Member = Schemas['Member'];

export function useMembers() {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: ['members', workspaceId],
    enabled: !!workspaceId,
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/workspaces/{id}/members', {
        params: { path: { id: workspaceId ?? '' }, query: { limit: 100 } },
      });
      if (error) throw error;
      return data.items;
    },
  });
}

function AddMember({ own }: { own: Role }) {
  const { workspaceId } = useSession();
  const qc = useQueryClient();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const errs = fieldErrors(problem);
  // An unknown email is a 404 without a field: it is the email's error.
  if (problem?.status === 404 && !problem.errors?.length) errs.email = problem.detail ?? 'no user with this email';
  const add = useMutation({
    mutationFn: async () => {
      const { data, error } = await api.POST('/api/v1/workspaces/{id}/members', {
        params: { path: { id: workspaceId ?? '' } },
        body: { email, role },
      });
      if (error) throw error;
      return data;
    },
    onSuccess: (m) => {
      setAdded(`${m.email} added as ${m.role}.`);
      setEmail('');
      void qc.invalidateQueries({ queryKey: ['members'] });
    },
    onError: (e) => setProblem(e as Problem),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    setProblem(null);
    setAdded(null);
    add.mutate();
  }
  return (
    <Paper component="form" onSubmit={submit} noValidate sx={{ p: 2 }} aria-labelledby="add-member-title">
      <Typography id="add-member-title" component="h2" variant="h6">
        Add a member
      </Typography>
      {problem && !errs.email && !errs.role && (
        <Alert severity="error" sx={{ my: 1 }}>
          {problemText(problem)}
        </Alert>
      )}
      {added && (
        <Alert severity="success" role="status" sx={{ my: 1 }}>
          {added}
        </Alert>
      )}
      <Stack direction="row" spacing={2} sx={{ alignItems: 'flex-start', mt: 1 }}>
        <TextField
          label="Email"
          name="email"
          type="email"
          required
          sx={{ flexGrow: 1 }}
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={!!errs.email}
          helperText={errs.email ?? 'Someone who already has an account here'}
        />
        <TextField
          select
          label="Role"
          name="role"
          sx={{ minWidth: 160 }}
          value={role}
          onChange={(e) => setRole(e.target.value as Role)}
          error={!!errs.role}
          helperText={errs.role ?? 'At most your own'}
        >
          {grantable(own).map((r) => (
            <MenuItem key={r} value={r}>
              {r}
            </MenuItem>
          ))}
        </TextField>
        <Button type="submit" variant="contained" disabled={add.isPending} sx={{ mt: 1 }}>
          Add member
        </Button>
      </Stack>
    </Paper>
  );
}

export function Members() {
  const { workspaceId } = useSession();
  const role = useRole();
  const me = useMe();
  const qc = useQueryClient();
  const members = useMembers();
  const [removing, setRemoving] = useState<Member | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const isAdmin = roleRank(role) >= roleRank('admin');

  async function changeRole(m: Member, r: Role) {
    setProblem(null);
    const { error } = await api.PATCH('/api/v1/workspaces/{id}/members/{user_id}', {
      params: { path: { id: workspaceId ?? '', user_id: m.user_id } },
      body: { role: r },
    });
    if (error) setProblem(error as Problem);
    void qc.invalidateQueries({ queryKey: ['members'] });
  }

  async function remove(m: Member) {
    setRemoving(null);
    setProblem(null);
    const { error } = await api.DELETE('/api/v1/workspaces/{id}/members/{user_id}', {
      params: { path: { id: workspaceId ?? '', user_id: m.user_id } },
    });
    if (error) setProblem(error as Problem);
    void qc.invalidateQueries({ queryKey: ['members'] });
  }

  if (members.isError) return <Alert severity="error">{problemText(members.error as Problem)}</Alert>;
  if (members.isPending) return <Loading label="Loading members" />;
  // Only owners may change or remove an owner, or grant owner.
  const canEdit = (m: Member) => isAdmin && (m.role !== 'owner' || role === 'owner') && m.user_id !== me.data?.id;

  return (
    <Stack spacing={2}>
      {isAdmin && role && <AddMember own={role} />}
      {problem && <Alert severity="error">{problemText(problem)}</Alert>}
      {members.data.length <= 1 && (
        <Paper sx={{ p: 2 }}>
          <Typography>
            You are this workspace’s only member: {isAdmin ? 'add someone above by their email.' : 'ask an admin to add others.'}
          </Typography>
        </Paper>
      )}
      <TableContainer component={Paper}>
        <Table aria-label="Members">
          <TableHead>
            <TableRow>
              <TableCell>Name</TableCell>
              <TableCell>Email</TableCell>
              <TableCell>Role</TableCell>
              <TableCell>Member since</TableCell>
              {isAdmin && <TableCell>Actions</TableCell>}
            </TableRow>
          </TableHead>
          <TableBody>
            {members.data.map((m) => (
              <TableRow key={m.user_id}>
                <TableCell>
                  {m.name}
                  {m.user_id === me.data?.id ? ' (you)' : ''}
                </TableCell>
                <TableCell>{m.email}</TableCell>
                <TableCell>
                  {canEdit(m) && role ? (
                    <TextField
                      select
                      size="small"
                      value={m.role}
                      onChange={(e) => void changeRole(m, e.target.value as Role)}
                      SelectProps={{ native: true }}
                      inputProps={{ 'aria-label': `Role of ${m.email}` }}
                    >
                      {grantable(role).map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </TextField>
                  ) : (
                    m.role
                  )}
                </TableCell>
                <TableCell>{when(m.created_at)}</TableCell>
                {isAdmin && (
                  <TableCell>
                    {canEdit(m) && (
                      <Button size="small" color="error" onClick={() => setRemoving(m)} aria-label={`Remove ${m.email}`}>
                        Remove
                      </Button>
                    )}
                  </TableCell>
                )}
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </TableContainer>
      {removing && (
        <Confirm
          title={`Remove ${removing.email}?`}
          text="They lose access to this workspace at once; their own workspace stays."
          action="Remove"
          onConfirm={() => void remove(removing)}
          onClose={() => setRemoving(null)}
        />
      )}
    </Stack>
  );
}
