/* agents/datetime: our TZif reader against known instants and against
 * glibc's localtime_r (the oracle; this test is single-threaded, so it may
 * set TZ, which the tool itself never does). */
#include "agents/agents.h"
#include "t.h"

#include <time.h>

static void test_known(void)
{
	static const struct {
		const char *tz;
		int64_t t;
		const char *iso, *abbr;
		bool dst;
	} cases[] = {
	    {"UTC", 0, "1970-01-01T00:00:00+00:00", "UTC", false},
	    {"", 1764460800, "2025-11-30T00:00:00+00:00", "UTC", false},
	    /* New York springs forward at 2026-03-08 07:00 UTC (02:00 EST -> 03:00 EDT) */
	    {"America/New_York", 1772953199, "2026-03-08T01:59:59-05:00", "EST", false},
	    {"America/New_York", 1772953200, "2026-03-08T03:00:00-04:00", "EDT", true},
	    /* and falls back at 2026-11-01 06:00 UTC */
	    {"America/New_York", 1793512799, "2026-11-01T01:59:59-04:00", "EDT", true},
	    {"America/New_York", 1793512800, "2026-11-01T01:00:00-05:00", "EST", false},
	    {"Asia/Kolkata", 1764460800, "2025-11-30T05:30:00+05:30", "IST", false},
	    {"Asia/Kathmandu", 1764460800, "2025-11-30T05:45:00+05:45", "+0545", false},
	    {"Australia/Sydney", 1767225600, "2026-01-01T11:00:00+11:00", "AEDT", true},
	    {"America/St_Johns", 1767225600, "2025-12-31T20:30:00-03:30", "NST", false},
	    /* beyond the file's transitions (2037): the footer's rule */
	    {"Europe/Paris", 2500000000, "2049-03-22T05:26:40+01:00", "CET", false},
	    {"Europe/Paris", 2510000000, "2049-07-16T00:13:20+02:00", "CEST", true},
	    {"Australia/Sydney", 2524608000, "2050-01-01T11:00:00+11:00", "AEDT", true},
	    /* before 1970 */
	    {"Europe/London", -86400 * 365, "1969-01-01T01:00:00+01:00", "BST", false},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct agents_datetime dt;
		struct arena *a = arena_new();
		struct problem p;
		problem_init(&p, a);
		enum status st = agents_datetime_at(cases[i].tz, cases[i].t, &dt, &p);
		T_EQ_INT(st, ST_OK, "%s at %lld", cases[i].tz, (long long) cases[i].t);
		T_EQ_STR(dt.iso8601, cases[i].iso, "%s at %lld: the time", cases[i].tz, (long long) cases[i].t);
		T_EQ_STR(dt.abbreviation, cases[i].abbr, "%s at %lld: the abbreviation", cases[i].tz,
		         (long long) cases[i].t);
		T_EQ_INT(dt.dst, cases[i].dst, "%s at %lld: dst", cases[i].tz, (long long) cases[i].t);
		arena_free(&a);
	}
}

