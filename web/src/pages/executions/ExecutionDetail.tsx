// One execution, live: the task list coloured by status, tokens and cost per
// task, agent and model, the selected task's LLM calls (messages, the answer
// streaming in, tool calls with arguments and results), the final output as
// sanitised Markdown, artifacts, a virtualised timeline of every event, and
// Cancel and Resume for editors.
import { memo, useEffect, useMemo, useState } from 'react';
import {
  Alert,
  Box,
  Button,
  ButtonBase,
  Link,
  Paper,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  Tooltip,
  Typography,
} from '@mui/material';
import { useTheme } from '@mui/material/styles';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink, useParams } from 'react-router-dom';
import { api, type Schemas } from '../../api/client';
import { problemText, type Problem } from '../../problem';
import { useSession } from '../../App';
import { useRole } from '../../Layout';
import { Loading } from '../../ui';
import { roleRank } from '../admin/common';
import { download } from './api';
import { duration, millis } from './Executions';
import { useWorkflow } from '../workflows/data';
import { MarkdownView, StatusChip, statusColour } from './parts';
import { costText, emptyUsage, NO_PRICE, mergeUsage, runningMs, summary, type ExecEvent, type ExecView, type LlmCall, type Usage } from './state';
import { useExecStream } from './useExecStream';
import { VirtualList } from './VirtualList';

type Execution = Schemas['Execution'];

function useExecution(id: string) {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: ['execution', workspaceId, id],
    enabled: !!workspaceId,
    staleTime: Infinity,
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/executions/{id}', { params: { path: { id } } });
      if (error) throw error;
      return data;
    },
  });
}

// Formatters made once: toLocaleString builds one per call, which shows in a
// render of thousands of events.
const numbers = new Intl.NumberFormat();
const times = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

// Now, once a second while live (a running time ticks), else fixed.
function useNow(live: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!live) return;
    setNow(Date.now());
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, [live]);
  return now;
}

// The execution's own running time: its runs from the events (a resumed
// execution does not count the time it stood cancelled or failed), else
// started_at to ended_at before the events are in.
function Ran({ x, view, now }: { x: Execution; view: ExecView; now: number }) {
  const ms = runningMs(view, now);
  if (ms === null && !x.started_at) return <>not started yet</>;
  const text = ms === null ? duration(x.started_at, view.final || !view.status ? x.ended_at : null) : millis(ms);
  const since =
    view.runs > 1 && view.lastRunStart ? ` in ${view.runs} runs, the last since ${new Date(view.lastRunStart).toLocaleString()}` : '';
  return (
    <span data-testid="running-time" data-ms={ms ?? undefined}>
      ran {text}
      {since}
    </span>
  );
}

// The inputs the run was given, as a small key/value table.
function Inputs({ inputs }: { inputs: Record<string, unknown> }) {
  const rows = Object.entries(inputs);
  return (
    <TableContainer component={Paper}>
      <Table size="small" aria-label="Inputs">
        <TableHead>
          <TableRow>
            <TableCell>Input</TableCell>
            <TableCell>Value</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {rows.length === 0 ? (
            <TableRow>
              <TableCell colSpan={2}>This run was given no inputs.</TableCell>
            </TableRow>
          ) : (
            rows.map(([k, v]) => (
              <TableRow key={k}>
                <TableCell sx={{ fontFamily: 'monospace', verticalAlign: 'top' }}>{k}</TableCell>
                <TableCell sx={{ overflowWrap: 'anywhere', whiteSpace: 'pre-wrap' }}>{typeof v === 'string' ? v : JSON.stringify(v)}</TableCell>
              </TableRow>
            ))
          )}
        </TableBody>
      </Table>
    </TableContainer>
  );
}

function tokens(u: { prompt_tokens: number; completion_tokens: number }): string {
  return `${numbers.format(u.prompt_tokens)} in · ${numbers.format(u.completion_tokens)} out`;
}

