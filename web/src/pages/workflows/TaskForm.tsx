// One task of the workflow as a form: every field the API takes. Errors come
// keyed by the API's paths (tasks[2].context[0]) and show on the field they
// name; an error on the task itself (a cycle) shows at the top of its card.
import {
  Alert,
  Box,
  Button,
  Checkbox,
  Chip,
  FormControlLabel,
  FormHelperText,
  MenuItem,
  Paper,
  Stack,
  Switch,
  TextField,
  Typography,
} from '@mui/material';
import type { Schemas } from '../../api/client';
import { errorAt, type ConditionOp, type DraftTask, type GuardrailType, type Process } from './model';

// What the engine does not run yet (an execute refuses it naming the field):
// said beside the fields to those who can edit them.
const NOT_RUN_GUARDRAIL = 'A check of the output; not run yet: a run with a guardrail is refused';
const NOT_RUN_HUMAN = 'Not run yet: a run with human review is refused';

const OPS: ConditionOp[] = ['equals', 'not_equals', 'contains', 'matches', 'gt', 'lt', 'exists'];

function KeyPicker({
  label,
  name,
  value,
  options,
  error,
  helper,
  disabled,
  onChange,
}: {
  label: string;
  name: string;
  value: string[];
  options: string[];
  error?: string;
  helper: string;
  disabled: boolean;
  onChange: (v: string[]) => void;
}) {
  // Keys that name no task stay listed, so a wrong one can be seen and removed.
  const all = [...options, ...value.filter((v) => !options.includes(v))];
  return (
    <TextField
      select
      label={label}
      name={name}
      fullWidth
      value={value}
      disabled={disabled}
      error={!!error}
      helperText={error ?? (disabled ? undefined : helper)}
      SelectProps={{
        multiple: true,
        renderValue: (v) => (
          <Box sx={{ display: 'flex', flexWrap: 'wrap', gap: 0.5 }}>
            {(v as string[]).length === 0 ? 'none' : (v as string[]).map((k) => <Chip key={k} size="small" label={k} />)}
          </Box>
        ),
      }}
      onChange={(e) => {
        const v = e.target.value as unknown;
        onChange(typeof v === 'string' ? v.split(',') : (v as string[]));
      }}
    >
      {all.map((k) => (
        <MenuItem key={k} value={k}>
          {k}
        </MenuItem>
      ))}
    </TextField>
  );
}

