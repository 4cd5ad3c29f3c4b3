// What the execution page shows, folded from its events (docs/engine.md,
// Events; docs/executions.md): each task's status, its LLM calls with their
// messages, streamed answer and tool calls, and tokens and cost per task,
// agent and model. Pure: events in, a view out; the page feeds it from the
// stream as events arrive.

export interface ExecEvent {
  seq: number; // 0 for a live output.delta (never stored)
  type: string;
  at: string;
  task_key?: string;
  attempt?: number;
  data: unknown;
}

export interface ToolCall {
  call_id: string;
  name: string;
  arguments: unknown;
  status: 'running' | 'succeeded' | 'failed';
  result?: unknown;
  error?: unknown;
  duration_ms?: number;
}

export interface LlmCall {
  task_key: string;
  attempt: number;
  iteration: number;
  model: string;
  messages: { role: string; content: unknown }[];
  text: string; // deltas while it streams, then the completed text
  status: 'running' | 'succeeded' | 'failed';
  prompt_tokens: number;
  completion_tokens: number;
  cost: number | null;
  latency_ms?: number;
  error?: string;
  tools: ToolCall[];
  toolById: Map<string, ToolCall>; // tools by call_id: a call of thousands of tools folds in linear time
}

// Tokens and cost of a group of calls; cost null when no call had a price
// (an unpriced model is "no price", never 0), unpriced counts those without.
export interface Usage {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost: number | null;
  unpriced: number;
  currency: string | null;
}

export interface TaskView {
  key: string;
  status: string; // pending|running|retrying|succeeded|failed|cancelled
  attempt: number;
  models: string[];
  usage: Usage;
  error?: string;
}

export interface ExecView {
  status: string | null; // from execution.* events; null before any
  final: boolean; // execution.succeeded|failed|cancelled seen
  lastSeq: number;
  events: ExecEvent[]; // stored events, by seq
  tasks: Map<string, TaskView>;
  calls: LlmCall[];
  byModel: Map<string, Usage>;
  // Deltas that came before their call's llm.started (stored events reach
  // the stream after their transaction commits; deltas go at once).
  early: Map<string, string>;
  error?: string;
  // The execution's own running time, from its events: each run goes from
  // an execution.started to the next one or to its end; the idle time
  // between a cancel or failure and a resume is not counted.
  runs: number; // execution.started events seen
  runMs: number; // the ended runs' time
  runStart: string | null; // the current run's start, while it goes on
  lastRunStart: string | null;
}

export const FINAL = new Set(['execution.succeeded', 'execution.failed', 'execution.cancelled']);

function endRun(v: ExecView, at: string) {
  if (v.runStart === null) return;
  const ms = Date.parse(at) - Date.parse(v.runStart);
  if (Number.isFinite(ms) && ms > 0) v.runMs += ms;
  v.runStart = null;
}

// The running time at now (ms since the epoch): the ended runs and the one
// going on; null before any execution.started was seen.
export function runningMs(v: ExecView, now: number): number | null {
  if (v.runs === 0) return null;
  const open = v.runStart === null ? 0 : Math.max(0, now - Date.parse(v.runStart));
  return v.runMs + (Number.isFinite(open) ? open : 0);
}

export function emptyUsage(): Usage {
  return { calls: 0, prompt_tokens: 0, completion_tokens: 0, cost: null, unpriced: 0, currency: null };
}

export function newView(taskKeys: string[] = []): ExecView {
  const tasks = new Map<string, TaskView>();
  for (const k of taskKeys) tasks.set(k, { key: k, status: 'pending', attempt: 0, models: [], usage: emptyUsage() });
  return {
    status: null,
    final: false,
    lastSeq: 0,
    events: [],
    tasks,
    calls: [],
    byModel: new Map(),
    early: new Map(),
    runs: 0,
    runMs: 0,
    runStart: null,
    lastRunStart: null,
  };
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
}

export function addUsage(u: Usage, prompt: number, completion: number, cost: number | null, currency: string | null) {
  u.calls++;
  u.prompt_tokens += prompt;
  u.completion_tokens += completion;
  if (cost === null) u.unpriced++;
  else u.cost = (u.cost ?? 0) + cost;
  if (currency && !u.currency) u.currency = currency;
}

// Adds one group's usage to another (per agent: the sum of its tasks).
export function mergeUsage(into: Usage, from: Usage) {
  into.calls += from.calls;
  into.prompt_tokens += from.prompt_tokens;
  into.completion_tokens += from.completion_tokens;
  into.unpriced += from.unpriced;
  if (from.cost !== null) into.cost = (into.cost ?? 0) + from.cost;
  if (!into.currency) into.currency = from.currency;
}

function task(v: ExecView, key: string | undefined): TaskView | undefined {
  if (!key) return undefined;
  let t = v.tasks.get(key);
  if (!t) {
    t = { key, status: 'pending', attempt: 0, models: [], usage: emptyUsage() };
    v.tasks.set(key, t);
  }
  return t;
}

// The call an event belongs to: the latest running one of its task attempt.
function openCall(v: ExecView, e: ExecEvent): LlmCall | undefined {
  for (let i = v.calls.length - 1; i >= 0; i--) {
    const c = v.calls[i];
    if (c && c.task_key === e.task_key && c.attempt === (e.attempt ?? 1)) return c;
  }
  return undefined;
}

