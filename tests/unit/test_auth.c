/* auth: JWT, password policy, token formats, the TTL cache, token buckets. */
#include "auth/auth.h"
#include "t.h"

#include <sodium.h>

static unsigned char key[AUTH_KEY_BYTES];

/* Builds header.payload.signature by hand, signed with k (or not at all). */
static char *forge(struct arena *a, const char *header, const char *payload, const unsigned char *k)
{
	char h[512], p[1024], s[128] = "";
	b64url_encode(header, strlen(header), h);
	b64url_encode(payload, strlen(payload), p);
	char *msg = arena_printf(a, "%s.%s", h, p);
	if (k) {
		unsigned char mac[crypto_auth_hmacsha256_BYTES];
		crypto_auth_hmacsha256_state st;
		crypto_auth_hmacsha256_init(&st, k, AUTH_KEY_BYTES);
		crypto_auth_hmacsha256_update(&st, (const unsigned char *) msg, strlen(msg));
		crypto_auth_hmacsha256_final(&st, mac);
		b64url_encode(mac, sizeof(mac), s);
	}
	return arena_printf(a, "%s.%s", msg, s);
}

#define SUB "01890000-0000-7000-8000-000000000001"
#define SID "01890000-0000-7000-8000-000000000002"
#define HS  "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static void test_jwt(void)
{
	struct arena *a = arena_new();
	auth_derive_key("a-test-secret-of-at-least-32-bytes!!", 1, key);
	unsigned char other[AUTH_KEY_BYTES];
	auth_derive_key("a-test-secret-of-at-least-32-bytes!!", 2, other);
	T_OK(memcmp(key, other, sizeof(key)) != 0, "derived keys differ by id");

	int64_t now = 1764050854;
	struct auth_claims c = {.iat = now, .exp = now + 900}, out;
	snprintf(c.sub, sizeof(c.sub), SUB);
	snprintf(c.sid, sizeof(c.sid), SID);
	char *good = auth_jwt_sign(key, &c, a);
	T_EQ_INT(auth_jwt_verify(key, good, now + 10, &out), ST_OK, "valid token verifies");
	T_EQ_STR(out.sub, SUB, "sub survives");
	T_EQ_STR(out.sid, SID, "sid survives");
	T_EQ_INT(out.exp, now + 900, "exp survives");

	char *tampered_payload = arena_strdup(a, good);
	char *dot = strchr(tampered_payload, '.');
	dot[3] = dot[3] == 'A' ? 'B' : 'A';
	char *tampered_sig = arena_strdup(a, good);
	size_t n = strlen(tampered_sig);
	tampered_sig[n - 2] = tampered_sig[n - 2] == 'A' ? 'B' : 'A';
	char *payload = arena_printf(a,
	                             "{\"sub\":\"" SUB "\",\"sid\":\"" SID
	                             "\",\"typ\":\"access\",\"aud\":\"troupe\",\"iat\":%lld,\"exp\":%lld}",
	                             (long long) now, (long long) now + 900);
	static const char *wrong_typ_fmt = "{\"sub\":\"" SUB "\",\"sid\":\"" SID
	                                   "\",\"typ\":\"refresh\",\"aud\":\"troupe\",\"iat\":%lld,\"exp\":%lld}";
	static const char *wrong_aud_fmt =
	    "{\"sub\":\"" SUB "\",\"sid\":\"" SID "\",\"typ\":\"access\",\"aud\":\"other\",\"iat\":%lld,\"exp\":%lld}";
	static const char *no_sid_fmt =
	    "{\"sub\":\"" SUB "\",\"typ\":\"access\",\"aud\":\"troupe\",\"iat\":%lld,\"exp\":%lld}";
	struct {
		const char *name;
		const char *token;
		int64_t now;
		enum status want;
	} cases[] = {
	    {"valid", good, now, ST_OK},
	    {"forged with the same key", forge(a, HS, payload, key), now, ST_OK},
	    {"alg none, no signature", forge(a, "{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, NULL), now,
	     ST_UNAUTHENTICATED},
	    {"alg none, signed", forge(a, "{\"alg\":\"none\"}", payload, key), now, ST_UNAUTHENTICATED},
	    {"alg HS512 header", forge(a, "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", payload, key), now,
	     ST_UNAUTHENTICATED},
	    {"alg RS256 header", forge(a, "{\"alg\":\"RS256\"}", payload, key), now, ST_UNAUTHENTICATED},
	    {"alg hs256 (case)", forge(a, "{\"alg\":\"hs256\"}", payload, key), now, ST_UNAUTHENTICATED},
	    {"other key", forge(a, HS, payload, other), now, ST_UNAUTHENTICATED},
	    {"tampered payload", tampered_payload, now, ST_UNAUTHENTICATED},
	    {"tampered signature", tampered_sig, now, ST_UNAUTHENTICATED},
	    {"expired", good, now + 900, ST_UNAUTHENTICATED},
	    {"long expired", good, now + 100000, ST_UNAUTHENTICATED},
	    {"issued in the future", good, now - 3600, ST_UNAUTHENTICATED},
	    {"wrong typ", forge(a, HS, arena_printf(a, wrong_typ_fmt, (long long) now, (long long) now + 900), key),
	     now, ST_UNAUTHENTICATED},
	    {"wrong aud", forge(a, HS, arena_printf(a, wrong_aud_fmt, (long long) now, (long long) now + 900), key),
	     now, ST_UNAUTHENTICATED},
	    {"no sid", forge(a, HS, arena_printf(a, no_sid_fmt, (long long) now, (long long) now + 900), key), now,
	     ST_UNAUTHENTICATED},
	    {"payload not JSON", forge(a, HS, "not json", key), now, ST_UNAUTHENTICATED},
	    {"garbage base64", "!!!.@@@.###", now, ST_UNAUTHENTICATED},
	    {"missing parts", "abc.def", now, ST_UNAUTHENTICATED},
	    {"one part", "abc", now, ST_UNAUTHENTICATED},
	    {"four parts", arena_printf(a, "%s.x", good), now, ST_UNAUTHENTICATED},
	    {"empty", "", now, ST_UNAUTHENTICATED},
	    {"empty signature", arena_strndup(a, good, (size_t) (strrchr(good, '.') - good + 1)), now,
	     ST_UNAUTHENTICATED},
	    {"refresh token", "trr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", now, ST_UNAUTHENTICATED},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		T_EQ_INT(auth_jwt_verify(key, cases[i].token, cases[i].now, &out), cases[i].want, "jwt %s: %s",
		         cases[i].name, cases[i].token);
	T_EQ_INT(auth_jwt_verify(key, NULL, now, &out), ST_UNAUTHENTICATED, "jwt NULL");
	arena_free(&a);
}

static void test_password_policy(void)
{
	char long_ok[300], too_long[300];
	memset(long_ok, 'x', 256);
	long_ok[256] = '\0';
	memset(too_long, 'y', 257);
	too_long[257] = '\0';
	struct {
		const char *pw;
		enum status want;
	} cases[] = {
	    {"", ST_BAD_INPUT},
	    {"short", ST_BAD_INPUT},
	    {"1234567", ST_BAD_INPUT},
	    {"password", ST_BAD_INPUT},
	    {"PassWord", ST_BAD_INPUT},
	    {"12345678", ST_BAD_INPUT},
	    {"qwerty123", ST_BAD_INPUT},
	    {"correct horse battery", ST_OK},
	    {"8charsOK", ST_OK},
	    {"пароль-длинный", ST_OK},
	    {"密码密码密码密码", ST_OK},      /* 8 characters, 24 bytes */
	    {"密码密码密码密", ST_BAD_INPUT}, /* 7 characters */
	    {"🔑🔑🔑🔑🔑🔑🔑🔑", ST_OK},
	    {"\xff\xfe invalid utf8", ST_BAD_INPUT},
	    {long_ok, ST_OK},
	    {too_long, ST_BAD_INPUT},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct arena *a = arena_new();
		struct problem p;
		problem_init(&p, a);
		T_EQ_INT(auth_password_policy(cases[i].pw, &p), cases[i].want, "password policy \"%.20s\" (%zu bytes)",
		         cases[i].pw, strlen(cases[i].pw));
		arena_free(&a);
	}
	T_OK(auth_password_common("LETMEIN1"), "common check ignores case");
}

static void test_password_hash(void)
{
	char h[128];
	T_EQ_INT(auth_password_hash("correct horse battery", h), 0, "hash");
	T_OK(str_startswith(h, "$argon2id$v=19$m=19456,t=2,"), "argon2id, 19 MiB, 2 passes: %s", h);
	T_OK(auth_password_verify(h, "correct horse battery"), "verify right password");
	T_OK(!auth_password_verify(h, "correct horse batterx"), "verify wrong password");
	T_OK(!auth_password_verify("not a hash", "x"), "verify against garbage");
}

static void test_tokens(void)
{
	char t1[80], t2[80];
	auth_token_new("trp_", t1);
	auth_token_new("trp_", t2);
	T_EQ_INT(strlen(t1), 4 + 43, "trp_ + 43 base64url chars (32 bytes)");
	T_OK(strcmp(t1, t2) != 0, "two keys differ");
	T_OK(auth_token_wellformed("trp_", t1), "well-formed key");
	T_OK(!auth_token_wellformed("trr_", t1), "a key is not a refresh token");
	struct {
		const char *s;
		bool ok;
	} cases[] = {
	    {"trp_", false},
	    {"trp_abc", false},
	    {"trp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", true},
	    {"trp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", false},
	    {"trp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false},
	    {"TRP_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false},
	    {"trp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA A", false},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		T_EQ_INT(auth_token_wellformed("trp_", cases[i].s), cases[i].ok, "key format \"%s\"", cases[i].s);
	char h1[65], h2[65], h3[65];
	unsigned char k2[AUTH_KEY_BYTES];
	auth_derive_key("another-secret-of-at-least-32-bytes!", 2, k2);
	auth_secret_hash(key, t1, h1);
	auth_secret_hash(key, t1, h2);
	auth_secret_hash(k2, t1, h3);
	T_EQ_STR(h1, h2, "keyed hash is stable");
	T_OK(strcmp(h1, h3) != 0, "keyed hash depends on the key");
	T_OK(strstr(h1, t1 + 4) == NULL, "hash does not hold the key");
}

struct val {
	int n;
	char owner[16];
};

static bool owned_by(const char *k, const void *v, void *ctx)
{
	(void) k;
	return str_eq(((const struct val *) v)->owner, ctx);
}

static int incr(void *v, void *ctx)
{
	(void) ctx;
	return ++((struct val *) v)->n;
}

static void test_cache(void)
{
	struct auth_cache *c = auth_cache_new(sizeof(struct val), 2000000, 64);
	struct val v = {1, "alice"}, out;
	auth_cache_put(c, "k1", &v, 0);
	T_OK(auth_cache_get(c, "k1", &out, 1000) && out.n == 1, "get after put");
	T_OK(!auth_cache_get(c, "k2", &out, 1000), "miss");
	T_OK(auth_cache_get(c, "k1", &out, 1999999), "fresh just before the TTL");
	T_OK(!auth_cache_get(c, "k1", &out, 2000000), "stale at the TTL");
	T_EQ_INT(auth_cache_count(c), 0, "stale entry dropped");
	for (int i = 0; i < 50; i++) {
		char k[16];
		snprintf(k, sizeof(k), "u%d", i);
		struct val x = {i, ""};
		snprintf(x.owner, sizeof(x.owner), "%s", i % 2 ? "bob" : "carol");
		auth_cache_put(c, k, &x, 10);
	}
	T_EQ_INT(auth_cache_count(c), 50, "50 entries");
	T_EQ_INT(auth_cache_del_if(c, owned_by, "bob"), 25, "del_if removes bob's 25");
	T_OK(!auth_cache_get(c, "u1", &out, 20), "bob's entry gone");
	T_OK(auth_cache_get(c, "u2", &out, 20) && out.n == 2, "carol's entry stays");
	auth_cache_del(c, "u2");
	T_OK(!auth_cache_get(c, "u2", &out, 20), "del");
	for (int i = 0; i < 200; i++) {
		char k[16];
		snprintf(k, sizeof(k), "x%d", i);
		auth_cache_put(c, k, &v, 3000000);
	}
	T_OK(auth_cache_count(c) <= 64, "bounded by max entries (%zu)", auth_cache_count(c));
	T_EQ_INT(auth_cache_update(c, "ctr", incr, NULL, 5000000), 1, "update creates zeroed");
	T_EQ_INT(auth_cache_update(c, "ctr", incr, NULL, 5000001), 2, "update modifies in place");
	auth_cache_free(&c);
	T_OK(c == NULL, "free NULLs");
}

static void test_bucket(void)
{
	struct auth_bucket b = {0};
	double rate, burst;
	T_EQ_INT(auth_rate_parse("10/min", &rate, &burst), 0, "parse 10/min");
	T_OK(rate > 0.1666 && rate < 0.1667 && burst == 10, "10/min: %f/s burst %f", rate, burst);
	struct {
		const char *s;
		int rc;
	} rates[] = {{"5/s", 0}, {"100/hour", 0}, {"600/m", 0}, {"0/min", -1}, {"x/min", -1},
	             {"10", -1}, {"10/day", -1},  {"", -1},     {"-1/s", -1}};
	for (size_t i = 0; i < ARRAY_LEN(rates); i++)
		T_EQ_INT(auth_rate_parse(rates[i].s, &rate, &burst), rates[i].rc, "parse \"%s\"", rates[i].s);

	auth_rate_parse("10/min", &rate, &burst);
	int ok = 0, retry = 0;
	for (int i = 0; i < 11; i++)
		ok += auth_bucket_take(&b, rate, burst, 1000000, &retry);
	T_EQ_INT(ok, 10, "10 of 11 at once pass");
	T_EQ_INT(retry, 6, "retry after 6 s (one token per 6 s)");
	T_OK(!auth_bucket_take(&b, rate, burst, 1000000 + 5000000, &retry), "5 s later: still empty");
	T_OK(auth_bucket_take(&b, rate, burst, 1000000 + 6000000, &retry), "6 s later: one token");
	T_OK(!auth_bucket_take(&b, rate, burst, 1000000 + 6000001, &retry), "and only one");
	T_OK(auth_bucket_take(&b, rate, burst, 1000000 + 3600000000LL, &retry), "an hour later: refilled");
	int again = 1;
	for (int i = 0; i < 9; i++)
		again += auth_bucket_take(&b, rate, burst, 1000000 + 3600000000LL, &retry);
	T_EQ_INT(again, 10, "refill caps at the burst");
	T_OK(!auth_bucket_take(&b, rate, burst, 1000000 + 3600000000LL, &retry), "11th refused");
}

int main(void)
{
	if (core_init() < 0)
		return 1;
	test_jwt();
	test_password_policy();
	test_password_hash();
	test_tokens();
	test_cache();
	test_bucket();
	return t_done();
}
