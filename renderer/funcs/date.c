/*
 * date.c: Sprig's date functions (now, date, dateInZone, htmlDate,
 * htmlDateInZone, unixEpoch, ago, duration, toDate, mustToDate) with Go's
 * reference-time layouts ("2006-01-02T15:04:05Z07:00") for formatting and
 * parsing. Times are host objects of type time.Time (printing as Go's
 * Time.String()). Every time is in UTC: the renderer runs on servers whose
 * local zone must not change output, "Local" means UTC, and zone names
 * other than "UTC" fall back to UTC as Sprig does for unknown zones.
 */
#include "renderer/funcs/funcs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "renderer/template.h"

struct gotime {
    int64_t sec; /* Unix seconds */
    long nsec;
};

static const char *const MONTHS[] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};
static const char *const DAYS[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                   "Thursday", "Friday", "Saturday"};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

struct civil {
    int64_t year;
    int month, day, hour, min, sec, wday, yday;
};

static void civil_from_sec(struct civil *c, int64_t sec)
{
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0)
        rem += 86400, days--;
    c->hour = (int)(rem / 3600);
    c->min = (int)(rem % 3600 / 60);
    c->sec = (int)(rem % 60);
    c->wday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    c->year = y + (c->month <= 2);
    c->yday = (int)(days - days_from_civil(c->year, 1, 1)) + 1;
}

/* Go's layout chunks, recognised at layout[i] as nextStdChunk does.
 * Returns the chunk length (0 = literal byte). */
enum std {
    S_NONE,
    S_LONG_MONTH,
    S_MONTH,
    S_NUM_MONTH,
    S_ZERO_MONTH,
    S_LONG_WEEKDAY,
    S_WEEKDAY,
    S_DAY,
    S_UNDER_DAY,
    S_ZERO_DAY,
    S_UNDER_YDAY,
    S_ZERO_YDAY,
    S_HOUR,
    S_HOUR12,
    S_ZERO_HOUR12,
    S_MINUTE,
    S_ZERO_MINUTE,
    S_SECOND,
    S_ZERO_SECOND,
    S_LONG_YEAR,
    S_YEAR,
    S_PM,
    S_pm,
    S_TZ,
    S_ISO_TZ,
    S_NUM_TZ,
    S_FRAC0,
    S_FRAC9,
};

struct chunk {
    enum std std;
    size_t len;
    int zone_form; /* for TZ offsets: 0 hhmmss 1 hh:mm:ss 2 hhmm 3 hh:mm 4 hh */
    int digits;    /* fractional seconds */
};

static bool starts(const char *l, size_t n, size_t i, const char *w)
{
    size_t k = strlen(w);
    return i + k <= n && memcmp(l + i, w, k) == 0;
}

