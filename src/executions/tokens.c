/* Stream tokens (executions.h; docs/executions.md, "Stream tokens"): a
 * browser's EventSource cannot send Authorization, so a member mints a
 * token for one execution's event stream, valid for a short time and
 * spent by its first use. Only the token's SHA-256 is stored (migration
 * 0010); spending it is one UPDATE that matches an unspent, unexpired row
 * of that execution, so two uses, even from two API processes, never both
 * match. */
#include "executions.h"

#include "../auth/auth.h"
#include "../db/db.h"

#include <sodium.h>
#include <string.h>

#define TOKEN_PREFIX    "tst_"
#define TOKEN_RAW_BYTES 32
#define TOKEN_LEN       (sizeof(TOKEN_PREFIX) - 1 + 43) /* base64url of 32 bytes: 43 characters */

static void token_hash(const char *token, char out[crypto_hash_sha256_BYTES * 2 + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *) token, strlen(token));
	hex_encode(h, sizeof(h), out);
}

struct mint {
	const struct actor *who;
	const char *id, *hash;
	int64_t now, expires;
	struct arena *a;
};

static enum status mint_tx(struct db_conn *c, void *vctx, struct problem *p)
{
	struct mint *m = vctx;
	struct db_res *r;
	const char *ws = m->who->workspace_id;
	enum status st = db_query(c, m->a, &r, "SELECT 1 FROM executions WHERE workspace_id = ? AND id = ?",
	                          DB_ARGS(db_text(ws), db_text(m->id)), p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(r) == 0)
		return problem_set(p, ST_NOT_FOUND, "no execution with this id in this workspace");
	/* Expired tokens go as new ones come: the table stays small. */
	st = db_query(c, m->a, NULL, "DELETE FROM stream_tokens WHERE expires_at < ?", DB_ARGS(db_int(m->now)), p);
	if (st != ST_OK)
		return st;
	st = db_query(c, m->a, NULL,
	              "INSERT INTO stream_tokens (token_hash, workspace_id, execution_id, user_id, api_key_id, "
	              "session_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	              DB_ARGS(db_text(m->hash), db_text(ws), db_text(m->id), db_text(m->who->user_id),
	                      db_text(m->who->api_key_id), db_text(m->who->api_key_id ? NULL : m->who->session_id),
	                      db_int(m->now), db_int(m->expires)),
	              p);
	if (st != ST_OK)
		return st;
	/* the audit row names the execution and the expiry, never the token or its hash */
	char at[40];
	time_iso8601(m->expires, at, sizeof(at));
	return auth_audit_tx(c, m->who, "execution.stream_token", "execution", m->id,
	                     json_pack("{s:s}", "expires_at", at), p);
}

enum status executions_stream_token_new(struct db *db, const struct actor *who, const char *id, int ttl_s,
                                        struct arena *a, json_t **out, struct problem *p)
{
	unsigned char raw[TOKEN_RAW_BYTES];
	char b64[((TOKEN_RAW_BYTES + 2) / 3) * 4 + 1], hash[crypto_hash_sha256_BYTES * 2 + 1], at[40];
	*out = NULL;
	rand_bytes(raw, sizeof(raw));
	b64url_encode(raw, sizeof(raw), b64);
	sodium_memzero(raw, sizeof(raw));
	char *token = arena_printf(a, TOKEN_PREFIX "%s", b64);
	token_hash(token, hash);
	struct mint m = {.who = who, .id = id, .hash = hash, .now = time_now_ms(), .a = a};
	m.expires = m.now + (int64_t) ttl_s * 1000;
	enum status st = db_tx(db, mint_tx, &m, p);
	if (st != ST_OK)
		return st;
	time_iso8601(m.expires, at, sizeof(at));
	*out = json_pack("{s:s, s:s}", "token", token, "expires_at", at);
	arena_defer(a, (void (*)(void *)) json_decref, *out);
	return ST_OK;
}

struct spend {
	const char *hash, *id;
	int64_t now;
	struct arena *a;
	struct db_res *r;
};

static enum status spend_tx(struct db_conn *c, void *vctx, struct problem *p)
{
	struct spend *s = vctx;
	enum status st = db_query(c, s->a, NULL,
	                          "UPDATE stream_tokens SET used_at = ? WHERE token_hash = ? AND execution_id = ? AND "
	                          "used_at IS NULL AND expires_at > ?",
	                          DB_ARGS(db_int(s->now), db_text(s->hash), db_text(s->id), db_int(s->now)), p);
	if (st != ST_OK)
		return st;
	if (db_changes(c) != 1)
		return problem_set(p, ST_UNAUTHENTICATED,
		                   "the stream token is invalid, expired, already used or for "
		                   "another execution");
	/* The credential that minted it must still be good now, as the gateway
	 * would judge it: the user not disabled and still a member of the
	 * execution's workspace (for an API key, its creator: a key never acts
	 * above its creator); an API key not revoked or expired; a session not
	 * ended (logout, a new password). */
	st = db_query(c, s->a, &s->r,
	              "SELECT t.user_id, t.workspace_id, t.api_key_id FROM stream_tokens t JOIN users u ON u.id = "
	              "t.user_id LEFT JOIN api_keys k ON k.id = t.api_key_id AND k.workspace_id = t.workspace_id "
	              "WHERE t.token_hash = ? AND u.disabled = 0 AND (t.api_key_id IS NULL OR (k.id IS NOT NULL AND "
	              "k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?))) AND EXISTS (SELECT 1 FROM "
	              "workspace_members w WHERE w.workspace_id = t.workspace_id AND w.user_id = t.user_id) AND "
	              "(t.session_id IS NULL OR EXISTS (SELECT 1 FROM sessions s WHERE "
	              "s.id = t.session_id AND s.user_id = t.user_id AND s.revoked_at IS NULL AND s.expires_at > ?))",
	              DB_ARGS(db_text(s->hash), db_int(s->now), db_int(s->now)), p);
	if (st == ST_OK && db_res_rows(s->r) != 1)
		return problem_set(
		    p, ST_UNAUTHENTICATED,
		    "the credential that minted the stream token is no longer valid (a revoked or expired "
		    "API key, an ended session, a disabled user or a membership that ended)");
	return st;
}

enum status executions_stream_token_use(struct db *db, const char *token, const char *id, struct arena *a,
                                        struct executions_token_grant *out, struct problem *p)
{
	char hash[crypto_hash_sha256_BYTES * 2 + 1];
	memset(out, 0, sizeof(*out));
	if (!token || strlen(token) != TOKEN_LEN || strncmp(token, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1) != 0)
		return problem_set(p, ST_UNAUTHENTICATED, "the stream token is not one this server hands out");
	token_hash(token, hash);
	struct spend s = {.hash = hash, .id = id, .now = time_now_ms(), .a = a};
	enum status st = db_tx(db, spend_tx, &s, p);
	if (st != ST_OK)
		return st;
	if (db_res_rows(s.r) != 1)
		return problem_set(p, ST_UNAUTHENTICATED, "the stream token is invalid");
	out->user_id = db_res_text(s.r, 0, 0);
	out->workspace_id = db_res_text(s.r, 0, 1);
	out->api_key_id = db_res_null(s.r, 0, 2) ? NULL : db_res_text(s.r, 0, 2);
	return ST_OK;
}
