/*
 * svg.c: bar charts drawn as inline SVG on the server side, so the charts
 * show without JavaScript and without any charting library. Each chart has
 * role="img", a <title> and a visually hidden table-free text summary for
 * screen readers; bars carry <title> tooltips with their exact values.
 */
#include "reconciler/dashboard/internal.h"

#include <stdio.h>

#define CHART_W 640
#define CHART_H 180
#define PAD_L 44
#define PAD_B 36
#define PAD_T 12

static double value_of(const json_t *p, const char *key)
{
    return json_number_value(json_object_get(p, key));
}

void ks_svg_bars(struct ks_buf *b, const json_t *points, const char *label_key,
                 const char *value_key, const char *title, const char *unit)
{
    size_t n = json_array_size(points);
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (value_of(json_array_get(points, i), value_key) > max)
            max = value_of(json_array_get(points, i), value_key);
    ks_buf_printf(b,
                  "<figure class=\"chart\"><svg viewBox=\"0 0 %d %d\" role=\"img\" "
                  "aria-label=\"",
                  CHART_W, CHART_H);
    ks_html_escape(b, title);
    ks_buf_puts(b, "\"><title>");
    ks_html_escape(b, title);
    ks_buf_puts(b, "</title>");
    if (n == 0) {
        ks_buf_printf(b, "<text x=\"%d\" y=\"%d\" class=\"empty\">no data yet</text></svg>",
                      CHART_W / 2 - 40, CHART_H / 2);
    } else {
        double plot_w = CHART_W - PAD_L - 8, plot_h = CHART_H - PAD_B - PAD_T;
        double slot = plot_w / (double)n, bar = slot * 0.7;
        ks_buf_printf(b,
                      "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>"
                      "<text x=\"2\" y=\"%d\" class=\"tick\">%.0f%s</text>"
                      "<text x=\"2\" y=\"%d\" class=\"tick\">0</text>",
                      PAD_L, CHART_H - PAD_B, CHART_W - 8, CHART_H - PAD_B, PAD_T + 10, max, unit,
                      CHART_H - PAD_B);
        for (size_t i = 0; i < n; i++) {
            const json_t *p = json_array_get(points, i);
            double v = value_of(p, value_key);
            double h = max > 0 ? v / max * plot_h : 0;
            double x = PAD_L + slot * (double)i + (slot - bar) / 2;
            ks_buf_printf(b,
                          "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                          "height=\"%.1f\"><title>",
                          x, CHART_H - PAD_B - h, bar, h < 1 && v > 0 ? 1.0 : h);
            ks_html_escape(b, json_string_value(json_object_get(p, label_key)));
            ks_buf_printf(b, ": %g%s</title></rect>", v, unit);
            if (n <= 16 || i % (n / 8 + 1) == 0) {
                ks_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" class=\"tick\">", x,
                              CHART_H - PAD_B + 14);
                ks_html_escape(b, json_string_value(json_object_get(p, label_key)));
                ks_buf_puts(b, "</text>");
            }
        }
        ks_buf_puts(b, "</svg>");
    }
    ks_buf_puts(b, "<figcaption>");
    ks_html_escape(b, title);
    if (n) {
        ks_buf_printf(b, " (%zu points, highest %g%s)", n, max, unit);
    }
    ks_buf_puts(b, "</figcaption></figure>\n");
}