static struct chunk next_chunk(const char *l, size_t n, size_t i)
{
    struct chunk c = {S_NONE, 0, 0, 0};
    static const char *const zones[] = {"070000", "07:00:00", "0700", "07:00", "07"};
    switch (l[i]) {
    case 'J':
        if (starts(l, n, i, "January"))
            return (struct chunk){S_LONG_MONTH, 7, 0, 0};
        if (starts(l, n, i, "Jan"))
            return (struct chunk){S_MONTH, 3, 0, 0};
        break;
    case 'M':
        if (starts(l, n, i, "Monday"))
            return (struct chunk){S_LONG_WEEKDAY, 6, 0, 0};
        if (starts(l, n, i, "Mon"))
            return (struct chunk){S_WEEKDAY, 3, 0, 0};
        if (starts(l, n, i, "MST"))
            return (struct chunk){S_TZ, 3, 0, 0};
        break;
    case '0':
        if (i + 1 < n && l[i + 1] >= '1' && l[i + 1] <= '6') {
            static const enum std z[] = {S_ZERO_MONTH,  S_ZERO_DAY,    S_ZERO_HOUR12,
                                         S_ZERO_MINUTE, S_ZERO_SECOND, S_YEAR};
            return (struct chunk){z[l[i + 1] - '1'], 2, 0, 0};
        }
        if (starts(l, n, i, "002"))
            return (struct chunk){S_ZERO_YDAY, 3, 0, 0};
        break;
    case '1':
        if (starts(l, n, i, "15"))
            return (struct chunk){S_HOUR, 2, 0, 0};
        return (struct chunk){S_NUM_MONTH, 1, 0, 0};
    case '2':
        if (starts(l, n, i, "2006"))
            return (struct chunk){S_LONG_YEAR, 4, 0, 0};
        return (struct chunk){S_DAY, 1, 0, 0};
    case '_':
        if (starts(l, n, i, "_2")) {
            if (starts(l, n, i + 1, "2006"))
                return c; /* '_' is literal, the year follows */
            return (struct chunk){S_UNDER_DAY, 2, 0, 0};
        }
        if (starts(l, n, i, "__2"))
            return (struct chunk){S_UNDER_YDAY, 3, 0, 0};
        break;
    case '3':
        return (struct chunk){S_HOUR12, 1, 0, 0};
    case '4':
        return (struct chunk){S_MINUTE, 1, 0, 0};
    case '5':
        return (struct chunk){S_SECOND, 1, 0, 0};
    case 'P':
        if (starts(l, n, i, "PM"))
            return (struct chunk){S_PM, 2, 0, 0};
        break;
    case 'p':
        if (starts(l, n, i, "pm"))
            return (struct chunk){S_pm, 2, 0, 0};
        break;
    case '-':
    case 'Z':
        for (int f = 0; f < 5; f++)
            if (starts(l, n, i + 1, zones[f]))
                return (struct chunk){l[i] == 'Z' ? S_ISO_TZ : S_NUM_TZ, 1 + strlen(zones[f]), f,
                                      0};
        break;
    case '.':
    case ',':
        if (i + 1 < n && (l[i + 1] == '0' || l[i + 1] == '9')) {
            char d = l[i + 1];
            size_t j = i + 1;
            while (j < n && l[j] == d)
                j++;
            if (!(j < n && l[j] >= '0' && l[j] <= '9'))
                return (struct chunk){d == '0' ? S_FRAC0 : S_FRAC9, j - i, 0, (int)(j - i - 1)};
        }
        break;
    default:
        break;
    }
    return c;
}

/* time.Time.Format in UTC. */
static void format_time(struct ks_buf *b, const struct gotime *t, const char *l, size_t n)
{
    struct civil c;
    civil_from_sec(&c, t->sec);
    for (size_t i = 0; i < n;) {
        struct chunk k = next_chunk(l, n, i);
        if (k.std == S_NONE) {
            ks_buf_putc(b, l[i++]);
            continue;
        }
        int h12 = c.hour % 12 == 0 ? 12 : c.hour % 12;
        switch (k.std) {
        case S_LONG_MONTH:
            ks_buf_puts(b, MONTHS[c.month - 1]);
            break;
        case S_MONTH:
            ks_buf_put(b, MONTHS[c.month - 1], 3);
            break;
        case S_NUM_MONTH:
            ks_buf_printf(b, "%d", c.month);
            break;
        case S_ZERO_MONTH:
            ks_buf_printf(b, "%02d", c.month);
            break;
        case S_LONG_WEEKDAY:
            ks_buf_puts(b, DAYS[c.wday]);
            break;
        case S_WEEKDAY:
            ks_buf_put(b, DAYS[c.wday], 3);
            break;
        case S_DAY:
            ks_buf_printf(b, "%d", c.day);
            break;
        case S_UNDER_DAY:
            ks_buf_printf(b, "%2d", c.day);
            break;
        case S_ZERO_DAY:
            ks_buf_printf(b, "%02d", c.day);
            break;
        case S_UNDER_YDAY:
            ks_buf_printf(b, "%3d", c.yday);
            break;
        case S_ZERO_YDAY:
            ks_buf_printf(b, "%03d", c.yday);
            break;
        case S_HOUR:
            ks_buf_printf(b, "%02d", c.hour);
            break;
        case S_HOUR12:
            ks_buf_printf(b, "%d", h12);
            break;
        case S_ZERO_HOUR12:
            ks_buf_printf(b, "%02d", h12);
            break;
        case S_MINUTE:
            ks_buf_printf(b, "%d", c.min);
            break;
        case S_ZERO_MINUTE:
            ks_buf_printf(b, "%02d", c.min);
            break;
        case S_SECOND:
            ks_buf_printf(b, "%d", c.sec);
            break;
        case S_ZERO_SECOND:
            ks_buf_printf(b, "%02d", c.sec);
            break;
        case S_LONG_YEAR:
            ks_buf_printf(b, "%04lld", (long long)c.year);
            break;
        case S_YEAR:
            ks_buf_printf(b, "%02lld", (long long)(c.year % 100));
            break;
        case S_PM:
            ks_buf_puts(b, c.hour >= 12 ? "PM" : "AM");
            break;
        case S_pm:
            ks_buf_puts(b, c.hour >= 12 ? "pm" : "am");
            break;
        case S_TZ:
            ks_buf_puts(b, "UTC");
            break;
        case S_ISO_TZ:
            ks_buf_putc(b, 'Z');
            break;
        case S_NUM_TZ: {
            static const char *const forms[] = {"+000000", "+00:00:00", "+0000", "+00:00", "+00"};
            ks_buf_puts(b, forms[k.zone_form]);
            break;
        }
        case S_FRAC0:
        case S_FRAC9: {
            char digits[16];
            snprintf(digits, sizeof(digits), "%09ld", t->nsec);
            int nd = k.digits > 9 ? 9 : k.digits;
            if (k.std == S_FRAC9) {
                while (nd > 0 && digits[nd - 1] == '0')
                    nd--;
                if (nd == 0)
                    break;
            }
            ks_buf_putc(b, l[i]);
            ks_buf_put(b, digits, (size_t)nd);
            break;
        }
        default:
            break;
        }
        i += k.len;
    }
}

