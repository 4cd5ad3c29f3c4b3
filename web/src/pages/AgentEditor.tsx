// An agent's editor (/agents/new, /agents/:id): every field of crewAI's
// Agent the API takes, the model and tool pickers, and a save that explains
// a stale version (409 on base_version) with reload or overwrite.
import { useState, type FormEvent } from 'react';
import {
  Alert,
  Autocomplete,
  Box,
  Button,
  FormControlLabel,
  MenuItem,
  Paper,
  Stack,
  Switch,
  TextField,
  Typography,
} from '@mui/material';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink, useNavigate, useParams } from 'react-router-dom';
import { api, type Schemas } from '../api/client';
import { fieldErrors, problemText, type Problem } from '../problem';
import { AGENT_LABELS, errorsOutside, errorUnder, placeholders } from '../forms';
import { useSession } from '../App';
import { Loading } from '../ui';
import { ConfirmDialog, StaleAlert, useCanEdit, useChatModels, useTools } from './shared';

type Agent = Schemas['Agent'];
type Tool = Schemas['Tool'];

const NUMBERS = ['max_iter', 'max_rpm', 'max_execution_time_s', 'max_retry_limit', 'temperature'] as const;
type NumberField = (typeof NUMBERS)[number];

interface AgentForm {
  name: string;
  role: string;
  goal: string;
  backstory: string;
  model_id: string; // '' = the workspace's default chat model
  tool_ids: string[];
  nums: Record<NumberField, string>;
  allow_delegation: boolean;
  respect_context_window: boolean;
  system_prompt_extra: string;
  metadata: string;
  change_note: string;
}

function formOf(a: Agent | null): AgentForm {
  const num = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v));
  return {
    name: a?.name ?? '',
    role: a?.role ?? '',
    goal: a?.goal ?? '',
    backstory: a?.backstory ?? '',
    model_id: a?.model_id ?? '',
    tool_ids: a?.tool_ids ?? [],
    nums: {
      max_iter: num(a ? a.max_iter : 25),
      max_rpm: num(a?.max_rpm),
      max_execution_time_s: num(a?.max_execution_time_s),
      max_retry_limit: num(a ? a.max_retry_limit : 2),
      temperature: num(a?.temperature),
    },
    allow_delegation: a?.allow_delegation ?? false,
    respect_context_window: a?.respect_context_window ?? true,
    system_prompt_extra: a?.system_prompt_extra ?? '',
    metadata: JSON.stringify(a?.metadata ?? {}, null, 2),
    change_note: '',
  };
}

// The body the API takes. An empty number is left out of a new agent (its
// default) and null on a change (which resets it to the default).
function bodyOf(f: AgentForm, isNew: boolean): { body?: Schemas['AgentUpdate']; problem?: Problem } {
  let metadata: Record<string, unknown>;
  try {
    metadata = JSON.parse(f.metadata || '{}') as Record<string, unknown>;
  } catch (e) {
    return { problem: { detail: 'the metadata is not JSON', errors: [{ field: 'metadata', message: String(e) }] } };
  }
  const body: Record<string, unknown> = {
    name: f.name,
    role: f.role,
    goal: f.goal,
    backstory: f.backstory,
    model_id: f.model_id || null,
    tool_ids: f.tool_ids,
    allow_delegation: f.allow_delegation,
    respect_context_window: f.respect_context_window,
    system_prompt_extra: f.system_prompt_extra === '' ? null : f.system_prompt_extra,
    metadata,
  };
  for (const n of NUMBERS) {
    const t = f.nums[n].trim();
    if (t !== '') body[n] = Number(t);
    else if (!isNew) body[n] = null;
  }
  if (f.change_note) body.change_note = f.change_note;
  return { body: body as Schemas['AgentUpdate'] };
}

function useAgent(id: string | undefined) {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: ['agent', workspaceId, id],
    enabled: !!workspaceId && !!id && id !== 'new',
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/agents/{id}', { params: { path: { id: id ?? '' } } });
      if (error) throw error;
      return data;
    },
  });
}

function PlaceholderHint({ text, fallback }: { text: string; fallback: string }) {
  const names = placeholders(text);
  if (names.length === 0) return <>{fallback}</>;
  return <>Filled from the run’s inputs: {names.map((n) => `{${n}}`).join(', ')}</>;
}

