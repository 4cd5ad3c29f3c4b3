import { describe, expect, it } from 'vitest';
import { SseParser, streamEvents, StreamError, type SseMessage } from './sse';

function parse(chunks: string[]) {
  const out: SseMessage[] = [];
  const retries: number[] = [];
  const p = new SseParser(
    (m) => out.push(m),
    (ms) => retries.push(ms),
  );
  for (const c of chunks) p.push(c);
  return { out, retries, p };
}

describe('SseParser', () => {
  it('dispatches on a blank line, with id, event and data', () => {
    const { out } = parse(['id: 1\nevent: task.started\ndata: {"seq":1}\n\n']);
    expect(out).toEqual([{ id: '1', event: 'task.started', data: '{"seq":1}' }]);
  });

  it('joins data lines, ignores comments, reads CRLF and CR split anywhere', () => {
    const { out } = parse([': keep-alive\r', '\nda', 'ta: a\r\ndata:b\r', '\r', 'data: c\rid: 7\r\r']);
    expect(out).toEqual([
      { id: null, event: 'message', data: 'a\nb' },
      { id: '7', event: 'message', data: 'c' },
    ]);
  });

  it('reads a CRLF split between chunks as one line end', () => {
    const { out } = parse(['data: a\r', '\ndata: b\n\n']);
    expect(out).toEqual([{ id: null, event: 'message', data: 'a\nb' }]);
  });

  it('keeps the last id for an event without one, skips empty blocks, reads retry', () => {
    const { out, retries, p } = parse(['id: 3\ndata: x\n\n', 'event: output.delta\ndata: y\n\n', 'event: e\n\n', 'retry: 250\nretry: x\n']);
    expect(out.map((m) => [m.id, m.event, m.data])).toEqual([
      ['3', 'message', 'x'],
      ['3', 'output.delta', 'y'],
    ]);
    expect(retries).toEqual([250]);
    expect(p.lastEventId).toBe('3');
  });

  it('takes a field without a colon as an empty value, and only one leading space off', () => {
    const { out } = parse(['data\ndata:  two\n\n']);
    expect(out[0]?.data).toBe('\n two');
  });
});

// A fetch that answers each call with the next scripted response.
function fakeFetch(script: (string[] | number)[]) {
  const calls: Record<string, string>[] = [];
  const impl = (async (_url: string, init: RequestInit) => {
    calls.push({ ...(init.headers as Record<string, string>) });
    const next = script.shift();
    if (next === undefined) throw new TypeError('network down');
    if (typeof next === 'number') return new Response(JSON.stringify({ title: 'no' }), { status: next });
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const s of next) c.enqueue(new TextEncoder().encode(s));
        c.close();
      },
    });
    return new Response(body, { status: 200 });
  }) as unknown as typeof fetch;
  return { impl, calls };
}

describe('streamEvents', () => {
  it('reconnects after a drop with Last-Event-ID and stops when done', async () => {
    const { impl, calls } = fakeFetch([
      ['id: 1\nevent: a\ndata: 1\n\nid: 2\nevent: a\ndata: 2\n\n'],
      ['id: 3\nevent: end\ndata: 3\n\n'],
    ]);
    const seen: string[] = [];
    let done = false;
    await streamEvents({
      url: '/s',
      headers: () => ({ Authorization: 'Bearer t' }),
      onMessage: (m) => {
        seen.push(`${m.id}:${m.event}`);
        if (m.event === 'end') done = true;
      },
      done: () => done,
      signal: new AbortController().signal,
      fetchImpl: impl,
      retryMs: 1,
    });
    expect(seen).toEqual(['1:a', '2:a', '3:end']);
    expect(calls.length).toBe(2);
    expect(calls[0]?.['Last-Event-ID']).toBeUndefined();
    expect(calls[1]?.['Last-Event-ID']).toBe('2');
    expect(calls[1]?.Authorization).toBe('Bearer t');
  });

  it('starts after a given id, refreshes once on 401, throws on a refusal', async () => {
    const { impl, calls } = fakeFetch([401, ['id: 6\nevent: end\ndata: x\n\n']]);
    let token = 'old';
    let done = false;
    await streamEvents({
      url: '/s',
      lastEventId: '5',
      headers: () => ({ Authorization: `Bearer ${token}` }),
      onMessage: () => {
        done = true;
      },
      done: () => done,
      refresh: async () => {
        token = 'new';
        return true;
      },
      signal: new AbortController().signal,
      fetchImpl: impl,
      retryMs: 1,
    });
    expect(calls.map((c) => [c.Authorization, c['Last-Event-ID']])).toEqual([
      ['Bearer old', '5'],
      ['Bearer new', '5'],
    ]);
    const refused = fakeFetch([404]);
    await expect(
      streamEvents({ url: '/s', headers: () => ({}), onMessage: () => {}, done: () => false, signal: new AbortController().signal, fetchImpl: refused.impl }),
    ).rejects.toBeInstanceOf(StreamError);
  });
});
