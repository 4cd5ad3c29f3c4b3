import { describe, expect, it } from 'vitest';
import {
  connect,
  contextEdges,
  disconnect,
  errorAt,
  fromDraft,
  layout,
  newDraft,
  newTask,
  runInputs,
  taskMessages,
  taskOfPath,
  toDraft,
  versionChoices,
  type DraftTask,
  type Workflow,
} from './model';

const tasks = (...ctx: (string[] | null)[]): DraftTask[] => ctx.map((c, i) => ({ ...newTask(`t${i}`), context: c }));

describe('context edges', () => {
  it('draws explicit entries, and every earlier task for a null context (implicit)', () => {
    const e = contextEdges(tasks(null, null, ['t0'], []));
    expect(e.map((x) => [x.id, x.implicit])).toEqual([
      ['t0->t1', true],
      ['t0->t2', false],
    ]);
  });
  it('skips entries that name no task', () => {
    expect(contextEdges(tasks([], ['nope', 't0']))).toEqual([{ id: 't0->t1', source: 't0', target: 't1', implicit: false }]);
  });
  it('connect adds the source; a null context becomes that source alone; repeats change nothing', () => {
    expect(connect(tasks([], []), 't0', 't1')?.[1]?.context).toEqual(['t0']);
    expect(connect(tasks([], null, ['t1']), 't0', 't2')?.[2]?.context).toEqual(['t1', 't0']);
    expect(connect(tasks([], null, null), 't0', 't2')?.[2]?.context).toEqual(['t0']);
    expect(connect(tasks([], ['t0']), 't0', 't1')).toBeNull();
    expect(connect(tasks([]), 't0', 't0')).toBeNull();
    expect(connect(tasks([]), 'x', 't0')).toBeNull();
  });
  it('disconnect drops the entry; a null context becomes every earlier task but that one', () => {
    expect(disconnect(tasks([], ['t0']), 't0', 't1')?.[1]?.context).toEqual([]);
    expect(disconnect(tasks([], [], null), 't0', 't2')?.[2]?.context).toEqual(['t1']);
    expect(disconnect(tasks([], []), 't0', 't1')).toBeNull();
  });
  it('lays tasks out in columns by context depth, cycles cut', () => {
    const p = layout(tasks([], ['t0'], ['t0'], ['t1', 't2']));
    expect([p.t0?.x, p.t1?.x, p.t2?.x, p.t3?.x]).toEqual([0, 280, 280, 560]);
    expect(p.t2?.y).toBe(130);
    const cyc = layout(tasks(['t1'], ['t0']));
    expect(Object.keys(cyc)).toEqual(['t0', 't1']);
  });
});

describe('validation paths', () => {
  it('maps tasks[i].field paths to the task and field', () => {
    expect(taskOfPath('tasks[2].context[0]')).toEqual({ index: 2, field: 'context' });
    expect(taskOfPath('tasks[0].guardrail.pattern')).toEqual({ index: 0, field: 'guardrail.pattern' });
    expect(taskOfPath('tasks[3]')).toEqual({ index: 3, field: '' });
    expect(taskOfPath('inputs[0].name')).toBeNull();
  });
  it('finds a field’s error under its path, and a node’s messages', () => {
    const errs = { 'tasks[1].context[0]': 'no task with key "x"', 'tasks[1]': 'cycle', 'tasks[10].key': 'bad' };
    expect(errorAt(errs, 'tasks[1].context')).toBe('no task with key "x"');
    expect(errorAt(errs, 'tasks[1].con')).toBeUndefined();
    expect(taskMessages(errs, 1)).toEqual(['context[0]: no task with key "x"', 'task: cycle']);
    expect(taskMessages(errs, 0)).toEqual([]);
  });
});

describe('draft', () => {
  it('round-trips a definition and reports client-side errors by API path', () => {
    const wf = {
      name: 'w',
      description: '',
      process: 'sequential',
      manager_model_id: null,
      manager_agent_id: null,
      inputs: [{ name: 'n', description: null, type: 'number', default: 3, required: false }],
      tasks: [
        {
          key: 'a',
          name: null,
          description: 'd',
          expected_output: 'e',
          agent_id: 'ag',
          context: null,
          async_execution: false,
          depends_on: [],
          condition: null,
          tool_ids: null,
          output: { format: 'json', schema: { type: 'object' } },
          guardrail: { type: 'regex', pattern: '^x', must_match: false },
          max_retries: 2,
          human_review: true,
          output_file: 'r.md',
        },
      ],
      max_rpm: 5,
      max_concurrency: null,
      timeout_s: null,
      tags: ['x', 'y'],
    } as unknown as Workflow;
    const { body, errors } = fromDraft(toDraft(wf));
    expect(errors).toEqual({});
    expect(body.inputs).toEqual([{ name: 'n', description: null, type: 'number', required: false, default: 3 }]);
    expect(body.tasks[0]).toMatchObject({
      context: null,
      output: { format: 'json', schema: { type: 'object' } },
      guardrail: { type: 'regex', pattern: '^x', must_match: false },
      max_retries: 2,
      human_review: true,
      output_file: 'r.md',
    });
    expect(body.tags).toEqual(['x', 'y']);
    const d = newDraft();
    d.max_rpm = 'ten';
    d.inputs = [{ name: 'n', description: '', type: 'number', required: false, defaultText: 'x' }];
    d.tasks[0] = { ...newTask('a'), outputFormat: 'json', outputSchemaText: '{' };
    expect(fromDraft(d).errors).toEqual({
      max_rpm: 'must be a whole number',
      'inputs[0].default': 'must be a number',
      'tasks[0].output.schema': 'is not valid JSON',
    });
  });
});

describe('run inputs', () => {
  const inputs = [
    { name: 's', description: null, type: 'string', required: true },
    { name: 'n', description: null, type: 'number', required: false },
    { name: 'b', description: null, type: 'boolean', required: false },
    { name: 'j', description: null, type: 'json', required: false },
  ];
  it('types the values; required and bad JSON are caught here; a bad number is left for the server', () => {
    expect(runInputs(inputs, { s: 'x', n: '2.5', b: true, j: '{"a":1}' })).toEqual({ inputs: { s: 'x', n: 2.5, b: true, j: { a: 1 } }, errors: {} });
    expect(runInputs(inputs, { s: ' ', n: 'ten', b: false, j: '{' })).toEqual({
      inputs: { n: 'ten', b: false },
      errors: { s: 'is required', j: 'is not valid JSON' },
    });
  });
});

describe('run version choices', () => {
  const v = (version: number, change_note: string | null = null) => ({ version, change_note, author_id: null, created_at: '2026-01-01T00:00:00Z' });
  it('lists newest first, naming the latest and the published one, with notes', () => {
    expect(versionChoices([v(1, 'first'), v(2), v(3, 'fix')], 3, 2)).toEqual([
      { version: 3, label: 'Version 3 (latest) · fix' },
      { version: 2, label: 'Version 2 (published)' },
      { version: 1, label: 'Version 1 · first' },
    ]);
  });
  it('keeps the latest and published versions the list has not reached', () => {
    expect(versionChoices([v(1)], 4, 4).map((c) => c.label)).toEqual(['Version 4 (latest, published)', 'Version 1']);
  });
});
