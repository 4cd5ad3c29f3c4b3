// The workflow editor (/workflows/:id, /workflows/new): settings, inputs, the
// task list as forms and the graph of their context edges. The forms edit a
// draft saved with Save; drawing or deleting an edge in the graph saves at
// once. Every save sends base_version: a 409 means someone saved since, and
// the alert says what to do. Errors from a save (422), from Validate, or from
// the client's own checks show on the fields and nodes they name.
import { useEffect, useState } from 'react';
import {
  Alert,
  AlertTitle,
  Box,
  Button,
  Checkbox,
  FormControlLabel,
  IconButton,
  MenuItem,
  Paper,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink, useNavigate, useParams } from 'react-router-dom';
import { api, type Schemas } from '../../api/client';
import { fieldErrors, problemText, type Problem } from '../../problem';
import { Loading } from '../../ui';
import { useWorkspaces } from '../../Layout';
import { EdgeAdder, Graph, type Positions } from './Graph';
import { TaskForm } from './TaskForm';
import { RunDialog } from './RunDialog';
import { ExportDialog } from './ExportDialog';
import { useAgentList, useCanEdit, useModelList, useToolList, useWorkflow } from './data';
import {
  connect,
  disconnect,
  errorAt,
  fromDraft,
  newDraft,
  newTask,
  taskMessages,
  toDraft,
  type Draft,
  type DraftInput,
  type InputType,
  type Process,
  type Workflow,
} from './model';

type FieldMessage = Schemas['FieldMessage'];

function asMap(list: FieldMessage[] | undefined): Record<string, string> {
  return fieldErrors({ errors: list ?? [] });
}

function Messages({ title, severity, list }: { title: string; severity: 'warning' | 'error' | 'success'; list: FieldMessage[] }) {
  return (
    <Alert severity={severity}>
      <AlertTitle>{title}</AlertTitle>
      {list.map((m) => (
        <div key={`${m.field}:${m.message}`}>
          <code>{m.field}</code>: {m.message}
        </div>
      ))}
    </Alert>
  );
}

