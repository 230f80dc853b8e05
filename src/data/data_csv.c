/* CSV: one sample per non-blank line, fields split by a one-character
 * delimiter, optionally double-quoted ("" inside quotes is a quote; a quoted
 * field cannot span lines), blanks around fields ignored, CR LF accepted, a
 * UTF-8 byte-order mark skipped.
 *
 * Two passes over the text: the first counts rows and checks that every row
 * has as many fields as the first, the second parses into arrays allocated
 * from those counts. A row of k fields takes at least k bytes (k - 1
 * delimiters and a line end), so rows x columns <= text length: the
 * allocation is bounded by the input, whatever it holds. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "error.h"

/* Largest class count (labels 0 .. 2^20 - 1): the widest layer a model
 * file accepts (docs/model-format.md), so any label fits a network. */
#define CSV_MAX_CLASSES ((size_t)1 << 20)
/* Longest number we parse; longer fields are rejected, not truncated. */
#define NUM_CAP 128
/* Longest class name (a model file's limit, docs/model-format.md). */
#define CSV_MAX_NAME 255u

typedef struct span {
    const char *p;
    size_t n;
} span;

typedef struct csv {
    const char *buf, *end, *name;
    const char *pos; /* start of the next line */
    size_t line;     /* number of the line last returned, 1-based */
    char delim;
} csv;

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Next line without its terminator (and CR); 0 at the end of the text. */
static int next_line(csv *c, span *line) {
    if (c->pos >= c->end) return 0;
    const char *nl = memchr(c->pos, '\n', (size_t)(c->end - c->pos));
    const char *stop = nl ? nl : c->end;
    line->p = c->pos;
    line->n = (size_t)(stop - c->pos);
    if (line->n && line->p[line->n - 1] == '\r') line->n--;
    c->pos = nl ? nl + 1 : c->end;
    c->line++;
    return 1;
}

static int line_blank(span l) {
    for (size_t i = 0; i < l.n; i++)
        if (!is_blank(l.p[i])) return 0;
    return 1;
}

/* Splits off the next field of *rest into *field (blanks trimmed, quotes
 * kept). Returns 0 when the line is exhausted, -1 for an unterminated quote. */
static int next_field(span *rest, char delim, int *more, span *field) {
    if (!*more) return 0;
    const char *p = rest->p, *e = rest->p + rest->n;
    while (p < e && is_blank(*p)) p++;
    const char *start = p;
    if (p < e && *p == '"') {
        p++;
        for (;;) {
            if (p >= e) return -1;
            if (*p == '"') {
                if (p + 1 < e && p[1] == '"') {
                    p += 2;
                    continue;
                }
                p++;
                break;
            }
            p++;
        }
    }
    while (p < e && *p != delim) p++;
    const char *fe = p;
    while (fe > start && is_blank(fe[-1])) fe--;
    field->p = start;
    field->n = (size_t)(fe - start);
    *more = p < e; /* stopped at a delimiter: another field follows */
    rest->p = p < e ? p + 1 : e;
    rest->n = (size_t)(e - rest->p);
    return 1;
}

/* Copies a field for display in a message: non-printing bytes as '?',
 * long fields cut with "...". */
static const char *show(span f, char *out, size_t cap) {
    size_t n = f.n < cap - 4 ? f.n : cap - 4, i;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)f.p[i];
        out[i] = ch >= 32 && ch < 127 ? (char)ch : '?';
    }
    if (n < f.n) out[i++] = '.', out[i++] = '.', out[i++] = '.';
    out[i] = '\0';
    return out;
}

/* Strips one pair of surrounding quotes. */
static span unquote(span f) {
    if (f.n >= 2 && f.p[0] == '"' && f.p[f.n - 1] == '"') {
        f.p++;
        f.n -= 2;
    }
    return f;
}

/* Decimal grammar: [+-] digits [. digits] [(e|E) [+-] digits], at least
 * one mantissa digit. Rejects nan, inf, hex floats and empty fields before
 * strtod/strtof see them. */