/* Time.String() (without the monotonic clock reading). */
static int time_string(struct ks_buf *out, void *self)
{
    static const char layout[] = "2006-01-02 15:04:05.999999999 -0700 MST";
    format_time(out, self, layout, sizeof(layout) - 1);
    return ks_buf_error(out);
}

static int m_unix(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                  size_t nargs)
{
    return ks_funcs_ret(out, call, json_integer((json_int_t)((struct gotime *)self)->sec));
}

static int m_format(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                    size_t nargs)
{
    const char *l;
    size_t n;
    int rc = ks_funcs_arg_str(&l, &n, call, args[0]);
    if (rc)
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    format_time(&b, self, l, n);
    return ks_funcs_ret_buf(out, call, &b);
}

static int m_string(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                    size_t nargs)
{
    struct ks_buf b;
    ks_buf_init(&b, 256);
    time_string(&b, self);
    return ks_funcs_ret_buf(out, call, &b);
}

static const struct ks_tpl_method time_methods[] = {
    {"Unix", m_unix, 0, 0},
    {"Format", m_format, 1, 1},
    {"String", m_string, 0, 0},
    {NULL, NULL, 0, 0},
};

static const struct ks_tpl_host_type time_type = {
    .go_type = "time.Time",
    .methods = time_methods,
    .string = time_string,
    .release = free,
};

const char *ks_funcs_time_host_type(struct ks_tpl_call *call, const json_t *v)
{
    return ks_tpl_call_host_self(call, v, &time_type) ? time_type.go_type : NULL;
}

static int new_time(json_t **out, struct ks_tpl_call *call, int64_t sec, long nsec)
{
    struct gotime *t = malloc(sizeof(*t));
    if (!t)
        return ks_funcs_nomem(call);
    t->sec = sec;
    t->nsec = nsec;
    return ks_tpl_call_host_new(out, call, &time_type, t, NULL);
}

static struct gotime time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (struct gotime){(int64_t)ts.tv_sec, ts.tv_nsec};
}

KS_FUNCS_DECL(ks_funcs_now)
{
    struct gotime t = time_now();
    return new_time(out, call, t.sec, t.nsec);
}

/* dateInZone's date argument: a time, or Unix seconds as an int; anything
 * else means now. */
static struct gotime date_arg(struct ks_tpl_call *call, const json_t *v)
{
    struct gotime *t = ks_tpl_call_host_self(call, v, &time_type);
    if (t)
        return *t;
    if (json_is_integer(v))
        return (struct gotime){(int64_t)json_integer_value(v), 0};
    return time_now();
}