// A cost; a null one is a dash whose tooltip (and accessible name) says why.
function Cost({ u }: { u: { cost: number | null; unpriced?: number; currency?: string | null } }) {
  if (u.cost !== null) return <>{costText(u)}</>;
  return (
    <Tooltip title={NO_PRICE}>
      <Box component="span" role="img" aria-label={NO_PRICE} tabIndex={0}>
        {costText(u)}
      </Box>
    </Tooltip>
  );
}

function Pre({ value, label }: { value: unknown; label: string }) {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return (
    <Box
      component="pre"
      aria-label={label}
      tabIndex={0}
      sx={{ m: 0, p: 1, bgcolor: 'action.hover', borderRadius: 1, whiteSpace: 'pre-wrap', overflowWrap: 'anywhere', fontSize: 13, maxHeight: 320, overflowY: 'auto' }}
    >
      {text}
    </Box>
  );
}

function Tasks({
  exec,
  view,
  selected,
  onSelect,
}: {
  exec: Execution;
  view: ExecView;
  selected: string | null;
  onSelect: (k: string) => void;
}) {
  const mode = useTheme().palette.mode;
  return (
    <Paper sx={{ p: 2 }}>
      <Typography component="h2" variant="h6" sx={{ mb: 1 }}>
        Tasks
      </Typography>
      <Stack spacing={1} role="list" aria-label="Tasks">
        {exec.tasks.map((t) => {
          const v = view.tasks.get(t.key);
          const status = view.lastSeq > 0 && v ? v.status : t.status;
          return (
            <Box key={t.key} role="listitem">
            <ButtonBase
              onClick={() => onSelect(t.key)}
              aria-pressed={selected === t.key}
              aria-label={`Task ${t.key}, ${status}`}
              sx={{
                display: 'block',
                width: '100%',
                textAlign: 'left',
                p: 1,
                borderRadius: 1,
                borderLeft: 4,
                borderColor: statusColour(status, mode),
                bgcolor: selected === t.key ? 'action.selected' : 'transparent',
              }}
            >
              <Box sx={{ display: 'flex', alignItems: 'center', gap: 1 }}>
                <Typography sx={{ fontWeight: 600, flexGrow: 1 }}>{t.key}</Typography>
                <StatusChip status={status} />
              </Box>
              <Typography variant="body2">
                {t.agent ? `${t.agent.name}` : 'no agent'}
                {v?.models.length ? ` · ${v.models.join(', ')}` : ''}
                {v && v.attempt > 1 ? ` · attempt ${v.attempt}` : ''}
              </Typography>
              {v && v.usage.calls > 0 && (
                <Typography variant="body2" data-testid={`task-usage-${t.key}`}>
                  {tokens(v.usage)} · <Cost u={v.usage} />
                </Typography>
              )}
              {v?.error && (
                <Typography variant="body2" color="error">
                  {v.error}
                </Typography>
              )}
            </ButtonBase>
            </Box>
          );
        })}
      </Stack>
    </Paper>
  );
}

function UsageTable({ title, rows }: { title: string; rows: [string, Usage][] }) {
  return (
    <TableContainer component={Paper}>
      <Table size="small" aria-label={title}>
        <TableHead>
          <TableRow>
            <TableCell>{title.replace('Usage by ', '').replace(/^./, (c) => c.toUpperCase())}</TableCell>
            <TableCell align="right">Calls</TableCell>
            <TableCell align="right">Tokens</TableCell>
            <TableCell align="right">Cost</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {rows.length === 0 ? (
            <TableRow>
              <TableCell colSpan={4}>No model calls yet.</TableCell>
            </TableRow>
          ) : (
            rows.map(([name, u]) => (
              <TableRow key={name}>
                <TableCell>{name}</TableCell>
                <TableCell align="right">{u.calls}</TableCell>
                <TableCell align="right">{tokens(u)}</TableCell>
                <TableCell align="right">
                  <Cost u={u} />
                </TableCell>
              </TableRow>
            ))
          )}
        </TableBody>
      </Table>
    </TableContainer>
  );
}

