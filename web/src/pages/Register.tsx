import { useState, type FormEvent } from 'react';
import { Alert, Box, Button, Link, Paper, TextField, Typography } from '@mui/material';
import { Link as RouterLink, useNavigate } from 'react-router-dom';
import { api } from '../api/client';
import { fieldErrors, problemText, type Problem } from '../problem';
import { setTokens } from '../session';

export function Register() {
  const navigate = useNavigate();
  const [f, setF] = useState({ name: '', email: '', password: '' });
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const errs = fieldErrors(problem);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    const reg = await api.POST('/api/v1/auth/register', { body: f });
    if (reg.error) {
      setBusy(false);
      setProblem(reg.error);
      return;
    }
    const login = await api.POST('/api/v1/auth/login', { body: { email: f.email, password: f.password } });
    setBusy(false);
    if (login.error || !login.data) {
      navigate('/signin', { replace: true });
      return;
    }
    setTokens(login.data);
    navigate('/models', { replace: true });
  }

  const field = (name: 'name' | 'email' | 'password', label: string, type: string, auto: string, help?: string) => (
    <TextField
      label={label}
      name={name}
      type={type}
      autoComplete={auto}
      fullWidth
      margin="normal"
      required
      value={f[name]}
      onChange={(e) => setF({ ...f, [name]: e.target.value })}
      error={!!errs[name]}
      helperText={errs[name] ?? help}
    />
  );

  return (
    <Box component="main" sx={{ minHeight: '100vh', display: 'grid', placeItems: 'center', p: 2 }}>
      <Paper component="form" onSubmit={submit} noValidate sx={{ p: 4, width: 420, maxWidth: '100%' }}>
        <Typography component="h1" variant="h5" gutterBottom>
          Create a troupe account
        </Typography>
        {problem && (
          <Alert severity="error" sx={{ mb: 2 }}>
            {problemText(problem)}
          </Alert>
        )}
        {field('name', 'Your name', 'text', 'name')}
        {field('email', 'Email', 'email', 'username')}
        {field('password', 'Password', 'password', 'new-password', '8 characters or more; common passwords are refused')}
        <Button type="submit" variant="contained" fullWidth sx={{ mt: 2 }} disabled={busy}>
          Create account
        </Button>
        <Typography sx={{ mt: 2 }}>
          Have an account?{' '}
          <Link component={RouterLink} to="/signin">
            Sign in
          </Link>
        </Typography>
      </Paper>
    </Box>
  );
}