static int numeric_syntax(span f) {
    size_t i = 0, digits = 0;
    if (i < f.n && (f.p[i] == '+' || f.p[i] == '-')) i++;
    while (i < f.n && f.p[i] >= '0' && f.p[i] <= '9') i++, digits++;
    if (i < f.n && f.p[i] == '.') {
        i++;
        while (i < f.n && f.p[i] >= '0' && f.p[i] <= '9') i++, digits++;
    }
    if (!digits) return 0;
    if (i < f.n && (f.p[i] == 'e' || f.p[i] == 'E')) {
        i++;
        if (i < f.n && (f.p[i] == '+' || f.p[i] == '-')) i++;
        size_t ed = 0;
        while (i < f.n && f.p[i] >= '0' && f.p[i] <= '9') i++, ed++;
        if (!ed) return 0;
    }
    return i == f.n;
}

enum { NUM_OK, NUM_BAD, NUM_RANGE, NUM_LONG };

/* Parses a field as float (and as double into *dv for label checks). The
 * caller has switched the thread to the "C" locale. */
static int parse_number(span f, float *fv, double *dv) {
    f = unquote(f);
    if (!numeric_syntax(f)) return NUM_BAD;
    if (f.n >= NUM_CAP) return NUM_LONG;
    char tmp[NUM_CAP];
    memcpy(tmp, f.p, f.n);
    tmp[f.n] = '\0';
    errno = 0;
    float v = strtof(tmp, NULL);
    if (isinf(v)) return NUM_RANGE; /* overflow; underflow to 0/subnormal is fine */
    *fv = v;
    if (dv) {
        double d = strtod(tmp, NULL);
        if (isinf(d)) return NUM_RANGE;
        *dv = d;
    }
    return NUM_OK;
}

/* Counts the fields of a line; -1 on an unterminated quote. */
static long count_fields(span l, char delim) {
    span rest = l, f;
    int more = 1, r;
    long n = 0;
    while ((r = next_field(&rest, delim, &more, &f)) == 1) n++;
    return r < 0 ? -1 : n;
}

static int line_all_numeric(span l, char delim) {
    span rest = l, f;
    int more = 1;
    float v;
    while (next_field(&rest, delim, &more, &f) == 1)
        if (parse_number(f, &v, NULL) == NUM_BAD) return 0;
    return 1;
}

/* Header detection: the first line is a header when one of its fields is
 * not a number while the same field of the next line is one (so text class
 * labels do not make a header); with no next line, when any field is not a
 * number. */
static int looks_like_header(const csv *c, span first) {
    csv peek = *c; /* c->pos is just past the first line */
    span next;
    int have = 0;
    while (next_line(&peek, &next))
        if (!line_blank(next)) {
            have = 1;
            break;
        }
    if (!have) return !line_all_numeric(first, c->delim);
    span r1 = first, r2 = next, f1, f2;
    int m1 = 1, m2 = 1;
    float v;
    while (next_field(&r1, c->delim, &m1, &f1) == 1) {
        int second = next_field(&r2, c->delim, &m2, &f2) == 1;
        if (parse_number(f1, &v, NULL) == NUM_BAD &&
            (!second || parse_number(f2, &v, NULL) != NUM_BAD))
            return 1;
    }
    return 0;
}

/* The layout pass: columns, header, rows. */
typedef struct layout {
    size_t cols, rows;
    int header;
} layout;

static nerve_status scan(csv *c, const nerve_csv_opts *o, layout *lay) {
    span l;
    memset(lay, 0, sizeof *lay);
    int first = 1;
    while (next_line(c, &l)) {
        if (line_blank(l)) continue;
        long n = count_fields(l, c->delim);
        if (n < 0)
            return error_set(NERVE_EFORMAT, "%s line %zu: unterminated quote", c->name, c->line);
        if (first) {
            lay->cols = (size_t)n;
            lay->header = o->header == NERVE_CSV_HEADER_PRESENT ||
                          (o->header == NERVE_CSV_HEADER_AUTO && looks_like_header(c, l));
            first = 0;
            if (lay->header) continue;
        } else if ((size_t)n != lay->cols) {
            /* checked here, before allocating: rows x columns then stays
             * below the text length (each field costs a byte or a delimiter) */
            size_t col = (size_t)n < lay->cols ? (size_t)n + 1 : lay->cols + 1;
            return error_set(NERVE_EFORMAT,
                             "%s line %zu column %zu: row has %ld columns, expected %zu", c->name,
                             c->line, col, n, lay->cols);
        }
        lay->rows++;
    }
    if (lay->rows == 0) return error_set(NERVE_EFORMAT, "%s: no data rows", c->name);
    return NERVE_OK;
}

