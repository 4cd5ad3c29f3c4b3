import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App, loadSignIn } from './App';
import { resumeEarly } from './session';

const root = document.getElementById('root');
if (!root) throw new Error('no #root element');
const render = () =>
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );

// A cold visit opens on sign in: its chunk (preloaded by index.html) is
// loaded before the first render, which then shows the form at once. A
// reload of a signed-in page resumes the session by its cookie: start that
// round trip now, beside React's first render (RequireAuth takes it up).
if (/^\/signin(\/|$)/.test(window.location.pathname)) {
  void loadSignIn().then(render, render);
} else {
  if (!/^\/register(\/|$)/.test(window.location.pathname)) resumeEarly();
  render();
}
