// crewAI import (/workflows/import): upload agents.yaml, tasks.yaml and an
// optional crew.yaml (sent as multipart/form-data, RFC 7578, one part each)
// or paste them (sent as JSON). The import creates the agents and the
// workflow in one transaction; its warnings show here afterwards, with a
// link to the new workflow. Errors name the file, line and column, or the
// field, and show beside the file they name.
import { useState, type FormEvent } from 'react';
import {
  Alert,
  AlertTitle,
  Box,
  Button,
  FormHelperText,
  MenuItem,
  Paper,
  Stack,
  Tab,
  Tabs,
  TextField,
  Typography,
} from '@mui/material';
import { useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router-dom';
import { api, type Schemas } from '../../api/client';
import { fieldErrors, problemText, type Problem } from '../../problem';

type Result = Schemas['WorkflowImportResult'];
const FILES = [
  { name: 'agents_yaml', label: 'agents.yaml', required: true },
  { name: 'tasks_yaml', label: 'tasks.yaml', required: true },
  { name: 'crew_yaml', label: 'crew.yaml (optional: what crew.py wires)', required: false },
] as const;
type FileField = (typeof FILES)[number]['name'];

// "tasks_yaml: research_task.agent" and "tasks_yaml" both belong to tasks_yaml.
function fileErrors(p: Problem | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fieldErrors(p))) {
    const f = k.split(/[.:[]/)[0] ?? k;
    out[f] = out[f] ? `${out[f]}; ${k === f ? v : `${k}: ${v}`}` : k === f ? v : `${k}: ${v}`;
  }
  return out;
}

