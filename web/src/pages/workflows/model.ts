// The workflow editor's pure logic: the draft the forms edit, to and from the
// API's shapes; the context edges the graph draws and how a drag or a delete
// changes a task's context; validation paths (tasks[2].context[0]) mapped to
// the task and field they name; the run dialog's values into typed inputs.
// Context follows crewAI (docs/workflows.md): null is every earlier task's
// output, a list names tasks, [] is none.
import type { Schemas } from '../../api/client';

export type Workflow = Schemas['Workflow'];
export type Definition = Schemas['WorkflowDefinition'];
export type TaskOut = Schemas['WorkflowTaskOut'];
export type InputOut = Schemas['WorkflowInputOut'];
export type Process = 'sequential' | 'hierarchical' | 'graph';
export type InputType = 'string' | 'number' | 'boolean' | 'json';
export type GuardrailType = '' | 'json_schema' | 'regex' | 'llm';
export type ConditionOp = Schemas['TaskCondition']['op'];

// JSON-valued fields are edited as text and parsed on save.
export interface DraftInput {
  name: string;
  description: string;
  type: InputType;
  required: boolean;
  defaultText: string; // empty: no default
}

export interface DraftTask {
  key: string;
  name: string;
  description: string;
  expected_output: string;
  agent_id: string; // empty: none
  context: string[] | null;
  async_execution: boolean;
  depends_on: string[];
  conditionTask: string; // empty: no condition
  conditionPath: string;
  conditionOp: ConditionOp;
  conditionValueText: string;
  tool_ids: string[] | null;
  outputFormat: 'text' | 'markdown' | 'json';
  outputSchemaText: string;
  guardrailType: GuardrailType;
  guardrailSchemaText: string;
  guardrailPattern: string;
  guardrailMustMatch: boolean;
  guardrailCriteria: string;
  guardrailModelId: string;
  max_retries: string;
  human_review: boolean;
  output_file: string;
}

export interface Draft {
  name: string;
  description: string;
  process: Process;
  manager_model_id: string;
  manager_agent_id: string;
  max_rpm: string;
  max_concurrency: string;
  timeout_s: string;
  tags: string;
  inputs: DraftInput[];
  tasks: DraftTask[];
}

const json = (v: unknown) => (v === undefined || v === null ? '' : JSON.stringify(v, null, 2));
const num = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v));
const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};

export function newTask(key: string): DraftTask {
  return {
    key,
    name: '',
    description: '',
    expected_output: '',
    agent_id: '',
    context: null,
    async_execution: false,
    depends_on: [],
    conditionTask: '',
    conditionPath: '',
    conditionOp: 'equals',
    conditionValueText: '',
    tool_ids: null,
    outputFormat: 'text',
    outputSchemaText: '',
    guardrailType: '',
    guardrailSchemaText: '',
    guardrailPattern: '',
    guardrailMustMatch: true,
    guardrailCriteria: '',
    guardrailModelId: '',
    max_retries: '3',
    human_review: false,
    output_file: '',
  };
}

export function newDraft(): Draft {
  return {
    name: '',
    description: '',
    process: 'sequential',
    manager_model_id: '',
    manager_agent_id: '',
    max_rpm: '',
    max_concurrency: '',
    timeout_s: '',
    tags: '',
    inputs: [],
    tasks: [newTask('task_1')],
  };
}

function taskToDraft(t: TaskOut): DraftTask {
  const c = t.condition ? obj(t.condition) : null;
  const g = t.guardrail ? obj(t.guardrail) : null;
  return {
    key: t.key,
    name: t.name ?? '',
    description: t.description,
    expected_output: t.expected_output,
    agent_id: t.agent_id ?? '',
    context: t.context ? [...t.context] : null,
    async_execution: t.async_execution,
    depends_on: [...t.depends_on],
    conditionTask: c ? String(c.task ?? '') : '',
    conditionPath: c && typeof c.path === 'string' ? c.path : '',
    conditionOp: (c?.op as ConditionOp | undefined) ?? 'equals',
    conditionValueText: c ? json(c.value) : '',
    tool_ids: t.tool_ids ? [...t.tool_ids] : null,
    outputFormat: (t.output.format as DraftTask['outputFormat'] | undefined) ?? 'text',
    outputSchemaText: json(t.output.schema),
    guardrailType: (g?.type as GuardrailType | undefined) ?? '',
    guardrailSchemaText: g ? json(g.schema) : '',
    guardrailPattern: g && typeof g.pattern === 'string' ? g.pattern : '',
    guardrailMustMatch: g ? g.must_match !== false : true,
    guardrailCriteria: g && typeof g.criteria === 'string' ? g.criteria : '',
    guardrailModelId: g && typeof g.model_id === 'string' ? g.model_id : '',
    max_retries: String(t.max_retries),
    human_review: t.human_review,
    output_file: t.output_file ?? '',
  };
}