/* Where the label / target block starts, from the 1-based option. */
static nerve_status label_start(const csv *c, const nerve_csv_opts *o, size_t cols, size_t k,
                                size_t *start) {
    if (k >= cols)
        return error_set(NERVE_EFORMAT,
                         "%s: %zu columns leave no feature beside %zu label/target column(s)",
                         c->name, cols, k);
    /* cols <= text length < 2^31 and k < cols: no overflow below */
    long lc = o->label_column;
    long cl = (long)cols, kl = (long)k;
    long s = lc == 0 ? cl - kl : lc > 0 ? lc - 1 : cl + lc;
    if (s < 0 || s > cl - kl)
        return error_set(
            NERVE_EFORMAT,
            "%s: label column %ld (with %zu target column(s)) is outside the %zu columns", c->name,
            lc, k, cols);
    *start = (size_t)s;
    return NERVE_OK;
}

/* Byte order of a span against a span (memcmp, then the shorter first):
 * the order of strcmp for text without NUL bytes. */
static int span_cmp(span a, span b) {
    int r = memcmp(a.p, b.p, a.n < b.n ? a.n : b.n);
    return r ? r : a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
}
static int span_qcmp(const void *a, const void *b) {
    return span_cmp(*(const span *)a, *(const span *)b);
}

/* A class name and its index, sorted by name for lookups. */
typedef struct named {
    span s;
    size_t index;
} named;
static int named_qcmp(const void *a, const void *b) {
    return span_cmp(((const named *)a)->s, ((const named *)b)->s);
}

/* The label column named o->label_name in the header line. */
static nerve_status label_by_name(csv *c, const nerve_csv_opts *o, const layout *lay, size_t k,
                                  size_t *start) {
    if (!lay->header)
        return error_set(NERVE_EFORMAT, "%s: no header line to find the label column \"%.64s\" in",
                         c->name, o->label_name);
    c->pos = c->buf;
    c->line = 0;
    span l, f, want = {o->label_name, strlen(o->label_name)};
    do {
        if (!next_line(c, &l)) return error_set(NERVE_EFORMAT, "%s: no header line", c->name);
    } while (line_blank(l));
    span rest = l;
    int more = 1;
    for (size_t col = 0; next_field(&rest, c->delim, &more, &f) == 1; col++)
        if (span_cmp(unquote(f), want) == 0) {
            if (col + k > lay->cols)
                return error_set(NERVE_EFORMAT,
                                 "%s: column \"%.64s\" is too far right for %zu target columns",
                                 c->name, o->label_name, k);
            if (k >= lay->cols)
                return error_set(NERVE_EFORMAT, "%s: no feature beside the label column", c->name);
            *start = col;
            return NERVE_OK;
        }
    return error_set(NERVE_EFORMAT, "%s: the header has no column named \"%.64s\"", c->name,
                     o->label_name);
}

/* The parsing pass into d; rows were counted by scan(). */
/* Class labels as found, resolved to indices once every row is read. */
typedef struct label_spans {
    span *f;      /* the label field of each row (quotes kept) */
    size_t *line; /* its line number */
} label_spans;

