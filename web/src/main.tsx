import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { resumeEarly } from './session';

// A reload of a signed-in page resumes the session by its cookie: start that
// round trip now, beside React's first render (RequireAuth takes it up).
if (!/^\/(signin|register)(\/|$)/.test(window.location.pathname)) resumeEarly();

const root = document.getElementById('root');
if (!root) throw new Error('no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
