// A custom HTTP tool's editor (/tools/new, /tools/:id) and, for every tool
// the caller may run, a test call that shows the answer or what to fix.
// Built-ins open read-only here, with their test call.
import { useState, type FormEvent } from 'react';
import {
  Alert,
  Box,
  Button,
  Checkbox,
  FormControlLabel,
  IconButton,
  MenuItem,
  Paper,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink, useNavigate, useParams } from 'react-router-dom';
import { api, type Schemas } from '../api/client';
import { fieldErrors, problemText, type Problem } from '../problem';
import { argsFromForm, errorsOutside, errorUnder, paramRows, placeholders, TOOL_LABELS } from '../forms';
import { useSession } from '../App';
import { Loading } from '../ui';
import { ConfirmDialog, ParamsTable, StaleAlert, useCanEdit } from './shared';

type Tool = Schemas['Tool'];
type Method = NonNullable<Schemas['ToolCreate']['method']>;
const METHODS: Method[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];

interface HeaderRow {
  key: number; // React's key: rows move when one is removed
  name: string;
  value: string;
  secret: boolean;
  last4: string | null; // a stored secret's last 4 ('' when short); null when none is stored
}

interface ToolForm {
  name: string;
  description: string;
  method: Method;
  url_template: string;
  headers: HeaderRow[];
  body_template: string;
  parameters: string;
  timeout_s: string;
  max_response_bytes: string;
  change_note: string;
}

const EMPTY_PARAMS = '{\n  "type": "object",\n  "properties": {},\n  "required": []\n}';
let rowKey = 0;

function formOf(t: Tool | null): ToolForm {
  return {
    name: t?.name ?? '',
    description: t?.description ?? '',
    method: (t?.method as Method | undefined) ?? 'GET',
    url_template: t?.url_template ?? '',
    headers: (t?.headers ?? []).map((h) => ({
      key: ++rowKey,
      name: h.name,
      value: h.secret ? '' : (h.value ?? ''),
      secret: h.secret,
      last4: h.secret ? (h.value_last4 ?? '') : null,
    })),
    body_template: t?.body_template ?? '',
    parameters: t ? JSON.stringify(t.parameters, null, 2) : EMPTY_PARAMS,
    timeout_s: t?.timeout_s !== undefined ? String(t.timeout_s) : '',
    max_response_bytes: t?.max_response_bytes !== undefined ? String(t.max_response_bytes) : '',
    change_note: '',
  };
}

// The body the API takes; a parameters text that is not JSON is the form's
// own field error (the server never sees it).
function bodyOf(f: ToolForm): { body?: Schemas['ToolCreate']; problem?: Problem } {
  let parameters: Record<string, unknown>;
  try {
    parameters = JSON.parse(f.parameters) as Record<string, unknown>;
  } catch (e) {
    return { problem: { detail: 'the parameters are not JSON', errors: [{ field: 'parameters', message: String(e) }] } };
  }
  const body: Schemas['ToolCreate'] = {
    name: f.name,
    description: f.description,
    method: f.method,
    url_template: f.url_template,
    // A stored secret sent back without a value keeps its stored value.
    headers: f.headers.map((h) =>
      h.secret && h.last4 !== null && h.value === '' ? { name: h.name, secret: true } : { name: h.name, value: h.value, secret: h.secret },
    ),
    body_template: f.body_template === '' ? null : f.body_template,
    parameters,
  };
  if (f.change_note) body.change_note = f.change_note;
  if (f.timeout_s.trim() !== '') body.timeout_s = Number(f.timeout_s);
  if (f.max_response_bytes.trim() !== '') body.max_response_bytes = Number(f.max_response_bytes);
  return { body };
}

function useTool(id: string | undefined) {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: ['tool', workspaceId, id],
    enabled: !!workspaceId && !!id && id !== 'new',
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/tools/{id}', { params: { path: { id: id ?? '' } } });
      if (error) throw error;
      return data;
    },
  });
}