static nerve_status fill(csv *c, const nerve_csv_opts *o, const layout *lay, size_t start, size_t k,
                         nerve_data *d, label_spans *ls) {
    int regression = o->targets > 0;
    float scale = o->feature_scale != 0.0f ? o->feature_scale : 1.0f;
    size_t row = 0;
    int skipped_header = !lay->header;
    span l, f;
    char shown[48];
    while (next_line(c, &l)) {
        if (line_blank(l)) continue;
        if (!skipped_header) {
            skipped_header = 1;
            continue;
        }
        span rest = l;
        int more = 1, r;
        size_t col = 0, feat = 0;
        float *xr = d->x + row * d->in;
        while ((r = next_field(&rest, c->delim, &more, &f)) == 1) {
            if (col >= lay->cols)
                return error_set(
                    NERVE_EFORMAT,
                    "%s line %zu column %zu: more than the %zu columns of the first row", c->name,
                    c->line, col + 1, lay->cols);
            int is_label = col >= start && col < start + k;
            float v = 0;
            if (is_label && !regression) {
                ls->f[row] = f;
                ls->line[row] = c->line;
                col++;
                continue;
            }
            int pr = parse_number(f, &v, NULL);
            if (pr != NUM_OK)
                return error_set(NERVE_EFORMAT, "%s line %zu column %zu: \"%s\" %s", c->name,
                                 c->line, col + 1, show(f, shown, sizeof shown),
                                 pr == NUM_RANGE  ? "is out of the float range"
                                 : pr == NUM_LONG ? "is too long for a number"
                                                  : "is not a number");
            if (!is_label) {
                float sv = v * scale;
                if (!isfinite(sv))
                    return error_set(
                        NERVE_EFORMAT,
                        "%s line %zu column %zu: \"%s\" times the feature scale overflows", c->name,
                        c->line, col + 1, show(f, shown, sizeof shown));
                xr[feat++] = sv;
            } else {
                d->y[row * k + (col - start)] = v;
            }
            col++;
        }
        if (r < 0)
            return error_set(NERVE_EFORMAT, "%s line %zu: unterminated quote", c->name, c->line);
        if (col != lay->cols)
            return error_set(NERVE_EFORMAT,
                             "%s line %zu column %zu: row has %zu columns, expected %zu", c->name,
                             c->line, col + 1, col, lay->cols);
        row++;
    }
    return NERVE_OK;
}

/* Numeric labels: non-negative integers below the class limit. */
static nerve_status resolve_numeric(const csv *c, const nerve_csv_opts *o, const label_spans *ls,
                                    size_t col, nerve_data *d) {
    size_t limit = o->classes ? o->classes : CSV_MAX_CLASSES, max_label = 0;
    char shown[48];
    for (size_t i = 0; i < d->n; i++) {
        float v;
        double dv = 0;
        int pr = parse_number(ls->f[i], &v, &dv);
        if (pr != NUM_OK && pr != NUM_BAD)
            return error_set(NERVE_EFORMAT, "%s line %zu column %zu: \"%s\" %s", c->name,
                             ls->line[i], col + 1, show(ls->f[i], shown, sizeof shown),
                             pr == NUM_RANGE ? "is out of the float range"
                                             : "is too long for a number");
        if (pr == NUM_BAD || dv != floor(dv) || dv < 0 || dv >= (double)limit)
            return error_set(
                NERVE_EFORMAT, "%s line %zu column %zu: label \"%s\" is not an integer in [0, %zu)",
                c->name, ls->line[i], col + 1, show(ls->f[i], shown, sizeof shown), limit);
        d->labels[i] = (int32_t)dv;
        if ((size_t)dv > max_label) max_label = (size_t)dv;
    }
    d->out = o->classes ? o->classes : max_label + 1;
    return NERVE_OK;
}

/* Text labels: each a class name (1 .. 255 bytes, no control characters),
 * mapped to the given names or to the sorted distinct names found. */