export function Import() {
  const qc = useQueryClient();
  const [mode, setMode] = useState<'upload' | 'paste'>('upload');
  const [files, setFiles] = useState<Partial<Record<FileField, File>>>({});
  const [texts, setTexts] = useState<Record<FileField, string>>({ agents_yaml: '', tasks_yaml: '', crew_yaml: '' });
  const [name, setName] = useState('');
  const [process, setProcess] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [local, setLocal] = useState<Record<string, string>>({});
  const [result, setResult] = useState<Result | null>(null);
  const [busy, setBusy] = useState(false);
  const errs = { ...fileErrors(problem), ...local };

  async function submit(e: FormEvent) {
    e.preventDefault();
    setProblem(null);
    setResult(null);
    const missing: Record<string, string> = {};
    for (const f of FILES)
      if (f.required && (mode === 'upload' ? !files[f.name] : texts[f.name].trim() === '')) missing[f.name] = 'is required';
    setLocal(missing);
    if (Object.keys(missing).length > 0) return;
    setBusy(true);
    let res;
    if (mode === 'upload') {
      const form = new FormData();
      for (const f of FILES) {
        const file = files[f.name];
        if (file) form.append(f.name, file, file.name);
      }
      if (name.trim()) form.append('name', name.trim());
      if (process) form.append('process', process);
      // The route takes the same fields as a form (ROUTE_FORM); the browser
      // sets the multipart boundary.
      res = await api.POST('/api/v1/workflows/import', { body: form as unknown as Schemas['WorkflowImport'], bodySerializer: (b) => b as unknown as FormData });
    } else {
      const body: Schemas['WorkflowImport'] = { agents_yaml: texts.agents_yaml, tasks_yaml: texts.tasks_yaml };
      if (texts.crew_yaml.trim()) body.crew_yaml = texts.crew_yaml;
      if (name.trim()) body.name = name.trim();
      if (process === 'sequential' || process === 'hierarchical') body.process = process;
      res = await api.POST('/api/v1/workflows/import', { body });
    }
    setBusy(false);
    if (res.error) return setProblem(res.error as Problem);
    setResult(res.data);
    void qc.invalidateQueries({ queryKey: ['workflows'] });
    void qc.invalidateQueries({ queryKey: ['agents'] });
  }

  return (
    <Stack spacing={2}>
      <Typography component="h1" variant="h4">
        Import a crewAI crew
      </Typography>
      <Typography color="text.secondary">
        A crewAI project keeps its crew in src/&lt;crew&gt;/config/agents.yaml and tasks.yaml. Add troupe’s crew.yaml for what crew.py wires
        (context, tools, models, output schemas, the process). The agents and the workflow are created together, or nothing is.
      </Typography>
      {result && (
        <Alert severity="success" role="status">
          <AlertTitle>Imported “{result.workflow.name}”</AlertTitle>
          {result.workflow.tasks.length} task(s) and {result.agents.length} agent(s) created.{' '}
          <Button component={RouterLink} to={`/workflows/${result.workflow.id}`} size="small" variant="outlined">
            Open the workflow
          </Button>
        </Alert>
      )}
      {result && result.warnings.length > 0 && (
        <Alert severity="warning">
          <AlertTitle>{result.warnings.length} warning(s): imported anyway</AlertTitle>
          {result.warnings.map((w) => (
            <div key={`${w.field}:${w.message}`}>
              <code>{w.field}</code>: {w.message}
            </div>
          ))}
        </Alert>
      )}
      {problem && <Alert severity="error">{problemText(problem)}</Alert>}
      <Paper component="form" onSubmit={(e) => void submit(e)} noValidate sx={{ p: 2 }} aria-label="Import">
        <Tabs value={mode} onChange={(_, v: 'upload' | 'paste') => setMode(v)} aria-label="How to give the files">
          <Tab value="upload" label="Upload files" id="tab-upload" aria-controls="panel-import" />
          <Tab value="paste" label="Paste YAML" id="tab-paste" aria-controls="panel-import" />
        </Tabs>
        <Stack spacing={2} sx={{ mt: 2 }} id="panel-import" role="tabpanel" aria-labelledby={`tab-${mode}`}>
          {FILES.map((f) =>
            mode === 'upload' ? (
              <Box key={f.name}>
                <Typography id={`label-${f.name}`} sx={{ fontWeight: 500, mb: 0.5 }}>
                  {f.label}
                  {f.required ? ' *' : ''}
                </Typography>
                <Button
                  id={`choose-${f.name}`}
                  variant="outlined"
                  color={errs[f.name] ? 'error' : 'primary'}
                  sx={{ textTransform: 'none' }}
                  aria-labelledby={`label-${f.name} choose-${f.name}`}
                  aria-describedby={`help-${f.name}`}
                  onClick={() => document.getElementById(`file-${f.name}`)?.click()}
                >
                  {files[f.name]?.name ?? 'Choose a file…'}
                </Button>
                <input
                  id={`file-${f.name}`}
                  name={f.name}
                  type="file"
                  hidden
                  accept=".yaml,.yml,text/yaml,application/yaml"
                  aria-invalid={!!errs[f.name]}
                  onChange={(e) => {
                    setFiles({ ...files, [f.name]: e.target.files?.[0] });
                    setLocal((m) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== f.name)));
                  }}
                />
                <FormHelperText id={`help-${f.name}`} error={!!errs[f.name]}>
                  {errs[f.name] ?? (files[f.name] ? `${files[f.name]?.size.toLocaleString()} bytes` : f.required ? 'Required' : 'Optional')}
                </FormHelperText>
              </Box>
            ) : (
              <TextField
                key={f.name}
                label={f.label}
                name={f.name}
                required={f.required}
                multiline
                minRows={5}
                fullWidth
                value={texts[f.name]}
                onChange={(e) => setTexts({ ...texts, [f.name]: e.target.value })}
                error={!!errs[f.name]}
                helperText={errs[f.name]}
                inputProps={{ spellCheck: false, style: { fontFamily: 'monospace' } }}
              />
            ),
          )}
          <Stack direction="row" spacing={2}>
            <TextField
              label="Workflow name"
              name="name"
              fullWidth
              value={name}
              onChange={(e) => setName(e.target.value)}
              error={!!errs.name}
              helperText={errs.name ?? 'Optional; default “Imported crewAI crew”'}
            />
            <TextField
              select
              label="Process"
              name="process"
              fullWidth
              value={process}
              onChange={(e) => setProcess(e.target.value)}
              SelectProps={{ displayEmpty: true }}
              InputLabelProps={{ shrink: true }}
              error={!!errs.process}
              helperText={errs.process ?? 'Overrides crew.yaml’s'}
            >
              <MenuItem value="">
                <em>As crew.yaml says (default sequential)</em>
              </MenuItem>
              <MenuItem value="sequential">sequential</MenuItem>
              <MenuItem value="hierarchical">hierarchical</MenuItem>
            </TextField>
          </Stack>
          <Box>
            <Button type="submit" variant="contained" disabled={busy}>
              Import
            </Button>
          </Box>
        </Stack>
      </Paper>
    </Stack>
  );
}
