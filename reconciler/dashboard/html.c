/*
 * html.c: the two text helpers every dashboard page needs: HTML escaping
 * (all repository text is untrusted: commit messages, names, errors) and
 * one fixed, unambiguous time format (UTC).
 */
#include "reconciler/dashboard/internal.h"

#include <time.h>

void ks_html_escape(struct ks_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            ks_buf_puts(b, "&amp;");
            break;
        case '<':
            ks_buf_puts(b, "&lt;");
            break;
        case '>':
            ks_buf_puts(b, "&gt;");
            break;
        case '"':
            ks_buf_puts(b, "&quot;");
            break;
        case '\'':
            ks_buf_puts(b, "&#39;");
            break;
        default:
            ks_buf_putc(b, *s);
        }
    }
}

void ks_html_time(struct ks_buf *b, long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char text[40];
    gmtime_r(&tt, &tm);
    strftime(text, sizeof(text), "%Y-%m-%d %H:%M UTC", &tm);
    ks_buf_puts(b, text);
}
