import { describe, expect, it } from 'vitest';
import { apply, costText, newView, type ExecEvent } from './state';

const at = '2026-01-01T00:00:00Z';
function ev(seq: number, type: string, task_key?: string, data: unknown = {}): ExecEvent {
  return { seq, type, at, task_key, attempt: task_key ? 1 : undefined, data };
}

describe('the execution view', () => {
  it('folds tasks, calls, deltas and usage; a replayed event counts once', () => {
    const v = newView(['a', 'b']);
    const events = [
      ev(1, 'execution.queued'),
      ev(2, 'execution.started'),
      ev(3, 'task.started', 'a'),
      { seq: 0, type: 'output.delta', at, task_key: 'a', attempt: 1, data: { text: 'He' } },
      ev(4, 'llm.started', 'a', { model: 'm1', iteration: 1, messages: [{ role: 'user', content: 'hi' }] }),
      { seq: 0, type: 'output.delta', at, task_key: 'a', attempt: 1, data: { text: 'llo' } },
      ev(5, 'tool.started', 'a', { call_id: 'c1', name: 'search', arguments: { q: 'x' } }),
      ev(6, 'tool.completed', 'a', { call_id: 'c1', name: 'search', arguments: { q: 'x' }, result: 'r' }),
      ev(7, 'llm.completed', 'a', { model: 'm1', prompt_tokens: 10, completion_tokens: 2, cost: null }),
      ev(8, 'task.succeeded', 'a'),
      ev(9, 'task.started', 'b'),
      ev(10, 'llm.started', 'b', { model: 'm2' }),
      ev(11, 'llm.completed', 'b', { model: 'm2', prompt_tokens: 5, completion_tokens: 1, cost: 0.5, currency: 'USD' }),
    ];
    for (const e of events) apply(v, e);
    expect(v.calls[0]?.text).toBe('Hello');
    expect(v.calls[0]?.tools).toMatchObject([{ name: 'search', status: 'succeeded', result: 'r' }]);
    expect(apply(v, ev(7, 'llm.completed', 'a', { model: 'm1', prompt_tokens: 10, cost: null }))).toBe(false);
    expect(v.tasks.get('a')).toMatchObject({ status: 'succeeded', models: ['m1'] });
    expect(v.tasks.get('a')?.usage).toMatchObject({ calls: 1, prompt_tokens: 10, cost: null, unpriced: 1 });
    expect(v.tasks.get('b')?.status).toBe('running');
    expect(v.events.length).toBe(11);
    expect(costText(v.byModel.get('m1') ?? { cost: 0 })).toBe('—');
    expect(costText(v.byModel.get('m2') ?? { cost: null })).toBe('0.5 USD');
    apply(v, ev(12, 'execution.cancelled'));
    expect(v.final).toBe(true);
    expect(v.tasks.get('b')?.status).toBe('cancelled');
  });

  it('folds interleaved tool calls of one LLM call by call_id, each once', () => {
    const v = newView();
    apply(v, ev(1, 'llm.started', 'a', { model: 'm' }));
    apply(v, ev(2, 'tool.started', 'a', { call_id: 'c1', name: 'search', arguments: { q: 1 } }));
    apply(v, ev(3, 'tool.started', 'a', { call_id: 'c2', name: 'fetch', arguments: { u: 2 } }));
    apply(v, ev(4, 'tool.completed', 'a', { call_id: 'c2', name: 'fetch', result: 'two', duration_ms: 4 }));
    apply(v, ev(5, 'tool.failed', 'a', { call_id: 'c1', name: 'search', error: 'boom', duration_ms: 7 }));
    expect(v.calls[0]?.tools).toMatchObject([
      { call_id: 'c1', name: 'search', status: 'failed', error: 'boom', duration_ms: 7 },
      { call_id: 'c2', name: 'fetch', status: 'succeeded', result: 'two', duration_ms: 4 },
    ]);
  });

  it('formats costs with up to six significant digits, trimmed; a null cost is a dash', () => {
    expect(costText({ cost: 0, currency: 'USD' })).toBe('0 USD');
    expect(costText({ cost: 0.000087, currency: 'USD' })).toBe('0.000087 USD');
    expect(costText({ cost: 0.000091 * 3, currency: 'USD' })).toBe('0.000273 USD');
    expect(costText({ cost: 0.123456789 })).toBe('0.123457');
    expect(costText({ cost: 0.00000012, currency: 'USD' })).toBe('0.00000012 USD');
    expect(costText({ cost: 12.5, currency: 'USD', unpriced: 2 })).toBe('12.5 USD (+2 calls with no price)');
    expect(costText({ cost: null, currency: 'USD' })).toBe('—');
  });
});
