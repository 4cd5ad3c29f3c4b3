// The typed API client: paths and schemas come from src/api/schema.d.ts,
// generated from troupe's /api/v1/openapi.json (npm run gen:api).
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';
import { getSession, refresh } from '../session';

export type Schemas = components['schemas'];

// The query parameters a GET route documents in its OpenAPI operation.
export type QueryOf<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } } ? NonNullable<Q> : never;

let onUnauthorized: () => void = () => {};

// The app calls this once: where a 401 that a refresh cannot cure goes.
export function setUnauthorizedHandler(fn: () => void) {
  onUnauthorized = fn;
}

const retries = new WeakMap<Request, Request>();

function withSession(req: Request): Request {
  const { accessToken, workspaceId } = getSession();
  if (accessToken) req.headers.set('Authorization', `Bearer ${accessToken}`);
  if (workspaceId) req.headers.set('X-Workspace-Id', workspaceId);
  return req;
}

const session: Middleware = {
  onRequest({ request }) {
    const req = withSession(request);
    if (!new URL(req.url).pathname.startsWith('/api/v1/auth/')) retries.set(req, req.clone());
    return req;
  },
  async onResponse({ request, response }) {
    const again = retries.get(request);
    if (response.status !== 401 || !again) return response;
    // An expired access token: one silent refresh, then the request once more.
    if (await refresh()) {
      const res = await fetch(withSession(again));
      if (res.status !== 401) return res;
    }
    onUnauthorized();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use(session);
