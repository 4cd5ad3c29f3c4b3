import { useState, type FormEvent } from 'react';
import {
  Alert,
  Box,
  Button,
  Chip,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  MenuItem,
  Paper,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Schemas } from '../api/client';
import { fieldErrors, problemText, type Problem } from '../problem';
import { useSession } from '../App';
import { useRole } from '../Layout';
import { DialogForm, Loading } from '../ui';

type Model = Schemas['Model'];
type Provider = Schemas['Provider'];
type TestResult = Schemas['ModelTest'];

// The connection fields a provider may take, labelled for the form.
const FIELD_LABELS: Record<string, string> = {
  base_url: 'Base URL',
  api_key: 'API key',
  api_version: 'API version',
  deployment: 'Deployment',
  organization: 'Organization',
};

function useProviders() {
  return useQuery({
    queryKey: ['providers'],
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/models/providers');
      if (error) throw error;
      return data.items;
    },
    staleTime: Infinity,
  });
}

function useModels() {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: ['models', workspaceId],
    enabled: !!workspaceId,
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/models', { params: { query: { limit: 100 } } });
      if (error) throw error;
      return data.items;
    },
  });
}

interface FormState {
  name: string;
  provider: Provider['id'];
  model: string;
  kind: 'chat' | 'embedding';
  conn: Record<string, string>;
}

function ModelDialog({ model, providers, onClose }: { model: Model | null; providers: Provider[]; onClose: () => void }) {
  const qc = useQueryClient();
  const [f, setF] = useState<FormState>(() => ({
    name: model?.name ?? '',
    provider: model?.provider ?? providers[0]?.id ?? 'openai',
    model: model?.model ?? '',
    kind: model?.kind ?? 'chat',
    conn: {
      base_url: model?.base_url ?? '',
      api_version: model?.api_version ?? '',
      deployment: model?.deployment ?? '',
      organization: model?.organization ?? '',
      api_key: '',
    },
  }));
  const [problem, setProblem] = useState<Problem | null>(null);
  const [missing, setMissing] = useState<Record<string, string>>({});
  const errs = { ...missing, ...fieldErrors(problem) };
  const provider = providers.find((p) => p.id === f.provider);
  const connFields = provider ? [...provider.required, ...provider.optional].filter((n) => n in FIELD_LABELS) : [];
  // Required as the provider's /models/providers entry says; a key already
  // stored is kept when the field is left empty, so it is not asked again.
  const isRequired = (n: string) =>
    !!provider?.required.includes(n as Provider['required'][number]) && !(n === 'api_key' && model?.api_key_last4);

  const save = useMutation({
    mutationFn: async () => {
      const body: Schemas['ModelCreate'] = { name: f.name, provider: f.provider, model: f.model, kind: f.kind };
      for (const n of connFields) {
        const v = f.conn[n] ?? '';
        // The key is write-only: left empty on an edit, the stored one stays.
        if (n === 'api_key' && v === '') continue;
        (body as Record<string, unknown>)[n] = v === '' ? null : v;
      }
      const res = model
        ? await api.PATCH('/api/v1/models/{id}', { params: { path: { id: model.id } }, body })
        : await api.POST('/api/v1/models', { body });
      if (res.error) throw res.error;
      return res.data;
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['models'] });
      onClose();
    },
    onError: (e) => setProblem(e as Problem),
  });

  // The connection fields the provider requires and the form lacks are
  // named at once, beside the server's own field errors.
  function submit(e: FormEvent) {
    e.preventDefault();
    setProblem(null);
    const m: Record<string, string> = {};
    for (const n of connFields) if (isRequired(n) && (f.conn[n] ?? '').trim() === '') m[n] = `is required for ${provider?.label ?? f.provider}`;
    setMissing(m);
    save.mutate();
  }

  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="sm" aria-labelledby="model-dialog-title">
      <DialogForm onSubmit={submit}>
        <DialogTitle id="model-dialog-title">{model ? `Edit ${model.name}` : 'Add a model'}</DialogTitle>
        <DialogContent>
          {problem && (
            <Alert severity="error" sx={{ mb: 1 }}>
              {problemText(problem)}
            </Alert>
          )}
          <TextField
            label="Name"
            name="name"
            fullWidth
            margin="normal"
            required
            value={f.name}
            onChange={(e) => setF({ ...f, name: e.target.value })}
            error={!!errs.name}
            helperText={errs.name ?? 'How agents refer to this model'}
          />
          <TextField
            select
            label="Provider"
            name="provider"
            fullWidth
            margin="normal"
            value={f.provider}
            onChange={(e) => setF({ ...f, provider: e.target.value as Provider['id'] })}
            error={!!errs.provider}
            helperText={errs.provider ?? provider?.description}
          >
            {providers.map((p) => (
              <MenuItem key={p.id} value={p.id}>
                {p.label}
              </MenuItem>
            ))}
          </TextField>
          <TextField
            label="Model"
            name="model"
            fullWidth
            margin="normal"
            required
            value={f.model}
            onChange={(e) => setF({ ...f, model: e.target.value })}
            error={!!errs.model}
            helperText={errs.model ?? 'The provider’s model name, e.g. gpt-4o-mini'}
          />
          {connFields.map((n) => {
            const isKey = n === 'api_key';
            const keyHelp = model?.api_key_last4
              ? `Stored key ends in ${model.api_key_last4}; leave empty to keep it`
              : 'Write-only: never shown again';
            const base = n === 'base_url' && provider?.default_base_url ? `Default: ${provider.default_base_url}` : undefined;
            return (
              <TextField
                key={n}
                label={FIELD_LABELS[n]}
                name={n}
                type={isKey ? 'password' : 'text'}
                autoComplete={isKey ? 'new-password' : 'off'}
                fullWidth
                margin="normal"
                required={isRequired(n)}
                value={f.conn[n] ?? ''}
                onChange={(e) => {
                  setF({ ...f, conn: { ...f.conn, [n]: e.target.value } });
                  setMissing((m) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== n)));
                }}
                error={!!errs[n]}
                helperText={errs[n] ?? (isKey ? keyHelp : base)}
              />
            );
          })}
        </DialogContent>
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="contained" disabled={save.isPending}>
            Save
          </Button>
        </DialogActions>
      </DialogForm>
    </Dialog>
  );
}

