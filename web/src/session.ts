// The session: the access token lives in this module's memory only (never in
// localStorage), so a reload signs in again through the refresh token, which
// the server keeps in an HttpOnly cookie when it sets one. Refreshes run
// before expiry; a failed one ends the session.

export interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

export interface SessionState {
  accessToken: string | null;
  workspaceId: string | null;
}

let state: SessionState = { accessToken: null, workspaceId: null };
let refreshToken: string | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;
const listeners = new Set<() => void>();

// When to refresh an access token that lives expiresIn seconds: a minute
// before expiry, or at 80% of a short life, never sooner than 5 s.
export function refreshDelayMs(expiresIn: number): number {
  const margin = Math.min(60, expiresIn * 0.2);
  return Math.max(5, expiresIn - margin) * 1000;
}

function emit() {
  for (const l of listeners) l();
}

export function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function getSession(): SessionState {
  return state;
}

export function setWorkspace(id: string | null) {
  if (state.workspaceId === id) return;
  state = { ...state, workspaceId: id };
  emit();
}

export function setTokens(t: Tokens) {
  refreshToken = t.refresh_token;
  state = { ...state, accessToken: t.access_token };
  if (timer) clearTimeout(timer);
  timer = setTimeout(() => void refresh(), refreshDelayMs(t.expires_in));
  emit();
}

export function clearSession() {
  if (timer) clearTimeout(timer);
  timer = null;
  refreshToken = null;
  state = { accessToken: null, workspaceId: null };
  emit();
}

export function currentRefreshToken(): string | null {
  return refreshToken;
}

// Rotates the refresh token; true when the session goes on.
export async function refresh(): Promise<boolean> {
  const body = refreshToken ? JSON.stringify({ refresh_token: refreshToken }) : '{}';
  try {
    const res = await fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      body,
    });
    if (!res.ok) {
      clearSession();
      return false;
    }
    setTokens((await res.json()) as Tokens);
    return true;
  } catch {
    clearSession();
    return false;
  }
}
