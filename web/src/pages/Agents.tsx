// Agents: the workspace's agents, searched by the API's q (part of the name
// or role), a page at a time.
import { useEffect, useState } from 'react';
import {
  Alert,
  Box,
  Button,
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
import { useInfiniteQuery } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router-dom';
import { api } from '../api/client';
import { problemText, type Problem } from '../problem';
import { useSession } from '../App';
import { Loading } from '../ui';
import { useCanEdit, useChatModels } from './shared';

const PAGE = 50;

function useAgents(q: string) {
  const { workspaceId } = useSession();
  return useInfiniteQuery({
    queryKey: ['agents', workspaceId, q],
    enabled: !!workspaceId,
    initialPageParam: '',
    queryFn: async ({ pageParam }) => {
      const query: { limit: number; q?: string; cursor?: string } = { limit: PAGE };
      if (q) query.q = q;
      if (pageParam) query.cursor = pageParam;
      const { data, error } = await api.GET('/api/v1/agents', { params: { query } });
      if (error) throw error;
      return data;
    },
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function Agents() {
  const canEdit = useCanEdit();
  const [text, setText] = useState('');
  const [q, setQ] = useState('');
  const agents = useAgents(q);
  const models = useChatModels();

  // Search as the user types, once they pause.
  useEffect(() => {
    const t = setTimeout(() => setQ(text.trim()), 250);
    return () => clearTimeout(t);
  }, [text]);

  // Every role reads the models; a model not in the list was deleted.
  const modelName = (id: string | null) =>
    id ? (models.data?.find((m) => m.id === id)?.name ?? (models.data ? 'a deleted model' : 'a chosen model')) : 'workspace default';
  const list = agents.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <Stack spacing={2}>
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 2 }}>
        <Typography component="h1" variant="h4" sx={{ flexGrow: 1 }}>
          Agents
        </Typography>
        <TextField
          label="Search agents"
          type="search"
          size="small"
          value={text}
          onChange={(e) => setText(e.target.value)}
          helperText="Part of the name or role"
          sx={{ width: 300 }}
        />
        {canEdit && (
          <Button variant="contained" component={RouterLink} to="/agents/new">
            New agent
          </Button>
        )}
      </Box>
      {agents.isError ? (
        <Alert severity="error">{problemText(agents.error as Problem)}</Alert>
      ) : agents.isPending ? (
        <Loading label="Loading agents" />
      ) : list.length === 0 ? (
        <Paper sx={{ p: 4, textAlign: 'center' }}>
          <Typography>
            {q
              ? `No agent’s name or role holds “${q}”.`
              : canEdit
                ? 'No agents yet: create one (a role, a goal, a backstory) to give your workflows a crew.'
                : 'No agents yet: an editor of this workspace can create them.'}
          </Typography>
        </Paper>
      ) : (
        <TableContainer component={Paper}>
          <Table aria-label="Agents">
            <TableHead>
              <TableRow>
                <TableCell>Name</TableCell>
                <TableCell>Role</TableCell>
                <TableCell>Model</TableCell>
                <TableCell>Tools</TableCell>
                <TableCell>Version</TableCell>
                <TableCell>Actions</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {list.map((a) => (
                <TableRow key={a.id}>
                  <TableCell>{a.name}</TableCell>
                  <TableCell>{a.role}</TableCell>
                  <TableCell>{modelName(a.model_id)}</TableCell>
                  <TableCell>{a.tool_ids.length}</TableCell>
                  <TableCell>{a.version}</TableCell>
                  <TableCell>
                    <Stack direction="row" spacing={1}>
                      <Button size="small" component={RouterLink} to={`/agents/${a.id}`} aria-label={`${canEdit ? 'Edit' : 'Open'} ${a.name}`}>
                        {canEdit ? 'Edit' : 'Open'}
                      </Button>
                      <Button size="small" component={RouterLink} to={`/agents/${a.id}/versions`} aria-label={`Versions of ${a.name}`}>
                        Versions
                      </Button>
                    </Stack>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      )}
      {agents.hasNextPage && (
        <Button onClick={() => void agents.fetchNextPage()} disabled={agents.isFetchingNextPage} sx={{ alignSelf: 'center' }}>
          More agents
        </Button>
      )}
    </Stack>
  );
}
