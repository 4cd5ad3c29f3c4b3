import { useState, type FormEvent } from 'react';
import { Alert, Box, Button, Link, Paper, TextField, Typography } from '@mui/material';
import { Link as RouterLink, useNavigate, useSearchParams } from 'react-router-dom';
import { api } from '../api/client';
import { fieldErrors, problemText, type Problem } from '../problem';
import { setTokens } from '../session';

// Only a path inside the app: never an absolute or protocol-relative URL.
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/models';
}

export function SignIn() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const errs = fieldErrors(problem);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    const { data, error } = await api.POST('/api/v1/auth/login', { body: { email, password } });
    setBusy(false);
    if (error || !data) {
      setProblem(error ?? { detail: 'Sign-in failed' });
      return;
    }
    setTokens(data);
    navigate(safeNext(params.get('next')), { replace: true });
  }

  return (
    <Box component="main" sx={{ minHeight: '100vh', display: 'grid', placeItems: 'center', p: 2 }}>
      <Paper component="form" onSubmit={submit} noValidate sx={{ p: 4, width: 380, maxWidth: '100%' }}>
        <Typography component="h1" variant="h5" gutterBottom>
          Sign in to troupe
        </Typography>
        {problem && (
          <Alert severity="error" sx={{ mb: 2 }}>
            {problemText(problem)}
          </Alert>
        )}
        <TextField
          label="Email"
          type="email"
          name="email"
          autoComplete="username"
          fullWidth
          margin="normal"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={!!errs.email}
          helperText={errs.email}
        />
        <TextField
          label="Password"
          type="password"
          name="password"
          autoComplete="current-password"
          fullWidth
          margin="normal"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={!!errs.password}
          helperText={errs.password}
        />
        <Button type="submit" variant="contained" fullWidth sx={{ mt: 2 }} disabled={busy}>
          Sign in
        </Button>
        <Typography sx={{ mt: 2 }}>
          New here?{' '}
          <Link component={RouterLink} to="/register">
            Create an account
          </Link>
        </Typography>
      </Paper>
    </Box>
  );
}
