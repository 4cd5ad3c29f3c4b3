// The audit log: the workspace's security events (instance administrators:
// every workspace's), newest first, filtered by action, actor and time, a
// page at a time.
import { useState, type FormEvent } from 'react';
import {
  Alert,
  Box,
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
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, type QueryOf } from '../../api/client';
import { fieldErrors, problemText, type Problem } from '../../problem';
import { useSession } from '../../App';
import { Loading } from '../../ui';
import { useMembers } from './Members';
import { when } from './common';

const PAGE = 25;

interface Filters {
  action: string;
  actor: string;
  since: string;
  until: string;
}

// A datetime-local value (local time) in RFC 3339; '' stays unset.
export function rfc3339(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString();
}

// The filters as the route's query: only those set.
export function auditQuery(f: Filters, cursor: string | null): QueryOf<'/api/v1/audit-events'> {
  const q: QueryOf<'/api/v1/audit-events'> = { limit: PAGE };
  if (f.action.trim()) q.action = f.action.trim();
  if (f.actor) q.actor = f.actor;
  const since = rfc3339(f.since);
  const until = rfc3339(f.until);
  if (since) q.since = since;
  if (until) q.until = until;
  if (cursor) q.cursor = cursor;
  return q;
}

const EMPTY: Filters = { action: '', actor: '', since: '', until: '' };

export function Audit({ instanceAdmin }: { instanceAdmin: boolean }) {
  const { workspaceId } = useSession();
  const members = useMembers();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  // The cursors of the pages before this one: Newer pops, Older pushes.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const events = useQuery({
    queryKey: ['audit', workspaceId, applied, cursor],
    enabled: !!workspaceId,
    placeholderData: keepPreviousData,
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/audit-events', {
        params: { query: auditQuery(applied, cursor) },
      });
      if (error) throw error;
      return data;
    },
  });
  const problem = events.isError ? (events.error as Problem) : null;
  const errs = fieldErrors({ errors: problem?.errors?.map((e) => ({ ...e, field: e.field?.replace(/^query\./, '') })) });
  const who = new Map((members.data ?? []).map((m) => [m.user_id, `${m.name} <${m.email}>`]));

  function apply(e: FormEvent) {
    e.preventDefault();
    setApplied(draft);
    setCursors([null]);
  }

  return (
    <Stack spacing={2}>
      <Paper component="form" onSubmit={apply} noValidate sx={{ p: 2 }} aria-labelledby="audit-filters-title">
        <Typography id="audit-filters-title" component="h2" variant="h6" sx={{ mb: 1 }}>
          Filter events
        </Typography>
        <Stack direction="row" spacing={2} sx={{ alignItems: 'flex-start' }}>
          <TextField
            label="Action"
            name="action"
            value={draft.action}
            onChange={(e) => setDraft({ ...draft, action: e.target.value })}
            error={!!errs.action}
            helperText={errs.action ?? 'e.g. login.failure, api_key.created'}
          />
          <TextField
            select
            label="Actor"
            name="actor"
            sx={{ minWidth: 220 }}
            value={draft.actor}
            onChange={(e) => setDraft({ ...draft, actor: e.target.value })}
            error={!!errs.actor}
            helperText={errs.actor ?? (instanceAdmin ? 'Members of this workspace' : ' ')}
          >
            <MenuItem value="">Anyone</MenuItem>
            {(members.data ?? []).map((m) => (
              <MenuItem key={m.user_id} value={m.user_id}>
                {m.name || m.email}
              </MenuItem>
            ))}
          </TextField>
          <TextField
            label="Since"
            name="since"
            type="datetime-local"
            InputLabelProps={{ shrink: true }}
            value={draft.since}
            onChange={(e) => setDraft({ ...draft, since: e.target.value })}
            error={!!errs.since}
            helperText={errs.since ?? ' '}
          />
          <TextField
            label="Until"
            name="until"
            type="datetime-local"
            InputLabelProps={{ shrink: true }}
            value={draft.until}
            onChange={(e) => setDraft({ ...draft, until: e.target.value })}
            error={!!errs.until}
            helperText={errs.until ?? ' '}
          />
          <Button type="submit" variant="contained" sx={{ mt: 1, whiteSpace: 'nowrap', flexShrink: 0 }}>
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
      {events.isPending ? (
        <Loading label="Loading the audit log" />
      ) : !events.data ? null : events.data.items.length === 0 ? (
        <Paper sx={{ p: 4, textAlign: 'center' }}>
          <Typography>No events match: widen the time range or clear the filters.</Typography>
        </Paper>
      ) : (
        <TableContainer component={Paper}>
          <Table aria-label="Audit events" size="small">
            <TableHead>
              <TableRow>
                <TableCell>When</TableCell>
                <TableCell>Action</TableCell>
                <TableCell>Actor</TableCell>
                <TableCell>Target</TableCell>
                <TableCell>Address</TableCell>
                <TableCell>Detail</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {events.data.items.map((ev) => (
                <TableRow key={ev.id}>
                  <TableCell sx={{ whiteSpace: 'nowrap' }}>{when(ev.at)}</TableCell>
                  <TableCell sx={{ fontFamily: 'monospace' }}>{ev.action}</TableCell>
                  <TableCell>
                    {ev.actor_user_id ? (who.get(ev.actor_user_id) ?? ev.actor_user_id) : ev.actor_api_key_id ? `API key …${ev.actor_api_key_id.slice(-8)}` : '—'}
                  </TableCell>
                  <TableCell>{ev.target_type ? `${ev.target_type} ${ev.target_id ? `…${ev.target_id.slice(-8)}` : ''}` : '—'}</TableCell>
                  <TableCell>{ev.client_ip ?? '—'}</TableCell>
                  <TableCell sx={{ fontFamily: 'monospace', fontSize: 12, maxWidth: 320, overflowWrap: 'anywhere' }}>
                    {ev.detail && Object.keys(ev.detail).length ? JSON.stringify(ev.detail) : ''}
                  </TableCell>
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
          disabled={!events.data?.next_cursor}
          onClick={() => events.data?.next_cursor && setCursors([...cursors, events.data.next_cursor])}
        >
          Older
        </Button>
      </Box>
    </Stack>
  );
}