// Applies one event; stored events at or below lastSeq (a replay after a
// reconnect) are skipped, so each counts once.
export function apply(v: ExecView, e: ExecEvent): boolean {
  if (e.type !== 'output.delta') {
    if (e.seq <= v.lastSeq) return false;
    v.lastSeq = e.seq;
    v.events.push(e);
  }
  const d = obj(e.data);
  const t = task(v, e.task_key);
  switch (e.type) {
    case 'execution.queued':
    case 'execution.resumed':
      v.status = 'queued';
      v.final = false;
      break;
    case 'execution.started':
      v.status = 'running';
      endRun(v, e.at);
      v.runs++;
      v.runStart = e.at;
      v.lastRunStart = e.at;
      break;
    case 'execution.succeeded':
    case 'execution.failed':
    case 'execution.cancelled':
      v.status = e.type.slice('execution.'.length);
      v.final = true;
      endRun(v, e.at);
      if (d.error !== undefined && d.error !== null) v.error = str(obj(d.error).message || d.error);
      for (const x of v.tasks.values()) if (x.status === 'running' && e.type === 'execution.cancelled') x.status = 'cancelled';
      break;
    case 'task.started':
      if (t) {
        t.status = 'running';
        t.attempt = e.attempt ?? t.attempt + 1;
        t.error = undefined;
      }
      break;
    case 'task.succeeded':
      if (t) t.status = 'succeeded';
      break;
    case 'task.failed':
      if (t) {
        const outcome = str(d.outcome);
        t.status = outcome === 'cancelled' ? 'cancelled' : outcome === 'retry' ? 'retrying' : 'failed';
        t.error = str(obj(d.error).message || d.error);
      }
      break;
    case 'task.retrying':
      if (t) t.status = 'retrying';
      break;
    case 'llm.started': {
      const messages = Array.isArray(d.messages) ? (d.messages as { role: string; content: unknown }[]) : [];
      const key = `${e.task_key ?? ''}#${e.attempt ?? 1}`;
      const early = v.early.get(key) ?? '';
      v.early.delete(key);
      v.calls.push({
        task_key: e.task_key ?? '',
        attempt: e.attempt ?? 1,
        iteration: num(d.iteration),
        model: str(d.model),
        messages,
        text: early,
        status: 'running',
        prompt_tokens: 0,
        completion_tokens: 0,
        cost: null,
        tools: [],
        toolById: new Map(),
      });
      if (t && d.model && !t.models.includes(str(d.model))) t.models.push(str(d.model));
      break;
    }
    case 'output.delta': {
      const c = openCall(v, e);
      if (c && c.status === 'running') c.text += str(d.text);
      else {
        const key = `${e.task_key ?? ''}#${e.attempt ?? 1}`;
        v.early.set(key, (v.early.get(key) ?? '') + str(d.text));
      }
      break;
    }
    case 'llm.completed': {
      const c = openCall(v, e);
      const cost = typeof d.cost === 'number' ? d.cost : null;
      const currency = typeof d.currency === 'string' ? d.currency : null;
      const prompt = num(d.prompt_tokens);
      const completion = num(d.completion_tokens);
      if (c) {
        c.status = 'succeeded';
        if (typeof d.text === 'string' && d.text !== '') c.text = d.text;
        c.prompt_tokens = prompt;
        c.completion_tokens = completion;
        c.cost = cost;
        c.latency_ms = num(d.latency_ms);
      }
      if (t) addUsage(t.usage, prompt, completion, cost, currency);
      const model = str(d.model) || c?.model || 'unknown';
      let m = v.byModel.get(model);
      if (!m) v.byModel.set(model, (m = emptyUsage()));
      addUsage(m, prompt, completion, cost, currency);
      break;
    }
    case 'llm.failed': {
      const c = openCall(v, e);
      if (c) {
        c.status = 'failed';
        c.error = str(d.message || d.error);
      }
      break;
    }
    case 'tool.started':
    case 'tool.completed':
    case 'tool.failed': {
      const c = openCall(v, e);
      if (!c) break;
      const id = str(d.call_id);
      let tc = c.toolById.get(id);
      if (!tc) {
        tc = { call_id: id, name: str(d.name), arguments: d.arguments, status: 'running' };
        c.tools.push(tc);
        c.toolById.set(id, tc);
      }
      if (e.type === 'tool.completed') {
        tc.status = 'succeeded';
        tc.result = d.result;
        tc.duration_ms = num(d.duration_ms);
      } else if (e.type === 'tool.failed') {
        tc.status = 'failed';
        tc.error = d.error;
        tc.duration_ms = num(d.duration_ms);
      }
      break;
    }
  }
  return true;
}

// A cost as the page shows it: up to six significant digits with trailing
// zeros trimmed (0 reads "0", 0.000087 reads "0.000087", 12.5 reads "12.5");
// a null cost (no price set for the model) is "—", never 0.
const COST = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 6, maximumFractionDigits: 12 });
export const NO_PRICE = 'no price set for this model';

export function costText(u: { cost: number | null; unpriced?: number; currency?: string | null }): string {
  if (u.cost === null) return '—';
  const c = `${COST.format(u.cost)}${u.currency ? ` ${u.currency}` : ''}`;
  return u.unpriced ? `${c} (+${u.unpriced} call${u.unpriced > 1 ? 's' : ''} with no price)` : c;
}

// A one-line summary of an event for the timeline.
export function summary(e: ExecEvent): string {
  const d = obj(e.data);
  switch (e.type) {
    case 'llm.started':
      return `${str(d.model)} · iteration ${num(d.iteration)}`;
    case 'llm.completed':
      return `${str(d.model)} · ${num(d.prompt_tokens)}+${num(d.completion_tokens)} tokens · ${num(d.latency_ms)} ms`;
    case 'llm.failed':
      return str(d.message || d.error);
    case 'tool.started':
    case 'tool.completed':
    case 'tool.failed':
      return `${str(d.name)}(${str(d.arguments).slice(0, 80)})`;
    case 'task.failed':
      return `${str(d.outcome)}: ${str(obj(d.error).message || d.error)}`;
    case 'task.succeeded':
      return str(d.output).slice(0, 100);
    default:
      return '';
  }
}
