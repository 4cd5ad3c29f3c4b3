// Calls of the executions routes that the typed client does not cover (the
// stream, downloads, and routes newer than the generated types): the
// session's headers, and one silent refresh on a 401 like the client does.
import { getSession, refresh } from '../../session';
import type { Problem } from '../../problem';

export function sessionHeaders(): Record<string, string> {
  const { accessToken, workspaceId } = getSession();
  const h: Record<string, string> = {};
  if (accessToken) h.Authorization = `Bearer ${accessToken}`;
  if (workspaceId) h['X-Workspace-Id'] = workspaceId;
  return h;
}

export async function call(method: string, path: string, body?: unknown): Promise<Response> {
  const send = () =>
    fetch(path, {
      method,
      headers: { ...sessionHeaders(), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  const res = await send();
  if (res.status === 401 && (await refresh())) return send();
  return res;
}

// The answer's problem (RFC 9457) when it is one, else a generic one.
export async function problemOf(res: Response): Promise<Problem> {
  try {
    return (await res.json()) as Problem;
  } catch {
    return { status: res.status, title: res.statusText || 'The request failed' };
  }
}

// Downloads an artifact with the session's headers (a plain link cannot
// carry them) and saves it under its name.
export async function download(url: string, name: string): Promise<Problem | null> {
  const res = await call('GET', url);
  if (!res.ok) return problemOf(res);
  const blob = await res.blob();
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 1000);
  return null;
}
