// An agent's or a tool's versions (/agents/:id/versions, /tools/:id/versions):
// the list, a field-by-field diff between any two, and restore (a new
// version equal to an old one).
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
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink, useParams } from 'react-router-dom';
import { api } from '../api/client';
import { problemText, type Problem } from '../problem';
import { AGENT_LABELS, diffRows, formatValue, TOOL_LABELS, type DiffEntry } from '../forms';
import { useSession } from '../App';
import { Loading } from '../ui';
import { ConfirmDialog, useCanEdit, useChatModels, useTools } from './shared';

interface Summary {
  version: number;
  change_note: string | null;
  created_at: string | null;
}
interface Diff {
  added: DiffEntry[];
  removed: DiffEntry[];
  changed: DiffEntry[];
}

// Where an object's versions come from: agents and tools have the same
// routes under their own paths (docs/agents.md, docs/tools.md).
interface Source {
  kind: 'agent' | 'tool';
  plural: 'agents' | 'tools';
  labels: Record<string, string>;
  get(id: string): Promise<{ id: string; name: string; version: number }>;
  page(id: string, cursor?: string): Promise<{ items: Summary[]; next_cursor: string | null }>;
  diff(id: string, from: number, to: number): Promise<Diff>;
  restore(id: string, n: number): Promise<{ version: number }>;
}

function must<T>(r: { data?: T; error?: unknown }): T {
  if (r.error !== undefined || r.data === undefined) throw r.error;
  return r.data;
}

const path = (id: string) => ({ path: { id } });
const at = (id: string, n: number) => ({ path: { id, version: String(n) } });

const AGENTS: Source = {
  kind: 'agent',
  plural: 'agents',
  labels: AGENT_LABELS,
  get: async (id) => must(await api.GET('/api/v1/agents/{id}', { params: path(id) })),
  page: async (id, cursor) =>
    must(await api.GET('/api/v1/agents/{id}/versions', { params: { ...path(id), query: { limit: 200, cursor } } })),
  diff: async (id, from, to) =>
    must(await api.GET('/api/v1/agents/{id}/versions/{version}/diff/{to}', { params: { path: { id, version: String(from), to: String(to) } } })),
  restore: async (id, n) => must(await api.POST('/api/v1/agents/{id}/versions/{version}/restore', { params: at(id, n), body: {} })),
};

const TOOLS: Source = {
  kind: 'tool',
  plural: 'tools',
  labels: TOOL_LABELS,
  get: async (id) => must(await api.GET('/api/v1/tools/{id}', { params: path(id) })),
  page: async (id, cursor) =>
    must(await api.GET('/api/v1/tools/{id}/versions', { params: { ...path(id), query: { limit: 200, cursor } } })),
  diff: async (id, from, to) =>
    must(await api.GET('/api/v1/tools/{id}/versions/{version}/diff/{to}', { params: { path: { id, version: String(from), to: String(to) } } })),
  restore: async (id, n) => must(await api.POST('/api/v1/tools/{id}/versions/{version}/restore', { params: at(id, n), body: {} })),
};

function useVersions(src: Source, id: string) {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: [`${src.kind}-versions`, workspaceId, id],
    enabled: !!workspaceId,
    queryFn: async () => {
      const out: Summary[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 50; i++) {
        const data = await src.page(id, cursor);
        out.push(...data.items);
        if (!data.next_cursor) break;
        cursor = data.next_cursor;
      }
      return out;
    },
  });
}

function useDiff(src: Source, id: string, from: number, to: number) {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: [`${src.kind}-diff`, workspaceId, id, from, to],
    enabled: !!workspaceId && from > 0 && to > 0 && from !== to,
    queryFn: () => src.diff(id, from, to),
  });
}

