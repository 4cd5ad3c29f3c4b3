// Pure helpers of the Tools and Agents pages: a JSON Schema's parameters as
// rows a person reads, crewAI's {placeholder} slots, a version diff as rows,
// and test-call arguments from form text. No React here: Vitest covers them.

export interface ParamRow {
  name: string;
  type: string;
  required: boolean;
  description: string;
  details: string[]; // "default 30", "1 to 120", "one of: metric, imperial"
  input: 'string' | 'number' | 'integer' | 'boolean' | 'json';
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeOf(s: Obj): string {
  const t = s.type;
  if (Array.isArray(t)) return t.map(String).join(' or ');
  if (typeof t === 'string') {
    if (t === 'array' && isObj(s.items) && typeof s.items.type === 'string') return `list of ${s.items.type}`;
    return t;
  }
  if (Array.isArray(s.enum)) return 'choice';
  return 'any';
}

function inputOf(s: Obj): ParamRow['input'] {
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  if (t === 'string' || t === 'number' || t === 'integer' || t === 'boolean') return t;
  if (t === undefined && Array.isArray(s.enum) && s.enum.every((x) => typeof x === 'string')) return 'string';
  return 'json';
}

function range(lo: unknown, hi: unknown, unit: string): string | null {
  const l = typeof lo === 'number' ? lo : null;
  const h = typeof hi === 'number' ? hi : null;
  if (l !== null && h !== null) return `${l} to ${h}${unit}`;
  if (l !== null) return `at least ${l}${unit}`;
  if (h !== null) return `at most ${h}${unit}`;
  return null;
}

function detailsOf(s: Obj): string[] {
  const out: string[] = [];
  if (Array.isArray(s.enum)) out.push(`one of: ${s.enum.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}`);
  const num = range(s.minimum, s.maximum, '');
  if (num) out.push(num);
  const len = range(s.minLength, s.maxLength, ' characters');
  if (len) out.push(len);
  const items = range(s.minItems, s.maxItems, ' items');
  if (items) out.push(items);
  if (typeof s.pattern === 'string') out.push(`matches ${s.pattern}`);
  if (typeof s.format === 'string') out.push(`format ${s.format}`);
  if ('default' in s) out.push(`default ${JSON.stringify(s.default)}`);
  return out;
}

// The properties of an object schema, in their order, required first kept
// in place (the order the author wrote is the order a reader expects).
export function paramRows(schema: unknown): ParamRow[] {
  if (!isObj(schema) || !isObj(schema.properties)) return [];
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  return Object.entries(schema.properties).map(([name, raw]) => {
    const s = isObj(raw) ? raw : {};
    return {
      name,
      type: typeOf(s),
      required: required.has(name),
      description: typeof s.description === 'string' ? s.description : '',
      details: detailsOf(s),
      input: inputOf(s),
    };
  });
}

// crewAI's placeholders: {name} filled from a run's inputs. As the server
// reads them (core/template.h): a placeholder enclosed by a second pair of
// braces, {{x}}, is literal text; {x}} is still one. Names in first-seen
// order, without repeats.
export function placeholders(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\{([A-Za-z_][A-Za-z0-9_-]*)\}/g)) {
    const at = m.index ?? 0;
    const literal = text[at - 1] === '{' && text[at + m[0].length] === '}';
    const name = m[1] ?? '';
    if (!literal && !out.includes(name)) out.push(name);
  }
  return out;
}

export interface DiffEntry {
  path: string;
  value?: unknown;
  from?: unknown;
  to?: unknown;
}
export interface DiffRow {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  from: unknown; // undefined: absent in the older version
  to: unknown; // undefined: absent in the newer one
}

