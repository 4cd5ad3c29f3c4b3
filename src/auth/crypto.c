/* auth's cryptography: key derivation, JWT HS256, Argon2id passwords,
 * random tokens and keyed hashes. Everything here is libsodium. */
#include "auth.h"

#include <sodium.h>

#include <ctype.h>
#include <string.h>

/* Fixed header: the algorithm is pinned; a token naming any other is
 * refused before its signature is looked at. */
#define JWT_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define JWT_AUD    "troupe"

void auth_derive_key(const char *secret, uint64_t id, unsigned char out[AUTH_KEY_BYTES])
{
	unsigned char master[crypto_kdf_KEYBYTES];
	crypto_generichash(master, sizeof(master), (const unsigned char *) secret, strlen(secret), NULL, 0);
	/* Context "trpauth_": other modules derive their own keys with their
	 * own context, so a leak of one key tells nothing about another. */
	crypto_kdf_derive_from_key(out, AUTH_KEY_BYTES, id, "trpauth_", master);
	sodium_memzero(master, sizeof(master));
}

static void hmac(const unsigned char key[AUTH_KEY_BYTES], const char *msg, size_t n,
                 unsigned char out[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, AUTH_KEY_BYTES);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *) msg, n);
	crypto_auth_hmacsha256_final(&st, out);
}

char *auth_jwt_sign(const unsigned char key[AUTH_KEY_BYTES], const struct auth_claims *c, struct arena *ar)
{
	char payload[256];
	int n = snprintf(payload, sizeof(payload),
	                 "{\"sub\":\"%s\",\"sid\":\"%s\",\"typ\":\"access\",\"aud\":\"" JWT_AUD
	                 "\",\"iat\":%lld,\"exp\":%lld}",
	                 c->sub, c->sid, (long long) c->iat, (long long) c->exp);
	if (n < 0 || (size_t) n >= sizeof(payload))
		return NULL;
	size_t hl = strlen(JWT_HEADER);
	char *out = arena_alloc(ar, (hl + 2) / 3 * 4 + ((size_t) n + 2) / 3 * 4 + 64);
	b64url_encode(JWT_HEADER, hl, out);
	size_t len = strlen(out);
	out[len++] = '.';
	b64url_encode(payload, (size_t) n, out + len);
	len += strlen(out + len);
	unsigned char sig[crypto_auth_hmacsha256_BYTES];
	hmac(key, out, len, sig);
	out[len++] = '.';
	b64url_encode(sig, sizeof(sig), out + len);
	return out;
}

static bool claim_str(json_t *j, const char *name, char *out, size_t outlen)
{
	const char *s = json_string_value(json_object_get(j, name));
	if (!s || strlen(s) >= outlen)
		return false;
	memcpy(out, s, strlen(s) + 1);
	return true;
}

enum status auth_jwt_verify(const unsigned char key[AUTH_KEY_BYTES], const char *token, int64_t now_s,
                            struct auth_claims *c)
{
	memset(c, 0, sizeof(*c));
	if (!token)
		return ST_UNAUTHENTICATED;
	size_t tlen = strlen(token);
	if (tlen > 2048)
		return ST_UNAUTHENTICATED;
	const char *d1 = strchr(token, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1 || !d2 || strchr(d2 + 1, '.') || d1 == token || d2 == d1 + 1 || !d2[1])
		return ST_UNAUTHENTICATED;

	char hdr[256];
	long hn = b64url_decode(token, (size_t) (d1 - token), hdr, sizeof(hdr) - 1);
	if (hn <= 0)
		return ST_UNAUTHENTICATED;
	hdr[hn] = '\0';
	json_t *h = json_loadb(hdr, (size_t) hn, JSON_REJECT_DUPLICATES, NULL);
	const char *alg = h ? json_string_value(json_object_get(h, "alg")) : NULL;
	const char *typ = h ? json_string_value(json_object_get(h, "typ")) : NULL;
	bool alg_ok = alg && str_eq(alg, "HS256") && (!typ || str_eq(typ, "JWT")) && !json_object_get(h, "crit");
	json_decref(h);
	if (!alg_ok)
		return ST_UNAUTHENTICATED;

	unsigned char sig[64], want[crypto_auth_hmacsha256_BYTES];
	long sn = b64url_decode(d2 + 1, strlen(d2 + 1), sig, sizeof(sig));
	if (sn != (long) sizeof(want))
		return ST_UNAUTHENTICATED;
	hmac(key, token, (size_t) (d2 - token), want);
	if (sodium_memcmp(sig, want, sizeof(want)) != 0)
		return ST_UNAUTHENTICATED;