static nerve_status resolve_names(const csv *c, const nerve_csv_opts *o, const label_spans *ls,
                                  size_t col, nerve_data *d) {
    char shown[48];
    const size_t n = d->n;
    for (size_t i = 0; i < n; i++) {
        span f = unquote(ls->f[i]);
        int bad = f.n == 0 || f.n > CSV_MAX_NAME;
        for (size_t j = 0; j < f.n && !bad; j++)
            bad = (unsigned char)f.p[j] < 32 || (unsigned char)f.p[j] == 127;
        if (bad)
            return error_set(NERVE_EFORMAT,
                             "%s line %zu column %zu: label \"%s\" is not a class name (1 to %u "
                             "bytes, no control characters)",
                             c->name, ls->line[i], col + 1, show(f, shown, sizeof shown),
                             CSV_MAX_NAME);
        ls->f[i] = f;
    }
    /* the class list, sorted: given, or the distinct labels */
    size_t k;
    span *names;
    if (o->class_names) {
        k = o->n_class_names;
        names = malloc((k ? k : 1) * sizeof *names);
        if (!names) return error_set(NERVE_ENOMEM, "%s: out of memory", c->name);
        for (size_t j = 0; j < k; j++) {
            names[j].p = o->class_names[j];
            names[j].n = strlen(o->class_names[j]);
        }
    } else {
        names = malloc(n * sizeof *names);
        if (!names) return error_set(NERVE_ENOMEM, "%s: out of memory", c->name);
        memcpy(names, ls->f, n * sizeof *names);
        qsort(names, n, sizeof *names, span_qcmp);
        k = 0;
        for (size_t i = 0; i < n; i++)
            if (k == 0 || span_cmp(names[k - 1], names[i]) != 0) names[k++] = names[i];
        if (k > CSV_MAX_CLASSES) {
            free(names);
            return error_set(NERVE_EFORMAT, "%s: %zu distinct labels (at most %zu classes)",
                             c->name, k, CSV_MAX_CLASSES);
        }
    }
    /* the names with their indices, sorted by name for the lookups */
    named *sorted = malloc((k ? k : 1) * sizeof *sorted);
    nerve_status st = NERVE_OK;
    if (!sorted) st = error_set(NERVE_ENOMEM, "%s: out of memory", c->name);
    for (size_t j = 0; j < k && st == NERVE_OK; j++) {
        sorted[j].s = names[j];
        sorted[j].index = j;
    }
    if (st == NERVE_OK) qsort(sorted, k, sizeof *sorted, named_qcmp);
    for (size_t i = 0; i < n && st == NERVE_OK; i++) {
        size_t lo = 0, hi = k;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int r = span_cmp(sorted[mid].s, ls->f[i]);
            if (r == 0) {
                lo = mid;
                break;
            }
            if (r < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo >= k || span_cmp(sorted[lo].s, ls->f[i]) != 0) {
            st = error_set(NERVE_EFORMAT,
                           "%s line %zu column %zu: class \"%s\" is not one of the %zu classes "
                           "the model knows",
                           c->name, ls->line[i], col + 1, show(ls->f[i], shown, sizeof shown), k);
            break;
        }
        d->labels[i] = (int32_t)sorted[lo].index;
    }
    if (st == NERVE_OK && !o->class_names) {
        d->class_names = calloc(k ? k : 1, sizeof *d->class_names);
        if (!d->class_names) st = error_set(NERVE_ENOMEM, "%s: out of memory", c->name);
        d->out = k;
        for (size_t j = 0; j < k && st == NERVE_OK; j++) {
            d->class_names[j] = malloc(names[j].n + 1);
            if (!d->class_names[j]) {
                st = error_set(NERVE_ENOMEM, "%s: out of memory", c->name);
                break;
            }
            memcpy(d->class_names[j], names[j].p, names[j].n);
            d->class_names[j][names[j].n] = '\0';
        }
    } else if (st == NERVE_OK) {
        d->out = k;
    }
    free(sorted);
    free(names);
    return st;
}

/* A data set of features alone (nerve_csv_opts.features_only): x, and
 * neither labels nor targets (out 0). rows x cols is bounded by the text
 * length (see the top of this file). */
static nerve_status features_only_create(nerve_data **out, size_t rows, size_t cols,
                                         const char *name) {
    nerve_data *d = calloc(1, sizeof *d);
    if (d) d->x = calloc(rows * cols, sizeof *d->x);
    if (!d || !d->x) {
        nerve_data_free(d);
        return error_set(NERVE_ENOMEM, "%s: out of memory", name);
    }
    d->n = rows;
    d->in = cols;
    data_set_name(d, name);
    *out = d;
    return NERVE_OK;
}

