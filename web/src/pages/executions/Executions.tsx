// The executions of the workspace, newest first: filters (workflow, status,
// created since/until, tag), a page at a time, statuses refreshed while any
// shown is queued or running.
import { useState, type FormEvent } from 'react';
import {
  Alert,
  Box,
  Button,
  Link,
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
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router-dom';
import { api, type QueryOf, type Schemas } from '../../api/client';
import { fieldErrors, problemText, type Problem } from '../../problem';
import { useSession } from '../../App';
import { Loading } from '../../ui';
import { StatusChip } from './parts';

const PAGE = 25;
const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

export interface ListFilters {
  workflow_id: string;
  status: string;
  since: string; // datetime-local
  until: string;
  tag: string;
}

const EMPTY: ListFilters = { workflow_id: '', status: '', since: '', until: '', tag: '' };

function iso(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString();
}

// The list's query: only the filters set; times in RFC 3339.
export function listQuery(f: ListFilters, cursor: string | null): QueryOf<'/api/v1/executions'> {
  const q: QueryOf<'/api/v1/executions'> = { limit: PAGE };
  if (f.workflow_id) q.workflow_id = f.workflow_id;
  if (f.status) q.status = f.status;
  const since = iso(f.since);
  const until = iso(f.until);
  if (since) q.since = since;
  if (until) q.until = until;
  if (f.tag.trim()) q.tag = f.tag.trim();
  if (cursor) q.cursor = cursor;
  return q;
}

export function duration(from: string | null, to: string | null): string {
  if (!from) return '—';
  return millis((to ? Date.parse(to) : Date.now()) - Date.parse(from));
}

export function millis(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

function useWorkflows() {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: ['workflows', workspaceId, 'names'],
    enabled: !!workspaceId,
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/workflows', { params: { query: { limit: 100 } } });
      if (error) throw error;
      return data.items;
    },
  });
}