// One row per field, sorted by path, whatever list the entry came in.
export function diffRows(d: { added: DiffEntry[]; removed: DiffEntry[]; changed: DiffEntry[] }): DiffRow[] {
  const rows: DiffRow[] = [
    ...d.added.map((e) => ({ path: e.path, kind: 'added' as const, from: undefined, to: e.value })),
    ...d.removed.map((e) => ({ path: e.path, kind: 'removed' as const, from: e.value, to: undefined })),
    ...d.changed.map((e) => ({ path: e.path, kind: 'changed' as const, from: e.from, to: e.to })),
  ];
  return rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

// A value as a reader wants it: text as it is, none for null, the rest as JSON.
export function formatValue(v: unknown, names?: Record<string, string>): string {
  if (v === undefined) return '(absent)';
  if (v === null) return '(none)';
  if (typeof v === 'string') return names?.[v] ?? v;
  if (Array.isArray(v) && names && v.every((x) => typeof x === 'string'))
    return v.length ? v.map((x) => names[x as string] ?? (x as string)).join(', ') : '(empty list)';
  return JSON.stringify(v);
}

// Test-call arguments from the form's text, by each parameter's input kind.
// Empty fields are left out (a required one left empty: the server names
// it). Errors are keyed like the server's ("arguments.days").
export function argsFromForm(
  rows: ParamRow[],
  values: Record<string, string>,
): { args: Record<string, unknown>; errors: Record<string, string> } {
  const args: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const r of rows) {
    const text = (values[r.name] ?? '').trim();
    if (text === '') continue;
    const key = `arguments.${r.name}`;
    if (r.input === 'string') args[r.name] = values[r.name] ?? '';
    else if (r.input === 'boolean') args[r.name] = text === 'true';
    else if (r.input === 'number' || r.input === 'integer') {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) errors[key] = 'must be a number';
      else if (r.input === 'integer' && !Number.isInteger(n)) errors[key] = 'must be a whole number';
      else args[r.name] = n;
    } else {
      try {
        args[r.name] = JSON.parse(text) as unknown;
      } catch {
        errors[key] = 'must be JSON (a list, an object, a number, "text" in quotes)';
      }
    }
  }
  return { args, errors };
}

// The first field error at or under a form field: "tool_ids" finds
// "tool_ids[1]"; "parameters" finds "parameters.properties.days.minimum".
export function errorUnder(errs: Record<string, string>, field: string): string | undefined {
  if (errs[field]) return errs[field];
  for (const [k, v] of Object.entries(errs)) {
    if (k.startsWith(field + '.') || k.startsWith(field + '[')) return `${k}: ${v}`;
  }
  return undefined;
}

// The field errors no field of the form shows (a delete's "workflows[0]"):
// the form's alert lists them, so no message is lost.
export function errorsOutside(errs: Record<string, string>, fields: string[]): [string, string][] {
  return Object.entries(errs).filter(
    ([k]) => k !== 'base_version' && !fields.some((f) => k === f || k.startsWith(f + '.') || k.startsWith(f + '[')),
  );
}

// The labels of the agent's fields: the editor's and the diff's.
export const AGENT_LABELS: Record<string, string> = {
  name: 'Name',
  role: 'Role',
  goal: 'Goal',
  backstory: 'Backstory',
  model_id: 'Model',
  tool_ids: 'Tools',
  max_iter: 'Max iterations',
  max_rpm: 'Max requests per minute',
  max_execution_time_s: 'Max execution time (s)',
  max_retry_limit: 'Max retries',
  allow_delegation: 'Allow delegation',
  respect_context_window: 'Respect the context window',
  temperature: 'Temperature',
  system_prompt_extra: 'Extra system prompt',
  metadata: 'Metadata',
};

// The labels of a custom tool's fields, for its diff.
export const TOOL_LABELS: Record<string, string> = {
  name: 'Name',
  description: 'Description',
  method: 'Method',
  url_template: 'URL template',
  headers: 'Headers',
  body_template: 'Body template',
  parameters: 'Parameters',
  timeout_s: 'Timeout (s)',
  max_response_bytes: 'Max response bytes',
};
