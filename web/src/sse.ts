// Server-Sent Events read with fetch (WHATWG HTML, "Server-sent events",
// 9.2.6 "Interpreting an event stream"), so the request carries the
// Authorization header that EventSource cannot send. The parser is pure
// (chunks in, events out); streamEvents() adds the connection: reconnect
// with Last-Event-ID after a drop, the server's retry: delay, a silent
// token refresh on 401, and an end when the caller says the stream is done.

export interface SseMessage {
  id: string | null; // the last id: seen so far (the spec's "last event ID buffer")
  event: string; // "message" when the block named none
  data: string;
}

// Feed it text as it arrives; it calls onMessage per dispatched event and
// onRetry for a retry: field. Lines end in CRLF, LF or CR, also split
// across chunks.
export class SseParser {
  private buf = '';
  private data: string[] = [];
  private event = '';
  private lastId: string | null = null;
  private pendingCR = false;

  constructor(
    private readonly onMessage: (m: SseMessage) => void,
    private readonly onRetry: (ms: number) => void = () => {},
  ) {}

  get lastEventId(): string | null {
    return this.lastId;
  }

  push(chunk: string) {
    let text = chunk;
    // A CR that ended the previous chunk: a following LF belongs to it.
    if (this.pendingCR && text.startsWith('\n')) text = text.slice(1);
    this.pendingCR = false;
    const buf = this.buf + text;
    const eol = /\r\n|\r|\n/g;
    let start = 0;
    for (let m = eol.exec(buf); m !== null; m = eol.exec(buf)) {
      // A CR ending the text so far: its LF may open the next chunk.
      if (m[0] === '\r' && m.index + 1 === buf.length) this.pendingCR = true;
      this.line(buf.slice(start, m.index));
      start = m.index + m[0].length;
    }
    this.buf = buf.slice(start);
  }

  private line(line: string) {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return; // a comment: keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id') {
      if (!value.includes('\0')) this.lastId = value;
    } else if (field === 'retry') {
      if (/^\d+$/.test(value)) this.onRetry(Number(value));
    }
  }

  private dispatch() {
    const event = this.event || 'message';
    this.event = '';
    if (this.data.length === 0) return;
    const data = this.data.join('\n');
    this.data = [];
    this.onMessage({ id: this.lastId, event, data });
  }
}

export interface StreamOptions {
  url: string;
  headers: () => Record<string, string>; // read before each (re)connect
  lastEventId?: string | null;
  onMessage: (m: SseMessage) => void;
  onOpen?: () => void;
  // True when the stream is complete (the final event came): no reconnect.
  done: () => boolean;
  // An expired access token: renew it; false ends the stream.
  refresh?: () => Promise<boolean>;
  signal: AbortSignal;
  fetchImpl?: typeof fetch;
  retryMs?: number; // before a reconnect, until the server says otherwise
  maxRetries?: number; // consecutive failed connects before giving up
}

export class StreamError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`stream answered ${status}`);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

// Reads until done() or abort; resolves then. A refusal (4xx but a 401 that
// a refresh cures) rejects with StreamError; network drops reconnect.
export async function streamEvents(o: StreamOptions): Promise<void> {
  const doFetch = o.fetchImpl ?? fetch;
  let retryMs = o.retryMs ?? 1000;
  let lastId = o.lastEventId ?? null;
  let failures = 0;
  let refreshed = false;
  while (!o.signal.aborted && !o.done()) {
    const headers: Record<string, string> = { Accept: 'text/event-stream', ...o.headers() };
    if (lastId !== null) headers['Last-Event-ID'] = lastId;
    let res: Response;
    try {
      res = await doFetch(o.url, { headers, signal: o.signal, cache: 'no-store' });
    } catch {
      if (o.signal.aborted) return;
      if (++failures > (o.maxRetries ?? 10)) throw new StreamError(0, null);
      await sleep(retryMs, o.signal);
      continue;
    }
    if (res.status === 401 && o.refresh && !refreshed) {
      refreshed = true;
      if (await o.refresh()) continue;
    }
    if (!res.ok || !res.body) {
      let body: unknown = null;
      try {
        body = await res.json();
      } catch {
        /* not JSON */
      }
      if (res.status >= 500 && ++failures <= (o.maxRetries ?? 10)) {
        await sleep(retryMs, o.signal);
        continue;
      }
      throw new StreamError(res.status, body);
    }
    failures = 0;
    refreshed = false;
    o.onOpen?.();
    const parser = new SseParser(
      (m) => {
        lastId = m.id;
        o.onMessage(m);
      },
      (ms) => {
        retryMs = ms;
      },
    );
    if (lastId !== null) parser.push(`id: ${lastId}\n`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
      }
    } catch {
      if (o.signal.aborted) return;
    }
    if (!o.done() && !o.signal.aborted) await sleep(retryMs, o.signal);
  }
}