function label(labels: Record<string, string>, p: string): string {
  const top = p.split(/[.[]/)[0] ?? p;
  const name = labels[top];
  if (!name) return p;
  return p === top ? name : `${name}: ${p.slice(top.length).replace(/^\./, '')}`;
}

const KIND_COLOUR = { added: 'success', removed: 'error', changed: 'default' } as const;

function DiffView({ src, id, from, to }: { src: Source; id: string; from: number; to: number }) {
  const diff = useDiff(src, id, from, to);
  const tools = useTools();
  const models = useChatModels();
  const names: Record<string, string> = {};
  for (const t of tools.data ?? []) names[t.id] = t.name;
  for (const m of models.data ?? []) names[m.id] = m.name;
  if (from === to) return <Typography>Pick two different versions to compare.</Typography>;
  if (diff.isError) return <Alert severity="error">{problemText(diff.error as Problem)}</Alert>;
  if (diff.isPending) return <Loading label="Comparing" />;
  const rows = diffRows(diff.data);
  if (rows.length === 0) return <Typography>Versions {from} and {to} are the same.</Typography>;
  return (
    <TableContainer component={Paper} variant="outlined">
      <Table aria-label={`Changes from version ${from} to version ${to}`} sx={{ tableLayout: 'fixed' }}>
        <TableHead>
          <TableRow>
            <TableCell sx={{ width: 220 }}>Field</TableCell>
            <TableCell>Version {from}</TableCell>
            <TableCell>Version {to}</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {rows.map((r) => (
            <TableRow key={r.path}>
              <TableCell>
                {label(src.labels, r.path)}{' '}
                <Chip size="small" variant="outlined" color={KIND_COLOUR[r.kind]} label={r.kind} sx={{ ml: 0.5 }} />
              </TableCell>
              <TableCell sx={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
                {r.from === undefined ? '—' : formatValue(r.from, names)}
              </TableCell>
              <TableCell sx={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
                {r.to === undefined ? '—' : formatValue(r.to, names)}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableContainer>
  );
}

function Versions({ src }: { src: Source }) {
  const { id = '' } = useParams();
  const { workspaceId } = useSession();
  const qc = useQueryClient();
  const canEdit = useCanEdit();
  const agent = useQuery({
    queryKey: [src.kind, workspaceId, id],
    enabled: !!workspaceId,
    queryFn: () => src.get(id),
  });
  const versions = useVersions(src, id);
  const [pick, setPick] = useState<{ from: number; to: number } | null>(null);
  const [restoring, setRestoring] = useState<number | null>(null);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);

  const restore = useMutation({
    mutationFn: async (n: number) => {
      return { n, agent: await src.restore(id, n) };
    },
    onSuccess: ({ n, agent: a }) => {
      setOutcome({ ok: true, text: `Version ${n} restored as version ${a.version}.` });
      setPick(null);
      for (const k of [src.kind, `${src.kind}-versions`, src.plural]) void qc.invalidateQueries({ queryKey: [k] });
    },
    onError: (e) => setOutcome({ ok: false, text: problemText(e as Problem) }),
    onSettled: () => setRestoring(null),
  });

  if (agent.isError) return <Alert severity="error">{problemText(agent.error as Problem)}</Alert>;
  if (versions.isError) return <Alert severity="error">{problemText(versions.error as Problem)}</Alert>;
  if (agent.isPending || versions.isPending) return <Loading label="Loading versions" />;
  const a = agent.data;
  const list = versions.data;
  const current = a.version;
  const from = pick?.from ?? Math.max(1, current - 1);
  const to = pick?.to ?? current;

  const versionSelect = (which: 'from' | 'to', value: number) => (
    <TextField
      select
      size="small"
      label={which === 'from' ? 'From version' : 'To version'}
      value={value}
      onChange={(e) => setPick({ from, to, [which]: Number(e.target.value) })}
      sx={{ width: 180 }}
    >
      {list.map((v) => (
        <MenuItem key={v.version} value={v.version}>
          {v.version}
          {v.version === current ? ' (current)' : ''}
        </MenuItem>
      ))}
    </TextField>
  );

  return (
    <Stack spacing={2}>
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 2 }}>
        <Typography component="h1" variant="h4" sx={{ flexGrow: 1 }}>
          Versions of {a.name}
        </Typography>
        <Button component={RouterLink} to={`/${src.plural}/${a.id}`}>
          {canEdit ? 'Edit' : 'Open'} {src.kind}
        </Button>
        <Button component={RouterLink} to={`/${src.plural}`}>
          All {src.plural}
        </Button>
      </Box>
      {outcome && (
        <Alert severity={outcome.ok ? 'success' : 'error'} role="status">
          {outcome.text}
        </Alert>
      )}
      <TableContainer component={Paper}>
        <Table aria-label="Versions">
          <TableHead>
            <TableRow>
              <TableCell>Version</TableCell>
              <TableCell>Saved</TableCell>
              <TableCell>Note</TableCell>
              <TableCell>Actions</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {[...list].reverse().map((v) => (
              <TableRow key={v.version} selected={v.version === from || v.version === to}>
                <TableCell>
                  {v.version}
                  {v.version === current && <Chip size="small" label="current" color="primary" variant="outlined" sx={{ ml: 1 }} />}
                </TableCell>
                <TableCell>{v.created_at ? new Date(v.created_at).toLocaleString() : ''}</TableCell>
                <TableCell>{v.change_note ?? ''}</TableCell>
                <TableCell>
                  <Stack direction="row" spacing={1}>
                    {v.version !== current && (
                      <Button size="small" onClick={() => setPick({ from: v.version, to: current })} aria-label={`Compare version ${v.version} with the current one`}>
                        Compare with current
                      </Button>
                    )}
                    {canEdit && v.version !== current && (
                      <Button size="small" onClick={() => setRestoring(v.version)} aria-label={`Restore version ${v.version}`}>
                        Restore
                      </Button>
                    )}
                  </Stack>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </TableContainer>
      {list.length > 1 ? (
        <Box component="section" aria-labelledby="diff-title">
          <Stack direction="row" spacing={2} sx={{ alignItems: 'center', mb: 1 }}>
            <Typography id="diff-title" component="h2" variant="h6" sx={{ flexGrow: 1 }}>
              Changes
            </Typography>
            {versionSelect('from', from)}
            {versionSelect('to', to)}
          </Stack>
          <DiffView src={src} id={a.id} from={from} to={to} />
        </Box>
      ) : (
        <Typography>Only one version so far: each save writes a new one, to compare and restore here.</Typography>
      )}
      {restoring !== null && (
        <ConfirmDialog
          title={`Restore version ${restoring}?`}
          text={`This writes version ${current + 1} with version ${restoring}'s fields; version ${current} stays in the history.`}
          confirm="Restore"
          onConfirm={() => restore.mutate(restoring)}
          onClose={() => setRestoring(null)}
        />
      )}
    </Stack>
  );
}

export function AgentVersions() {
  return <Versions src={AGENTS} />;
}

export function ToolVersions() {
  return <Versions src={TOOLS} />;
}