	char pl[512];
	long pn = b64url_decode(d1 + 1, (size_t) (d2 - d1 - 1), pl, sizeof(pl) - 1);
	if (pn <= 0)
		return ST_UNAUTHENTICATED;
	json_t *j = json_loadb(pl, (size_t) pn, JSON_REJECT_DUPLICATES, NULL);
	enum status st = ST_UNAUTHENTICATED;
	if (!j)
		return st;
	json_t *iat = json_object_get(j, "iat"), *exp = json_object_get(j, "exp");
	const char *ty = json_string_value(json_object_get(j, "typ"));
	const char *aud = json_string_value(json_object_get(j, "aud"));
	if (!json_is_integer(iat) || !json_is_integer(exp) || !ty || !str_eq(ty, "access") || !aud ||
	    !str_eq(aud, JWT_AUD))
		goto out;
	c->iat = json_integer_value(iat);
	c->exp = json_integer_value(exp);
	if (c->exp <= now_s || c->iat > now_s + 60)
		goto out;
	if (!claim_str(j, "sub", c->sub, sizeof(c->sub)) || !claim_str(j, "sid", c->sid, sizeof(c->sid)) ||
	    !id_valid(c->sub) || !id_valid(c->sid))
		goto out;
	st = ST_OK;
out:
	json_decref(j);
	if (st != ST_OK)
		memset(c, 0, sizeof(*c));
	return st;
}

/* The most common passwords of 8 characters or more (from public breach
 * frequency lists), compared without regard to case. */
static const char *const common_passwords[] = {
    "password",  "12345678",  "123456789",  "1234567890", "qwertyuiop", "password1",     "password123", "iloveyou",
    "11111111",  "00000000",  "abc12345",   "qwerty123",  "1q2w3e4r",   "1qaz2wsx",      "sunshine",    "princess",
    "football",  "baseball",  "welcome1",   "welcome123", "admin123",   "administrator", "letmein1",    "trustno1",
    "passw0rd",  "superman",  "starwars",   "changeme",   "12341234",   "87654321",      "asdfghjk",    "asdfghjkl",
    "zxcvbnm1",  "qwertyui",  "88888888",   "12121212",   "michael1",   "jennifer",      "computer",    "internet",
    "whatever",  "qazwsxedc", "1q2w3e4r5t", "aa123456",   "password12", "p@ssw0rd",      "q1w2e3r4",    "123123123",
    "987654321", "11223344",  "welcome!",   "letmein!",   "dragon123",  "monkey123",     "shadow123",   "master123",
    "troupe123", "changeit",  "secret123",  "123qweasd",  "qweasdzxc",  "password!",     "1234qwer",
};

bool auth_password_common(const char *pw)
{
	for (size_t i = 0; i < ARRAY_LEN(common_passwords); i++)
		if (str_eq_nocase(pw, common_passwords[i]))
			return true;
	return false;
}

enum status auth_password_policy(const char *pw, struct problem *p)
{
	size_t bytes = strlen(pw);
	if (!str_utf8_valid(pw, bytes))
		return problem_field(p, "password", "must be valid UTF-8");
	size_t n = str_utf8_len(pw);
	if (n < 8)
		return problem_field(p, "password", "must be at least 8 characters long");
	if (n > 256 || bytes > 1024)
		return problem_field(p, "password", "must be at most 256 characters long");
	if (auth_password_common(pw))
		return problem_field(p, "password", "is one of the most common passwords; choose another");
	return ST_OK;
}

int auth_password_hash(const char *pw, char out[128])
{
	_Static_assert(crypto_pwhash_STRBYTES <= 128, "pwhash string fits");
	/* Argon2id, 2 passes over 19 MiB: OWASP's minimum for Argon2id. */
	return crypto_pwhash_str_alg(out, pw, strlen(pw), 2, 19u * 1024 * 1024, crypto_pwhash_ALG_ARGON2ID13);
}

bool auth_password_verify(const char *hash, const char *pw)
{
	return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}

void auth_token_new(const char *prefix, char out[80])
{
	unsigned char raw[32];
	size_t pl = strlen(prefix);
	randombytes_buf(raw, sizeof(raw));
	memcpy(out, prefix, pl);
	b64url_encode(raw, sizeof(raw), out + pl);
	sodium_memzero(raw, sizeof(raw));
}

bool auth_token_wellformed(const char *prefix, const char *s)
{
	if (!s || !str_startswith(s, prefix))
		return false;
	const char *b = s + strlen(prefix);
	if (strlen(b) != 43)
		return false;
	for (; *b; b++)
		if (!isalnum((unsigned char) *b) && *b != '-' && *b != '_')
			return false;
	return true;
}

void auth_secret_hash(const unsigned char key[AUTH_KEY_BYTES], const char *s, char out[65])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof(h), (const unsigned char *) s, strlen(s), key, AUTH_KEY_BYTES);
	hex_encode(h, sizeof(h), out);
}

/* API keys are hashed under a fixed key, not one derived from the server
 * secret: they are 256 random bits (nothing to guess), and they must keep
 * working when the server secret is rotated. */
void auth_apikey_hash(const char *s, char out[65])
{
	static const unsigned char fixed[AUTH_KEY_BYTES] = "troupe api key hash, version 1";
	auth_secret_hash(fixed, s, out);
}