function Call({ c, n }: { c: LlmCall; n: number }) {
  return (
    <Paper variant="outlined" sx={{ p: 1.5 }} aria-label={`Call ${n} to ${c.model}`} component="section">
      <Box sx={{ display: 'flex', gap: 1, alignItems: 'center', mb: 1 }}>
        <Typography sx={{ fontWeight: 600, flexGrow: 1 }}>
          Call {n}: {c.model} (attempt {c.attempt}, iteration {c.iteration})
        </Typography>
        <StatusChip status={c.status} />
      </Box>
      <details>
        <summary>Messages ({c.messages.length})</summary>
        <Stack spacing={1} sx={{ mt: 1 }}>
          {c.messages.map((m, i) => (
            <Box key={i}>
              <Typography variant="caption" sx={{ fontWeight: 600 }}>
                {m.role}
              </Typography>
              <Pre value={m.content} label={`Message ${i + 1}, ${m.role}`} />
            </Box>
          ))}
        </Stack>
      </details>
      <Typography variant="caption" component="p" sx={{ mt: 1, fontWeight: 600 }}>
        Answer{c.status === 'running' ? ' (streaming)' : ''}
      </Typography>
      <Box aria-live={c.status === 'running' ? 'polite' : 'off'}>
        <Pre value={c.text || (c.status === 'running' ? '…' : '(no text)')} label={`Answer of call ${n}`} />
      </Box>
      {c.error && <Alert severity="error">{c.error}</Alert>}
      {c.tools.map((t) => (
        <Box key={t.call_id} sx={{ mt: 1 }} aria-label={`Tool call ${t.name}`} component="section">
          <Typography variant="body2" sx={{ fontWeight: 600 }}>
            Tool {t.name} · {t.status}
            {t.duration_ms !== undefined ? ` · ${t.duration_ms} ms` : ''}
          </Typography>
          <Pre value={t.arguments} label={`Arguments of ${t.name}`} />
          {t.status !== 'running' && <Pre value={t.status === 'failed' ? t.error : t.result} label={`Result of ${t.name}`} />}
        </Box>
      ))}
      {c.status === 'succeeded' && (
        <Typography variant="body2" sx={{ mt: 1 }}>
          {tokens(c)} · <Cost u={{ cost: c.cost }} />
          {c.latency_ms ? ` · ${c.latency_ms} ms` : ''}
        </Typography>
      )}
    </Paper>
  );
}

// One timeline row: a memo component, so the rows that stay in view skip
// re-rendering as events arrive; its parts are styled by the one rule of
// Timeline's sx (classes, not an sx per row).
const TimelineRow = memo(function TimelineRow({
  e,
  selected,
  onSelect,
}: {
  e: ExecEvent;
  selected: boolean;
  onSelect: (seq: number) => void;
}) {
  const st = e.type.endsWith('failed') ? 'failed' : e.type.endsWith('succeeded') || e.type.endsWith('completed') ? 'succeeded' : e.type.endsWith('cancelled') ? 'cancelled' : 'running';
  const sum = summary(e);
  return (
    <ButtonBase className="tl-row" onClick={() => onSelect(e.seq)} aria-pressed={selected}>
      <span className="tl-seq">{e.seq}</span>
      <span className="tl-at">{times.format(new Date(e.at))}</span>
      <span className="tl-type" data-status={st}>
        {e.type}
      </span>
      <span className="tl-task" title={e.task_key ?? undefined}>
        {e.task_key ?? ''}
      </span>
      {/* One line here; the whole text in the title and, once selected, in the event's JSON. */}
      <span className="tl-sum" title={sum}>
        {sum}
      </span>
    </ButtonBase>
  );
});

const ROW_STATUSES = ['running', 'succeeded', 'failed', 'cancelled'];

