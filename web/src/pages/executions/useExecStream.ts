// The execution's events as they happen: GET .../events/stream read with
// fetch (the Authorization header rides along), folded into an ExecView.
// Renders are batched to one per animation frame, so a burst of events (a
// replay of thousands) costs a few renders, not one each. The stream opens
// as soon as the workspace is known, beside the execution's own read (not
// after it): the page's tasks come from that read, their states from here.
import { useCallback, useEffect, useRef, useState } from 'react';
import { refresh } from '../../session';
import { streamEvents, StreamError } from '../../sse';
import { sessionHeaders } from './api';
import { apply, newView, type ExecEvent, type ExecView } from './state';

export type Connection = 'connecting' | 'live' | 'ended' | 'error';

export function useExecStream(id: string, workspaceId: string | null, onFinal: () => void) {
  const view = useRef<ExecView>(newView());
  const [, setVersion] = useState(0);
  const [conn, setConn] = useState<Connection>('connecting');
  const [error, setError] = useState<string | null>(null);
  const [restart, setRestart] = useState(0);
  const frame = useRef<number | null>(null);
  const finalRef = useRef(onFinal);
  finalRef.current = onFinal;

  // A new execution (or workspace): a fresh view.
  useEffect(() => {
    view.current = newView();
    setVersion((n) => n + 1);
  }, [id, workspaceId]);

  useEffect(() => {
    if (!workspaceId) return;
    const ctl = new AbortController();
    const v = view.current;
    const flush = () => {
      frame.current = null;
      performance.mark('troupe:flush'); // bench/web counts the renders
      setVersion((n) => n + 1);
    };
    const schedule = () => {
      if (frame.current === null) frame.current = requestAnimationFrame(flush);
    };
    setConn('connecting');
    streamEvents({
      url: `/api/v1/executions/${encodeURIComponent(id)}/events/stream`,
      headers: sessionHeaders,
      lastEventId: v.lastSeq > 0 ? String(v.lastSeq) : null,
      onOpen: () => {
        // bench/web measures the render from here.
        performance.mark('troupe:stream-open');
        setConn('live');
      },
      onMessage: (m) => {
        let e: ExecEvent;
        try {
          e = JSON.parse(m.data) as ExecEvent;
        } catch {
          return;
        }
        if (typeof e.seq !== 'number') e.seq = 0;
        if (!e.type) e.type = m.event;
        const wasFinal = v.final;
        if (apply(v, e)) schedule();
        if (v.final && !wasFinal) finalRef.current();
      },
      done: () => v.final,
      refresh,
      signal: ctl.signal,
    })
      .then(() => {
        if (!ctl.signal.aborted) setConn('ended');
      })
      .catch((err: unknown) => {
        if (ctl.signal.aborted) return;
        setConn('error');
        const body = err instanceof StreamError ? (err.body as { detail?: string } | null) : null;
        setError(body?.detail ?? (err instanceof Error ? err.message : 'the stream failed'));
      });
    return () => {
      ctl.abort();
      if (frame.current !== null) cancelAnimationFrame(frame.current);
      frame.current = null;
    };
  }, [id, workspaceId, restart]);

  // After a resume: read on from the last event seen.
  const reopen = useCallback(() => {
    view.current.final = false;
    setError(null);
    setRestart((n) => n + 1);
  }, []);

  return { view: view.current, conn, error, reopen };
}