function InputsEditor({
  inputs,
  errs,
  editable,
  onChange,
}: {
  inputs: DraftInput[];
  errs: Record<string, string>;
  editable: boolean;
  onChange: (v: DraftInput[]) => void;
}) {
  const set = (i: number, patch: Partial<DraftInput>) => onChange(inputs.map((x, n) => (n === i ? { ...x, ...patch } : x)));
  return (
    <Paper component="section" aria-labelledby="inputs-title" variant="outlined" sx={{ p: 2 }}>
      <Box sx={{ display: 'flex', alignItems: 'center', mb: 1 }}>
        <Typography id="inputs-title" component="h2" variant="h6" sx={{ flexGrow: 1 }}>
          Inputs
        </Typography>
        {editable && (
          <Button onClick={() => onChange([...inputs, { name: '', description: '', type: 'string', required: true, defaultText: '' }])}>
            Add input
          </Button>
        )}
      </Box>
      {errs.inputs && <Typography color="error">{errs.inputs}</Typography>}
      {inputs.length === 0 ? (
        <Typography color="text.secondary">No inputs: a run needs none. Add one for each {'{placeholder}'} the texts use.</Typography>
      ) : (
        <Table size="small" aria-label="Inputs">
          <TableHead>
            <TableRow>
              <TableCell>Name</TableCell>
              <TableCell>Type</TableCell>
              <TableCell>Required</TableCell>
              <TableCell>Default</TableCell>
              <TableCell>Description</TableCell>
              {editable && <TableCell>Actions</TableCell>}
            </TableRow>
          </TableHead>
          <TableBody>
            {inputs.map((inp, i) => {
              const e = (f: string) => errorAt(errs, `inputs[${i}].${f}`);
              return (
                <TableRow key={i}>
                  <TableCell>
                    <TextField
                      size="small"
                      label="Name"
                      name={`inputs[${i}].name`}
                      value={inp.name}
                      disabled={!editable}
                      onChange={(ev) => set(i, { name: ev.target.value })}
                      error={!!e('name') || !!errs[`inputs[${i}]`]}
                      helperText={e('name') ?? errs[`inputs[${i}]`]}
                    />
                  </TableCell>
                  <TableCell>
                    <TextField
                      select
                      size="small"
                      label="Type"
                      name={`inputs[${i}].type`}
                      value={inp.type}
                      disabled={!editable}
                      onChange={(ev) => set(i, { type: ev.target.value as InputType })}
                      error={!!e('type')}
                      helperText={e('type')}
                      sx={{ minWidth: 120 }}
                    >
                      {['string', 'number', 'boolean', 'json'].map((t) => (
                        <MenuItem key={t} value={t}>
                          {t}
                        </MenuItem>
                      ))}
                    </TextField>
                  </TableCell>
                  <TableCell>
                    <FormControlLabel
                      control={<Checkbox checked={inp.required} disabled={!editable} onChange={(ev) => set(i, { required: ev.target.checked })} />}
                      label="Required"
                    />
                  </TableCell>
                  <TableCell>
                    <TextField
                      size="small"
                      label="Default"
                      name={`inputs[${i}].default`}
                      value={inp.defaultText}
                      disabled={!editable}
                      onChange={(ev) => set(i, { defaultText: ev.target.value })}
                      error={!!e('default')}
                      helperText={e('default')}
                    />
                  </TableCell>
                  <TableCell>
                    <TextField
                      size="small"
                      label="Description"
                      name={`inputs[${i}].description`}
                      value={inp.description}
                      disabled={!editable}
                      onChange={(ev) => set(i, { description: ev.target.value })}
                    />
                  </TableCell>
                  {editable && (
                    <TableCell>
                      <IconButton aria-label={`Remove input ${inp.name}`} onClick={() => onChange(inputs.filter((_, n) => n !== i))}>
                        ✕
                      </IconButton>
                    </TableCell>
                  )}
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      )}
    </Paper>
  );
}

export function WorkflowEditor() {
  const { id } = useParams();
  const isNew = id === 'new';
  const wf = useWorkflow(id);
  const agents = useAgentList();
  const canEdit = useCanEdit();
  const workspaces = useWorkspaces();
  const models = useModelList(true);
  const tools = useToolList();
  if (wf.isError) return <Alert severity="error">{problemText(wf.error as Problem)}</Alert>;
  if ((!isNew && wf.isPending) || workspaces.isPending || agents.isPending || models.isLoading || tools.isPending) return <Loading label="Loading the workflow" />;
  return (
    <EditorBody
      key={id}
      workflow={isNew ? null : (wf.data ?? null)}
      agents={agents.data ?? []}
      models={models.data ?? []}
      tools={tools.data ?? []}
      canEdit={canEdit}
    />
  );
}

function EditorBody({
  workflow,
  agents,
  models,
  tools,
  canEdit,
}: {
  workflow: Workflow | null;
  agents: Schemas['Agent'][];
  models: Schemas['Model'][];
  tools: Schemas['Tool'][];
  canEdit: boolean;
}) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [draft, setDraft] = useState<Draft>(() => (workflow ? toDraft(workflow) : newDraft()));
  const [saved, setSaved] = useState<Workflow | null>(workflow);
  const [dirty, setDirty] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [clientErrs, setClientErrs] = useState<Record<string, string>>({});
  const [validation, setValidation] = useState<Schemas['WorkflowValidation'] | null>(null);
  const [warnings, setWarnings] = useState<FieldMessage[]>([]);
  const [conflict, setConflict] = useState<Workflow | null>(null);
  const [note, setNote] = useState('');
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  const [running, setRunning] = useState(false);
  const [exporting, setExporting] = useState(false);
  // Node positions dragged in the graph, by task key: kept while the page is
  // open (the workflow has no field for them).
  const [moved, setMoved] = useState<Positions>({});

  useEffect(() => {
    if (saved) document.title = `${saved.name} · troupe`;
  }, [saved]);

  const errs: Record<string, string> = { ...asMap(validation?.errors), ...fieldErrors(problem), ...clientErrs };
  const keys = draft.tasks.map((t) => t.key);
  const agentName = (aid: string) => agents.find((a) => a.id === aid)?.name ?? 'unknown agent';

  function edit(d: Draft) {
    setDraft(d);
    setDirty(true);
    setStatus('');
  }

  async function save(d: Draft, changeNote: string, base = saved?.version) {
    const { body, errors } = fromDraft(d);
    setProblem(null);
    setValidation(null);
    setClientErrs(errors);
    setConflict(null);
    if (Object.keys(errors).length > 0) {
      setStatus('');
      return;
    }
    setBusy(true);
    if (changeNote) body.change_note = changeNote;
    const res = saved
      ? await api.PATCH('/api/v1/workflows/{id}', { params: { path: { id: saved.id } }, body: { ...body, base_version: base } })
      : await api.POST('/api/v1/workflows', { body });
    setBusy(false);
    if (res.error) {
      const p = res.error as Problem;
      if (p.status === 409 && saved) {
        const cur = await api.GET('/api/v1/workflows/{id}', { params: { path: { id: saved.id } } });
        if (cur.data) setConflict(cur.data);
      } else setProblem(p);
      setStatus('');
      return;
    }
    const w = res.data;
    setWarnings(w.warnings ?? []);
    setNote('');
    setDirty(false);
    void qc.invalidateQueries({ queryKey: ['workflows'] });
    if (!saved) {
      navigate(`/workflows/${w.id}`, { replace: true });
      return;
    }
    void qc.invalidateQueries({ queryKey: ['workflow'] });
    setSaved(w);
    setDraft(toDraft(w));
    setStatus(`Saved as version ${w.version}.`);
  }

  async function validate() {
    if (!saved) return;
    setProblem(null);
    setClientErrs({});
    const { data, error } = await api.POST('/api/v1/workflows/{id}/validate', { params: { path: { id: saved.id } } });
    if (error) setProblem(error as Problem);
    else setValidation(data);
  }

  // A drawn or deleted edge: the context changes and, for a saved workflow,
  // the change is saved at once.
  function graphChange(tasks: Draft['tasks'] | null, what: string) {
    if (!tasks || !canEdit) return;
    const d = { ...draft, tasks };
    if (saved) {
      setDraft(d);
      void save(d, what);
    } else edit(d);
  }

  const setTask = (i: number, t: Draft['tasks'][number]) => {
    // Renaming a key renames it in the other tasks' context and depends_on.
    const old = draft.tasks[i]?.key ?? '';
    const tasks = draft.tasks.map((x, n) => {
      if (n === i) return t;
      if (old === t.key || old === '') return x;
      const ren = (l: string[]) => l.map((k) => (k === old ? t.key : k));
      return { ...x, context: x.context ? ren(x.context) : null, depends_on: ren(x.depends_on), conditionTask: x.conditionTask === old ? t.key : x.conditionTask };
    });
    edit({ ...draft, tasks });
  };
  const moveTask = (i: number, by: -1 | 1) => {
    const a = draft.tasks[i];
    const b = draft.tasks[i + by];
    if (!a || !b) return;
    edit({ ...draft, tasks: draft.tasks.map((t, n) => (n === i ? b : n === i + by ? a : t)) });
  };
  const addTask = () => {
    let n = draft.tasks.length + 1;
    while (keys.includes(`task_${n}`)) n++;
    edit({ ...draft, tasks: [...draft.tasks, newTask(`task_${n}`)] });
  };

  const ro = !canEdit;
  // Viewers get no guidance text: it is for editing (and disabled fields' help fails contrast).
  const help = (t: string | undefined) => (ro ? undefined : t);
  const top = (f: string) => errs[f];
  const hasErrors = Object.keys(errs).length > 0;

  return (
    <Stack spacing={2}>
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, flexWrap: 'wrap' }}>
        <Typography component="h1" variant="h4" sx={{ flexGrow: 1, overflowWrap: 'anywhere' }}>
          {saved ? saved.name : 'New workflow'}
        </Typography>
        {saved && (
          <Typography color="text.secondary">
            Version {saved.version}
            {saved.published_version ? `, published ${saved.published_version}` : ', none published'}
          </Typography>
        )}
        {saved && (
          <Button component={RouterLink} to={`/workflows/${saved.id}/versions`}>
            Versions
          </Button>
        )}
        {saved && <Button onClick={() => void validate()}>Validate</Button>}
        {saved && <Button onClick={() => setExporting(true)}>Export crewAI YAML</Button>}
        {saved && canEdit && (
          <Button variant="outlined" onClick={() => setRunning(true)} disabled={dirty}>
            Run
          </Button>
        )}
        {canEdit && (
          <Button variant="contained" onClick={() => void save(draft, note)} disabled={busy}>
            Save
          </Button>
        )}
      </Box>
      {!canEdit && <Alert severity="info">You can view this workflow; editing and running it needs the editor role.</Alert>}
      {dirty && saved && canEdit && <Typography color="text.secondary">Unsaved changes: save before running.</Typography>}
      {status && (
        <Alert severity="success" role="status">
          {status}
        </Alert>
      )}
      {conflict && (
        <Alert severity="warning" role="alert">
          <AlertTitle>Someone else saved this workflow while you were editing</AlertTitle>
          You edited version {saved?.version}; it is now at version {conflict.version}. Nothing of yours was saved. Load version{' '}
          {conflict.version} to see their change (your edits here are lost), or save yours over it (theirs stays in the versions, where you
          can compare and restore).
          <Box sx={{ mt: 1, display: 'flex', gap: 1 }}>
            <Button
              variant="outlined"
              onClick={() => {
                setSaved(conflict);
                setDraft(toDraft(conflict));
                setDirty(false);
                setConflict(null);
              }}
            >
              Load version {conflict.version}
            </Button>
            <Button variant="outlined" color="warning" onClick={() => void save(draft, note, conflict.version)}>
              Save mine as version {conflict.version + 1}
            </Button>
          </Box>
        </Alert>
      )}
      {problem && (
        <Alert severity="error">
          {problemText(problem)}
          {(problem.errors ?? []).length > 0 && ': see the fields and tasks marked below.'}
        </Alert>
      )}
      {!problem && Object.keys(clientErrs).length > 0 && <Alert severity="error">Some fields need fixing: see the marks below.</Alert>}
      {validation &&
        (validation.valid ? (
          <Alert severity="success" role="status">
            The latest version is valid{validation.warnings.length ? `, with ${validation.warnings.length} warning(s)` : ''}.
          </Alert>
        ) : (
          <Messages title="The latest version does not validate" severity="error" list={validation.errors} />
        ))}
      {validation && validation.warnings.length > 0 && <Messages title="Warnings" severity="warning" list={validation.warnings} />}
      {warnings.length > 0 && !validation && <Messages title="Saved with warnings" severity="warning" list={warnings} />}

      <Box component="section" aria-labelledby="graph-title">
        <Typography id="graph-title" component="h2" variant="h6">
          Task graph
        </Typography>
        <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
          {canEdit
            ? 'Drag from a task’s right handle to another task to give it that output, or use Add context edge below (saved at once); select an edge and press Delete to remove it. Dashed edges: every earlier task (no context set). Tasks can be dragged to arrange the view (not saved).'
            : 'Dashed edges: every earlier task (no context set). Tasks can be dragged to arrange the view (not saved).'}
        </Typography>
        <Graph
          tasks={draft.tasks}
          agentName={agentName}
          problems={(i) => taskMessages(errs, i)}
          editable={canEdit}
          moved={moved}
          onMove={(key, at) => setMoved((m) => ({ ...m, [key]: at }))}
          onConnect={(s, t) => graphChange(connect(draft.tasks, s, t), `context: ${s} → ${t}`)}
          onDisconnect={(s, t) => graphChange(disconnect(draft.tasks, s, t), `context: removed ${s} → ${t}`)}
          onSelectTask={(i) => document.getElementById(`task-${i}`)?.scrollIntoView({ behavior: 'smooth', block: 'start' })}
        />
        {canEdit && <EdgeAdder tasks={draft.tasks} onAdd={(s, t) => graphChange(connect(draft.tasks, s, t), `context: ${s} → ${t}`)} />}
      </Box>

      <Paper component="section" aria-labelledby="settings-title" variant="outlined" sx={{ p: 2 }}>
        <Typography id="settings-title" component="h2" variant="h6" sx={{ mb: 1 }}>
          Settings
        </Typography>
        <Stack spacing={2}>
          <Stack direction="row" spacing={2}>
            <TextField
              label="Name"
              name="name"
              required
              fullWidth
              value={draft.name}
              disabled={ro}
              onChange={(e) => edit({ ...draft, name: e.target.value })}
              error={!!top('name')}
              helperText={top('name')}
            />
            <TextField
              select
              label="Process"
              name="process"
              fullWidth
              value={draft.process}
              disabled={ro}
              onChange={(e) => edit({ ...draft, process: e.target.value as Process })}
              error={!!top('process')}
              helperText={top('process') ?? help('sequential: in order; hierarchical: a manager assigns; graph: by dependencies')}
            >
              <MenuItem value="sequential">sequential</MenuItem>
              <MenuItem value="hierarchical">hierarchical</MenuItem>
              <MenuItem value="graph">graph</MenuItem>
            </TextField>
          </Stack>
          <TextField
            label="Description"
            name="description"
            fullWidth
            multiline
            value={draft.description}
            disabled={ro}
            onChange={(e) => edit({ ...draft, description: e.target.value })}
            error={!!top('description')}
            helperText={top('description')}
          />
          {draft.process === 'hierarchical' && (
            <Stack direction="row" spacing={2}>
              <TextField
                select
                label="Manager model"
                name="manager_model_id"
                fullWidth
                value={draft.manager_model_id}
                disabled={ro}
                onChange={(e) => edit({ ...draft, manager_model_id: e.target.value })}
                SelectProps={{ displayEmpty: true }}
                InputLabelProps={{ shrink: true }}
                error={!!top('manager_model_id')}
                helperText={top('manager_model_id') ?? help('A chat model plans and checks (or a manager agent)')}
              >
                <MenuItem value="">
                  <em>None</em>
                </MenuItem>
                {models.map((m) => (
                  <MenuItem key={m.id} value={m.id}>
                    {m.name}
                  </MenuItem>
                ))}
              </TextField>
              <TextField
                select
                label="Manager agent"
                name="manager_agent_id"
                fullWidth
                value={draft.manager_agent_id}
                disabled={ro}
                onChange={(e) => edit({ ...draft, manager_agent_id: e.target.value })}
                SelectProps={{ displayEmpty: true }}
                InputLabelProps={{ shrink: true }}
                error={!!top('manager_agent_id')}
                helperText={top('manager_agent_id') ?? help('Or an agent as the manager (not both)')}
              >
                <MenuItem value="">
                  <em>None</em>
                </MenuItem>
                {agents.map((a) => (
                  <MenuItem key={a.id} value={a.id}>
                    {a.name}
                  </MenuItem>
                ))}
              </TextField>
            </Stack>
          )}
          <Stack direction="row" spacing={2}>
            <TextField
              label="Max requests per minute"
              name="max_rpm"
              fullWidth
              value={draft.max_rpm}
              disabled={ro}
              onChange={(e) => edit({ ...draft, max_rpm: e.target.value })}
              error={!!top('max_rpm')}
              helperText={top('max_rpm') ?? help('Empty: no limit')}
            />
            <TextField
              label="Timeout (seconds)"
              name="timeout_s"
              fullWidth
              value={draft.timeout_s}
              disabled={ro}
              onChange={(e) => edit({ ...draft, timeout_s: e.target.value })}
              error={!!top('timeout_s')}
              helperText={top('timeout_s') ?? help('Empty: no limit')}
            />
            {draft.process === 'graph' && (
              <TextField
                label="Max concurrency"
                name="max_concurrency"
                fullWidth
                value={draft.max_concurrency}
                disabled={ro}
                onChange={(e) => edit({ ...draft, max_concurrency: e.target.value })}
                error={!!top('max_concurrency')}
                helperText={top('max_concurrency') ?? help('Tasks at a time')}
              />
            )}
            <TextField
              label="Tags"
              name="tags"
              fullWidth
              value={draft.tags}
              disabled={ro}
              onChange={(e) => edit({ ...draft, tags: e.target.value })}
              error={!!errorAt(errs, 'tags')}
              helperText={errorAt(errs, 'tags') ?? help('Comma-separated')}
            />
          </Stack>
          {canEdit && (
            <TextField
              label="Change note"
              name="change_note"
              fullWidth
              value={note}
              onChange={(e) => setNote(e.target.value)}
              helperText="Recorded with the version this save writes"
            />
          )}
        </Stack>
      </Paper>

      <InputsEditor inputs={draft.inputs} errs={errs} editable={canEdit} onChange={(inputs) => edit({ ...draft, inputs })} />

      <Box component="section" aria-labelledby="tasks-title">
        <Box sx={{ display: 'flex', alignItems: 'center', mb: 1 }}>
          <Typography id="tasks-title" component="h2" variant="h6" sx={{ flexGrow: 1 }}>
            Tasks
          </Typography>
          {canEdit && <Button onClick={addTask}>Add task</Button>}
        </Box>
        {errs.tasks && <Typography color="error">{errs.tasks}</Typography>}
        <Stack spacing={2}>
          {draft.tasks.map((t, i) => (
            <TaskForm
              key={i}
              index={i}
              count={draft.tasks.length}
              task={t}
              process={draft.process}
              keys={keys}
              agents={agents}
              models={models}
              tools={tools}
              errs={errs}
              editable={canEdit}
              onChange={(nt) => setTask(i, nt)}
              onMove={(by) => moveTask(i, by)}
              onRemove={() => edit({ ...draft, tasks: draft.tasks.filter((_, n) => n !== i) })}
            />
          ))}
        </Stack>
      </Box>
      {canEdit && hasErrors && (
        <Typography color="error" role="note">
          Fix the marked fields, then save again.
        </Typography>
      )}
      {running && saved && <RunDialog workflow={saved} onClose={() => setRunning(false)} />}
      {exporting && saved && <ExportDialog workflow={saved} onClose={() => setExporting(false)} />}
    </Stack>
  );
}
