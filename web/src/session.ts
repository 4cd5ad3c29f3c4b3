// The session: the access token lives in this module's memory only (never in
// localStorage). The refresh token is in the HttpOnly, SameSite=Strict cookie
// that /auth/login sets for /api/v1/auth: no script here ever holds it, and a
// reload resumes the session through it. Refreshes run before expiry; a
// failed one ends the session.

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
  state = { ...state, accessToken: t.access_token };
  if (timer) clearTimeout(timer);
  timer = setTimeout(() => void refresh(), refreshDelayMs(t.expires_in));
  emit();
}

export function clearSession() {
  if (timer) clearTimeout(timer);
  timer = null;
  state = { accessToken: null, workspaceId: null };
  emit();
}

// Rotates the refresh token (the cookie's); true when the session goes on.
export async function refresh(): Promise<boolean> {
  try {
    const res = await fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      body: '{}',
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
