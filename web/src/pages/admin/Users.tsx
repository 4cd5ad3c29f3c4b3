// Users of the instance (instance administrators): disable or enable an
// account, grant or take back instance administration.
import { useState } from 'react';
import {
  Alert,
  Button,
  Chip,
  Paper,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
} from '@mui/material';
import { useInfiniteQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Schemas } from '../../api/client';
import { problemText, type Problem } from '../../problem';
import { Loading } from '../../ui';
import { Confirm, useMe, when } from './common';

type User = Schemas['User'];
type Change = { user: User; body: Schemas['UserUpdate']; title: string; text: string; action: string };

export function Users() {
  const me = useMe();
  const qc = useQueryClient();
  const [change, setChange] = useState<Change | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const users = useInfiniteQuery({
    queryKey: ['users'],
    initialPageParam: null as string | null,
    getNextPageParam: (last: Schemas['UserPage']) => last.next_cursor,
    queryFn: async ({ pageParam }): Promise<Schemas['UserPage']> => {
      const query = pageParam ? { limit: 50, cursor: pageParam } : { limit: 50 };
      const { data, error } = await api.GET('/api/v1/users', { params: { query } });
      if (error) throw error;
      return data;
    },
  });

  async function apply(c: Change) {
    setChange(null);
    setProblem(null);
    const { error } = await api.PATCH('/api/v1/users/{id}', { params: { path: { id: c.user.id } }, body: c.body });
    if (error) setProblem(error as Problem);
    void qc.invalidateQueries({ queryKey: ['users'] });
  }

  if (users.isError) return <Alert severity="error">{problemText(users.error as Problem)}</Alert>;
  if (users.isPending) return <Loading label="Loading users" />;
  const list = users.data.pages.flatMap((p) => p.items);

  return (
    <Stack spacing={2}>
      {problem && <Alert severity="error">{problemText(problem)}</Alert>}
      <TableContainer component={Paper}>
        <Table aria-label="Users">
          <TableHead>
            <TableRow>
              <TableCell>Name</TableCell>
              <TableCell>Email</TableCell>
              <TableCell>Status</TableCell>
              <TableCell>Joined</TableCell>
              <TableCell>Actions</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {list.map((u) => {
              const self = u.id === me.data?.id;
              return (
                <TableRow key={u.id}>
                  <TableCell>
                    {u.name}
                    {self ? ' (you)' : ''}
                  </TableCell>
                  <TableCell>{u.email}</TableCell>
                  <TableCell>
                    <Stack direction="row" spacing={1}>
                      {u.is_admin && <Chip size="small" label="instance admin" color="primary" variant="outlined" />}
                      <Chip size="small" label={u.disabled ? 'disabled' : 'active'} color={u.disabled ? 'error' : 'success'} variant="outlined" />
                    </Stack>
                  </TableCell>
                  <TableCell>{when(u.created_at)}</TableCell>
                  <TableCell>
                    {!self && (
                      <Stack direction="row" spacing={1}>
                        <Button
                          size="small"
                          color={u.disabled ? 'primary' : 'error'}
                          aria-label={`${u.disabled ? 'Enable' : 'Disable'} ${u.email}`}
                          onClick={() =>
                            setChange({
                              user: u,
                              body: { disabled: !u.disabled },
                              title: `${u.disabled ? 'Enable' : 'Disable'} ${u.email}?`,
                              text: u.disabled
                                ? 'They can sign in again.'
                                : 'Their sessions and API keys stop working at once; nothing of theirs is deleted.',
                              action: u.disabled ? 'Enable' : 'Disable',
                            })
                          }
                        >
                          {u.disabled ? 'Enable' : 'Disable'}
                        </Button>
                        <Button
                          size="small"
                          aria-label={`${u.is_admin ? 'Remove instance admin from' : 'Make instance admin'} ${u.email}`}
                          onClick={() =>
                            setChange({
                              user: u,
                              body: { is_admin: !u.is_admin },
                              title: u.is_admin ? `Remove ${u.email} as instance admin?` : `Make ${u.email} an instance admin?`,
                              text: u.is_admin
                                ? 'They keep their workspaces but no longer manage users or read the whole audit log.'
                                : 'They will manage every user and read the whole audit log.',
                              action: u.is_admin ? 'Remove admin' : 'Make admin',
                            })
                          }
                        >
                          {u.is_admin ? 'Remove admin' : 'Make admin'}
                        </Button>
                      </Stack>
                    )}
                  </TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      </TableContainer>
      {users.hasNextPage && (
        <Button onClick={() => void users.fetchNextPage()} disabled={users.isFetchingNextPage}>
          Load more users
        </Button>
      )}
      {change && (
        <Confirm
          title={change.title}
          text={change.text}
          action={change.action}
          onConfirm={() => void apply(change)}
          onClose={() => setChange(null)}
        />
      )}
    </Stack>
  );
}
