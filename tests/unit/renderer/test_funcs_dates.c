/*
 * test_funcs_dates.c: Sprig's date functions (renderer/funcs/date.c)
 * through the engine: Go's reference-time layouts for formatting and
 * parsing, toDate's zero time on errors, Unix-second arguments, durations,
 * time.Time host objects. Expectations from helm 3.17.3 running in UTC.
 * `now` is checked by properties (type and a plausible year).
 */
#include "test_funcs_run.h"

#include <time.h>

static const struct fcase dates[] = {
    {"{{ date \"2006-01-02\" (toDate \"2006-01-02\" \"2021-03-04\") }} {{ dateInZone \"2006-01-02 "
     "15:04\" (toDate \"2006-01-02\" \"2021-03-04\") \"UTC\" }} {{ unixEpoch (toDate "
     "\"2006-01-02\" \"2021-03-04\") }} {{ duration 90 }}",
     NULL, "2021-03-04 2021-03-04 00:00 1614816000 0s", NULL},
    {"{{ $t := toDate \"2006-01-02T15:04:05Z07:00\" \"2009-11-10T23:04:05+02:00\" }}{{ $t | date "
     "\"Mon Jan _2 15:04:05 MST 2006\" }}|{{ $t | date \"Monday January 2 3:4:5 PM pm 06 002 __2\" "
     "}}|{{ $t | date \"-07:00 Z07:00 -0700 .000 .999 ,00\" }}|{{ unixEpoch $t }}",
     NULL,
     "Tue Nov 10 21:04:05 UTC 2009|Tuesday November 10 9:4:5 PM pm 09 314 314|+00:00 Z +0000 .000  "
     ",00|1257887045",
     NULL},
    {"{{ toDate \"2006-01-02 15:04:05.000\" \"2020-02-29 13:14:15.678\" | date "
     "\"2006-01-02T15:04:05.999999999Z07:00\" }}|{{ toDate \"Jan 2 2006\" \"Feb 3 2001\" | date "
     "\"2006-01-02\" }}|{{ toDate \"02/01/06 3PM\" \"25/12/99 11PM\" | htmlDate }}",
     NULL, "2020-02-29T13:14:15.678Z|2001-02-03|1999-12-25", NULL},
    {"{{ toDate \"2006-01-02\" \"bad\" }}|{{ toDate \"2006-01-02\" \"2021-13-01\" | unixEpoch }}",
     NULL, "0001-01-01 00:00:00 +0000 UTC|-62135596800", NULL},
    {"{{ mustToDate \"2006-01-02\" \"bad\" }}", NULL, NULL,
     "error calling mustToDate: parsing time \"bad\" as \"2006-01-02\": cannot parse \"bad\" as "
     "\"2006\""},
    {"{{ date \"2006\" 0 }} {{ date \"2006-01-02 15:04\" 86400 }} {{ htmlDate 1000000000 }} {{ "
     "htmlDateInZone 1000000000 \"UTC\" }} {{ dateInZone \"15:04 MST\" 0 \"Nowhere/Bad\" }}",
     NULL, "1970 1970-01-02 00:00 2001-09-09 2001-09-09 00:00 UTC", NULL},
    {"{{ duration \"3600\" }} {{ duration \"61\" }} {{ duration \"x\" }} {{ duration \"-5\" }} {{ "
     "duration \"0\" }} {{ duration \"100000\" }}",
     NULL, "1h0m0s 1m1s 0s -5s 0s 27h46m40s", NULL},
    {"{{ toDate \"2006-01-02\" \"2021-03-04\" }}", NULL, "2021-03-04 00:00:00 +0000 UTC", NULL},
    {"{{ toDate \"2006-01-02\" \"2021-03-04\" | typeOf }} {{ toDate \"2006-01-02\" \"2021-03-04\" "
     "| kindOf }} {{ (toDate \"2006-01-02\" \"2021-03-04\").Unix }}",
     NULL, "time.Time struct 1614816000", NULL},
};

/* durationRound and dateModify (Go durations). */
static const struct fcase modify[] = {
    {"{{ durationRound \"3601s\" }} {{ durationRound \"2h30m\" }} {{ durationRound \"-90s\" }} {{ "
     "durationRound \"1s\" }} {{ durationRound \"x\" }} {{ durationRound 100 }} {{ durationRound "
     "\"400d\" }} {{ durationRound \"8760h1s\" }} {{ durationRound \"721h\" }} {{ durationRound "
     "\"1.5ms\" }}",
     NULL, "1h 2h 1m 0s 0s 0s 0s 1y 1mo 0s", NULL},
    {"{{ $t := toDate \"2006-01-02\" \"2021-03-04\" }}{{ dateModify \"1.5h\" $t }}|{{ dateModify "
     "\"-24h\" $t | date \"2006-01-02\" }}|{{ dateModify \"bad\" $t | date \"2006-01-02\" }}|{{ "
     "date_modify \"90m\" $t | unixEpoch }}",
     NULL, "2021-03-04 01:30:00 +0000 UTC|2021-03-03|2021-03-04|1614821400", NULL},
    {"{{ mustDateModify \"1d\" (toDate \"2006-01-02\" \"2021-03-04\") }}", NULL, NULL,
     "error calling mustDateModify: time: unknown unit \"d\" in duration \"1d\""},
    {"{{ mustDateModify \"5\" (toDate \"2006-01-02\" \"2021-03-04\") }}", NULL, NULL,
     "error calling mustDateModify: time: missing unit in duration \"5\""},
};

static void test_modify(void **state)
{
    FUNCS_RUN(modify);
}

static void test_dates(void **state)
{
    FUNCS_RUN(dates);
}

static void test_now(void **state)
{
    char *s =
        funcs_output("{{ now | typeOf }} {{ now | date \"2006\" }} {{ (now | unixEpoch) }}", NULL);
    char want_year[16];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(want_year, sizeof(want_year), "%d", tm.tm_year + 1900);
    assert_int_equal(strncmp(s, "time.Time ", 10), 0);
    assert_int_equal(strncmp(s + 10, want_year, 4), 0);
    long long epoch = strtoll(s + 15, NULL, 10);
    assert_true(epoch >= (long long)t - 5 && epoch <= (long long)t + 5);
    free(s);
    s = funcs_output("{{ ago (now) }}|{{ ago 0 | len | lt 5 }}", NULL);
    assert_string_equal(s, "0s|true");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_modify),
        cmocka_unit_test(test_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