// The timeline of a run still going follows the newest event (to its end);
// a finished one opens at its first event.
function Timeline({
  events,
  live,
  selected,
  onSelect,
}: {
  events: ExecEvent[];
  live: boolean;
  selected: number | null;
  onSelect: (seq: number) => void;
}) {
  const mode = useTheme().palette.mode;
  const colours = Object.fromEntries(ROW_STATUSES.map((s) => [`& .tl-type[data-status=${s}]`, { color: statusColour(s, mode) }]));
  return (
    <Box
      sx={{
        '& .tl-row': { width: '100%', height: '100%', justifyContent: 'flex-start', textAlign: 'left', gap: 1.5, px: 1, fontSize: 14, whiteSpace: 'nowrap', overflow: 'hidden' },
        '& .tl-row[aria-pressed=true]': { bgcolor: 'action.selected' },
        '& .tl-seq': { flexShrink: 0, width: 48, textAlign: 'right', fontFamily: 'monospace' },
        '& .tl-at': { flexShrink: 0, width: 110, fontFamily: 'monospace' },
        '& .tl-type': { flexShrink: 0, width: 150, fontWeight: 600 },
        '& .tl-task': { flexShrink: 0, width: 130, overflow: 'hidden', textOverflow: 'ellipsis' },
        '& .tl-sum': { overflow: 'hidden', textOverflow: 'ellipsis' },
        ...colours,
      }}
    >
      <VirtualList
        items={events}
        follow={live}
        rowHeight={34}
        height={360}
        label="Timeline"
        row={(e) => <TimelineRow e={e} selected={selected === e.seq} onSelect={onSelect} />}
      />
    </Box>
  );
}

