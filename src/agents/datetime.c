/*
 * current_datetime: the wall clock in an IANA time zone, from the system's
 * TZif files (RFC 9636) read by this file. Why not localtime_r: it reads
 * the zone from the TZ variable, which is process-wide; setting it while
 * other threads format times races them (glibc's tzset is not per
 * thread). Reading the zone's file ourselves needs no shared state.
 *
 * The version 2+ (64-bit) data block gives the transitions; after the last
 * one, the footer's POSIX TZ string (RFC 9636 3.3, e.g.
 * "EST5EDT,M3.2.0,M11.1.0") gives the rule.
 */
#include "agents.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_NAME_MAX  64
#define TZ_FILE_MAX  (256 * 1024)
#define TZ_DIR       "/usr/share/zoneinfo"
#define SECS_PER_DAY 86400
#define TZ_MAX_TYPES 256

/* ---- civil dates (days from 1970-01-01, proleptic Gregorian) ---- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ---- the footer's POSIX TZ rule ---- */

struct tz_rule {
	int std_off, dst_off; /* seconds east of UTC */
	char std_abbr[16], dst_abbr[16];
	bool has_dst;
	int start_m, start_w, start_d, start_t; /* Mm.w.d/time, time in seconds of local time */
	int end_m, end_w, end_d, end_t;
};