export function toDraft(d: Definition | Workflow): Draft {
  return {
    name: d.name,
    description: d.description,
    process: d.process as Process,
    manager_model_id: d.manager_model_id ?? '',
    manager_agent_id: d.manager_agent_id ?? '',
    max_rpm: num(d.max_rpm),
    max_concurrency: num(d.max_concurrency),
    timeout_s: num(d.timeout_s),
    tags: d.tags.join(', '),
    inputs: d.inputs.map((i) => ({
      name: i.name,
      description: i.description ?? '',
      type: i.type as InputType,
      required: i.required,
      defaultText: i.default === undefined || i.default === null ? '' : typeof i.default === 'string' ? i.default : JSON.stringify(i.default),
    })),
    tasks: d.tasks.map(taskToDraft),
  };
}

// A field's text as a whole number or null; NaN when it is not one.
function intOrNull(s: string): number | null {
  const t = s.trim();
  if (t === '') return null;
  return /^-?\d+$/.test(t) ? Number(t) : NaN;
}

function parseJson(s: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(s) as unknown };
  } catch {
    return { ok: false };
  }
}

// A default's text as a value of the input's type.
export function parseTyped(type: InputType, text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  if (type === 'string') return { ok: true, value: text };
  if (type === 'number') {
    const n = Number(text.trim());
    return text.trim() !== '' && Number.isFinite(n) ? { ok: true, value: n } : { ok: false, message: 'must be a number' };
  }
  if (type === 'boolean') {
    if (text === 'true' || text === 'false') return { ok: true, value: text === 'true' };
    return { ok: false, message: 'must be true or false' };
  }
  const j = parseJson(text);
  return j.ok ? j : { ok: false, message: 'is not valid JSON' };
}

export type Body = Schemas['WorkflowCreate'];

// The draft as the API's body, or the client-side errors by field path (the
// same paths the server uses, so they show in the same places).
export function fromDraft(d: Draft): { body: Body; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const intField = (path: string, s: string) => {
    const v = intOrNull(s);
    if (Number.isNaN(v)) errors[path] = 'must be a whole number';
    return Number.isNaN(v) ? null : v;
  };
  const jsonField = (path: string, s: string): unknown => {
    if (s.trim() === '') return null;
    const j = parseJson(s);
    if (!j.ok) errors[path] = 'is not valid JSON';
    return j.ok ? j.value : null;
  };
  const inputs = d.inputs.map((i, n) => {
    const out: Schemas['WorkflowInput'] = { name: i.name, description: i.description || null, type: i.type, required: i.required };
    if (i.defaultText !== '') {
      const v = parseTyped(i.type, i.defaultText);
      if (v.ok) out.default = v.value;
      else errors[`inputs[${n}].default`] = v.message;
    }
    return out;
  });
  const tasks = d.tasks.map((t, n): Schemas['WorkflowTask'] => {
    const p = `tasks[${n}]`;
    const out: Schemas['WorkflowTask'] = {
      key: t.key,
      name: t.name || null,
      description: t.description,
      expected_output: t.expected_output,
      agent_id: t.agent_id || null,
      context: t.context,
      async_execution: t.async_execution,
      tool_ids: t.tool_ids,
      output: { format: t.outputFormat },
      human_review: t.human_review,
      output_file: t.output_file || null,
    };
    const retries = intField(`${p}.max_retries`, t.max_retries);
    if (retries !== null) out.max_retries = retries;
    if (t.outputFormat === 'json') out.output = { format: 'json', schema: jsonField(`${p}.output.schema`, t.outputSchemaText) as Schemas['OutputJsonSchema'] | null };
    if (d.process === 'graph') {
      out.depends_on = t.depends_on;
      if (t.conditionTask) {
        const c: Schemas['TaskCondition'] = { task: t.conditionTask, op: t.conditionOp, path: t.conditionPath || null };
        if (t.conditionOp !== 'exists') c.value = jsonField(`${p}.condition.value`, t.conditionValueText);
        out.condition = c;
      } else out.condition = null;
    }
    if (t.guardrailType === '') out.guardrail = null;
    else if (t.guardrailType === 'json_schema')
      out.guardrail = { type: 'json_schema', schema: jsonField(`${p}.guardrail.schema`, t.guardrailSchemaText) as Schemas['GuardrailJsonSchema'] };
    else if (t.guardrailType === 'regex') out.guardrail = { type: 'regex', pattern: t.guardrailPattern, must_match: t.guardrailMustMatch };
    else out.guardrail = { type: 'llm', criteria: t.guardrailCriteria, model_id: t.guardrailModelId || null };
    return out;
  });
  const body: Body = {
    name: d.name,
    description: d.description,
    process: d.process,
    manager_model_id: d.process === 'hierarchical' ? d.manager_model_id || null : null,
    manager_agent_id: d.process === 'hierarchical' ? d.manager_agent_id || null : null,
    inputs,
    tasks,
    max_rpm: intField('max_rpm', d.max_rpm),
    max_concurrency: d.process === 'graph' ? intField('max_concurrency', d.max_concurrency) : null,
    timeout_s: intField('timeout_s', d.timeout_s),
    tags: d.tags
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  };
  return { body, errors };
}

