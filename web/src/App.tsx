import { lazy, Suspense, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { CssBaseline, ThemeProvider } from '@mui/material';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter, Navigate, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { setUnauthorizedHandler } from './api/client';
import { getSession, resume, subscribe } from './session';
import { initialMode, makeTheme, type Mode } from './theme';
import { Loading } from './ui';
// The signed-in frame (app bar, workspace switcher): its own chunk, so the
// entry that the sign-in page waits for carries no Select, Menu or Modal.
// RequireAuth starts loading it while the session is restored.
const loadLayout = () => import('./Layout');
const Layout = lazy(() => loadLayout().then((m) => ({ default: m.Layout })));
// Workflows pages: loaded when first visited (code split by route).
const Workflows = lazy(() => import('./pages/workflows/Workflows').then((m) => ({ default: m.Workflows })));
const WorkflowEditor = lazy(() => import('./pages/workflows/WorkflowEditor').then((m) => ({ default: m.WorkflowEditor })));
const WorkflowVersions = lazy(() => import('./pages/workflows/Versions').then((m) => ({ default: m.Versions })));
const WorkflowImport = lazy(() => import('./pages/workflows/Import').then((m) => ({ default: m.Import })));

// Every page is its own chunk, loaded when its route is first shown: the
// sign-in page loads only what it needs (web/tests/size.test.js holds it
// under 300 KB gzipped).
// The sign-in page is a cold visit's first: main.tsx loads it before the
// first render when the address is /signin, and its lazy component then
// resolves at once (a settled thenable, which React.lazy reads in the same
// render): no fallback commit and no second render before the form.
type SignInModule = { default: typeof import('./pages/SignIn').SignIn };
let signInModule: SignInModule | null = null;
export const loadSignIn = () =>
  import('./pages/SignIn').then((m) => {
    signInModule = { default: m.SignIn };
    return signInModule;
  });
const settled = (m: SignInModule) => ({ then: (ok: (v: SignInModule) => void) => ok(m) }) as unknown as Promise<SignInModule>;
const SignIn = lazy(() => (signInModule ? settled(signInModule) : loadSignIn()));
const Register = lazy(() => import('./pages/Register').then((m) => ({ default: m.Register })));
const Models = lazy(() => import('./pages/Models').then((m) => ({ default: m.Models })));
const Profile = lazy(() => import('./pages/Profile').then((m) => ({ default: m.Profile })));
const Admin = lazy(() => import('./pages/admin/Admin'));
// Tools and agents pages: their own chunks, loaded on first visit.
const Tools = lazy(() => import('./pages/Tools').then((m) => ({ default: m.Tools })));
const ToolEditor = lazy(() => import('./pages/ToolEditor').then((m) => ({ default: m.ToolEditor })));
const Agents = lazy(() => import('./pages/Agents').then((m) => ({ default: m.Agents })));
const AgentEditor = lazy(() => import('./pages/AgentEditor').then((m) => ({ default: m.AgentEditor })));
const AgentVersions = lazy(() => import('./pages/AgentVersions').then((m) => ({ default: m.AgentVersions })));
const ToolVersions = lazy(() => import('./pages/AgentVersions').then((m) => ({ default: m.ToolVersions })));
const Executions = lazy(() => import('./pages/executions/Executions'));
const ExecutionDetail = lazy(() => import('./pages/executions/ExecutionDetail'));

const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } },
});

export function useSession() {
  return useSyncExternalStore(subscribe, getSession);
}

// Pages behind sign-in. Without an access token (a reload), one refresh by
// the cookie; failing that, to sign in and back here afterwards.
function RequireAuth({ children }: { children: JSX.Element }) {
  const { accessToken } = useSession();
  const location = useLocation();
  const [tried, setTried] = useState(accessToken !== null);
  useEffect(() => void loadLayout(), []);
  useEffect(() => {
    if (accessToken || tried) return;
    void resume().finally(() => setTried(true));
  }, [accessToken, tried]);
  if (accessToken) return children;
  if (!tried) return <Loading label="Restoring your session" />;
  const next = encodeURIComponent(location.pathname + location.search);
  return <Navigate to={`/signin?next=${next}`} replace />;
}

function UnauthorizedRedirect() {
  const navigate = useNavigate();
  const location = useLocation();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      queryClient.clear();
      const next = encodeURIComponent(location.pathname + location.search);
      navigate(`/signin?next=${next}`, { replace: true });
    });
  }, [navigate, location]);
  return null;
}

export function App() {
  const [mode, setMode] = useState<Mode>(initialMode);
  const theme = useMemo(() => makeTheme(mode), [mode]);
  const toggle = () => {
    const m = mode === 'light' ? 'dark' : 'light';
    window.localStorage.setItem('troupe.theme', m);
    setMode(m);
  };
  return (
    <QueryClientProvider client={queryClient}>
      <ThemeProvider theme={theme}>
        <CssBaseline />
        <BrowserRouter>
          <UnauthorizedRedirect />
          <Suspense fallback={<Loading label="Loading" />}>
          <Routes>
            <Route path="/signin" element={<SignIn />} />
            <Route path="/register" element={<Register />} />
            <Route
              element={
                <RequireAuth>
                  <Layout mode={mode} onToggleMode={toggle} />
                </RequireAuth>
              }
            >
              <Route index element={<Navigate to="/models" replace />} />
              <Route path="/models" element={<Models />} />
              <Route path="/profile" element={<Profile />} />
              <Route path="/admin/*" element={<Admin />} />
              <Route path="/tools" element={<Tools />} />
              <Route path="/tools/:id" element={<ToolEditor />} />
              <Route path="/tools/:id/versions" element={<ToolVersions />} />
              <Route path="/agents" element={<Agents />} />
              <Route path="/agents/:id" element={<AgentEditor />} />
              <Route path="/agents/:id/versions" element={<AgentVersions />} />
              <Route path="/executions" element={<Executions />} />
              <Route path="/executions/:id" element={<ExecutionDetail />} />
              <Route path="/workflows" element={<Workflows />} />
              <Route path="/workflows/import" element={<WorkflowImport />} />
              <Route path="/workflows/:id" element={<WorkflowEditor />} />
              <Route path="/workflows/:id/versions" element={<WorkflowVersions />} />
              <Route path="*" element={<Navigate to="/models" replace />} />
            </Route>
          </Routes>
          </Suspense>
        </BrowserRouter>
      </ThemeProvider>
    </QueryClientProvider>
  );
}
