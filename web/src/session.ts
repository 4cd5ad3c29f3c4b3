// The session: the access token lives in this module's memory only (never in
// localStorage). The refresh token is in the HttpOnly, SameSite=Strict cookie
// that /auth/login sets for /api/v1/auth: no script here ever holds it, and a
// reload resumes the session through it. Refreshes run before expiry; a
// failed one ends the session.

import type { components } from './api/schema';

// What /auth/login and /auth/refresh answer (the generated types). The
// refresh below is a plain fetch: the typed client's middleware calls it.
export type Tokens = components['schemas']['Tokens'];
type RefreshBody = components['schemas']['Refresh'];

export interface SessionState {
  accessToken: string | null;
  workspaceId: string | null;
}

// The selected workspace outlives a reload of the tab (sessionStorage: this
// tab only, not a secret): a reloaded page reads its workspace's data at once
// instead of after the workspace list, and stays in the workspace it was in.
const WORKSPACE_KEY = 'troupe.workspace';

function stored(): Storage | null {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null; // storage refused (a sandboxed frame)
  }
}

let state: SessionState = { accessToken: null, workspaceId: stored()?.getItem(WORKSPACE_KEY) ?? null };
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
  if (id) stored()?.setItem(WORKSPACE_KEY, id);
  else stored()?.removeItem(WORKSPACE_KEY);
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
  stored()?.removeItem(WORKSPACE_KEY);
  emit();
}

let inflight: Promise<boolean> | null = null;

// Rotates the refresh token (the cookie's); true when the session goes on.
// Callers at the same time share one request: the cookie's token is spent by
// the first, so a second one sent beside it would be refused.
export function refresh(): Promise<boolean> {
  inflight ??= rotate().finally(() => {
    inflight = null;
  });
  return inflight;
}

let early: Promise<boolean> | null = null;

// A reload's refresh, started before React renders (main.tsx)...
export function resumeEarly() {
  early = refresh();
}

// ...and taken up by the first page that needs the session (RequireAuth):
// that one refresh, else a new one.
export function resume(): Promise<boolean> {
  const p = early ?? refresh();
  early = null;
  return p;
}

async function rotate(): Promise<boolean> {
  try {
    const res = await fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({} satisfies RefreshBody),
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