static const char *parse_abbr(const char *s, char *out, size_t outlen)
{
	size_t n = 0;
	if (*s == '<') {
		for (s++; *s && *s != '>'; s++)
			if (n + 1 < outlen)
				out[n++] = *s;
		if (*s != '>')
			return NULL;
		s++;
	} else {
		for (; (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'); s++)
			if (n + 1 < outlen)
				out[n++] = *s;
	}
	out[n] = '\0';
	return n >= 3 ? s : NULL;
}

/* [+-]hh[:mm[:ss]] into seconds; POSIX offsets are west of UTC, so the
 * caller negates. */
static const char *parse_hms(const char *s, int *out)
{
	int sign = 1, h = 0, m = 0, sec = 0;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (!(*s >= '0' && *s <= '9'))
		return NULL;
	while (*s >= '0' && *s <= '9')
		h = h * 10 + (*s++ - '0');
	if (*s == ':') {
		for (s++; *s >= '0' && *s <= '9'; s++)
			m = m * 10 + (*s - '0');
		if (*s == ':')
			for (s++; *s >= '0' && *s <= '9'; s++)
				sec = sec * 10 + (*s - '0');
	}
	if (h > 167 || m > 59 || sec > 59)
		return NULL;
	*out = sign * (h * 3600 + m * 60 + sec);
	return s;
}

/* ",Mm.w.d[/time]": the only form tzdata writes. */
static const char *parse_mwd(const char *s, int *m, int *w, int *d, int *t)
{
	if (s[0] != ',' || s[1] != 'M')
		return NULL;
	s += 2;
	char *end;
	long lm = strtol(s, &end, 10);
	if (*end != '.')
		return NULL;
	long lw = strtol(end + 1, &end, 10);
	if (*end != '.')
		return NULL;
	long ld = strtol(end + 1, &end, 10);
	if (lm < 1 || lm > 12 || lw < 1 || lw > 5 || ld < 0 || ld > 6)
		return NULL;
	*m = (int) lm;
	*w = (int) lw;
	*d = (int) ld;
	*t = 7200;
	s = end;
	if (*s == '/' && !(s = parse_hms(s + 1, t)))
		return NULL;
	return s;
}

static bool parse_rule(const char *s, struct tz_rule *r)
{
	int off;
	memset(r, 0, sizeof(*r));
	if (!(s = parse_abbr(s, r->std_abbr, sizeof(r->std_abbr))) || !(s = parse_hms(s, &off)))
		return false;
	r->std_off = -off;
	if (!*s)
		return true;
	if (!(s = parse_abbr(s, r->dst_abbr, sizeof(r->dst_abbr))))
		return false;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*s != ',') {
		if (!(s = parse_hms(s, &off)))
			return false;
		r->dst_off = -off;
	}
	if (!(s = parse_mwd(s, &r->start_m, &r->start_w, &r->start_d, &r->start_t)) ||
	    !(s = parse_mwd(s, &r->end_m, &r->end_w, &r->end_d, &r->end_t)))
		return false;
	return *s == '\0';
}

/* Local seconds since the epoch of "the d-th weekday w of month m, at t". */
static int64_t mwd_local(int64_t year, int m, int w, int d, int t)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t first = days_from_civil(year, m, 1);
	int wd_first = (int) ((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
	int day = 1 + (d - wd_first + 7) % 7 + (w - 1) * 7;
	int len = mdays[m - 1] + (m == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0));
	while (day > len)
		day -= 7;
	return days_from_civil(year, m, day) * SECS_PER_DAY + t;
}

static void rule_at(const struct tz_rule *r, int64_t t, int *off, bool *dst, const char **abbr)
{
	*off = r->std_off;
	*dst = false;
	*abbr = r->std_abbr;
	if (!r->has_dst)
		return;
	int64_t y;
	int mo, d;
	civil_from_days(floor_div(t + r->std_off, SECS_PER_DAY), &y, &mo, &d);
	/* the start is given in standard time, the end in daylight time */
	int64_t start = mwd_local(y, r->start_m, r->start_w, r->start_d, r->start_t) - r->std_off;
	int64_t end = mwd_local(y, r->end_m, r->end_w, r->end_d, r->end_t) - r->dst_off;
	bool in = start < end ? (t >= start && t < end) : (t >= start || t < end); /* southern hemisphere */
	if (in) {
		*off = r->dst_off;
		*dst = true;
		*abbr = r->dst_abbr;
	}
}

/* ---- the TZif file ---- */

static bool tz_name_valid(const char *tz)
{
	size_t n = strlen(tz);
	if (n == 0 || n > TZ_NAME_MAX || tz[0] == '/' || tz[n - 1] == '/')
		return false;
	for (const char *s = tz; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      strchr("_+-/", *s)))
			return false;
	/* no "." or ".." components: nothing outside the zone directory */
	return !strstr(tz, "//") && tz[0] != '.' && !strstr(tz, "/.");
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t) ((uint64_t) be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static bool read_counts(const unsigned char *h, size_t len, struct tzif_counts *c)
{
	if (len < 44 || memcmp(h, "TZif", 4))
		return false;
	c->isutcnt = be32(h + 20);
	c->isstdcnt = be32(h + 24);
	c->leapcnt = be32(h + 28);
	c->timecnt = be32(h + 32);
	c->typecnt = be32(h + 36);
	c->charcnt = be32(h + 40);
	return c->typecnt > 0 && c->typecnt <= TZ_MAX_TYPES && c->timecnt < 1000000 && c->charcnt < 10000 &&
	       c->leapcnt < 10000 && c->isutcnt <= c->typecnt && c->isstdcnt <= c->typecnt;
}

static size_t block_len(const struct tzif_counts *c, size_t tsize)
{
	return c->timecnt * tsize + c->timecnt + c->typecnt * 6 + c->charcnt + c->leapcnt * (tsize + 4) + c->isstdcnt +
	       c->isutcnt;
}

/* Finds the offset at t from the 64-bit block of a version 2+ file. */
static bool tzif_lookup(const unsigned char *f, size_t len, int64_t t, struct agents_datetime *out, const char **err)
{
	struct tzif_counts c1, c;
	if (!read_counts(f, len, &c1) || f[4] < '2') {
		*err = "is not a version 2 or later TZif file";
		return false;
	}
	size_t off2 = 44 + block_len(&c1, 4);
	if (off2 > len || !read_counts(f + off2, len - off2, &c) || 44 + block_len(&c, 8) > len - off2) {
		*err = "has a damaged TZif file";
		return false;
	}
	if (c.leapcnt) {
		*err = "counts leap seconds (a \"right/\" zone), which is not supported";
		return false;
	}
	const unsigned char *times = f + off2 + 44, *idx = times + c.timecnt * 8, *types = idx + c.timecnt;
	const char *chars = (const char *) types + c.typecnt * 6;
	const unsigned char *footer = (const unsigned char *) chars + c.charcnt + c.isstdcnt + c.isutcnt;
	size_t i = 0, lo = 0, hi = c.timecnt;
	while (lo < hi) { /* the last transition at or before t */
		size_t mid = lo + (hi - lo) / 2;
		if (be64(times + mid * 8) <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == c.timecnt && footer < f + len && *footer == '\n') {
		const unsigned char *end = memchr(footer + 1, '\n', (size_t) (f + len - footer - 1));
		struct tz_rule r;
		char rule[128];
		size_t rlen = end ? (size_t) (end - footer - 1) : 0;
		if (rlen > 0 && rlen < sizeof(rule)) {
			memcpy(rule, footer + 1, rlen);
			rule[rlen] = '\0';
			if (parse_rule(rule, &r)) {
				const char *abbr;
				rule_at(&r, t, &out->offset_s, &out->dst, &abbr);
				snprintf(out->abbreviation, sizeof(out->abbreviation), "%s", abbr);
				return true;
			}
		}
	}
	if (lo > 0)
		i = idx[lo - 1];
	else
		i = 0; /* before the first transition: the first type (RFC 9636 3.2) */
	if (i >= c.typecnt) {
		*err = "has a damaged TZif file";
		return false;
	}
	const unsigned char *tt = types + i * 6;
	out->offset_s = (int32_t) be32(tt);
	out->dst = tt[4] != 0;
	size_t ai = tt[5];
	if (ai >= c.charcnt) {
		*err = "has a damaged TZif file";
		return false;
	}
	snprintf(out->abbreviation, sizeof(out->abbreviation), "%.*s", (int) strnlen(chars + ai, c.charcnt - ai),
	         chars + ai);
	return true;
}

/* The zone's file, whole, if it is a regular file of at most TZ_FILE_MAX
 * bytes; NULL otherwise (a directory such as "Europe" included). */
static unsigned char *read_zone(const char *tz, size_t *len)
{
	const char *dir = getenv("TZDIR");
	char path[512];
	unsigned char *buf = NULL;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : TZ_DIR, tz);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 44 || st.st_size > TZ_FILE_MAX)
		goto out;
	buf = xmalloc((size_t) st.st_size);
	*len = 0;
	while (*len < (size_t) st.st_size) {
		ssize_t n = read(fd, buf + *len, (size_t) st.st_size - *len);
		if (n <= 0)
			break;
		*len += (size_t) n;
	}
	if (*len != (size_t) st.st_size) {
		free(buf);
		buf = NULL;
	}
out:
	close(fd);
	return buf;
}

