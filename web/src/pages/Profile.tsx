import { useState, type FormEvent } from 'react';
import { Alert, Button, Paper, Stack, TextField, Typography } from '@mui/material';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import { fieldErrors, problemText, type Problem } from '../problem';
import { Loading } from '../ui';

function NameForm({ name }: { name: string }) {
  const qc = useQueryClient();
  const [value, setValue] = useState(name);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [saved, setSaved] = useState(false);
  const errs = fieldErrors(problem);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const { error } = await api.PATCH('/api/v1/users/me', { body: { name: value } });
    setProblem(error ?? null);
    if (!error) {
      setSaved(true);
      void qc.invalidateQueries({ queryKey: ['me'] });
    }
  }

  return (
    <Paper component="form" onSubmit={submit} noValidate sx={{ p: 3 }} aria-labelledby="profile-name">
      <Typography id="profile-name" component="h2" variant="h6">
        Your name
      </Typography>
      {problem && <Alert severity="error">{problemText(problem)}</Alert>}
      {saved && <Alert severity="success">Name saved.</Alert>}
      <TextField
        label="Name"
        name="name"
        fullWidth
        margin="normal"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        error={!!errs.name}
        helperText={errs.name}
      />
      <Button type="submit" variant="contained">
        Save name
      </Button>
    </Paper>
  );
}

function PasswordForm() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [saved, setSaved] = useState(false);
  const errs = fieldErrors(problem);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const { error } = await api.PATCH('/api/v1/users/me', {
      body: { password: next, current_password: current },
    });
    setProblem(error ?? null);
    if (!error) {
      setSaved(true);
      setCurrent('');
      setNext('');
    }
  }

  return (
    <Paper component="form" onSubmit={submit} noValidate sx={{ p: 3 }} aria-labelledby="profile-password">
      <Typography id="profile-password" component="h2" variant="h6">
        Change your password
      </Typography>
      <Typography variant="body2" color="text.secondary">
        Every other session of yours ends; this one stays.
      </Typography>
      {problem && <Alert severity="error">{problemText(problem)}</Alert>}
      {saved && <Alert severity="success">Password changed.</Alert>}
      <TextField
        label="Current password"
        name="current_password"
        type="password"
        autoComplete="current-password"
        fullWidth
        margin="normal"
        value={current}
        onChange={(e) => setCurrent(e.target.value)}
        error={!!errs.current_password}
        helperText={errs.current_password}
      />
      <TextField
        label="New password"
        name="password"
        type="password"
        autoComplete="new-password"
        fullWidth
        margin="normal"
        value={next}
        onChange={(e) => setNext(e.target.value)}
        error={!!errs.password}
        helperText={errs.password ?? '8 characters or more; common passwords are refused'}
      />
      <Button type="submit" variant="contained">
        Change password
      </Button>
    </Paper>
  );
}

export function Profile() {
  const me = useQuery({
    queryKey: ['me'],
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/users/me');
      if (error) throw error;
      return data;
    },
  });
  if (me.isError) return <Alert severity="error">{problemText(me.error as Problem)}</Alert>;
  if (me.isPending) return <Loading label="Loading your profile" />;
  return (
    <Stack spacing={2} sx={{ maxWidth: 560 }}>
      <Typography component="h1" variant="h4">
        Profile
      </Typography>
      <Typography>
        Signed in as <strong>{me.data.email}</strong>
        {me.data.is_admin ? ' (instance administrator)' : ''}.
      </Typography>
      <NameForm name={me.data.name} />
      <PasswordForm />
    </Stack>
  );
}
