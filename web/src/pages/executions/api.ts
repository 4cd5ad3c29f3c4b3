// What the executions pages call outside the typed client's JSON answers:
// the session's headers for the event stream (read with fetch: see sse.ts),
// and artifact downloads (the typed client, read as a Blob).
import { api } from '../../api/client';
import { getSession } from '../../session';
import type { Problem } from '../../problem';

export function sessionHeaders(): Record<string, string> {
  const { accessToken, workspaceId } = getSession();
  const h: Record<string, string> = {};
  if (accessToken) h.Authorization = `Bearer ${accessToken}`;
  if (workspaceId) h['X-Workspace-Id'] = workspaceId;
  return h;
}

// Downloads an artifact with the session's headers (a plain link cannot
// carry them) and saves it under its name.
export async function download(id: string, name: string): Promise<Problem | null> {
  const { data, error } = await api.GET('/api/v1/executions/{id}/artifacts/{name}', {
    params: { path: { id, name } },
    parseAs: 'blob',
  });
  if (error) return error as Problem;
  const href = URL.createObjectURL(data);
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 1000);
  return null;
}