function HeadersField({
  rows,
  errs,
  disabled,
  onChange,
}: {
  rows: HeaderRow[];
  errs: Record<string, string>;
  disabled: boolean;
  onChange: (rows: HeaderRow[]) => void;
}) {
  const set = (i: number, patch: Partial<HeaderRow>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <Box component="fieldset" sx={{ border: 0, p: 0, m: 0, mt: 2 }}>
      <Typography component="legend" variant="subtitle1">
        Headers
      </Typography>
      {rows.length === 0 && (
        <Typography variant="body2" color="text.secondary">
          No headers. Add one for an API key (mark it secret: it is stored sealed and never shown again).
        </Typography>
      )}
      {rows.map((h, i) => {
        const stored = `Stored value${h.last4 ? ` ends in ${h.last4}` : ' is set'}`;
        const keyHelp =
          h.last4 !== null && h.secret
            ? disabled
              ? `Secret: ${stored.toLowerCase()}`
              : `${stored}; leave empty to keep it`
            : h.secret
              ? 'Write-only: never shown again'
              : 'May hold {parameter} slots';
        return (
          <Stack key={h.key} direction="row" spacing={1} sx={{ alignItems: 'flex-start', mt: 1.5 }}>
            <TextField
              label={`Header ${i + 1} name`}
              name={`headers[${i}].name`}
              size="small"
              value={h.name}
              InputProps={{ readOnly: disabled }}
              onChange={(e) => set(i, { name: e.target.value })}
              error={!!errs[`headers[${i}].name`]}
              helperText={errs[`headers[${i}].name`] ?? ' '}
              sx={{ width: 240 }}
            />
            <TextField
              label={`Header ${i + 1} value`}
              name={`headers[${i}].value`}
              size="small"
              type={h.secret ? 'password' : 'text'}
              autoComplete={h.secret ? 'new-password' : 'off'}
              value={h.value}
              InputProps={{ readOnly: disabled }}
              onChange={(e) => set(i, { value: e.target.value })}
              error={!!errorUnder(errs, `headers[${i}].value`) || !!errs[`headers[${i}]`]}
              helperText={errorUnder(errs, `headers[${i}].value`) ?? errs[`headers[${i}]`] ?? keyHelp}
              sx={{ flexGrow: 1 }}
            />
            <FormControlLabel
              control={
                <Checkbox
                  checked={h.secret}
                  disabled={disabled}
                  onChange={(e) => set(i, { secret: e.target.checked, last4: e.target.checked ? h.last4 : null })}
                />
              }
              label={`Secret`}
              aria-label={`Header ${i + 1} is secret`}
            />
            {!disabled && (
              <IconButton aria-label={`Remove header ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
                ×
              </IconButton>
            )}
          </Stack>
        );
      })}
      {!disabled && (
        <Button
          size="small"
          sx={{ mt: 1 }}
          onClick={() => onChange([...rows, { key: ++rowKey, name: '', value: '', secret: false, last4: null }])}
        >
          Add header
        </Button>
      )}
    </Box>
  );
}

function ToolForm({ tool, canEdit }: { tool: Tool | null; canEdit: boolean }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [f, setF] = useState<ToolForm>(() => formOf(tool));
  const [base, setBase] = useState<number | null>(tool?.version ?? null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [stale, setStale] = useState<Tool | null>(null);
  const [saved, setSaved] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const errs = fieldErrors(problem);
  const ro = !canEdit;
  const slots = placeholders(`${f.url_template} ${f.body_template} ${f.headers.map((h) => h.value).join(' ')}`);
  let preview: unknown = null;
  try {
    preview = JSON.parse(f.parameters);
  } catch {
    preview = null;
  }

  const save = useMutation({
    mutationFn: async (baseVersion: number | null) => {
      const { body, problem: local } = bodyOf(f);
      if (!body) throw local;
      const res = tool
        ? await api.PATCH('/api/v1/tools/{id}', {
            params: { path: { id: tool.id } },
            body: { ...body, ...(baseVersion ? { base_version: baseVersion } : {}) },
          })
        : await api.POST('/api/v1/tools', { body });
      if (res.error) throw res.error;
      return res.data;
    },
    onSuccess: (t) => {
      void qc.invalidateQueries({ queryKey: ['tools'] });
      setStale(null);
      setSaved(true);
      setBase(t.version);
      setF(formOf(t));
      if (!tool) navigate(`/tools/${t.id}`, { replace: true });
      else void qc.invalidateQueries({ queryKey: ['tool'] });
    },
    onError: async (e) => {
      const p = e as Problem;
      if (tool && p.status === 409 && fieldErrors(p).base_version) {
        const { data } = await api.GET('/api/v1/tools/{id}', { params: { path: { id: tool.id } } });
        if (data) {
          setStale(data);
          return;
        }
      }
      setProblem(p);
    },
  });

  const del = useMutation({
    mutationFn: async () => {
      if (!tool) return;
      const { error } = await api.DELETE('/api/v1/tools/{id}', { params: { path: { id: tool.id } } });
      if (error) throw error;
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['tools'] });
      navigate('/tools');
    },
    onError: (e) => {
      setConfirmDelete(false);
      setProblem(e as Problem);
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    setProblem(null);
    setSaved(false);
    save.mutate(base);
  }

  const field = (name: keyof ToolForm, label: string, help: string, extra: object = {}) => (
    <TextField
      label={label}
      name={name}
      fullWidth
      margin="normal"
      value={f[name] as string}
      InputProps={{ readOnly: ro }}
      onChange={(e) => setF({ ...f, [name]: e.target.value })}
      error={!!errorUnder(errs, name)}
      helperText={errorUnder(errs, name) ?? help}
      {...extra}
    />
  );

  return (
    <Paper component="form" onSubmit={submit} noValidate sx={{ p: 3 }} aria-label="Tool definition">
      {stale && (
        <StaleAlert
          what="tool"
          mine={base ?? 0}
          current={stale.version}
          onReload={() => {
            setF(formOf(stale));
            setBase(stale.version);
            setStale(null);
          }}
          onOverwrite={() => {
            setStale(null);
            save.mutate(stale.version);
          }}
        />
      )}
      {problem && (
        <Alert severity="error" sx={{ mb: 1 }}>
          {problemText(problem)}
          {errorsOutside(errs, [...Object.keys(TOOL_LABELS), 'url', 'change_note']).map(([k, v]) => (
            <Box key={k}>
              {k}: {v}
            </Box>
          ))}
        </Alert>
      )}
      {saved && (
        <Alert severity="success" role="status" sx={{ mb: 1 }}>
          Saved as version {base}.
        </Alert>
      )}
      {field('name', 'Name', 'Letters, digits, _ and -; how agents call it', { required: true })}
      {field('description', 'Description', 'What the tool does: the model reads this to decide when to call it', {
        multiline: true,
        minRows: 2,
      })}
      <Stack direction="row" spacing={2}>
        <TextField
          select
          label="Method"
          name="method"
          margin="normal"
          value={f.method}
          InputProps={{ readOnly: ro }}
          onChange={(e) => setF({ ...f, method: e.target.value as Method })}
          error={!!errs.method}
          helperText={errs.method ?? ' '}
          sx={{ width: 140 }}
        >
          {METHODS.map((m) => (
            <MenuItem key={m} value={m}>
              {m}
            </MenuItem>
          ))}
        </TextField>
        {field(
          'url_template',
          'URL template',
          'http(s) URL; {parameter} slots are filled percent-encoded, e.g. https://api.example.com/weather/{city}',
          { required: true, error: !!(errs.url_template ?? errs.url), helperText: errs.url_template ?? errs.url },
        )}
      </Stack>
      <HeadersField rows={f.headers} errs={errs} disabled={ro} onChange={(headers) => setF({ ...f, headers })} />
      {field(
        'body_template',
        'Body template',
        f.method === 'GET' || f.method === 'HEAD'
          ? `${f.method} requests take no body`
          : 'Slots are filled as JSON: {"city": {city}} sends "city": "Oslo" with its quotes',
        { multiline: true, minRows: 3, inputProps: { style: { fontFamily: 'monospace' }, spellCheck: false } },
      )}
      <Stack direction="row" spacing={3} sx={{ alignItems: 'flex-start' }}>
        <Box sx={{ flex: 1, minWidth: 0 }}>
          {field(
            'parameters',
            'Parameters (JSON Schema)',
            'An object schema: each property is an argument the model passes; every {slot} above must be one',
            { multiline: true, minRows: 6, inputProps: { style: { fontFamily: 'monospace' }, spellCheck: false } },
          )}
        </Box>
        <Box sx={{ flex: 1, minWidth: 0, pt: 3 }}>
          <Typography variant="subtitle2">As the model sees them</Typography>
          {preview === null ? (
            <Typography variant="body2" color="error">
              Not JSON yet.
            </Typography>
          ) : (
            <ParamsTable schema={preview} label="Parameters preview" />
          )}
          {slots.length > 0 && (
            <Typography variant="body2" sx={{ mt: 1 }}>
              Slots used: {slots.map((s) => `{${s}}`).join(', ')}
            </Typography>
          )}
        </Box>
      </Stack>
      <Stack direction="row" spacing={2}>
        {field('timeout_s', 'Timeout (seconds)', '1 to 120; default 30', { type: 'number' })}
        {field('max_response_bytes', 'Max response bytes', 'Up to 10485760; default 1048576', { type: 'number' })}
      </Stack>
      {!ro && field('change_note', 'Change note', 'Recorded with the version this save writes (optional)')}
      {!ro && (
        <Stack direction="row" spacing={1} sx={{ mt: 2 }}>
          <Button type="submit" variant="contained" disabled={save.isPending}>
            {tool ? 'Save' : 'Create tool'}
          </Button>
          {tool && (
            <Button color="error" onClick={() => setConfirmDelete(true)}>
              Delete
            </Button>
          )}
        </Stack>
      )}
      {confirmDelete && tool && (
        <ConfirmDialog
          title={`Delete ${tool.name}?`}
          text="Agents that list it must drop it first. Executions that used it keep resolving its versions."
          confirm="Delete"
          onConfirm={() => del.mutate()}
          onClose={() => setConfirmDelete(false)}
        />
      )}
    </Paper>
  );
}

function prettyBody(body: string, headers: Record<string, unknown>): string {
  const type = String(headers['content-type'] ?? '');
  if (!/json/i.test(type)) return body;
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function TestCall({ tool }: { tool: Tool }) {
  const rows = paramRows(tool.parameters);
  const [values, setValues] = useState<Record<string, string>>({});
  const [local, setLocal] = useState<Record<string, string>>({});
  const [result, setResult] = useState<Schemas['ToolTestResult'] | Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const serverErrs = result && !('duration_ms' in result) ? fieldErrors(result) : {};
  const errs = { ...serverErrs, ...local };

  async function run(e: FormEvent) {
    e.preventDefault();
    const { args, errors } = argsFromForm(rows, values);
    setLocal(errors);
    setResult(null);
    if (Object.keys(errors).length) return;
    setBusy(true);
    const { data, error } = await api.POST('/api/v1/tools/{id}/test', {
      params: { path: { id: tool.id } },
      body: { arguments: args },
    });
    setBusy(false);
    setResult((data ?? error) as Schemas['ToolTestResult'] | Problem);
  }

  // Errors that name no argument field here: where to fix them.
  const elsewhere = Object.entries(serverErrs).filter(([k]) => !k.startsWith('arguments.'));

  return (
    <Paper component="form" onSubmit={(e) => void run(e)} noValidate sx={{ p: 3 }} aria-labelledby="test-call-title">
      <Typography id="test-call-title" component="h2" variant="h6">
        Test call
      </Typography>
      <Typography variant="body2" color="text.secondary">
        Runs version {tool.version} once with these arguments, as an agent would.
      </Typography>
      {rows.map((r) => {
        const err = errs[`arguments.${r.name}`];
        const help = [r.type, ...r.details, r.description].filter(Boolean).join('; ');
        return (
          <TextField
            key={r.name}
            label={`${r.name}${r.required ? ' *' : ''}`}
            name={`arguments.${r.name}`}
            fullWidth
            margin="normal"
            size="small"
            select={r.input === 'boolean'}
            multiline={r.input === 'json'}
            minRows={r.input === 'json' ? 2 : undefined}
            value={values[r.name] ?? ''}
            onChange={(e) => setValues({ ...values, [r.name]: e.target.value })}
            error={!!err}
            helperText={err ?? help}
            inputProps={r.input === 'json' ? { style: { fontFamily: 'monospace' }, spellCheck: false } : undefined}
          >
            {r.input === 'boolean' && [
              <MenuItem key="" value="">
                (not given)
              </MenuItem>,
              <MenuItem key="true" value="true">
                true
              </MenuItem>,
              <MenuItem key="false" value="false">
                false
              </MenuItem>,
            ]}
          </TextField>
        );
      })}
      <Button type="submit" variant="contained" sx={{ mt: 1 }} disabled={busy}>
        {busy ? 'Calling…' : 'Test call'}
      </Button>
      <Box aria-live="polite" sx={{ mt: 2 }}>
        {result && 'duration_ms' in result && (
          <Stack spacing={1}>
            <Alert severity={result.status < 400 ? 'success' : 'warning'} role="status">
              HTTP {result.status} in {result.duration_ms} ms
              {result.truncated ? '; the body was cut at the tool’s max response bytes' : ''}
            </Alert>
            <Typography variant="subtitle2">Response body</Typography>
            <Box
              component="pre"
              tabIndex={0}
              aria-label="Response body"
              sx={{
                m: 0,
                p: 1.5,
                maxHeight: 320,
                overflow: 'auto',
                bgcolor: 'action.hover',
                borderRadius: 1,
                fontSize: 13,
                whiteSpace: 'pre-wrap',
                wordBreak: 'break-word',
              }}
            >
              {prettyBody(result.body, result.headers) || '(empty)'}
            </Box>
          </Stack>
        )}
        {result && !('duration_ms' in result) && (
          <Alert severity="error" role="status">
            {problemText(result)}
            {elsewhere.length > 0 && (
              <Box component="ul" sx={{ m: 0, pl: 2 }}>
                {elsewhere.map(([k, v]) => (
                  <li key={k}>
                    {k === 'url' ? 'URL template' : k}: {v}
                  </li>
                ))}
              </Box>
            )}
          </Alert>
        )}
      </Box>
    </Paper>
  );
}

export function ToolEditor() {
  const { id } = useParams();
  const canEdit = useCanEdit();
  const tool = useTool(id);
  const isNew = id === 'new';
  if (!isNew && tool.isError) return <Alert severity="error">{problemText(tool.error as Problem)}</Alert>;
  if (!isNew && tool.isPending) return <Loading label="Loading the tool" />;
  const t = isNew ? null : (tool.data ?? null);

  return (
    <Stack spacing={2}>
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 2 }}>
        <Typography component="h1" variant="h4" sx={{ flexGrow: 1 }}>
          {t ? t.name : 'New HTTP tool'}
          {t && (
            <Typography component="span" variant="body1" color="text.secondary" sx={{ ml: 2 }}>
              {t.builtin ? 'built-in' : `version ${t.version}`}
            </Typography>
          )}
        </Typography>
        {t && !t.builtin && (
          <Button component={RouterLink} to={`/tools/${t.id}/versions`}>
            Versions
          </Button>
        )}
        <Button component={RouterLink} to="/tools">
          All tools
        </Button>
      </Box>
      {t?.builtin ? (
        <Paper sx={{ p: 3 }}>
          <Typography sx={{ mb: 2 }}>{t.description}</Typography>
          <ParamsTable schema={t.parameters} label={`Parameters of ${t.name}`} />
        </Paper>
      ) : (
        <ToolForm key={t ? t.id : 'new'} tool={t} canEdit={canEdit} />
      )}
      {t && canEdit && <TestCall key={`${t.id}:${t.version}`} tool={t} />}
    </Stack>
  );
}