static void format_datetime(int64_t t, struct agents_datetime *out)
{
	int64_t local = t + out->offset_s, y;
	int64_t days = floor_div(local, SECS_PER_DAY), secs = local - days * SECS_PER_DAY;
	int m, d;
	int off = out->offset_s < 0 ? -out->offset_s : out->offset_s;

	civil_from_days(days, &y, &m, &d);
	out->weekday = (int) ((days % 7 + 11) % 7);
	snprintf(out->utc_offset, sizeof(out->utc_offset), "%c%02d:%02d", out->offset_s < 0 ? '-' : '+',
	         off / 3600 % 100, off / 60 % 60);
	snprintf(out->iso8601, sizeof(out->iso8601), "%04lld-%02d-%02dT%02d:%02d:%02d%s", (long long) y, m, d,
	         (int) (secs / 3600), (int) (secs / 60 % 60), (int) (secs % 60), out->utc_offset);
}

enum status agents_datetime_at(const char *tz, int64_t unix_s, struct agents_datetime *out, struct problem *p)
{
	unsigned char *file = NULL;
	size_t len = 0;
	const char *err = "is not a time zone of this system";
	enum status st = ST_BAD_INPUT;

	memset(out, 0, sizeof(*out));
	if (!tz || !*tz)
		tz = "UTC";
	if (unix_s < -62135596800LL || unix_s > 253402300799LL) {
		st = problem_field(p, "time", "must be within the years 1 to 9999");
		goto out;
	}
	if (!tz_name_valid(tz) || !(file = read_zone(tz, &len))) {
		st = problem_field(p, "timezone",
		                   "\"%.64s\" is not an IANA time zone name of this system (e.g. "
		                   "\"Europe/Paris\", \"America/New_York\", \"UTC\")",
		                   tz);
		goto out;
	}
	if (!tzif_lookup(file, len, unix_s, out, &err)) {
		st = problem_field(p, "timezone", "\"%s\" %s", tz, err);
		goto out;
	}
	format_datetime(unix_s, out);
	st = ST_OK;
out:
	free(file);
	return st;
}

enum status agents_tool_current_datetime(const json_t *args, json_t **out, struct problem *p)
{
	static const char *const days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
	                                   "Thursday", "Friday", "Saturday"};
	const json_t *tzv = json_object_get(args, "timezone");
	struct agents_datetime dt;
	int64_t now = time_now_ms() / 1000;
	enum status st;

	*out = NULL;
	if (tzv && !json_is_string(tzv) && !json_is_null(tzv))
		return problem_field(p, "timezone", "must be a string such as \"Europe/Paris\"");
	const char *tz = json_is_string(tzv) && *json_string_value(tzv) ? json_string_value(tzv) : "UTC";
	if ((st = agents_datetime_at(tz, now, &dt, p)) != ST_OK)
		return st;
	*out = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:I}", "datetime", dt.iso8601, "timezone", tz, "utc_offset",
	                 dt.utc_offset, "abbreviation", dt.abbreviation, "dst", dt.dst, "weekday", days[dt.weekday],
	                 "unix_time", (json_int_t) now);
	return ST_OK;
}
