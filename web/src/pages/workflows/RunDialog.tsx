// The Run dialog: a version picker (every version of the workflow, newest
// first; the latest chosen at first, the published one marked) and a form
// generated from the chosen version's inputs, one field per input by its
// type: text for string, a number field, a switch for boolean, JSON text for
// json. Required inputs are checked here; the server's 422 field errors
// (inputs.<name>, version) show beside the fields they name. A started run
// opens its execution page.
import { useState, type FormEvent, type ReactNode } from 'react';
import {
  Alert,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  FormControlLabel,
  FormHelperText,
  MenuItem,
  Switch,
  TextField,
} from '@mui/material';
import { useQuery } from '@tanstack/react-query';
import { useNavigate } from 'react-router-dom';
import { api } from '../../api/client';
import { fieldErrors, problemText, type Problem } from '../../problem';
import { DialogForm, Loading } from '../../ui';
import { runDefaults, runInputs, versionChoices, type InputOut, type RunValues, type VersionSummary, type Workflow } from './model';

// Every version summary, a page of 200 at a time (the API's largest).
async function allVersions(id: string): Promise<VersionSummary[]> {
  const out: VersionSummary[] = [];
  let cursor: string | undefined;
  do {
    const { data, error } = await api.GET('/api/v1/workflows/{id}/versions', {
      params: { path: { id }, query: cursor ? { limit: 200, cursor } : { limit: 200 } },
    });
    if (error) throw error;
    out.push(...data.items);
    cursor = data.next_cursor ?? undefined;
  } while (cursor);
  return out;
}

export function RunDialog({ workflow, onClose }: { workflow: Workflow; onClose: () => void }) {
  const [version, setVersion] = useState(workflow.version);
  const versions = useQuery({ queryKey: ['workflow-versions', workflow.id, 'all'], queryFn: () => allVersions(workflow.id) });
  const def = useQuery({
    queryKey: ['workflow-version', workflow.id, version],
    queryFn: async () => {
      if (version === workflow.version) return workflow.inputs;
      const { data, error } = await api.GET('/api/v1/workflows/{id}/versions/{version}', {
        params: { path: { id: workflow.id, version: String(version) } },
      });
      if (error) throw error;
      return data.definition.inputs;
    },
  });
  const choices = versionChoices(versions.data ?? [], workflow.version, workflow.published_version ?? null);
  const picker = (err?: string) => (
    <TextField
      select
      label="Version"
      name="version"
      fullWidth
      margin="normal"
      value={version}
      onChange={(e) => setVersion(Number(e.target.value))}
      error={!!err || versions.isError}
      helperText={
        err ??
        (versions.isError
          ? `The version list did not load (${problemText(versions.error as Problem)}); the latest is offered.`
          : 'The run uses this version’s tasks and inputs')
      }
    >
      {choices.map((c) => (
        <MenuItem key={c.version} value={c.version}>
          {c.label}
        </MenuItem>
      ))}
    </TextField>
  );
  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="sm" aria-labelledby="run-dialog-title">
      <DialogTitle id="run-dialog-title">Run {workflow.name}</DialogTitle>
      {def.isError ? (
        <DialogContent>
          {picker()}
          <Alert severity="error">{problemText(def.error as Problem)}</Alert>
        </DialogContent>
      ) : def.isPending ? (
        <DialogContent>
          {picker()}
          <Loading label="Loading the inputs" />
        </DialogContent>
      ) : (
        <RunForm key={version} workflow={workflow} version={version} inputs={def.data} picker={picker} onClose={onClose} />
      )}
    </Dialog>
  );
}

function RunForm({
  workflow,
  version,
  inputs,
  picker,
  onClose,
}: {
  workflow: Workflow;
  version: number;
  inputs: InputOut[];
  picker: (err?: string) => ReactNode;
  onClose: () => void;
}) {
  const navigate = useNavigate();
  const [values, setValues] = useState<RunValues>(() => runDefaults(inputs));
  const [local, setLocal] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const server = fieldErrors(problem);
  const errOf = (name: string) => local[name] ?? server[`inputs.${name}`];

  async function submit(e: FormEvent) {
    e.preventDefault();
    setProblem(null);
    const { inputs: body, errors } = runInputs(inputs, values);
    setLocal(errors);
    if (Object.keys(errors).length > 0) return;
    setBusy(true);
    const { data, error } = await api.POST('/api/v1/workflows/{id}/execute', {
      params: { path: { id: workflow.id } },
      body: { inputs: body, version },
    });
    setBusy(false);
    if (error) {
      setProblem(error as Problem);
      return;
    }
    onClose();
    navigate(`/executions/${data.id}`);
  }

  const placed = (f: string) => f === 'version' || inputs.some((i) => `inputs.${i.name}` === f);
  const unplaced = (problem?.errors ?? []).filter((x) => !placed(x.field ?? ''));
  return (
    <DialogForm onSubmit={(e) => void submit(e)}>
      <DialogContent>
        {picker(server.version)}
        <DialogContentText>
          {version === workflow.version ? 'The latest version' : `Version ${version}`}
          {version === workflow.published_version ? ', the published one' : ''}
          {version === workflow.published_version ? ',' : ''}
          {inputs.length === 0 ? ' takes no inputs.' : ` takes ${inputs.length === 1 ? 'this input' : 'these inputs'}:`}
        </DialogContentText>
        {problem && (
          <Alert severity="error" sx={{ mt: 1 }}>
            {problemText(problem)}
            {unplaced.map((x) => (
              <div key={`${x.field}:${x.message}`}>
                {x.field}: {x.message}
              </div>
            ))}
          </Alert>
        )}
        {inputs.map((inp) => {
          const err = errOf(inp.name);
          const help = err ?? ([inp.description, `${inp.type}${inp.required ? ', required' : ', optional'}`].filter(Boolean).join(' · '));
          const v = values[inp.name];
          if (inp.type === 'boolean')
            return (
              <div key={inp.name}>
                <FormControlLabel
                  control={
                    <Switch
                      name={`inputs.${inp.name}`}
                      checked={v === true}
                      onChange={(e) => setValues({ ...values, [inp.name]: e.target.checked })}
                    />
                  }
                  label={inp.name}
                />
                <FormHelperText error={!!err}>{help}</FormHelperText>
              </div>
            );
          return (
            <TextField
              key={inp.name}
              label={inp.name}
              name={`inputs.${inp.name}`}
              fullWidth
              margin="normal"
              required={inp.required}
              multiline={inp.type === 'json'}
              minRows={inp.type === 'json' ? 3 : undefined}
              inputProps={inp.type === 'number' ? { inputMode: 'decimal' } : undefined}
              value={typeof v === 'string' ? v : ''}
              onChange={(e) => setValues({ ...values, [inp.name]: e.target.value })}
              error={!!err}
              helperText={help}
            />
          );
        })}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button type="submit" variant="contained" disabled={busy}>
          Start run
        </Button>
      </DialogActions>
    </DialogForm>
  );
}
