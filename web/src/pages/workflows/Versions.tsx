// A workflow's versions (/workflows/:id/versions): the list, oldest first as
// the API gives it and shown newest first; a diff between any two (added,
// removed, changed, tasks by key); restore (a new version equal to an old
// one) and publish (the version a run takes by default), for editors.
import { useState } from 'react';
import {
  Alert,
  Box,
  Button,
  Chip,
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
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink, useParams } from 'react-router-dom';
import { api, type Schemas } from '../../api/client';
import { problemText, type Problem } from '../../problem';
import { Loading } from '../../ui';
import { useCanEdit, useWorkflow } from './data';

type Diff = Schemas['WorkflowVersionDiff'];

function show(v: unknown): string {
  if (v === undefined) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 400 ? s.slice(0, 400) + '…' : s;
}

function DiffView({ diff }: { diff: Diff }) {
  const rows = [
    ...diff.added.map((e) => ({ kind: 'added', path: e.path, from: '', to: show(e.value) })),
    ...diff.removed.map((e) => ({ kind: 'removed', path: e.path, from: show(e.value), to: '' })),
    ...diff.changed.map((e) => ({ kind: 'changed', path: e.path, from: show(e.from), to: show(e.to) })),
  ];
  if (rows.length === 0) return <Typography>Versions {diff.from} and {diff.to} are the same.</Typography>;
  return (
    <TableContainer component={Paper} variant="outlined">
      <Table size="small" aria-label={`Changes from version ${diff.from} to ${diff.to}`}>
        <TableHead>
          <TableRow>
            <TableCell>Change</TableCell>
            <TableCell>Field</TableCell>
            <TableCell>Version {diff.from}</TableCell>
            <TableCell>Version {diff.to}</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {rows.map((r) => (
            <TableRow key={`${r.kind}:${r.path}`}>
              <TableCell>
                <Chip size="small" label={r.kind} color={r.kind === 'added' ? 'success' : r.kind === 'removed' ? 'error' : 'default'} variant="outlined" />
              </TableCell>
              <TableCell sx={{ fontFamily: 'monospace', overflowWrap: 'anywhere', minWidth: 200 }}>{r.path}</TableCell>
              <TableCell sx={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>{r.from}</TableCell>
              <TableCell sx={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>{r.to}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableContainer>
  );
}

export function Versions() {
  const { id = '' } = useParams();
  const qc = useQueryClient();
  const wf = useWorkflow(id);
  const canEdit = useCanEdit();
  const versions = useQuery({
    queryKey: ['workflow-versions', id, wf.data?.version],
    enabled: !!wf.data,
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/workflows/{id}/versions', { params: { path: { id }, query: { limit: 200 } } });
      if (error) throw error;
      return data.items;
    },
  });
  const [from, setFrom] = useState<number | ''>('');
  const [to, setTo] = useState<number | ''>('');
  const [diff, setDiff] = useState<Diff | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [status, setStatus] = useState('');

  if (wf.isError) return <Alert severity="error">{problemText(wf.error as Problem)}</Alert>;
  if (versions.isError) return <Alert severity="error">{problemText(versions.error as Problem)}</Alert>;
  if (wf.isPending || versions.isPending) return <Loading label="Loading the versions" />;
  const w = wf.data;
  const list = [...versions.data].reverse();
  const a = from === '' ? (list[1]?.version ?? list[0]?.version ?? 1) : from;
  const b = to === '' ? (list[0]?.version ?? 1) : to;

  async function compare() {
    setProblem(null);
    const { data, error } = await api.GET('/api/v1/workflows/{id}/versions/{version}/diff/{to}', {
      params: { path: { id, version: String(a), to: String(b) } },
    });
    if (error) setProblem(error as Problem);
    else setDiff(data);
  }

  async function restore(n: number) {
    setProblem(null);
    const { data, error } = await api.POST('/api/v1/workflows/{id}/versions/{version}/restore', {
      params: { path: { id, version: String(n) } },
      body: { change_note: `restore version ${n}` },
    });
    if (error) return setProblem(error as Problem);
    setStatus(`Version ${n} restored as version ${data.version}.`);
    setDiff(null);
    setFrom('');
    setTo('');
    await qc.invalidateQueries({ queryKey: ['workflow'] });
  }

  async function publish(n: number) {
    setProblem(null);
    const { error } = await api.POST('/api/v1/workflows/{id}/publish', { params: { path: { id } }, body: { version: n } });
    if (error) return setProblem(error as Problem);
    setStatus(`Version ${n} is published: runs take it by default.`);
    await qc.invalidateQueries({ queryKey: ['workflow'] });
  }

  const pick = (label: string, value: number, set: (n: number) => void) => (
    <TextField select size="small" label={label} value={value} onChange={(e) => set(Number(e.target.value))} sx={{ minWidth: 140 }}>
      {list.map((v) => (
        <MenuItem key={v.version} value={v.version}>
          Version {v.version}
        </MenuItem>
      ))}
    </TextField>
  );

  return (
    <Stack spacing={2}>
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 1 }}>
        <Typography component="h1" variant="h4" sx={{ flexGrow: 1, overflowWrap: 'anywhere' }}>
          Versions of {w.name}
        </Typography>
        <Button component={RouterLink} to={`/workflows/${id}`}>
          Back to the editor
        </Button>
      </Box>
      {status && (
        <Alert severity="success" role="status">
          {status}
        </Alert>
      )}
      {problem && <Alert severity="error">{problemText(problem)}</Alert>}
      <TableContainer component={Paper}>
        <Table aria-label="Versions">
          <TableHead>
            <TableRow>
              <TableCell>Version</TableCell>
              <TableCell>Change note</TableCell>
              <TableCell>Saved</TableCell>
              {canEdit && <TableCell>Actions</TableCell>}
            </TableRow>
          </TableHead>
          <TableBody>
            {list.map((v) => (
              <TableRow key={v.version}>
                <TableCell>
                  {v.version} {v.version === w.version && <Chip size="small" label="latest" variant="outlined" />}{' '}
                  {v.version === w.published_version && <Chip size="small" label="published" color="primary" variant="outlined" />}
                </TableCell>
                <TableCell sx={{ overflowWrap: 'anywhere' }}>{v.change_note ?? ''}</TableCell>
                <TableCell>{new Date(v.created_at).toLocaleString()}</TableCell>
                {canEdit && (
                  <TableCell>
                    <Stack direction="row" spacing={1}>
                      {v.version !== w.version && (
                        <Button size="small" onClick={() => void restore(v.version)} aria-label={`Restore version ${v.version}`}>
                          Restore
                        </Button>
                      )}
                      {v.version !== w.published_version && (
                        <Button size="small" onClick={() => void publish(v.version)} aria-label={`Publish version ${v.version}`}>
                          Publish
                        </Button>
                      )}
                    </Stack>
                  </TableCell>
                )}
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </TableContainer>
      <Paper component="section" aria-labelledby="diff-title" variant="outlined" sx={{ p: 2 }}>
        <Typography id="diff-title" component="h2" variant="h6" sx={{ mb: 1 }}>
          Compare two versions
        </Typography>
        <Stack direction="row" spacing={2} sx={{ mb: 2, alignItems: 'center' }}>
          {pick('From', a, setFrom)}
          {pick('To', b, setTo)}
          <Button variant="outlined" onClick={() => void compare()}>
            Show changes
          </Button>
        </Stack>
        {diff && <DiffView diff={diff} />}
      </Paper>
    </Stack>
  );
}
