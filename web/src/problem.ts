// RFC 9457 problem details as troupe answers them (application/problem+json):
// title, status, detail, an optional hint, and errors naming fields.

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  hint?: string;
  errors?: { field?: string; message?: string }[];
}

export function isProblem(v: unknown): v is Problem {
  return typeof v === 'object' && v !== null && ('detail' in v || 'title' in v || 'errors' in v);
}

// The field errors of a problem keyed by form field: "body.name", "name" and
// "/name" all name the form's "name"; nested paths keep their dots
// ("params.temperature"). The first message for a field wins.
export function fieldErrors(p: Problem | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of p?.errors ?? []) {
    let f = (e.field ?? '').replace(/^body[./]/, '').replace(/^\//, '').replace(/\//g, '.');
    if (f === '') f = '_';
    if (!(f in out)) out[f] = e.message ?? 'is invalid';
  }
  return out;
}

// One line for the form's alert: the detail, then the hint if any.
export function problemText(p: Problem | null | undefined): string {
  if (!p) return '';
  const main = p.detail || p.title || 'The request failed';
  return p.hint ? `${main}. ${p.hint}` : main;
}