nerve_status csv_parse(const char *buf, size_t len, const char *name, const nerve_csv_opts *opts,
                       nerve_data **out) {
    *out = NULL;
    nerve_csv_opts o;
    if (opts)
        o = *opts;
    else
        memset(&o, 0, sizeof o);
    if (o.header != NERVE_CSV_HEADER_AUTO && o.header != NERVE_CSV_HEADER_NONE &&
        o.header != NERVE_CSV_HEADER_PRESENT)
        return error_set(NERVE_EINVAL, "csv: bad header mode %d", (int)o.header);
    if (o.classes > CSV_MAX_CLASSES)
        return error_set(NERVE_EINVAL, "csv: %zu classes exceed the limit %zu", o.classes,
                         CSV_MAX_CLASSES);
    if (!isfinite(o.feature_scale))
        return error_set(NERVE_EINVAL, "csv: feature scale is not finite");
    if (o.features_only && (o.targets || o.classes || o.label_column || o.label_name ||
                            o.class_names || o.n_class_names || o.labels != NERVE_CSV_LABELS_AUTO))
        return error_set(NERVE_EINVAL, "csv: features_only reads no label or target column; "
                                       "leave targets, classes and the label options unset");
    char delim = o.delimiter ? o.delimiter : ',';
    /* nor any character of a number: 'e'/'E' would split 1e5 */
    if (delim == '"' || delim == '\n' || delim == '\r' || is_blank(delim) || delim == '.' ||
        delim == '-' || delim == '+' || delim == 'e' || delim == 'E' || delim == '\0' ||
        (delim >= '0' && delim <= '9'))
        return error_set(NERVE_EINVAL, "csv: delimiter '%c' cannot separate numbers", delim);

    /* skip a UTF-8 byte-order mark */
    if (len >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB &&
        (unsigned char)buf[2] == 0xBF) {
        buf += 3;
        len -= 3;
    }
    csv c = {buf, buf + len, name, buf, 0, delim};
    layout lay;
    nerve_status st = scan(&c, &o, &lay);
    if (st != NERVE_OK) return st;
    /* k label/target columns from `start`; features only: none (start past
     * the last column, so fill() takes every column as a feature) */
    size_t k = o.features_only ? 0 : o.targets ? o.targets : 1, start = lay.cols;
    if (o.features_only)
        st = NERVE_OK;
    else if (o.label_name) {
        st = label_by_name(&c, &o, &lay, k, &start);
        c.pos = buf;
        c.line = 0;
    } else {
        st = label_start(&c, &o, lay.cols, k, &start);
    }
    if (st != NERVE_OK) return st;

    nerve_data *d;
    if (o.features_only)
        st = features_only_create(&d, lay.rows, lay.cols, name);
    else
        st = nerve_data_create(&d, lay.rows, lay.cols - k, o.targets ? k : 1, o.targets == 0, name);
    if (st != NERVE_OK) return st;
    const int labelled = !o.features_only && !o.targets; /* class labels to resolve */

    /* numbers in the "C" locale whatever the program set (decimal point '.') */
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = cloc ? uselocale(cloc) : (locale_t)0;
    c.pos = buf;
    c.line = 0;
    label_spans ls = {NULL, NULL};
    if (labelled) {
        ls.f = malloc(lay.rows * sizeof *ls.f);
        ls.line = malloc(lay.rows * sizeof *ls.line);
        if (!ls.f || !ls.line) st = error_set(NERVE_ENOMEM, "%s: out of memory", name);
    }
    if (st == NERVE_OK) st = fill(&c, &o, &lay, start, k, d, &ls);
    if (st == NERVE_OK && labelled) {
        int names = o.labels == NERVE_CSV_LABELS_NAMES || o.class_names != NULL;
        if (o.labels == NERVE_CSV_LABELS_AUTO)
            for (size_t i = 0; i < lay.rows && !names; i++)
                names = !numeric_syntax(unquote(ls.f[i]));
        st = names ? resolve_names(&c, &o, &ls, start, d) : resolve_numeric(&c, &o, &ls, start, d);
    }
    free(ls.f);
    free(ls.line);
    if (cloc) {
        uselocale(old);
        freelocale(cloc);
    }
    if (st != NERVE_OK) {
        nerve_data_free(d);
        return st;
    }
    *out = d;
    return NERVE_OK;
}

nerve_status nerve_data_load_csv(nerve_data **out, const char *path, const nerve_csv_opts *opts) {
    CHECK_ARG(out != NULL, "nerve_data_load_csv: out is NULL");
    *out = NULL;
    CHECK_ARG(path != NULL, "nerve_data_load_csv: path is NULL");
    uint8_t *buf;
    size_t len;
    nerve_status st = data_read_file(path, NERVE_DATA_MAX_BYTES, &buf, &len);
    if (st != NERVE_OK) return st;
    const char *base = strrchr(path, '/');
    st = csv_parse((const char *)buf, len, path, opts, out);
    if (st == NERVE_OK) data_set_name(*out, base ? base + 1 : path);
    free(buf);
    return st;
}