static int format_arg(json_t **out, struct ks_tpl_call *call, const json_t *layout,
                      const json_t *date, const json_t *zone)
{
    const char *l, *z;
    size_t n, zn;
    int rc;
    if ((rc = ks_funcs_arg_str(&l, &n, call, layout)) ||
        (zone && (rc = ks_funcs_arg_str(&z, &zn, call, zone))))
        return rc;
    struct gotime t = date_arg(call, date);
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    format_time(&b, &t, l, n);
    return ks_funcs_ret_buf(out, call, &b);
}

KS_FUNCS_DECL(ks_funcs_date)
{
    return format_arg(out, call, args[0], args[1], NULL);
}

KS_FUNCS_DECL(ks_funcs_date_in_zone)
{
    return format_arg(out, call, args[0], args[1], args[2]);
}

KS_FUNCS_DECL(ks_funcs_html_date)
{
    json_t *layout = json_string("2006-01-02");
    if (!layout)
        return ks_funcs_nomem(call);
    int rc = format_arg(out, call, layout, args[0], nargs > 1 ? args[1] : NULL);
    json_decref(layout);
    return rc;
}

KS_FUNCS_DECL(ks_funcs_unix_epoch)
{
    struct gotime *t = ks_tpl_call_host_self(call, args[0], &time_type);
    char tmp[32];
    if (!t)
        return ks_tpl_call_error(call, KS_EINVALID,
                                 "wrong type for value; expected time.Time; got %s",
                                 ks_funcs_gotype(args[0]));
    int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)t->sec);
    return ks_funcs_ret_str(out, call, tmp, (size_t)n);
}

/* time.Duration(sec * 1e9).String() for whole seconds. */
static void duration_string(struct ks_buf *b, int64_t sec)
{
    if (sec == 0) {
        ks_buf_puts(b, "0s");
        return;
    }
    uint64_t u = sec < 0 ? (uint64_t)0 - (uint64_t)sec : (uint64_t)sec;
    if (sec < 0)
        ks_buf_putc(b, '-');
    if (u >= 3600)
        ks_buf_printf(b, "%lluh", (unsigned long long)(u / 3600));
    if (u >= 60)
        ks_buf_printf(b, "%llum", (unsigned long long)(u % 3600 / 60));
    ks_buf_printf(b, "%llus", (unsigned long long)(u % 60));
}

/* ago: time.Since(t).Round(time.Second).String(). */
KS_FUNCS_DECL(ks_funcs_ago)
{
    struct gotime t = date_arg(call, args[0]), now = time_now();
    int64_t ns = (now.sec - t.sec) * 1000000000 + (now.nsec - t.nsec);
    int64_t sec = ns / 1000000000, rem = ns % 1000000000;
    if (rem >= 500000000)
        sec++;
    else if (rem <= -500000000)
        sec--;
    struct ks_buf b;
    ks_buf_init(&b, 64);
    duration_string(&b, sec);
    return ks_funcs_ret_buf(out, call, &b);
}

/* duration: Sprig accepts a string of seconds or an int64; other types
 * (an int literal, Go's int) count as 0. The value model cannot tell int
 * from int64, so integers are taken as Go's int, like literals. */
KS_FUNCS_DECL(ks_funcs_duration)
{
    int64_t sec = 0;
    if (json_is_string(args[0])) {
        char *end = NULL;
        const char *s = json_string_value(args[0]);
        long long v = strtoll(s, &end, 10);
        if (*s && end && !*end)
            sec = v;
    }
    struct ks_buf b;
    ks_buf_init(&b, 64);
    duration_string(&b, sec);
    return ks_funcs_ret_buf(out, call, &b);
}

/* Parses n digits (exactly when fixed, else 1..max) from v[*i]. */
static bool get_num(const char *v, size_t vn, size_t *i, int min_digits, int max_digits, int *out)
{
    int val = 0, d = 0;
    while (*i < vn && d < max_digits && v[*i] >= '0' && v[*i] <= '9') {
        val = val * 10 + (v[*i] - '0');
        (*i)++, d++;
    }
    if (d < min_digits)
        return false;
    *out = val;
    return true;
}

static bool get_name(const char *v, size_t vn, size_t *i, const char *const *names, int count,
                     bool abbrev, int *out)
{
    for (int k = 0; k < count; k++) {
        size_t len = abbrev ? 3 : strlen(names[k]);
        if (*i + len <= vn && strncasecmp(v + *i, names[k], len) == 0) {
            *i += len;
            *out = k;
            return true;
        }
    }
    return false;
}

