/* Server-Sent Events (WHATWG HTML, "Server-sent events"): an execution's
 * events as a stream (GET /api/v1/executions/{id}/events/stream;
 * docs/executions.md, "The event stream").
 *
 * Each stream subscribes to the execution in the live hub
 * (executions/hub.c) before its first read, so nothing written after that
 * read is missed. Stored events come, after the last seq sent, whenever the
 * hub says a higher seq exists: from the stream's hub queue when it holds
 * every one of them (a writer of this process queued them after its commit,
 * and the stream is caught up: no query), else from the database (the first
 * read, Last-Event-ID, the hub's poll for other processes, a gap, a full
 * queue): every stored event once, in seq order, however slow the client. Live events (output.delta) come
 * from the hub's queue, each after the stored event that was last notified
 * when it was written; they carry no id, so a reconnect never skips a stored
 * event. The stream ends after the event that ends the execution when
 * nothing follows it. Between events the connection is suspended (server.c):
 * no thread waits for it; the hub's thread wakes it for keep-alives. */
#include "http_int.h"
#include "core/json_text.h"
#include "../app.h"
#include "../executions/executions.h"

#include <string.h>

#define SSE_PAGE 100 /* stored events read per database query */

struct exec_stream {
	struct db *db;
	char ws[40], id[40];
	int64_t sent_seq; /* the last stored event put in out */
	bool replayed;    /* the first database read is done */
	bool more;        /* the last read filled a page: read again at once */
	bool ending;      /* the execution's last event is in out: end once out is sent */
	struct buf out;   /* bytes not yet handed to the server */
	size_t off;
	struct executions_sub *sub;
	struct executions_live_msg *held; /* a live event waiting for the stored events before it */
	struct http_stream *h;
};

static void on_wake(void *ctx)
{
	struct exec_stream *x = ctx;
	http_stream_wake(x->h);
}

/* A stored event to send: its seq, type and envelope JSON. */
struct stored_ev {
	int64_t seq;
	const char *type;
	const char *text;
	size_t len;
};

/* One line of the field, then the blank line that dispatches the event.
 * Event types and JSON never hold CR or LF (jansson escapes them). */
static void put_stored(struct exec_stream *x, const struct stored_ev *e)
{
	if (!e->text || !e->type || strpbrk(e->type, "\r\n"))
		return;
	buf_printf(&x->out, "id: %lld\nevent: %s\ndata: ", (long long) e->seq, e->type);
	buf_append(&x->out, e->text, e->len);
	buf_puts(&x->out, "\n\n");
}

static void put_live(struct exec_stream *x, struct executions_live_msg *m)
{
	size_t len;
	const char *text = executions_live_text(m, &len);
	buf_puts(&x->out, "event: output.delta\ndata: ");
	buf_append(&x->out, text, len);
	buf_puts(&x->out, "\n\n");
}

/* The stored events after sent_seq: from the hub's queue when it holds all
 * of them up to notified (the writer was in this process and the stream is
 * caught up), else one page from the database (the first read, a
 * Last-Event-ID, another process's writer, a gap). *n == 0 and false: the
 * database is away. */
static bool stored_events(struct exec_stream *x, int64_t notified, struct arena *a, struct stored_ev **evs, size_t *n,
                          struct executions_live_msg ***held)
{
	json_t *items = NULL;
	int64_t last = 0;
	struct problem p;
	*n = 0;
	*held = NULL;
	if (x->replayed && !x->more && notified > x->sent_seq && notified - x->sent_seq <= SSE_PAGE) {
		struct executions_live_msg **msgs = arena_alloc(a, sizeof(*msgs) * SSE_PAGE);
		size_t k = 0;
		if (executions_sub_stored(x->sub, x->sent_seq, notified, msgs, SSE_PAGE, &k)) {
			*evs = arena_alloc(a, sizeof(**evs) * (k ? k : 1));
			for (size_t i = 0; i < k; i++) {
				(*evs)[i].seq = executions_live_seq(msgs[i]);
				(*evs)[i].type = executions_live_type(msgs[i]);
				(*evs)[i].text = executions_live_text(msgs[i], &(*evs)[i].len);
			}
			*n = k;
			*held = msgs; /* released by the caller once sent */
			x->more = false;
			return true;
		}
	}
	if (x->replayed && !x->more && notified <= x->sent_seq)
		return true;
	problem_init(&p, a);
	if (executions_stream_read(x->db, x->ws, x->id, x->sent_seq, SSE_PAGE, a, &items, &last, &p) != ST_OK) {
		/* The database is away: try again at the next wake (a keep-alive at the latest). */
		log_kv(LOG_WARN, "event stream: cannot read events", "execution_id", x->id, NULL);
		return false;
	}
	x->replayed = true;
	*n = json_array_size(items);
	x->more = *n == SSE_PAGE;
	*evs = arena_alloc(a, sizeof(**evs) * (*n ? *n : 1));
	for (size_t i = 0; i < *n; i++) {
		json_t *e = json_array_get(items, i);
		char *text = json_text(e, JSON_COMPACT);
		if (text)
			arena_defer(a, free, text);
		(*evs)[i].seq = json_integer_value(json_object_get(e, "seq"));
		(*evs)[i].type = json_string_value(json_object_get(e, "type"));
		(*evs)[i].text = text;
		(*evs)[i].len = text ? strlen(text) : 0;
	}
	return true;
}

