/* Hand-written SVG charts: "nice" tick steps, XML escaping, one <g> per series. */
#define _POSIX_C_SOURCE 200809L
#include "svg.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Geometry in SVG user units (pixels). */
#define PANEL_W      480.0
#define PANEL_H      400.0
#define TITLE_H      36.0 /* room above the panels for the chart title */
#define M_LEFT       70.0 /* room for y tick labels and the rotated y label */
#define M_RIGHT      20.0
#define M_TOP        36.0  /* panel title */
#define M_BOTTOM     52.0  /* x tick labels and the x label */
#define TARGET_TICKS 5.0   /* about this many intervals per axis */
#define LEGEND_W     150.0 /* fits "train accuracy" and "test accuracy" at 12 px */
#define MAX_TICKS    64    /* bound on tick loops whatever the data (about 5 are drawn) */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF), 0 if it is not one. */
static size_t utf8_len(const unsigned char *s) {
    const unsigned c = s[0];
    size_t n;
    unsigned min, cp;
    if (c >= 0xc2 && c <= 0xdf) n = 2, min = 0x80, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) n = 3, min = 0x800, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) n = 4, min = 0x10000, cp = c & 0x07;
    else return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0; /* also stops at the NUL */
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

/* Text content or attribute value: XML-escaped, control characters as
 * spaces, bytes that are not UTF-8 (a file name in another encoding) as
 * U+FFFD, so the SVG is always well-formed. */
static void put_escaped(FILE *f, const char *s) {
    for (; s && *s; s++) {
        if ((unsigned char)*s >= 0x80) {
            size_t n = utf8_len((const unsigned char *)s);
            if (n) {
                fwrite(s, 1, n, f);
                s += n - 1;
            } else {
                fputs("\xEF\xBF\xBD", f);
            }
            continue;
        }
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        default:
            /* XML 1.0 forbids most control characters even escaped */
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, f);
            else
                fputc(' ', f);
        }
    }
}

/* The tick step 1, 2 or 5 times a power of ten closest to span / TARGET_TICKS
 * (the usual "nice numbers" choice for axis labels). */
static double nice_step(double span) {
    double raw = span / TARGET_TICKS;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    double nice = f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0;
    return nice * mag;
}

typedef struct axis {
    double lo, hi, step;
    int decimals;
} axis;

/* An axis over [lo, hi] expanded to whole steps; a zero span is widened. */
static axis make_axis(double lo, double hi, int integer) {
    axis a;
    if (!(hi > lo)) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1.0;
        lo -= pad;
        hi += pad;
    }
    a.step = nice_step(hi - lo);
    if (integer && a.step < 1.0) a.step = 1.0;
    a.lo = floor(lo / a.step) * a.step;
    a.hi = ceil(hi / a.step) * a.step;
    a.decimals = a.step >= 1.0 ? 0 : (int)ceil(-log10(a.step) - 1e-9);
    return a;
}

static void tick_label(char *buf, size_t cap, double v, const axis *a, int percent) {
    if (fabs(v) < a->step * 1e-9) v = 0; /* no "-0" */
    if (percent) {
        int d = a->decimals > 2 ? a->decimals - 2 : 0;
        snprintf(buf, cap, "%.*f%%", d, v * 100.0);
    } else {
        snprintf(buf, cap, "%.*f", a->decimals, v);
    }
}