/* time.Parse in UTC for the common layout elements. Returns 0, or
 * KS_EINVALID with Go's ParseError text in msg. */
static int parse_time(struct gotime *t, char *msg, size_t cap, const char *l, size_t ln,
                      const char *v, size_t vn)
{
    int year = 1, month = 1, day = 1, hour = 0, min = 0, sec = 0, pm = -1, yday = -1, off = 0, tmp;
    long nsec = 0;
    size_t i = 0, vi = 0, elem = 0; /* elem: length of the layout element at i */
    while (i < ln) {
        struct chunk k = next_chunk(l, ln, i);
        elem = k.len;
        if (k.std == S_NONE) {
            if (vi >= vn || v[vi] != l[i]) {
                /* Go names the whole literal run up to the next element */
                for (elem = 1; i + elem < ln && next_chunk(l, ln, i + elem).std == S_NONE; elem++)
                    ;
                goto bad;
            }
            i++, vi++;
            continue;
        }
        bool ok = true;
        switch (k.std) {
        case S_LONG_MONTH:
        case S_MONTH:
            ok = get_name(v, vn, &vi, MONTHS, 12, k.std == S_MONTH, &month);
            month++;
            break;
        case S_LONG_WEEKDAY:
        case S_WEEKDAY:
            ok = get_name(v, vn, &vi, DAYS, 7, k.std == S_WEEKDAY, &tmp);
            break;
        case S_NUM_MONTH:
        case S_ZERO_MONTH:
            ok = get_num(v, vn, &vi, k.std == S_ZERO_MONTH ? 2 : 1, 2, &month) && month >= 1 &&
                 month <= 12;
            break;
        case S_UNDER_DAY:
            if (vi < vn && v[vi] == ' ')
                vi++;
            /* fall through */
        case S_DAY:
        case S_ZERO_DAY:
            ok = get_num(v, vn, &vi, k.std == S_ZERO_DAY ? 2 : 1, 2, &day) && day >= 1 && day <= 31;
            break;
        case S_UNDER_YDAY:
        case S_ZERO_YDAY:
            while (k.std == S_UNDER_YDAY && vi < vn && v[vi] == ' ')
                vi++;
            ok = get_num(v, vn, &vi, k.std == S_ZERO_YDAY ? 3 : 1, 3, &yday);
            break;
        case S_HOUR:
            ok = get_num(v, vn, &vi, 2, 2, &hour) && hour < 24;
            break;
        case S_HOUR12:
        case S_ZERO_HOUR12:
            ok = get_num(v, vn, &vi, k.std == S_ZERO_HOUR12 ? 2 : 1, 2, &hour) && hour <= 12;
            break;
        case S_MINUTE:
        case S_ZERO_MINUTE:
            ok = get_num(v, vn, &vi, k.std == S_ZERO_MINUTE ? 2 : 1, 2, &min) && min < 60;
            break;
        case S_SECOND:
        case S_ZERO_SECOND:
            ok = get_num(v, vn, &vi, k.std == S_ZERO_SECOND ? 2 : 1, 2, &sec) && sec < 60;
            /* Go accepts a fractional second after seconds even if the
             * layout has none */
            if (ok && vi + 1 < vn && (v[vi] == '.' || v[vi] == ',') && v[vi + 1] >= '0' &&
                v[vi + 1] <= '9' &&
                !(i + k.len < ln && (l[i + k.len] == '.' || l[i + k.len] == ','))) {
                vi++;
                long scale = 100000000;
                while (vi < vn && v[vi] >= '0' && v[vi] <= '9') {
                    nsec += (v[vi++] - '0') * scale;
                    scale /= 10;
                }
            }
            break;
        case S_LONG_YEAR:
            ok = vi + 4 <= vn && get_num(v, vn, &vi, 4, 4, &year);
            break;
        case S_YEAR:
            ok = get_num(v, vn, &vi, 2, 2, &year);
            year += year >= 69 ? 1900 : 2000;
            break;
        case S_PM:
        case S_pm:
            if (vi + 2 <= vn && strncasecmp(v + vi, "PM", 2) == 0)
                pm = 1;
            else if (vi + 2 <= vn && strncasecmp(v + vi, "AM", 2) == 0)
                pm = 0;
            else
                ok = false;
            vi += 2;
            break;
        case S_TZ:
            ok = vi + 3 <= vn && memcmp(v + vi, "UTC", 3) == 0;
            vi += 3;
            break;
        case S_ISO_TZ:
            if (vi < vn && v[vi] == 'Z') {
                vi++;
                break;
            }
            /* fall through */
        case S_NUM_TZ: {
            if (vi >= vn || (v[vi] != '+' && v[vi] != '-')) {
                ok = false;
                break;
            }
            int sign = v[vi++] == '-' ? -1 : 1, hh = 0, mm = 0, ss = 0;
            ok = get_num(v, vn, &vi, 2, 2, &hh);
            if (ok && k.zone_form != 4) {
                if (k.zone_form == 1 || k.zone_form == 3)
                    ok = vi < vn && v[vi++] == ':';
                ok = ok && get_num(v, vn, &vi, 2, 2, &mm);
            }
            if (ok && k.zone_form <= 1) {
                if (k.zone_form == 1)
                    ok = vi < vn && v[vi++] == ':';
                ok = ok && get_num(v, vn, &vi, 2, 2, &ss);
            }
            off = sign * (hh * 3600 + mm * 60 + ss);
            break;
        }
        case S_FRAC0:
        case S_FRAC9: {
            if (vi >= vn || (v[vi] != '.' && v[vi] != ',')) {
                ok = k.std == S_FRAC9;
                break;
            }
            vi++;
            long scale = 100000000;
            int d = 0;
            while (vi < vn && v[vi] >= '0' && v[vi] <= '9') {
                if (scale)
                    nsec += (v[vi] - '0') * scale;
                scale /= 10;
                vi++, d++;
            }
            ok = k.std == S_FRAC9 ? d > 0 : d == k.digits;
            break;
        }
        default:
            break;
        }
        if (!ok)
            goto bad;
        i += k.len;
    }
    if (vi != vn) {
        snprintf(msg, cap, "parsing time \"%.*s\": extra text: \"%.*s\"", (int)vn, v,
                 (int)(vn - vi), v + vi);
        return KS_EINVALID;
    }
    if (pm == 1 && hour < 12)
        hour += 12;
    else if (pm == 0 && hour == 12)
        hour = 0;
    int64_t days = days_from_civil(year, month, day);
    if (yday > 0)
        days = days_from_civil(year, 1, 1) + yday - 1;
    t->sec = days * 86400 + hour * 3600 + min * 60 + sec - off;
    t->nsec = nsec;
    return 0;
bad:
    snprintf(msg, cap, "parsing time \"%.*s\" as \"%.*s\": cannot parse \"%.*s\" as \"%.*s\"",
             (int)vn, v, (int)ln, l, (int)(vn > vi ? vn - vi : 0), v + (vn > vi ? vi : vn),
             (int)elem, l + i);
    return KS_EINVALID;
}