export default function ExecutionDetail() {
  const { id = '' } = useParams();
  const role = useRole();
  const qc = useQueryClient();
  const { workspaceId } = useSession();
  const exec = useExecution(id);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [pending, setPending] = useState(false);
  const [task, setTask] = useState<string | null>(null);
  const [event, setEvent] = useState<number | null>(null);
  const refetch = () => void qc.invalidateQueries({ queryKey: ['execution'] });
  const { view, conn, error, reopen } = useExecStream(id, workspaceId, refetch);
  const canRun = roleRank(role) >= roleRank('editor');
  const workflow = useWorkflow(exec.data?.workflow_id);
  const liveStatus = view.status ?? exec.data?.status;
  const now = useNow(liveStatus === 'running');

  const byAgent = useMemo(() => {
    const m = new Map<string, Usage>();
    for (const t of exec.data?.tasks ?? []) {
      const v = view.tasks.get(t.key);
      if (!v || v.usage.calls === 0) continue;
      const name = t.agent?.name ?? 'no agent';
      const u = m.get(name) ?? emptyUsage();
      mergeUsage(u, v.usage);
      m.set(name, u);
    }
    return [...m.entries()];
    // view is mutated in place; lastSeq marks its changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [exec.data, view.lastSeq]);

  async function act(what: 'cancel' | 'resume') {
    setProblem(null);
    setPending(true);
    const params = { params: { path: { id } } };
    const { error } = what === 'cancel' ? await api.POST('/api/v1/executions/{id}/cancel', params) : await api.POST('/api/v1/executions/{id}/resume', params);
    setPending(false);
    if (error) {
      setProblem(error as Problem);
      return;
    }
    if (what === 'resume') reopen();
    if (conn !== 'live') refetch();
  }

  if (exec.isError) return <Alert severity="error">{problemText(exec.error as Problem)}</Alert>;
  if (exec.isPending) return <Loading label="Loading the execution" />;
  const x = exec.data;
  const status = view.status ?? x.status;
  const running = status === 'queued' || status === 'running';
  const started = [...x.tasks].reverse().find((t) => (view.tasks.get(t.key)?.status ?? 'pending') !== 'pending');
  const selectedTask = task ?? started?.key ?? x.tasks[0]?.key ?? null;
  const calls = view.calls.filter((c) => c.task_key === selectedTask);
  const output = x.output ?? null;
  const ev = event === null ? null : view.events.find((e) => e.seq === event);

  return (
    <Stack spacing={2}>
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 2, flexWrap: 'wrap' }}>
        <Typography component="h1" variant="h4">
          Execution …{x.id.slice(-8)}
        </Typography>
        <StatusChip status={status} />
        <Typography role="status" variant="body2" sx={{ flexGrow: 1 }}>
          {conn === 'live' && running ? 'Live' : conn === 'connecting' ? 'Connecting…' : conn === 'error' ? `Stream: ${error}` : ''}
        </Typography>
        {canRun && running && (
          <Button variant="outlined" color="error" disabled={pending} onClick={() => void act('cancel')}>
            Cancel
          </Button>
        )}
        {canRun && (status === 'failed' || status === 'cancelled') && (
          <Button variant="contained" disabled={pending} onClick={() => void act('resume')}>
            Resume
          </Button>
        )}
      </Box>
      <Typography variant="body2">
        Workflow{' '}
        <Link component={RouterLink} to={`/workflows/${x.workflow_id}`}>
          {workflow.data?.name ?? `…${x.workflow_id.slice(-8)}`}
        </Link>{' '}
        · version {x.workflow_version} ·{' '}
        {x.started_at ? `started ${new Date(x.started_at).toLocaleString()}` : `created ${new Date(x.created_at).toLocaleString()}`} ·{' '}
        <Ran x={x} view={view} now={now} />
      </Typography>
      {problem && <Alert severity="error">{problemText(problem)}</Alert>}
      {status === 'failed' && (view.error || x.error) ? (
        <Alert severity="error">{view.error ?? (typeof x.error === 'string' ? x.error : JSON.stringify(x.error))}</Alert>
      ) : null}
      <Box sx={{ display: 'grid', gridTemplateColumns: 'minmax(0, 1fr) minmax(0, 1fr)', gap: 2 }}>
        <Tasks exec={x} view={view} selected={selectedTask} onSelect={setTask} />
        <Stack spacing={2}>
          <Inputs inputs={x.inputs} />
          <UsageTable title="Usage by agent" rows={byAgent} />
          <UsageTable title="Usage by model" rows={[...view.byModel.entries()]} />
          {view.final && (
            <Typography variant="body2" aria-label="Total usage">
              Total: {tokens(x.usage)} · <Cost u={x.usage} />
            </Typography>
          )}
        </Stack>
      </Box>
      {output !== null && output !== undefined && (
        <Paper sx={{ p: 2 }} component="section" aria-labelledby="output-title">
          <Typography id="output-title" component="h2" variant="h6">
            Final output
          </Typography>
          {typeof output === 'string' ? <MarkdownView text={output} /> : <Pre value={output} label="Final output (JSON)" />}
        </Paper>
      )}
      {x.artifacts.length > 0 && (
        <Paper sx={{ p: 2 }} component="section" aria-labelledby="artifacts-title">
          <Typography id="artifacts-title" component="h2" variant="h6">
            Artifacts
          </Typography>
          <Stack direction="row" spacing={1} sx={{ flexWrap: 'wrap' }}>
            {x.artifacts.map((a) => (
              <Button
                key={a.name}
                onClick={() => void download(x.id, a.name).then(setProblem)}
                aria-label={`Download ${a.name}`}
              >
                {a.name} ({a.size.toLocaleString()} bytes)
              </Button>
            ))}
          </Stack>
        </Paper>
      )}
      <Paper sx={{ p: 2 }} component="section" aria-labelledby="calls-title">
        <Typography id="calls-title" component="h2" variant="h6" sx={{ mb: 1 }}>
          Calls of {selectedTask ?? 'no task'}
        </Typography>
        {calls.length === 0 ? (
          <Typography>{running ? 'No model call yet: they appear here as the task runs.' : 'This task made no model call.'}</Typography>
        ) : (
          <Stack spacing={1}>
            {calls.map((c, i) => (
              <Call key={i} c={c} n={i + 1} />
            ))}
          </Stack>
        )}
      </Paper>
      <Paper sx={{ p: 2 }} component="section" aria-labelledby="timeline-title">
        <Typography id="timeline-title" component="h2" variant="h6" sx={{ mb: 1 }}>
          Timeline ({view.events.length} events)
        </Typography>
        <Timeline events={view.events} live={running} selected={event} onSelect={setEvent} />
        {ev && (
          <Box sx={{ mt: 1 }}>
            <Typography variant="body2" sx={{ fontWeight: 600 }}>
              Event {ev.seq}: {ev.type}
            </Typography>
            <Pre value={ev} label={`Event ${ev.seq}`} />
          </Box>
        )}
      </Paper>
    </Stack>
  );
}