static void draw_panel(FILE *f, const svg_panel *p, double ox, double oy) {
    size_t n = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t s = 0; s < p->n_series; s++) {
        if (p->series[s].n > n) n = p->series[s].n;
        for (size_t i = 0; i < p->series[s].n; i++) {
            double v = p->series[s].y[i];
            if (!isfinite(v)) continue;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
    }
    if (!isfinite(lo)) lo = hi = 0;
    if (p->percent && hi > 1.0 - 1e-12 && hi <= 1.0) hi = 1.0;
    axis ya = make_axis(lo, hi, 0);
    /* x: epochs e0 .. e0 + n - 1; a single epoch is shown in the middle */
    double e0 = p->first_epoch ? (double)p->first_epoch : 1.0; /* epoch of y[0] */
    axis xa = n >= 2 ? make_axis(e0, e0 + (double)(n - 1), 1) : make_axis(e0 - 1, e0 + 1, 1);

    double x0 = ox + M_LEFT, x1 = ox + PANEL_W - M_RIGHT;
    double y0 = oy + PANEL_H - M_BOTTOM, y1 = oy + M_TOP;
#define SX(v) (x0 + ((v)-xa.lo) / (xa.hi - xa.lo) * (x1 - x0))
#define SY(v) (y0 - ((v)-ya.lo) / (ya.hi - ya.lo) * (y0 - y1))

    fprintf(f,
            "<g class=\"panel\">\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
            "font-size=\"15\" font-weight=\"bold\">",
            (x0 + x1) / 2, oy + 22);
    put_escaped(f, p->title);
    fputs("</text>\n", f);
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#444\"/>\n",
            x0, y1, x1 - x0, y0 - y1);

    char buf[64];
    /* y ticks and horizontal grid lines */
    for (int k = 0; k < MAX_TICKS; k++) {
        double v = ya.lo + k * ya.step;
        if (v > ya.hi + ya.step * 1e-6) break;
        double y = SY(v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x0,
                y, x1, y);
        tick_label(buf, sizeof buf, v, &ya, p->percent);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\">%s</text>\n",
                x0 - 6, y + 4, buf);
    }
    /* x ticks at whole epochs */
    for (int k = 0; k < MAX_TICKS; k++) {
        double v = xa.lo + k * xa.step;
        if (v > xa.hi + 1e-9) break;
        double x = SX(v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", x,
                y0, x, y0 + 5);
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">%.0f</text>\n",
                x, y0 + 19, v);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\">epoch</text>\n",
            (x0 + x1) / 2, y0 + 40);
    fprintf(f,
            "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" "
            "font-size=\"13\">",
            ox + 16, (y0 + y1) / 2);
    put_escaped(f, p->ylabel);
    fputs("</text>\n", f);

    /* series: polylines broken at NaN, a marker on every point */
    for (size_t s = 0; s < p->n_series; s++) {
        const svg_series *se = &p->series[s];
        fputs("<g class=\"series\" data-label=\"", f);
        put_escaped(f, se->label);
        fprintf(f, "\" stroke=\"%s\" fill=\"%s\">\n", se->color, se->color);
        int open = 0;
        for (size_t i = 0; i < se->n; i++) {
            double v = se->y[i];
            if (!isfinite(v)) {
                if (open) fputs("\"/>\n", f);
                open = 0;
                continue;
            }
            if (!open)
                fprintf(f, "<polyline fill=\"none\" stroke-width=\"2\"%s points=\"",
                        se->dashed ? " stroke-dasharray=\"6 4\"" : "");
            fprintf(f, "%s%.2f,%.2f", open ? " " : "", SX(e0 + (double)i), SY(v));
            open = 1;
        }
        if (open) fputs("\"/>\n", f);
        for (size_t i = 0; i < se->n; i++)
            if (isfinite(se->y[i]))
                fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\"/>\n", SX(e0 + (double)i),
                        SY(se->y[i]));
        fputs("</g>\n", f);
    }

    /* legend: the corner of the plot area that covers the fewest points
     * (loss curves fall to the bottom right, accuracy rises to the top right) */
    double lw = LEGEND_W, lh = 8.0 + 18.0 * (double)p->n_series;
    double corners[4][2] = {
        {x1 - lw - 8, y1 + 8}, {x1 - lw - 8, y0 - lh - 8}, {x0 + 8, y1 + 8}, {x0 + 8, y0 - lh - 8}};
    size_t best = 0, best_count = SIZE_MAX;
    for (size_t c = 0; c < 4; c++) {
        size_t count = 0;
        for (size_t s = 0; s < p->n_series; s++)
            for (size_t i = 0; i < p->series[s].n; i++) {
                double v = p->series[s].y[i];
                if (!isfinite(v)) continue;
                double px = SX(e0 + (double)i), py = SY(v);
                /* a point counts when it falls within the box plus a margin */
                if (px >= corners[c][0] - 10 && px <= corners[c][0] + lw + 10 &&
                    py >= corners[c][1] - 10 && py <= corners[c][1] + lh + 10)
                    count++;
            }
        if (count < best_count) {
            best = c;
            best_count = count;
        }
    }
    double lx = corners[best][0], ly = corners[best][1];
    fprintf(f,
            "<g class=\"legend\">\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n",
            lx, ly, lw, lh);
    for (size_t s = 0; s < p->n_series; s++) {
        const svg_series *se = &p->series[s];
        double y = ly + 16 + 18.0 * (double)s;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"2\"%s/>\n",
                lx + 8, y - 4, lx + 36, y - 4, se->color,
                se->dashed ? " stroke-dasharray=\"6 4\"" : "");
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">", lx + 42, y);
        put_escaped(f, se->label);
        fputs("</text>\n", f);
    }
    fputs("</g>\n</g>\n", f);
#undef SX
#undef SY
}

int svg_write(const char *path, const char *title, const svg_panel *panels, size_t n_panels) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    double w = PANEL_W * (double)n_panels, h = PANEL_H + TITLE_H;
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n",
            w, h, w, h);
    fprintf(f, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n", w, h);
    if (title) {
        fprintf(f, "<text x=\"%.1f\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">", w / 2);
        put_escaped(f, title);
        fputs("</text>\n", f);
    }
    for (size_t i = 0; i < n_panels; i++) draw_panel(f, &panels[i], PANEL_W * (double)i, TITLE_H);
    fputs("</svg>\n", f);
    int bad = ferror(f);
    if (fclose(f) != 0) bad = 1;
    if (bad) {
        if (!errno) errno = EIO;
        return -1;
    }
    return 0;
}