static int to_date(json_t **out, struct ks_tpl_call *call, json_t *const *args, bool must)
{
    const char *l, *v;
    size_t ln, vn;
    char msg[512];
    struct gotime t;
    int rc;
    if ((rc = ks_funcs_args_str_str(&l, &ln, &v, &vn, call, args)))
        return rc;
    if (parse_time(&t, msg, sizeof(msg), l, ln, v, vn)) {
        if (must)
            return ks_tpl_call_error(call, KS_EINVALID, "%s", msg);
        t.sec = days_from_civil(1, 1, 1) * 86400; /* Go's zero time */
        t.nsec = 0;
    }
    return new_time(out, call, t.sec, t.nsec);
}

KS_FUNCS_DECL(ks_funcs_to_date)
{
    return to_date(out, call, args, false);
}

KS_FUNCS_DECL(ks_funcs_must_to_date)
{
    return to_date(out, call, args, true);
}

/* time.ParseDuration into nanoseconds. 0, or KS_EINVALID with Go's message
 * in msg. */
static int parse_duration(int64_t *out, char *msg, size_t cap, const char *s, size_t n)
{
    static const struct {
        const char *name;
        double ns;
    } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
                 {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
    size_t i = 0;
    bool neg = false;
    double total = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    if (n - i == 1 && s[i] == '0') {
        *out = 0;
        return 0;
    }
    if (i == n)
        goto invalid;
    while (i < n) {
        double v = 0, scale = 1;
        bool digits = false;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            v = v * 10 + (s[i++] - '0'), digits = true;
        if (i < n && s[i] == '.') {
            i++;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                scale /= 10;
                v += (s[i++] - '0') * scale;
                digits = true;
            }
        }
        if (!digits)
            goto invalid;
        size_t u = i;
        while (u < n && s[u] != '.' && (s[u] < '0' || s[u] > '9'))
            u++;
        if (u == i) {
            snprintf(msg, cap, "time: missing unit in duration \"%.*s\"", (int)n, s);
            return KS_EINVALID;
        }
        double mult = 0;
        for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++)
            if (strlen(units[k].name) == u - i && memcmp(units[k].name, s + i, u - i) == 0)
                mult = units[k].ns;
        if (mult == 0) {
            snprintf(msg, cap, "time: unknown unit \"%.*s\" in duration \"%.*s\"", (int)(u - i),
                     s + i, (int)n, s);
            return KS_EINVALID;
        }
        total += v * mult;
        if (total > 9.223372036854775807e18)
            goto invalid;
        i = u;
    }
    *out = (int64_t)(neg ? -total : total);
    return 0;