export function TaskForm({
  index,
  count,
  task,
  process,
  keys,
  agents,
  models,
  tools,
  errs,
  editable,
  onChange,
  onMove,
  onRemove,
}: {
  index: number;
  count: number;
  task: DraftTask;
  process: Process;
  keys: string[];
  agents: Schemas['Agent'][];
  models: Schemas['Model'][];
  tools: Schemas['Tool'][];
  errs: Record<string, string>;
  editable: boolean;
  onChange: (t: DraftTask) => void;
  onMove: (by: -1 | 1) => void;
  onRemove: () => void;
}) {
  const p = `tasks[${index}]`;
  const err = (f: string) => errorAt(errs, `${p}.${f}`);
  const set = (patch: Partial<DraftTask>) => onChange({ ...task, ...patch });
  const others = keys.filter((k) => k !== task.key);
  const own = errs[p];
  const ro = !editable;
  // Viewers get no guidance text: it is for editing (and disabled fields' help fails contrast).
  const help = (t: string | undefined) => (ro ? undefined : t);
  const text = (field: keyof DraftTask, label: string, extra: { multiline?: boolean; helper?: string; required?: boolean; path?: string } = {}) => {
    const e = err(extra.path ?? String(field));
    return (
      <TextField
        label={label}
        name={`${p}.${extra.path ?? String(field)}`}
        fullWidth
        required={extra.required}
        multiline={extra.multiline}
        minRows={extra.multiline ? 2 : undefined}
        value={task[field] as string}
        disabled={ro}
        onChange={(ev) => set({ [field]: ev.target.value } as Partial<DraftTask>)}
        error={!!e}
        helperText={e ?? help(extra.helper)}
      />
    );
  };

  return (
    <Paper id={`task-${index}`} component="section" aria-labelledby={`task-${index}-title`} sx={{ p: 2 }} variant="outlined">
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, mb: 1 }}>
        <Typography id={`task-${index}-title`} component="h3" variant="h6" sx={{ flexGrow: 1, overflowWrap: 'anywhere' }}>
          Task {index + 1}: {task.key || '(no key)'}
        </Typography>
        {editable && (
          <>
            <Button size="small" disabled={index === 0} onClick={() => onMove(-1)} aria-label={`Move task ${task.key} up`}>
              Move up
            </Button>
            <Button size="small" disabled={index === count - 1} onClick={() => onMove(1)} aria-label={`Move task ${task.key} down`}>
              Move down
            </Button>
            <Button size="small" color="error" disabled={count === 1} onClick={onRemove} aria-label={`Remove task ${task.key}`}>
              Remove
            </Button>
          </>
        )}
      </Box>
      {own && (
        <Alert severity="error" sx={{ mb: 1 }}>
          {own}
        </Alert>
      )}
      <Stack spacing={2}>
        <Stack direction="row" spacing={2}>
          {text('key', 'Key', { required: true, helper: 'An identifier other tasks name in their context' })}
          {text('name', 'Name', { helper: 'Optional display name' })}
        </Stack>
        {text('description', 'Description', { multiline: true, required: true, helper: 'What to do; {input} placeholders are filled from the run’s inputs' })}
        {text('expected_output', 'Expected output', { multiline: true, helper: 'What a good answer looks like' })}
        <Stack direction="row" spacing={2}>
          <TextField
            select
            label="Agent"
            name={`${p}.agent_id`}
            fullWidth
            value={task.agent_id}
            disabled={ro}
            onChange={(e) => set({ agent_id: e.target.value })}
            SelectProps={{ displayEmpty: true }}
            InputLabelProps={{ shrink: true }}
            error={!!err('agent_id')}
            helperText={err('agent_id') ?? help((process === 'hierarchical' ? 'Optional: the manager assigns tasks' : 'Who does this task'))}
          >
            <MenuItem value="">
              <em>None</em>
            </MenuItem>
            {agents.map((a) => (
              <MenuItem key={a.id} value={a.id}>
                {a.name}
              </MenuItem>
            ))}
            {task.agent_id && !agents.some((a) => a.id === task.agent_id) && <MenuItem value={task.agent_id}>{task.agent_id}</MenuItem>}
          </TextField>
          {text('output_file', 'Output file', { helper: 'An artifact name, e.g. report.md' })}
        </Stack>
        <Box>
          <FormControlLabel
            control={
              <Checkbox
                checked={task.context === null}
                disabled={ro}
                onChange={(e) => set({ context: e.target.checked ? null : keys.slice(0, index) })}
              />
            }
            label="Context: every earlier task’s output (crewAI’s default)"
          />
          {task.context !== null && (
            <KeyPicker
              label="Context"
              name={`${p}.context`}
              value={task.context}
              options={others}
              error={err('context')}
              helper="The tasks whose output this one gets; none selected: no context"
              disabled={ro}
              onChange={(context) => set({ context })}
            />
          )}
          {task.context === null && err('context') && <Typography color="error">{err('context')}</Typography>}
        </Box>
        <Box>
          <FormControlLabel
            control={<Checkbox checked={task.tool_ids === null} disabled={ro} onChange={(e) => set({ tool_ids: e.target.checked ? null : [] })} />}
            label="Tools: the agent’s own"
          />
          {task.tool_ids !== null && (
            <TextField
              select
              label="Tools for this task"
              name={`${p}.tool_ids`}
              fullWidth
              value={task.tool_ids}
              disabled={ro}
              SelectProps={{ multiple: true }}
              onChange={(e) => {
                const v = e.target.value as unknown;
                set({ tool_ids: typeof v === 'string' ? v.split(',') : (v as string[]) });
              }}
              error={!!err('tool_ids')}
              helperText={err('tool_ids') ?? help('These replace the agent’s tools for this task')}
            >
              {tools.map((t) => (
                <MenuItem key={t.id} value={t.id}>
                  {t.name}
                </MenuItem>
              ))}
            </TextField>
          )}
        </Box>
        <Stack direction="row" spacing={2}>
          <TextField
            select
            label="Output format"
            name={`${p}.output.format`}
            fullWidth
            value={task.outputFormat}
            disabled={ro}
            onChange={(e) => set({ outputFormat: e.target.value as DraftTask['outputFormat'] })}
            error={!!err('output.format')}
            helperText={err('output.format') ?? help('json can take a schema')}
          >
            <MenuItem value="text">text</MenuItem>
            <MenuItem value="markdown">markdown</MenuItem>
            <MenuItem value="json">json</MenuItem>
          </TextField>
          {text('max_retries', 'Max retries', { helper: 'Guardrail retries (default 3)' })}
        </Stack>
        {task.outputFormat === 'json' &&
          text('outputSchemaText', 'Output JSON Schema', { multiline: true, path: 'output.schema', helper: 'Optional; the subset in docs/core.md' })}
        <Stack direction="row" spacing={2}>
          <TextField
            select
            label="Guardrail"
            name={`${p}.guardrail.type`}
            fullWidth
            value={task.guardrailType}
            disabled={ro}
            onChange={(e) => set({ guardrailType: e.target.value as GuardrailType })}
            SelectProps={{ displayEmpty: true }}
            InputLabelProps={{ shrink: true }}
            error={!!err('guardrail.type')}
            helperText={err('guardrail.type') ?? help(NOT_RUN_GUARDRAIL)}
          >
            <MenuItem value="">
              <em>None</em>
            </MenuItem>
            <MenuItem value="json_schema">JSON Schema</MenuItem>
            <MenuItem value="regex">Regular expression</MenuItem>
            <MenuItem value="llm">LLM judge</MenuItem>
          </TextField>
          {task.guardrailType === 'regex' && text('guardrailPattern', 'Pattern', { path: 'guardrail.pattern', helper: 'POSIX extended' })}
          {task.guardrailType === 'llm' && (
            <TextField
              select
              label="Judge model"
              name={`${p}.guardrail.model_id`}
              fullWidth
              value={task.guardrailModelId}
              disabled={ro}
              onChange={(e) => set({ guardrailModelId: e.target.value })}
            SelectProps={{ displayEmpty: true }}
            InputLabelProps={{ shrink: true }}
              error={!!err('guardrail.model_id')}
              helperText={err('guardrail.model_id') ?? help('Default: the agent’s model')}
            >
              <MenuItem value="">
                <em>Default</em>
              </MenuItem>
              {models.map((m) => (
                <MenuItem key={m.id} value={m.id}>
                  {m.name}
                </MenuItem>
              ))}
            </TextField>
          )}
        </Stack>
        {task.guardrailType === 'regex' && (
          <FormControlLabel
            control={<Switch checked={task.guardrailMustMatch} disabled={ro} onChange={(e) => set({ guardrailMustMatch: e.target.checked })} />}
            label="The output must match (off: must not match)"
          />
        )}
        {task.guardrailType === 'llm' && text('guardrailCriteria', 'Criteria', { multiline: true, path: 'guardrail.criteria', helper: 'What a good output is' })}
        {task.guardrailType === 'json_schema' &&
          text('guardrailSchemaText', 'Guardrail JSON Schema', { multiline: true, path: 'guardrail.schema' })}
        <Stack direction="row" spacing={2}>
          <FormControlLabel
            control={<Switch checked={task.async_execution} disabled={ro} onChange={(e) => set({ async_execution: e.target.checked })} />}
            label="Async execution"
          />
          <Box>
            <FormControlLabel
              control={
                <Switch
                  checked={task.human_review}
                  disabled={ro}
                  onChange={(e) => set({ human_review: e.target.checked })}
                  inputProps={ro ? undefined : { 'aria-describedby': `${p}-human-review-help` }}
                />
              }
              label="Human review"
            />
            {!ro && (
              <FormHelperText id={`${p}-human-review-help`} error={!!err('human_review')}>
                {err('human_review') ?? NOT_RUN_HUMAN}
              </FormHelperText>
            )}
          </Box>
        </Stack>
        {process === 'graph' && (
          <>
            <KeyPicker
              label="Depends on"
              name={`${p}.depends_on`}
              value={task.depends_on}
              options={others}
              error={err('depends_on')}
              helper="Tasks that must finish first"
              disabled={ro}
              onChange={(depends_on) => set({ depends_on })}
            />
            <Stack direction="row" spacing={2}>
              <TextField
                select
                label="Condition: task"
                name={`${p}.condition.task`}
                fullWidth
                value={task.conditionTask}
                disabled={ro}
                onChange={(e) => set({ conditionTask: e.target.value })}
            SelectProps={{ displayEmpty: true }}
            InputLabelProps={{ shrink: true }}
                error={!!err('condition.task') || !!errs[`${p}.condition`]}
                helperText={err('condition.task') ?? errs[`${p}.condition`] ?? help('Run only when this task’s output passes')}
              >
                <MenuItem value="">
                  <em>No condition</em>
                </MenuItem>
                {[...new Set([...task.depends_on, ...others])].map((k) => (
                  <MenuItem key={k} value={k}>
                    {k}
                  </MenuItem>
                ))}
              </TextField>
              {task.conditionTask && (
                <>
                  {text('conditionPath', 'Condition: JSONPath', { path: 'condition.path', helper: 'RFC 9535, e.g. $.score' })}
                  <TextField
                    select
                    label="Condition: operator"
                    name={`${p}.condition.op`}
                    fullWidth
                    value={task.conditionOp}
                    disabled={ro}
                    onChange={(e) => set({ conditionOp: e.target.value as ConditionOp })}
                    error={!!err('condition.op')}
                    helperText={err('condition.op')}
                  >
                    {OPS.map((o) => (
                      <MenuItem key={o} value={o}>
                        {o}
                      </MenuItem>
                    ))}
                  </TextField>
                  {task.conditionOp !== 'exists' &&
                    text('conditionValueText', 'Condition: value (JSON)', { path: 'condition.value', helper: 'e.g. "yes" or 3' })}
                </>
              )}
            </Stack>
          </>
        )}
      </Stack>
    </Paper>
  );
}