/* Stored events after sent_seq, merged with the live events in order. */
static void fill(struct exec_stream *x)
{
	int64_t notified = 0, dropped = 0;
	bool keepalive = false;
	struct stored_ev *evs = NULL;
	struct executions_live_msg **msgs = NULL;
	struct arena *a = arena_new();
	size_t n = 0, i = 0;

	executions_sub_state(x->sub, &notified, &keepalive, &dropped);
	stored_events(x, notified, a, &evs, &n, &msgs);
	bool final = false;
	for (;;) {
		if (!x->held)
			x->held = executions_sub_next(x->sub);
		/* A live event goes after the stored event notified before it.
		 * One whose stored events the read did not find (a writer that
		 * notified before committing) is not held back for ever; one
		 * written after this fill began waits for the next fill. */
		if (x->held) {
			int64_t at = executions_live_after(x->held);
			if (at <= x->sent_seq || (i == n && !x->more && at <= notified)) {
				if (!final)
					put_live(x, x->held);
				executions_live_release(&x->held);
				continue;
			}
		}
		if (i == n)
			break;
		const struct stored_ev *e = &evs[i++];
		put_stored(x, e);
		x->sent_seq = e->seq;
		final = executions_event_final(e->type);
	}
	/* Closed after the final event when nothing follows it (a resume
	 * writes more: then the stream goes on). */
	if (final && !x->more)
		x->ending = true;
	if (dropped > 0)
		buf_printf(&x->out, ": %lld output.delta events dropped (the client reads too slowly)\n\n",
		           (long long) dropped);
	if (x->out.len == 0 && keepalive)
		buf_puts(&x->out, ": keep-alive\n\n");
	if (x->out.len)
		executions_sub_sent(x->sub);
	for (size_t k = 0; msgs && k < n; k++)
		executions_live_release(&msgs[k]);
	arena_free(&a);
}

static ssize_t stream_read(void *ctx, char *dst, size_t max)
{
	struct exec_stream *x = ctx;
	if (x->off >= x->out.len) {
		buf_reset(&x->out);
		x->off = 0;
		if (x->ending)
			return -1;
		fill(x);
		if (x->out.len == 0) {
			buf_free(&x->out); /* an idle stream holds no buffer: 1,000 open streams mostly wait */
			return 0;
		}
	}
	size_t n = x->out.len - x->off;
	if (n > max)
		n = max;
	memcpy(dst, x->out.data + x->off, n);
	x->off += n;
	return (ssize_t) n;
}

static void stream_done(void *ctx)
{
	struct exec_stream *x = ctx;
	executions_unsubscribe(&x->sub);
	if (x->held)
		executions_live_release(&x->held);
	buf_free(&x->out);
	free(x);
}

static const struct http_stream_ops exec_stream_ops = {.read = stream_read, .done = stream_done};

/* The seq to resume after: Last-Event-ID (what a reconnecting EventSource
 * sends) wins over ?after= (what the first request named). */
static enum status resume_after(struct req *rq, int64_t *after)
{
	const char *h = req_header(rq, "Last-Event-ID"), *q = req_query(rq, "after");
	*after = 0;
	if (h && *h) {
		if (str_to_i64(h, 0, INT64_MAX, after) < 0) {
			problem_field(&rq->problem, "header.Last-Event-ID",
			              "must be the seq of an event (a whole number)");
			return problem_set(&rq->problem, ST_BAD_INPUT, "invalid Last-Event-ID");
		}
		return ST_OK;
	}
	if (q && str_to_i64(q, 0, INT64_MAX, after) < 0) {
		problem_field(&rq->problem, "query.after", "must be the seq of an event (a whole number)");
		return problem_set(&rq->problem, ST_BAD_INPUT, "invalid after");
	}
	return ST_OK;
}

enum status sse_execution_stream(struct req *rq, struct res *rs, const char *id)
{
	int64_t after, last = 0;
	int status = -1;
	const struct actor *who = req_actor(rq);
	enum status st = resume_after(rq, &after);
	if (st != ST_OK)
		return st;
	st = executions_stream_open(rq->app->db, who, id, &status, &last, &rq->problem);
	if (st != ST_OK)
		return st;
	if (after > last) {
		problem_field(&rq->problem, req_header(rq, "Last-Event-ID") ? "header.Last-Event-ID" : "query.after",
		              "is past the execution's last event (seq %lld)", (long long) last);
		return problem_set(&rq->problem, ST_BAD_INPUT, "no event of this execution has that seq");
	}
	struct exec_stream *x = xcalloc(1, sizeof(*x));
	x->db = rq->app->db;
	snprintf(x->ws, sizeof(x->ws), "%s", who->workspace_id);
	snprintf(x->id, sizeof(x->id), "%s", id);
	x->sent_seq = after;
	buf_init(&x->out, 0);
	/* Ended, and the client has everything: an empty stream that closes. */
	x->ending = after == last && (status == EXEC_SUCCEEDED || status == EXEC_FAILED || status == EXEC_CANCELLED);
	x->h = res_stream(rq, rs, "text/event-stream", &exec_stream_ops, x);
	/* Subscribed before the first read: a seq written after it wakes us. */
	x->sub = executions_subscribe(x->ws, x->id, last, on_wake, x);
	return ST_OK;
}