invalid:
    snprintf(msg, cap, "time: invalid duration \"%.*s\"", (int)n, s);
    return KS_EINVALID;
}

/* durationRound: the largest whole unit of a duration (string, time or
 * int64 nanoseconds; an int is Go's int and counts as 0). */
KS_FUNCS_DECL(ks_funcs_duration_round)
{
    int64_t d = 0;
    char msg[256];
    struct gotime *t = ks_tpl_call_host_self(call, args[0], &time_type);
    if (json_is_string(args[0])) {
        if (parse_duration(&d, msg, sizeof(msg), json_string_value(args[0]),
                           json_string_length(args[0])))
            d = 0;
    } else if (t) {
        struct gotime now = time_now();
        d = (now.sec - t->sec) * 1000000000 + (now.nsec - t->nsec);
    }
    uint64_t u = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
    static const struct {
        uint64_t ns;
        const char *unit;
    } steps[] = {{3600ULL * 24 * 365 * 1000000000, "y"},
                 {3600ULL * 24 * 30 * 1000000000, "mo"},
                 {3600ULL * 24 * 1000000000, "d"},
                 {3600ULL * 1000000000, "h"},
                 {60ULL * 1000000000, "m"},
                 {1000000000ULL, "s"}};
    char tmp[32];
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (u > steps[i].ns) {
            int len = snprintf(tmp, sizeof(tmp), "%llu%s", (unsigned long long)(u / steps[i].ns),
                               steps[i].unit);
            return ks_funcs_ret_str(out, call, tmp, (size_t)len);
        }
    return ks_funcs_ret_str(out, call, "0s", 2);
}

/* dateModify "-1.5h" $t: the time moved by a Go duration; a bad duration
 * returns the time unchanged (mustDateModify reports it). */
static int date_modify(json_t **out, struct ks_tpl_call *call, json_t *const *args, bool must)
{
    const char *s;
    size_t n;
    int64_t d;
    char msg[256];
    int rc = ks_funcs_arg_str(&s, &n, call, args[0]);
    if (rc)
        return rc;
    struct gotime *t = ks_tpl_call_host_self(call, args[1], &time_type);
    if (!t)
        return ks_tpl_call_error(call, KS_EINVALID,
                                 "wrong type for value; expected time.Time; got %s",
                                 ks_funcs_gotype(args[1]));
    if (parse_duration(&d, msg, sizeof(msg), s, n)) {
        if (must)
            return ks_tpl_call_error(call, KS_EINVALID, "%s", msg);
        *out = json_incref(args[1]);
        return 0;
    }
    int64_t ns = t->nsec + d % 1000000000;
    int64_t sec = t->sec + d / 1000000000 + ns / 1000000000;
    ns %= 1000000000;
    if (ns < 0)
        ns += 1000000000, sec--;
    return new_time(out, call, sec, (long)ns);
}

KS_FUNCS_DECL(ks_funcs_date_modify)
{
    return date_modify(out, call, args, false);
}

KS_FUNCS_DECL(ks_funcs_must_date_modify)
{
    return date_modify(out, call, args, true);
}