/* Many zones, many instants: the same answers as glibc. */
static void test_against_glibc(void)
{
	static const char *const zones[] = {
	    "UTC",
	    "Europe/Paris",
	    "Europe/London",
	    "America/New_York",
	    "America/Los_Angeles",
	    "America/Sao_Paulo",
	    "Asia/Tokyo",
	    "Asia/Kolkata",
	    "Australia/Sydney",
	    "Australia/Lord_Howe",
	    "Pacific/Chatham",
	    "Africa/Casablanca",
	    "America/Santiago",
	    "Pacific/Apia",
	    "Asia/Tehran",
	    "Europe/Dublin",
	    "America/Godthab",
	    "Antarctica/Troll",
	    "Pacific/Kiritimati",
	    "Etc/GMT+5",
	};
	int mismatches = 0, checked = 0;
	for (size_t z = 0; z < ARRAY_LEN(zones); z++) {
		setenv("TZ", zones[z], 1);
		tzset();
		/* 1900 to 2100, a step that walks through hours, days and seasons */
		for (int64_t t = -2208988800LL; t < 4102444800LL; t += 86400LL * 23 + 3600 * 5 + 1234) {
			struct agents_datetime dt;
			struct tm tm;
			time_t tt = (time_t) t;
			char want[64];
			localtime_r(&tt, &tm);
			long off = tm.tm_gmtoff, aoff = off < 0 ? -off : off;
			snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
			         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
			         aoff / 3600, aoff / 60 % 60);
			if (aoff % 60) /* LMT offsets with seconds: compare the offset only */
				want[19] = '\0';
			if (agents_datetime_at(zones[z], t, &dt, NULL) != ST_OK ||
			    strncmp(dt.iso8601, want, strlen(want)) != 0 || dt.offset_s != off ||
			    strcmp(dt.abbreviation, tm.tm_zone) != 0 || dt.dst != (tm.tm_isdst > 0) ||
			    dt.weekday != tm.tm_wday) {
				if (mismatches++ < 5)
					printf("# %s at %lld: got %s %s dst=%d wd=%d, glibc %s %s dst=%d wd=%d\n",
					       zones[z], (long long) t, dt.iso8601, dt.abbreviation, dt.dst, dt.weekday,
					       want, tm.tm_zone, tm.tm_isdst, tm.tm_wday);
			}
			checked++;
		}
	}
	unsetenv("TZ");
	tzset();
	T_EQ_INT(mismatches, 0, "%d instants in %zu zones agree with glibc", checked, ARRAY_LEN(zones));
}

static void test_errors_and_tool(void)
{
	static const char *const bad[] = {
	    "Mars/Olympus",
	    "../../etc/passwd",
	    "/etc/localtime",
	    "Europe/../Europe/Paris",
	    "Europe/Paris/",
	    "Europe",
	    "zone.tab",
	    "right/UTC",
	    "Europe//Paris",
	    "Europe/Paris\n",
	    "A/B/C/D/E/F/G/H/I/J/K/L/M/N/O/P/Q/R/S/T/U/V/W/X/Y/Z/aa",
	};
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct agents_datetime dt;
		struct problem p;
		problem_init(&p, a);
		T_EQ_INT(agents_datetime_at(bad[i], 0, &dt, &p), ST_BAD_INPUT, "\"%s\" is refused", bad[i]);
		T_EQ_STR(p.nfields ? p.fields[0].field : NULL, "timezone", "\"%s\": the field named", bad[i]);
	}
	struct agents_datetime dt;
	struct problem p;
	problem_init(&p, a);
	T_EQ_INT(agents_datetime_at("UTC", 253402300800LL, &dt, &p), ST_BAD_INPUT, "beyond the year 9999");

	json_t *args = json_pack("{s:s}", "timezone", "Asia/Tokyo"), *out = NULL;
	problem_init(&p, a);
	int64_t before = time_now_ms() / 1000;
	T_EQ_INT(agents_tool_current_datetime(args, &out, &p), ST_OK, "the tool answers");
	int64_t unix_time = json_integer_value(json_object_get(out, "unix_time"));
	T_OK(unix_time >= before && unix_time <= before + 5, "unix_time is now");
	const char *iso = json_string_value(json_object_get(out, "datetime"));
	T_OK(iso && strlen(iso) == 25 && !strcmp(iso + 19, "+09:00"), "ISO 8601 with Tokyo's offset: %s", iso);
	T_EQ_STR(json_string_value(json_object_get(out, "abbreviation")), "JST", "abbreviation");
	json_decref(out);
	json_decref(args);
	args = json_object();
	problem_init(&p, a);
	T_EQ_INT(agents_tool_current_datetime(args, &out, &p), ST_OK, "no timezone: UTC");
	T_EQ_STR(json_string_value(json_object_get(out, "utc_offset")), "+00:00", "UTC's offset");
	json_decref(out);
	json_decref(args);
	args = json_pack("{s:i}", "timezone", 5);
	problem_init(&p, a);
	T_EQ_INT(agents_tool_current_datetime(args, &out, &p), ST_BAD_INPUT, "a number is not a zone");
	T_OK(out == NULL, "no answer on error");
	json_decref(args);
	arena_free(&a);
}

int main(void)
{
	test_known();
	test_against_glibc();
	test_errors_and_tool();
	return t_done();
}