// ---- the graph ----

export interface ContextEdge {
  id: string;
  source: string; // the task whose output is given
  target: string; // the task that receives it
  implicit: boolean; // from a null context: every earlier task
}

// Every context edge: explicit entries, and for a null context one implicit
// edge from each earlier task. Entries naming no task draw nothing (the
// validation error shows on the task's node and field instead).
export function contextEdges(tasks: Pick<DraftTask, 'key' | 'context'>[]): ContextEdge[] {
  const keys = new Set(tasks.map((t) => t.key));
  const out: ContextEdge[] = [];
  tasks.forEach((t, i) => {
    const sources = t.context ?? tasks.slice(0, i).map((e) => e.key);
    for (const s of sources)
      if (keys.has(s) && s !== t.key) out.push({ id: `${s}->${t.key}`, source: s, target: t.key, implicit: t.context === null });
  });
  return out;
}

// The context of target after an edge from source is drawn: source added to
// the list; a null context becomes explicit, naming source alone (drawing an
// edge says exactly which output this task gets). Null when nothing changes.
export function connect(tasks: DraftTask[], source: string, target: string): DraftTask[] | null {
  const i = tasks.findIndex((t) => t.key === target);
  if (i < 0 || source === target || !tasks.some((t) => t.key === source)) return null;
  const t = tasks[i];
  if (!t || (t.context !== null && t.context.includes(source))) return null;
  const context = t.context === null ? [source] : [...t.context, source];
  return tasks.map((x, n) => (n === i ? { ...x, context } : x));
}

// The context of target after the edge from source is removed: the entry
// dropped; a null context becomes every earlier task but source.
export function disconnect(tasks: DraftTask[], source: string, target: string): DraftTask[] | null {
  const i = tasks.findIndex((t) => t.key === target);
  if (i < 0) return null;
  const t = tasks[i];
  if (!t) return null;
  const current = t.context ?? tasks.slice(0, i).map((e) => e.key);
  if (!current.includes(source)) return null;
  const context = current.filter((k) => k !== source);
  return tasks.map((x, n) => (n === i ? { ...x, context } : x));
}

// Columns by context depth (a task sits right of every task it reads), rows
// by order within a column. Cycles and unknown keys are cut, not followed.
export function layout(tasks: Pick<DraftTask, 'key' | 'context'>[]): Record<string, { x: number; y: number }> {
  const edges = contextEdges(tasks);
  const depth: Record<string, number> = {};
  const visiting = new Set<string>();
  const depthOf = (k: string): number => {
    const known = depth[k];
    if (known !== undefined) return known;
    if (visiting.has(k)) return 0;
    visiting.add(k);
    let d = 0;
    for (const e of edges) if (e.target === k) d = Math.max(d, depthOf(e.source) + 1);
    visiting.delete(k);
    depth[k] = d;
    return d;
  };
  const rows: Record<number, number> = {};
  const out: Record<string, { x: number; y: number }> = {};
  for (const t of tasks) {
    const d = depthOf(t.key);
    const r = rows[d] ?? 0;
    rows[d] = r + 1;
    out[t.key] = { x: d * 280, y: r * 130 };
  }
  return out;
}

