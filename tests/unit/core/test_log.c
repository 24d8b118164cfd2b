/*
 * test_log.c: the log writer (core/log.h): logfmt quoting, JSON lines with
 * escaping, level filtering and the parsers for --log-level/--log-format.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"

/* Runs one ks_log call into a memory stream and returns what it wrote. */
static char *capture(enum ks_log_level min, enum ks_log_format fmt, enum ks_log_level level,
                     const char *msg, const char *key, const char *value)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ks_log_configure(min, fmt, f);
    ks_log(level, msg, key, value, NULL);
    fclose(f);
    ks_log_configure(KS_LOG_INFO, KS_LOG_LOGFMT, NULL);
    return text;
}

static void logfmt_quotes_when_needed(void **state)
{
    char *line = capture(KS_LOG_DEBUG, KS_LOG_LOGFMT, KS_LOG_WARN, "sync failed", "commit", "abc");
    assert_non_null(strstr(line, " level=warn msg=\"sync failed\" commit=abc\n"));
    assert_true(strncmp(line, "ts=", 3) == 0);
    free(line);
    line = capture(KS_LOG_DEBUG, KS_LOG_LOGFMT, KS_LOG_INFO, "x", "error", "a \"b\"=c");
    assert_non_null(strstr(line, "error=\"a \\\"b\\\"=c\"\n"));
    free(line);
}

static void json_lines_escape(void **state)
{
    char *line = capture(KS_LOG_DEBUG, KS_LOG_JSON, KS_LOG_ERROR, "bad\nthing", "file", "a.yaml");
    assert_non_null(
        strstr(line, "\"level\":\"error\",\"msg\":\"bad\\nthing\",\"file\":\"a.yaml\"}\n"));
    assert_true(line[0] == '{');
    free(line);
}

static void filters_by_level(void **state)
{
    char *line = capture(KS_LOG_WARN, KS_LOG_LOGFMT, KS_LOG_INFO, "quiet", "k", "v");
    assert_true(line == NULL || line[0] == '\0');
    free(line);
}

static void parses_flags(void **state)
{
    enum ks_log_level level;
    enum ks_log_format format;
    assert_int_equal(ks_log_level_parse(&level, "debug"), 0);
    assert_int_equal(level, KS_LOG_DEBUG);
    assert_int_equal(ks_log_level_parse(&level, "loud"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "loud"));
    assert_int_equal(ks_log_format_parse(&format, "json"), 0);
    assert_int_equal(format, KS_LOG_JSON);
    assert_int_equal(ks_log_format_parse(&format, "xml"), KS_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(logfmt_quotes_when_needed),
        cmocka_unit_test(json_lines_escape),
        cmocka_unit_test(filters_by_level),
        cmocka_unit_test(parses_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