export default function Executions() {
  const { workspaceId } = useSession();
  const workflows = useWorkflows();
  const [draft, setDraft] = useState<ListFilters>(EMPTY);
  const [applied, setApplied] = useState<ListFilters>(EMPTY);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const list = useQuery({
    queryKey: ['executions', workspaceId, applied, cursor],
    enabled: !!workspaceId,
    placeholderData: keepPreviousData,
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/executions', {
        params: { query: listQuery(applied, cursor) },
      });
      if (error) throw error;
      return data;
    },
    // Live status: while a shown execution may still change, read the page again.
    refetchInterval: (q) =>
      q.state.data?.items.some((x: Schemas['ExecutionSummary']) => x.status === 'queued' || x.status === 'running') ? 2000 : false,
  });
  const problem = list.isError ? (list.error as Problem) : null;
  const errs = fieldErrors({ errors: problem?.errors?.map((e) => ({ ...e, field: e.field?.replace(/^query\./, '') })) });
  const names = new Map((workflows.data ?? []).map((w) => [w.id, w.name]));
  const filtered = JSON.stringify(applied) !== JSON.stringify(EMPTY);

  function submit(e: FormEvent) {
    e.preventDefault();
    setApplied(draft);
    setCursors([null]);
  }

  return (
    <Stack spacing={2}>
      <Typography component="h1" variant="h4">
        Executions
      </Typography>
      <Paper component="form" onSubmit={submit} noValidate sx={{ p: 2 }} aria-label="Filter executions">
        <Stack direction="row" spacing={2} sx={{ alignItems: 'flex-start', flexWrap: 'wrap', rowGap: 2 }}>
          <TextField
            select
            label="Workflow"
            name="workflow_id"
            sx={{ minWidth: 200 }}
            value={draft.workflow_id}
            onChange={(e) => setDraft({ ...draft, workflow_id: e.target.value })}
            error={!!errs.workflow_id}
            helperText={errs.workflow_id ?? ' '}
          >
            <MenuItem value="">Any workflow</MenuItem>
            {(workflows.data ?? []).map((w) => (
              <MenuItem key={w.id} value={w.id}>
                {w.name}
              </MenuItem>
            ))}
          </TextField>
          <TextField
            select
            label="Status"
            name="status"
            sx={{ minWidth: 150 }}
            value={draft.status}
            onChange={(e) => setDraft({ ...draft, status: e.target.value })}
            error={!!errs.status}
            helperText={errs.status ?? ' '}
          >
            <MenuItem value="">Any status</MenuItem>
            {STATUSES.map((s) => (
              <MenuItem key={s} value={s}>
                {s}
              </MenuItem>
            ))}
          </TextField>
          <TextField
            label="Created since"
            name="since"
            type="datetime-local"
            InputLabelProps={{ shrink: true }}
            value={draft.since}
            onChange={(e) => setDraft({ ...draft, since: e.target.value })}
            error={!!errs.since}
            helperText={errs.since ?? ' '}
          />
          <TextField
            label="Created until"
            name="until"
            type="datetime-local"
            InputLabelProps={{ shrink: true }}
            value={draft.until}
            onChange={(e) => setDraft({ ...draft, until: e.target.value })}
            error={!!errs.until}
            helperText={errs.until ?? ' '}
          />
          <TextField
            label="Tag"
            name="tag"
            sx={{ width: 140 }}
            value={draft.tag}
            onChange={(e) => setDraft({ ...draft, tag: e.target.value })}
            error={!!errs.tag}
            helperText={errs.tag ?? ' '}
          />
          <Button type="submit" variant="contained" sx={{ mt: 1, whiteSpace: 'nowrap' }}>
            Apply filters
          </Button>
          <Button
            sx={{ mt: 1 }}
            onClick={() => {
              setDraft(EMPTY);
              setApplied(EMPTY);
              setCursors([null]);
            }}
          >
            Clear
          </Button>
        </Stack>
      </Paper>
      {problem && Object.keys(errs).length === 0 && <Alert severity="error">{problemText(problem)}</Alert>}
      {list.isPending ? (
        <Loading label="Loading executions" />
      ) : !list.data ? null : list.data.items.length === 0 ? (
        <Paper sx={{ p: 4, textAlign: 'center' }}>
          <Typography>
            {filtered ? (
              'No execution matches: clear the filters or widen the time range.'
            ) : (
              <>
                No executions yet: open a{' '}
                <Link component={RouterLink} to="/workflows">
                  workflow
                </Link>{' '}
                and run it.
              </>
            )}
          </Typography>
        </Paper>
      ) : (
        <TableContainer component={Paper}>
          <Table aria-label="Executions">
            <TableHead>
              <TableRow>
                <TableCell>Execution</TableCell>
                <TableCell>Workflow</TableCell>
                <TableCell>Status</TableCell>
                <TableCell>Created</TableCell>
                <TableCell>Duration</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {list.data.items.map((x) => (
                <TableRow key={x.id} hover>
                  <TableCell>
                    <Link component={RouterLink} to={`/executions/${x.id}`} sx={{ fontFamily: 'monospace' }}>
                      …{x.id.slice(-8)}
                    </Link>
                  </TableCell>
                  <TableCell>
                    {names.get(x.workflow_id) ?? `…${x.workflow_id.slice(-8)}`} (version {x.workflow_version})
                  </TableCell>
                  <TableCell>
                    <StatusChip status={x.status} />
                  </TableCell>
                  <TableCell>{new Date(x.created_at).toLocaleString()}</TableCell>
                  <TableCell>{duration(x.started_at, x.ended_at)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      )}
      <Box sx={{ display: 'flex', gap: 1, justifyContent: 'flex-end' }}>
        <Button disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </Button>
        <Button
          disabled={!list.data?.next_cursor}
          onClick={() => list.data?.next_cursor && setCursors([...cursors, list.data.next_cursor])}
        >
          Older
        </Button>
      </Box>
    </Stack>
  );
}