function AgentFormView({ agent, canEdit }: { agent: Agent | null; canEdit: boolean }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const tools = useTools();
  const models = useChatModels();
  const [f, setF] = useState<AgentForm>(() => formOf(agent));
  const [base, setBase] = useState<number | null>(agent?.version ?? null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [stale, setStale] = useState<Agent | null>(null);
  const [saved, setSaved] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const errs = fieldErrors(problem);
  const ro = !canEdit;
  const toolById = new Map((tools.data ?? []).map((t) => [t.id, t]));
  const picked: Tool[] = f.tool_ids.map(
    (id) => toolById.get(id) ?? ({ id, name: `unknown tool ${id.slice(0, 8)}`, builtin: false } as Tool),
  );
  const toolsError = errorUnder(errs, 'tool_ids');
  const toolsErrorText = toolsError?.replace(/^tool_ids\[(\d+)\]/, (_, i: string) => picked[Number(i)]?.name ?? `tool ${i}`);

  const save = useMutation({
    mutationFn: async (baseVersion: number | null) => {
      const { body, problem: local } = bodyOf(f, !agent);
      if (!body) throw local;
      const res = agent
        ? await api.PATCH('/api/v1/agents/{id}', {
            params: { path: { id: agent.id } },
            body: { ...body, ...(baseVersion ? { base_version: baseVersion } : {}) },
          })
        : await api.POST('/api/v1/agents', { body: body as Schemas['AgentCreate'] });
      if (res.error) throw res.error;
      return res.data;
    },
    onSuccess: (a) => {
      void qc.invalidateQueries({ queryKey: ['agents'] });
      void qc.invalidateQueries({ queryKey: ['agent-versions'] });
      setStale(null);
      setSaved(true);
      setBase(a.version);
      setF(formOf(a));
      if (!agent) navigate(`/agents/${a.id}`, { replace: true });
      else void qc.invalidateQueries({ queryKey: ['agent'] });
    },
    onError: async (e) => {
      const p = e as Problem;
      if (agent && p.status === 409 && fieldErrors(p).base_version) {
        const { data } = await api.GET('/api/v1/agents/{id}', { params: { path: { id: agent.id } } });
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
      if (!agent) return;
      const { error } = await api.DELETE('/api/v1/agents/{id}', { params: { path: { id: agent.id } } });
      if (error) throw error;
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['agents'] });
      navigate('/agents');
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

  const text = (name: 'name' | 'role' | 'goal' | 'backstory' | 'system_prompt_extra' | 'metadata' | 'change_note', help: React.ReactNode, extra: object = {}) => (
    <TextField
      label={AGENT_LABELS[name] ?? 'Change note'}
      name={name}
      fullWidth
      margin="normal"
      value={f[name]}
      InputProps={{ readOnly: ro }}
      onChange={(e) => setF({ ...f, [name]: e.target.value })}
      error={!!errorUnder(errs, name)}
      helperText={errorUnder(errs, name) ?? help}
      {...extra}
    />
  );
  const num = (name: NumberField, help: string) => (
    <TextField
      label={AGENT_LABELS[name]}
      name={name}
      type="number"
      margin="normal"
      value={f.nums[name]}
      InputProps={{ readOnly: ro }}
      onChange={(e) => setF({ ...f, nums: { ...f.nums, [name]: e.target.value } })}
      error={!!errs[name]}
      helperText={errs[name] ?? help}
      sx={{ flex: 1 }}
    />
  );

  return (
    <Paper component="form" onSubmit={submit} noValidate sx={{ p: 3 }} aria-label="Agent definition">
      {stale && (
        <StaleAlert
          what="agent"
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
          {errorsOutside(errs, [...Object.keys(AGENT_LABELS), 'change_note']).map(([k, v]) => (
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
      {text('name', 'How workflows and people refer to this agent', { required: true })}
      {text('role', <PlaceholderHint text={f.role} fallback="Who the agent is, e.g. Senior data researcher" />, { required: true })}
      {text('goal', <PlaceholderHint text={f.goal} fallback="What it works towards; write {topic} to fill it from a run’s inputs" />, {
        required: true,
        multiline: true,
        minRows: 2,
      })}
      {text('backstory', <PlaceholderHint text={f.backstory} fallback="Its experience and manner, in the second person; {placeholders} work here too" />, {
        required: true,
        multiline: true,
        minRows: 4,
      })}
      <TextField
        select
        label="Model"
        name="model_id"
        fullWidth
        margin="normal"
        value={f.model_id}
        InputProps={{ readOnly: ro }}
        onChange={(e) => setF({ ...f, model_id: e.target.value })}
        error={!!errs.model_id}
        helperText={
          errs.model_id ??
          (models.data?.length === 0 ? 'No chat models yet: add one on the Models page' : 'A chat model of this workspace')
        }
      >
        <MenuItem value="">Workspace default{models.data?.find((m) => m.default) ? ` (${models.data.find((m) => m.default)?.name})` : ''}</MenuItem>
        {f.model_id && !models.data?.some((m) => m.id === f.model_id) && (
          <MenuItem value={f.model_id}>{models.isError ? 'A model of this workspace' : 'A deleted model'}</MenuItem>
        )}
        {(models.data ?? []).map((m) => (
          <MenuItem key={m.id} value={m.id}>
            {m.name} ({m.model})
          </MenuItem>
        ))}
      </TextField>
      <Autocomplete
        multiple
        options={tools.data ?? []}
        value={picked}
        readOnly={ro}
        loading={tools.isPending}
        groupBy={(t) => (t.builtin ? 'Built-in' : 'Custom HTTP')}
        getOptionLabel={(t) => t.name}
        isOptionEqualToValue={(a, b) => a.id === b.id}
        onChange={(_, v) => setF({ ...f, tool_ids: v.map((t) => t.id) })}
        renderOption={(props, t) => (
          <li {...props} key={t.id}>
            <Box>
              <Typography sx={{ fontFamily: 'monospace' }}>{t.name}</Typography>
              <Typography variant="body2" color="text.secondary">
                {t.description}
              </Typography>
            </Box>
          </li>
        )}
        renderInput={(params) => (
          <TextField
            {...params}
            label="Tools"
            name="tool_ids"
            margin="normal"
            error={!!toolsErrorText}
            helperText={toolsErrorText ?? 'What the agent may call; up to 64'}
          />
        )}
      />
      <Stack direction="row" spacing={2} sx={{ mt: 1 }}>
        {num('max_iter', '1 to 200; default 25')}
        {num('max_retry_limit', '0 to 20; default 2')}
        {num('temperature', '0 to 2; empty: the model’s')}
      </Stack>
      <Stack direction="row" spacing={2} sx={{ mt: 1 }}>
        {num('max_rpm', '1 to 100000; empty: no limit')}
        {num('max_execution_time_s', '1 to 86400; empty: no limit')}
      </Stack>
      <Stack direction="row" spacing={3} sx={{ mt: 1 }}>
        <FormControlLabel
          control={
            <Switch
              checked={f.allow_delegation}
              disabled={ro}
              onChange={(e) => setF({ ...f, allow_delegation: e.target.checked })}
              name="allow_delegation"
            />
          }
          label="Allow delegation to other agents"
        />
        <FormControlLabel
          control={
            <Switch
              checked={f.respect_context_window}
              disabled={ro}
              onChange={(e) => setF({ ...f, respect_context_window: e.target.checked })}
              name="respect_context_window"
            />
          }
          label="Respect the context window (summarise when full)"
        />
      </Stack>
      {text('system_prompt_extra', 'Appended to the system prompt (optional)', { multiline: true, minRows: 2 })}
      {text('metadata', 'A JSON object kept with the agent, e.g. {"team": "research"}', {
        multiline: true,
        minRows: 2,
        inputProps: { style: { fontFamily: 'monospace' }, spellCheck: false },
      })}
      {!ro && text('change_note', 'Recorded with the version this save writes (optional)')}
      {!ro && (
        <Stack direction="row" spacing={1} sx={{ mt: 2 }}>
          <Button type="submit" variant="contained" disabled={save.isPending}>
            {agent ? 'Save' : 'Create agent'}
          </Button>
          {agent && (
            <Button color="error" onClick={() => setConfirmDelete(true)}>
              Delete
            </Button>
          )}
        </Stack>
      )}
      {confirmDelete && agent && (
        <ConfirmDialog
          title={`Delete ${agent.name}?`}
          text="Workflows that use it must drop it first. Executions that used it keep resolving its versions."
          confirm="Delete"
          onConfirm={() => del.mutate()}
          onClose={() => setConfirmDelete(false)}
        />
      )}
    </Paper>
  );
}

export function AgentEditor() {
  const { id } = useParams();
  const canEdit = useCanEdit();
  const agent = useAgent(id);
  const isNew = id === 'new';
  if (!isNew && agent.isError) return <Alert severity="error">{problemText(agent.error as Problem)}</Alert>;
  if (!isNew && agent.isPending) return <Loading label="Loading the agent" />;
  const a = isNew ? null : (agent.data ?? null);
  return (
    <Stack spacing={2}>
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 2 }}>
        <Typography component="h1" variant="h4" sx={{ flexGrow: 1 }}>
          {a ? a.name : 'New agent'}
          {a && (
            <Typography component="span" variant="body1" color="text.secondary" sx={{ ml: 2 }}>
              version {a.version}
            </Typography>
          )}
        </Typography>
        {a && (
          <Button component={RouterLink} to={`/agents/${a.id}/versions`}>
            Versions
          </Button>
        )}
        <Button component={RouterLink} to="/agents">
          All agents
        </Button>
      </Box>
      <AgentFormView key={a ? a.id : 'new'} agent={a} canEdit={canEdit} />
    </Stack>
  );
}
