import { useId, useState, type FormEvent } from 'react';
import { Alert, Box, Button, FormControl, FormHelperText, InputLabel, Link, OutlinedInput, Paper, Typography } from '@mui/material';
import { Link as RouterLink, useNavigate, useSearchParams } from 'react-router-dom';
import { api } from '../api/client';
import { fieldErrors, problemText, type Problem } from '../problem';
import { setTokens } from '../session';

// Only a path inside the app: never an absolute or protocol-relative URL.
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/models';
}

// An outlined text field without MUI's TextField, which imports Select (and
// its Menu, Popover and Modal): the page a cold visit opens on loads ~100 KB
// less script before its form is on screen (bench/web).
interface FieldProps {
  label: string;
  type: string;
  name: string;
  autoComplete: string;
  value: string;
  onChange: (value: string) => void;
  error?: string;
}

function Field({ label, type, name, autoComplete, value, onChange, error }: FieldProps) {
  const id = useId();
  const help = `${id}-helper-text`;
  return (
    <FormControl fullWidth margin="normal" required error={!!error}>
      <InputLabel htmlFor={id}>{label}</InputLabel>
      <OutlinedInput
        id={id}
        label={label}
        type={type}
        name={name}
        autoComplete={autoComplete}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-describedby={error ? help : undefined}
      />
      {error && <FormHelperText id={help}>{error}</FormHelperText>}
    </FormControl>
  );
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
        <Field label="Email" type="email" name="email" autoComplete="username" value={email} onChange={setEmail} error={errs.email} />
        <Field
          label="Password"
          type="password"
          name="password"
          autoComplete="current-password"
          value={password}
          onChange={setPassword}
          error={errs.password}
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