// ---- validation paths ----

// "tasks[2].context[0]" -> {index: 2, field: "context"}; "tasks[2]" -> field "".
export function taskOfPath(path: string): { index: number; field: string } | null {
  const m = /^(?:body[./])?tasks\[(\d+)\](?:\.([A-Za-z_]+(?:\.[A-Za-z_]+)?))?/.exec(path);
  if (!m) return null;
  return { index: Number(m[1]), field: m[2] ?? '' };
}

// The first message whose path is prefix or under it (prefix., prefix[).
export function errorAt(errs: Record<string, string>, prefix: string): string | undefined {
  for (const [k, v] of Object.entries(errs)) if (k === prefix || k.startsWith(prefix + '.') || k.startsWith(prefix + '[')) return v;
  return undefined;
}

// Every message naming task i, for its graph node.
export function taskMessages(errs: Record<string, string>, i: number): string[] {
  return Object.entries(errs)
    .filter(([k]) => taskOfPath(k)?.index === i)
    .map(([k, v]) => `${k.replace(/^tasks\[\d+\]\.?/, '') || 'task'}: ${v}`);
}

// ---- the run dialog ----

export type RunValues = Record<string, string | boolean>;

export function runDefaults(inputs: InputOut[]): RunValues {
  const out: RunValues = {};
  for (const i of inputs) {
    if (i.type === 'boolean') out[i.name] = i.default === true;
    else if (i.default === undefined || i.default === null) out[i.name] = '';
    else out[i.name] = typeof i.default === 'string' ? i.default : JSON.stringify(i.default);
  }
  return out;
}

// The form's values as the run's inputs, and the client-side errors by input
// name: a required input left empty; JSON that does not parse. A number that
// is not one goes as typed, for the server's 422 to name (it is the judge of
// types). An optional input left empty is left out (its default applies).
export function runInputs(inputs: InputOut[], values: RunValues): { inputs: Record<string, unknown>; errors: Record<string, string> } {
  const out: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const i of inputs) {
    const v = values[i.name];
    if (i.type === 'boolean') {
      out[i.name] = v === true;
      continue;
    }
    const text = typeof v === 'string' ? v : '';
    if (text.trim() === '') {
      if (i.required) errors[i.name] = 'is required';
      continue;
    }
    if (i.type === 'number') {
      const n = Number(text.trim());
      out[i.name] = Number.isFinite(n) ? n : text;
    } else if (i.type === 'json') {
      const j = parseJson(text);
      if (j.ok) out[i.name] = j.value;
      else errors[i.name] = 'is not valid JSON';
    } else out[i.name] = text;
  }
  return { inputs: out, errors };
}

// ---- the run dialog's version picker ----

export type VersionSummary = Schemas['WorkflowVersionSummary'];

export interface VersionChoice {
  version: number;
  label: string;
}

// The versions a run can take, newest first, each labelled with what it is
// (the latest, the published one) and its change note, so the picker tells
// them apart. `latest` and `published` come from the workflow itself: a
// version the list has not reached yet (a save since it was read) is still
// offered.
export function versionChoices(items: VersionSummary[], latest: number, published: number | null): VersionChoice[] {
  const byVersion = new Map<number, VersionSummary | null>();
  for (const v of items) byVersion.set(v.version, v);
  if (!byVersion.has(latest)) byVersion.set(latest, null);
  if (published !== null && !byVersion.has(published)) byVersion.set(published, null);
  return [...byVersion.entries()]
    .sort((a, b) => b[0] - a[0])
    .map(([version, s]) => {
      const tags = [version === latest ? 'latest' : '', version === published ? 'published' : ''].filter(Boolean);
      const note = s?.change_note ? ` · ${s.change_note}` : '';
      return { version, label: `Version ${version}${tags.length ? ` (${tags.join(', ')})` : ''}${note}` };
    });
}