function TestOutcome({ result }: { result: TestResult | Problem }) {
  if ('ok' in result && result.ok)
    return (
      <Alert severity="success" role="status">
        Connected in {result.latency_ms} ms{result.model_reported ? `; the provider reports ${result.model_reported}` : ''}.
      </Alert>
    );
  if ('ok' in result && result.error)
    return (
      <Alert severity="error" role="status">
        {result.error.message}
        {result.error.detail ? ` (${result.error.detail})` : ''}
      </Alert>
    );
  return (
    <Alert severity="error" role="status">
      {problemText(result as Problem)}
    </Alert>
  );
}

function TestSlot({ result }: { result: TestResult | Problem | undefined }) {
  if (!result) return null;
  return (
    <Box sx={{ mt: 1 }}>
      <TestOutcome result={result} />
    </Box>
  );
}

export function Models() {
  const role = useRole();
  const qc = useQueryClient();
  const models = useModels();
  const providers = useProviders();
  const [editing, setEditing] = useState<Model | 'new' | null>(null);
  const [tests, setTests] = useState<Record<string, TestResult | Problem>>({});
  const [testing, setTesting] = useState<string | null>(null);
  const isAdmin = role === 'admin' || role === 'owner';
  // Viewers read the list; testing a connection takes an editor.
  const canTest = isAdmin || role === 'editor';
  const actions = canTest || isAdmin;

  async function test(m: Model) {
    setTesting(m.id);
    const { data, error } = await api.POST('/api/v1/models/{id}/test', { params: { path: { id: m.id } } });
    setTesting(null);
    setTests((t) => ({ ...t, [m.id]: (data ?? error) as TestResult | Problem }));
  }

  async function makeDefault(m: Model) {
    const { error } = await api.PATCH('/api/v1/models/{id}', { params: { path: { id: m.id } }, body: { default: true } });
    if (error) setTests((t) => ({ ...t, [m.id]: error }));
    void qc.invalidateQueries({ queryKey: ['models'] });
  }

  if (models.isError)
    return <Alert severity="error">{problemText(models.error as Problem)}</Alert>;
  if (models.isPending || providers.isPending) return <Loading label="Loading models" />;
  const list = models.data;

  return (
    <Stack spacing={2}>
      <Box sx={{ display: 'flex', alignItems: 'center' }}>
        <Typography component="h1" variant="h4" sx={{ flexGrow: 1 }}>
          Models
        </Typography>
        {isAdmin && (
          <Button variant="contained" onClick={() => setEditing('new')}>
            Add model
          </Button>
        )}
      </Box>
      {list.length === 0 ? (
        <Paper sx={{ p: 4, textAlign: 'center' }}>
          <Typography>
            No models yet: {isAdmin ? 'add one to run agents.' : 'ask a workspace admin to add one to run agents.'}
          </Typography>
        </Paper>
      ) : (
        <TableContainer component={Paper}>
          <Table aria-label="Models">
            <TableHead>
              <TableRow>
                <TableCell>Name</TableCell>
                <TableCell>Provider</TableCell>
                <TableCell>Model</TableCell>
                <TableCell>Kind</TableCell>
                <TableCell>API key</TableCell>
                {actions && <TableCell>Actions</TableCell>}
              </TableRow>
            </TableHead>
            <TableBody>
              {list.map((m) => (
                <TableRow key={m.id}>
                  <TableCell>
                    {m.name} {m.default && <Chip size="small" label="default" color="primary" variant="outlined" />}
                  </TableCell>
                  <TableCell>{providers.data?.find((p) => p.id === m.provider)?.label ?? m.provider}</TableCell>
                  <TableCell>{m.model}</TableCell>
                  <TableCell>{m.kind}</TableCell>
                  <TableCell>{m.api_key_last4 ? `•••• ${m.api_key_last4}` : 'none'}</TableCell>
                  {actions && (
                  <TableCell>
                    <Stack direction="row" spacing={1} sx={{ flexWrap: 'wrap' }}>
                      {canTest && (
                        <Button size="small" onClick={() => void test(m)} disabled={testing === m.id} aria-label={`Test connection of ${m.name}`}>
                          Test connection
                        </Button>
                      )}
                      {isAdmin && (
                        <Button size="small" onClick={() => setEditing(m)} aria-label={`Edit ${m.name}`}>
                          Edit
                        </Button>
                      )}
                      {isAdmin && !m.default && (
                        <Button size="small" onClick={() => void makeDefault(m)} aria-label={`Make ${m.name} the default`}>
                          Make default
                        </Button>
                      )}
                    </Stack>
                    <TestSlot result={tests[m.id]} />
                  </TableCell>
                  )}
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      )}
      {editing && providers.data && (
        <ModelDialog model={editing === 'new' ? null : editing} providers={providers.data} onClose={() => setEditing(null)} />
      )}
    </Stack>
  );
}
