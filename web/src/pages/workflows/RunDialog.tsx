// The Run dialog: a form generated from the inputs of the version that will
// run (the published one, else the latest), one field per input by its type:
// text for string, a number field, a switch for boolean, JSON text for json.
// Required inputs are checked here; the server's 422 field errors
// (inputs.<name>) show beside the inputs they name. A started run opens its
// execution page.
import { useState, type FormEvent } from 'react';
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
  Switch,
  TextField,
} from '@mui/material';
import { useQuery } from '@tanstack/react-query';
import { useNavigate } from 'react-router-dom';
import { api } from '../../api/client';
import { fieldErrors, problemText, type Problem } from '../../problem';
import { Loading } from '../../ui';
import { runDefaults, runInputs, type InputOut, type RunValues, type Workflow } from './model';

export function RunDialog({ workflow, onClose }: { workflow: Workflow; onClose: () => void }) {
  const version = workflow.published_version ?? workflow.version;
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
  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="sm" aria-labelledby="run-dialog-title">
      <DialogTitle id="run-dialog-title">Run {workflow.name}</DialogTitle>
      {def.isError ? (
        <DialogContent>
          <Alert severity="error">{problemText(def.error as Problem)}</Alert>
        </DialogContent>
      ) : def.isPending ? (
        <DialogContent>
          <Loading label="Loading the inputs" />
        </DialogContent>
      ) : (
        <RunForm workflow={workflow} version={version} inputs={def.data} onClose={onClose} />
      )}
    </Dialog>
  );
}

function RunForm({ workflow, version, inputs, onClose }: { workflow: Workflow; version: number; inputs: InputOut[]; onClose: () => void }) {
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

  const unplaced = (problem?.errors ?? []).filter((x) => !(x.field ?? '').startsWith('inputs.') || !inputs.some((i) => `inputs.${i.name}` === x.field));
  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <DialogContent>
        <DialogContentText>
          Runs version {version}
          {workflow.published_version ? ' (published)' : ' (the latest; none is published)'}.
          {inputs.length === 0 && ' This workflow takes no inputs.'}
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
    </form>
  );
}
