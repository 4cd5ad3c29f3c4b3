// The workflows list (/workflows): search by name, each row to its editor;
// import a crewAI crew or create one (editors).
import { useState } from 'react';
import {
  Alert,
  Box,
  Button,
  Chip,
  Link,
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
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router-dom';
import { api } from '../../api/client';
import { useSession } from '../../App';
import { problemText, type Problem } from '../../problem';
import { Loading } from '../../ui';
import { useCanEdit } from './data';

function useWorkflows(q: string) {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: ['workflows', workspaceId, q],
    enabled: !!workspaceId,
    placeholderData: keepPreviousData,
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/workflows', { params: { query: { limit: 200, q: q || undefined } } });
      if (error) throw error;
      return data.items;
    },
  });
}

export function Workflows() {
  const [q, setQ] = useState('');
  const list = useWorkflows(q.trim());
  const canEdit = useCanEdit();

  return (
    <Stack spacing={2}>
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 1 }}>
        <Typography component="h1" variant="h4" sx={{ flexGrow: 1 }}>
          Workflows
        </Typography>
        {canEdit && (
          <>
            <Button component={RouterLink} to="/workflows/import" variant="outlined">
              Import crewAI YAML
            </Button>
            <Button component={RouterLink} to="/workflows/new" variant="contained">
              Create workflow
            </Button>
          </>
        )}
      </Box>
      <TextField
        label="Search workflows"
        type="search"
        size="small"
        value={q}
        onChange={(e) => setQ(e.target.value)}
        helperText="Part of the name"
        sx={{ maxWidth: 400 }}
      />
      {list.isError ? (
        <Alert severity="error">{problemText(list.error as Problem)}</Alert>
      ) : list.isPending ? (
        <Loading label="Loading workflows" />
      ) : list.data.length === 0 ? (
        <Paper sx={{ p: 4, textAlign: 'center' }}>
          <Typography>
            {q.trim()
              ? `No workflow's name contains “${q.trim()}”.`
              : canEdit
                ? 'No workflows yet: import a crewAI crew or create one.'
                : 'No workflows yet: ask an editor to import a crewAI crew or create one.'}
          </Typography>
        </Paper>
      ) : (
        <TableContainer component={Paper}>
          <Table aria-label="Workflows">
            <TableHead>
              <TableRow>
                <TableCell>Name</TableCell>
                <TableCell>Process</TableCell>
                <TableCell>Tasks</TableCell>
                <TableCell>Version</TableCell>
                <TableCell>Tags</TableCell>
                <TableCell>Updated</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {list.data.map((w) => (
                <TableRow key={w.id}>
                  <TableCell>
                    <Link component={RouterLink} to={`/workflows/${w.id}`}>
                      {w.name}
                    </Link>
                    {w.description && (
                      <Typography variant="body2" color="text.secondary">
                        {w.description}
                      </Typography>
                    )}
                  </TableCell>
                  <TableCell>{w.process}</TableCell>
                  <TableCell>{w.tasks.length}</TableCell>
                  <TableCell>
                    {w.version}
                    {w.published_version ? ` (published ${w.published_version})` : ''}
                  </TableCell>
                  <TableCell>
                    <Box sx={{ display: 'flex', gap: 0.5, flexWrap: 'wrap' }}>
                      {w.tags.map((t) => (
                        <Chip key={t} size="small" label={t} />
                      ))}
                    </Box>
                  </TableCell>
                  <TableCell>{new Date(w.updated_at).toLocaleString()}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      )}
    </Stack>
  );
}
