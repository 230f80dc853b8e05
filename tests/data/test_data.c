/* Data loading: IDX (raw, gzip, directories), CSV (options, every kind of
 * bad row), the embedded digits, Fashion-MNIST, splits and standardization.
 * Files are written by the test itself; expected values come from the test's
 * own arithmetic or an independent parse (zlib gzgets + strtol), never from
 * the loaders. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data_internal.h"
#include "testutil.h"
#include "nerve/data.h"

/* ---- helpers ------------------------------------------------------------ */

static char tmpdir[64];

static void make_tmpdir(void) { cr_assert(test_tmpdir_make(tmpdir, sizeof tmpdir, "data")); }
static void remove_tmpdir(void) { cr_assert(test_tmpdir_remove(tmpdir)); }

TestSuite(data, .init = make_tmpdir, .fini = remove_tmpdir);

static const char *tpath(const char *name) { return test_tmp_path(tmpdir, name); }

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

static void write_gz(const char *path, const void *data, size_t n) {
    gzFile g = gzopen(path, "wb");
    cr_assert_not_null(g);
    if (n) cr_assert_eq(gzwrite(g, data, (unsigned)n), (int)n);
    cr_assert_eq(gzclose(g), Z_OK);
}

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)len + 1);
    cr_assert_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void write_text(const char *name, const char *text) {
    write_file(tpath(name), text, strlen(text));
}

/* An IDX header + payload: type 0x08, dims big-endian. */
static size_t make_idx(uint8_t *out, const uint32_t *dims, unsigned nd, const uint8_t *payload,
                       size_t n) {
    out[0] = 0;
    out[1] = 0;
    out[2] = 0x08;
    out[3] = (uint8_t)nd;
    for (unsigned d = 0; d < nd; d++) {
        out[4 + 4 * d] = (uint8_t)(dims[d] >> 24);
        out[5 + 4 * d] = (uint8_t)(dims[d] >> 16);
        out[6 + 4 * d] = (uint8_t)(dims[d] >> 8);
        out[7 + 4 * d] = (uint8_t)dims[d];
    }
    memcpy(out + 4 + 4 * nd, payload, n);
    return 4 + 4 * nd + n;
}

/* 3 images of 2 x 2 pixels and their labels. */
static const uint8_t pix[12] = {0, 255, 1, 128, 7, 200, 254, 3, 100, 0, 77, 255};
static const uint8_t lab_vals[3] = {4, 0, 2};

static void write_idx_pair(const char *img_name, const char *lab_name, int gz) {
    uint8_t img[64], lab[64];
    size_t ni = make_idx(img, (const uint32_t[]){3, 2, 2}, 3, pix, sizeof pix);
    size_t nl = make_idx(lab, (const uint32_t[]){3}, 1, lab_vals, sizeof lab_vals);
    if (gz) {
        write_gz(tpath(img_name), img, ni);
        write_gz(tpath(lab_name), lab, nl);
    } else {
        write_file(tpath(img_name), img, ni);
        write_file(tpath(lab_name), lab, nl);
    }
}

static void check_idx_values(const nerve_data *d) {
    cr_assert_eq(d->n, 3);
    cr_assert_eq(d->in, 4);
    cr_assert_eq(d->out, 5, "classes = max label + 1 = 5, got %zu", d->out);
    cr_assert_not_null(d->labels);
    cr_assert_null(d->y);
    for (size_t i = 0; i < 12; i++)
        cr_assert_eq(d->x[i], (float)(pix[i] / 255.0), "pixel %zu: %g", i, (double)d->x[i]);
    for (size_t i = 0; i < 3; i++) cr_assert_eq(d->labels[i], lab_vals[i]);
}

static void expect_status(nerve_status got, nerve_status want, const char *what) {
    cr_assert_eq(got, want, "%s: status %d (%s), want %d", what, got, nerve_last_error(), want);
}

/* ---- IDX ------------------------------------------------------------------ */

Test(data, idx_raw_and_gzip) {
    for (int gz = 0; gz < 2; gz++) {
        write_idx_pair("img", "lab", gz);
        nerve_data *d = NULL;
        expect_status(nerve_data_load_idx(&d, tpath("img"), tpath("lab")), NERVE_OK, "load");
        check_idx_values(d);
        nerve_data_free(d);
    }
}

Test(data, idx_directory_mixed_gzip) {
    write_idx_pair("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte", 1);
    /* the raw labels file must be raw: rewrite it */
    uint8_t lab[16];
    size_t nl = make_idx(lab, (const uint32_t[]){3}, 1, lab_vals, 3);
    write_file(tpath("train-labels-idx1-ubyte"), lab, nl);
    /* test set: 1 image, label 6 (more classes than train) */
    uint8_t img[32];
    size_t ni = make_idx(img, (const uint32_t[]){1, 2, 2}, 3, pix, 4);
    write_file(tpath("t10k-images-idx3-ubyte"), img, ni);
    nl = make_idx(lab, (const uint32_t[]){1}, 1, (const uint8_t[]){6}, 1);
    write_gz(tpath("t10k-labels-idx1-ubyte.gz"), lab, nl);

    nerve_data *tr = NULL, *te = NULL;
    expect_status(nerve_data_load_idx_dir(&tr, &te, tmpdir), NERVE_OK, "dir");
    cr_assert_eq(tr->n, 3);
    cr_assert_eq(te->n, 1);
    cr_assert_eq(tr->out, 7);
    cr_assert_eq(te->out, 7);
    cr_assert_eq(te->labels[0], 6);
    cr_assert(strstr(tr->name, "(train)"), "name %s", tr->name);
    nerve_data_free(tr);
    nerve_data_free(te);

    /* the generic loader takes the directory too */
    expect_status(nerve_data_load(&tr, &te, tmpdir, NULL), NERVE_OK, "nerve_data_load dir");
    cr_assert_not_null(te);
    nerve_data_free(tr);
    nerve_data_free(te);

    /* a member missing: EIO naming it */
    unlink(tpath("t10k-images-idx3-ubyte"));
    expect_status(nerve_data_load_idx_dir(&tr, &te, tmpdir), NERVE_EIO, "missing member");
    cr_assert(strstr(nerve_last_error(), "t10k-images-idx3-ubyte"), "%s", nerve_last_error());
    cr_assert_null(tr);
    cr_assert_null(te);
}

/* idx_build on every prefix of a good images file: all rejected but the full one. */
Test(data, idx_truncated_everywhere) {
    uint8_t img[64], lab[16];
    size_t ni = make_idx(img, (const uint32_t[]){3, 2, 2}, 3, pix, sizeof pix);
    size_t nl = make_idx(lab, (const uint32_t[]){3}, 1, lab_vals, 3);
    for (size_t cut = 0; cut < ni; cut++) {
        nerve_data *d = (nerve_data *)1;
        uint8_t *copy = malloc(cut + 1); /* exact size: ASan sees any over-read */
        memcpy(copy, img, cut);
        expect_status(idx_build(copy, cut, lab, nl, "img", "lab", "t", &d), NERVE_EFORMAT, "cut");
        cr_assert_null(d);
        free(copy);
    }
    for (size_t cut = 0; cut < nl; cut++) {
        nerve_data *d = NULL;
        expect_status(idx_build(img, ni, lab, cut, "img", "lab", "t", &d), NERVE_EFORMAT,
                      "label cut");
    }
    nerve_data *d = NULL;
    expect_status(idx_build(img, ni, lab, nl, "img", "lab", "t", &d), NERVE_OK, "full");
    check_idx_values(d);
    nerve_data_free(d);
}

Test(data, idx_bad_headers) {
    uint8_t img[64], lab[16], bad[64];
    size_t ni = make_idx(img, (const uint32_t[]){3, 2, 2}, 3, pix, sizeof pix);
    size_t nl = make_idx(lab, (const uint32_t[]){3}, 1, lab_vals, 3);
    nerve_data *d = NULL;
    struct {
        size_t at;
        uint8_t v;
        const char *msg;
    } cases[] = {
        {0, 1, "not an IDX file"},      {2, 0x0D, "element type 0x0d"}, {3, 1, "dimensions"},
        {3, 4, "dimensions"},           {4 + 3, 4, "truncated"},        {4 + 3, 2, "trailing"},
        {8 + 3, 0, "dimension 1 is 0"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memcpy(bad, img, ni);
        bad[cases[c].at] = cases[c].v;
        expect_status(idx_build(bad, ni, lab, nl, "img", "lab", "t", &d), NERVE_EFORMAT,
                      cases[c].msg);
        cr_assert(strstr(nerve_last_error(), cases[c].msg), "case %zu: %s", c, nerve_last_error());
    }
    /* one trailing byte */
    memcpy(bad, img, ni);
    bad[ni] = 9;
    expect_status(idx_build(bad, ni + 1, lab, nl, "img", "lab", "t", &d), NERVE_EFORMAT,
                  "trailing");
    /* absurd sizes: 2^32-1 in every dimension, a short file; no huge allocation */
    size_t nh =
        make_idx(bad, (const uint32_t[]){0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, 3, pix, 12);
    expect_status(idx_build(bad, nh, lab, nl, "img", "lab", "t", &d), NERVE_EFORMAT, "absurd");
    /* image and label counts differ */
    size_t n2 = make_idx(bad, (const uint32_t[]){2}, 1, lab_vals, 2);
    expect_status(idx_build(img, ni, bad, n2, "img", "lab", "t", &d), NERVE_EFORMAT, "count");
    cr_assert(strstr(nerve_last_error(), "3 images") && strstr(nerve_last_error(), "2 labels"),
              "%s", nerve_last_error());
    /* labels with two dimensions, images with one */
    n2 = make_idx(bad, (const uint32_t[]){3, 1}, 2, lab_vals, 3);
    expect_status(idx_build(img, ni, bad, n2, "img", "lab", "t", &d), NERVE_EFORMAT, "2-d labels");
    n2 = make_idx(bad, (const uint32_t[]){12}, 1, pix, 12);
    expect_status(idx_build(bad, n2, lab, nl, "img", "lab", "t", &d), NERVE_EFORMAT, "1-d images");
    cr_assert_null(d);
}

/* ---- gzip ------------------------------------------------------------------ */

Test(data, gzip_damage) {
    uint8_t img[64];
    size_t ni = make_idx(img, (const uint32_t[]){3, 2, 2}, 3, pix, sizeof pix);
    write_gz(tpath("g.gz"), img, ni);
    size_t gl;
    uint8_t *g = read_all(tpath("g.gz"), &gl);
    uint8_t *out = NULL;
    size_t outl = 0;
    expect_status(data_gunzip(g, gl, 1 << 20, "g", &out, &outl), NERVE_OK, "good");
    cr_assert_eq(outl, ni);
    cr_assert_eq(memcmp(out, img, ni), 0);
    free(out);
    /* every truncation of the compressed stream */
    for (size_t cut = 2; cut < gl; cut++) {
        out = (uint8_t *)1;
        expect_status(data_gunzip(g, cut, 1 << 20, "g", &out, &outl), NERVE_EFORMAT,
                      "truncated gzip");
        cr_assert_null(out);
    }
    /* a damaged trailer checksum */
    g[gl - 6] ^= 0x40;
    expect_status(data_gunzip(g, gl, 1 << 20, "g", &out, &outl), NERVE_EFORMAT, "crc");
    g[gl - 6] ^= 0x40;
    /* trailing garbage */
    uint8_t *g2 = malloc(gl + 3);
    memcpy(g2, g, gl);
    memcpy(g2 + gl, "xyz", 3);
    expect_status(data_gunzip(g2, gl + 3, 1 << 20, "g", &out, &outl), NERVE_EFORMAT, "garbage");
    cr_assert(strstr(nerve_last_error(), "trailing"), "%s", nerve_last_error());
    /* two members concatenated decompress to both */
    memcpy(g2, g, gl);
    g2 = realloc(g2, 2 * gl);
    memcpy(g2 + gl, g, gl);
    expect_status(data_gunzip(g2, 2 * gl, 1 << 20, "g", &out, &outl), NERVE_OK, "two members");
    cr_assert_eq(outl, 2 * ni);
    free(out);
    /* the output cap: exactly enough passes, one byte less fails */
    expect_status(data_gunzip(g, gl, ni, "g", &out, &outl), NERVE_OK, "cap = size");
    free(out);
    expect_status(data_gunzip(g, gl, ni - 1, "g", &out, &outl), NERVE_EFORMAT, "cap = size - 1");
    cr_assert(strstr(nerve_last_error(), "exceeds"), "%s", nerve_last_error());
    free(g);
    free(g2);
}

Test(data, gzip_bomb_capped) {
    /* 64 MiB of zeros compress to ~64 KiB; with a 1 MiB cap the reader stops early */
    size_t big = (size_t)64 << 20;
    uint8_t *zeros = calloc(big, 1);
    uLongf cl = compressBound((uLong)big);
    uint8_t *z = malloc(cl);
    cr_assert_eq(compress2(z, &cl, zeros, (uLong)big, 9), Z_OK);
    free(zeros);
    /* wrap the zlib stream's deflate data in a gzip header/trailer by hand:
     * zlib format = 2-byte header + deflate + 4-byte Adler; gzip = 10-byte
     * header + deflate + CRC32 + ISIZE */
    size_t dl = cl - 6;
    uint8_t *g = malloc(dl + 18);
    const uint8_t hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    memcpy(g, hdr, 10);
    memcpy(g + 10, z + 2, dl);
    uint32_t isize = (uint32_t)big, crc = 0; /* crc irrelevant: the cap trips first */
    for (int i = 0; i < 4; i++) g[10 + dl + i] = (uint8_t)(crc >> (8 * i));
    for (int i = 0; i < 4; i++) g[14 + dl + i] = (uint8_t)(isize >> (8 * i));
    uint8_t *out = NULL;
    size_t outl;
    expect_status(data_gunzip(g, dl + 18, (size_t)1 << 20, "bomb", &out, &outl), NERVE_EFORMAT,
                  "bomb");
    cr_assert(strstr(nerve_last_error(), "exceeds the limit"), "%s", nerve_last_error());
    free(z);
    free(g);
}

/* ---- files ------------------------------------------------------------------ */

Test(data, missing_files_are_eio) {
    nerve_data *d = NULL;
    expect_status(nerve_data_load_csv(&d, tpath("nope.csv"), NULL), NERVE_EIO, "missing csv");
    cr_assert(strstr(nerve_last_error(), "nope.csv") && strstr(nerve_last_error(), "No such file"),
              "%s", nerve_last_error());
    expect_status(nerve_data_load_idx(&d, tpath("a"), tpath("b")), NERVE_EIO, "missing idx");
    expect_status(nerve_data_load_csv(&d, tmpdir, NULL), NERVE_EIO, "directory as csv");
    nerve_data *t = NULL;
    expect_status(nerve_data_load(&d, &t, tpath("nope"), NULL), NERVE_EIO, "load nonexistent");
    cr_assert_null(d);
}

/* ---- CSV ---------------------------------------------------------------------- */

static nerve_data *csv_ok(const char *text, const nerve_csv_opts *o) {
    write_text("t.csv", text);
    nerve_data *d = NULL;
    expect_status(nerve_data_load_csv(&d, tpath("t.csv"), o), NERVE_OK, text);
    return d;
}

static void csv_bad(const char *text, const nerve_csv_opts *o, const char *want1,
                    const char *want2) {
    write_text("bad.csv", text);
    nerve_data *d = (nerve_data *)1;
    expect_status(nerve_data_load_csv(&d, tpath("bad.csv"), o), NERVE_EFORMAT, text);
    cr_assert_null(d);
    const char *m = nerve_last_error();
    cr_assert(strstr(m, "bad.csv"), "message lacks the file name: %s", m);
    cr_assert(!want1 || strstr(m, want1), "message '%s' lacks '%s'", m, want1);
    cr_assert(!want2 || strstr(m, want2), "message '%s' lacks '%s'", m, want2);
}

Test(data, csv_classification_defaults) {
    /* header detected, BOM, CRLF, blank lines, blanks around fields, quotes */
    nerve_data *d = csv_ok("\xEF\xBB\xBF"
                           "a,\"b, c\",label\r\n"
                           "1.5, -2 ,3\r\n"
                           "\r\n"
                           "  \n"
                           "\"4e-1\",+5.25E1,0\n"
                           "7,8,1",
                           NULL);
    cr_assert_eq(d->n, 3);
    cr_assert_eq(d->in, 2);
    cr_assert_eq(d->out, 4);
    const float want[6] = {1.5f, -2.0f, 0.4f, 52.5f, 7.0f, 8.0f};
    for (int i = 0; i < 6; i++) cr_assert_eq(d->x[i], want[i], "x[%d] = %g", i, (double)d->x[i]);
    cr_assert_eq(d->labels[0], 3);
    cr_assert_eq(d->labels[1], 0);
    cr_assert_eq(d->labels[2], 1);
    cr_assert_str_eq(d->name, "t.csv");
    nerve_data_free(d);
}

Test(data, csv_options) {
    nerve_csv_opts o;
    memset(&o, 0, sizeof o);
    /* label first, no header, classes given, scaled features, ';' */
    o.header = NERVE_CSV_HEADER_NONE;
    o.label_column = 1;
    o.classes = 9;
    o.feature_scale = 0.5f;
    o.delimiter = ';';
    nerve_data *d = csv_ok("2;4;6\n0;1;3\n", &o);
    cr_assert_eq(d->n, 2);
    cr_assert_eq(d->in, 2);
    cr_assert_eq(d->out, 9);
    cr_assert_eq(d->labels[0], 2);
    cr_assert_eq(d->labels[1], 0);
    cr_assert_eq(d->x[0], 2.0f);
    cr_assert_eq(d->x[1], 3.0f);
    cr_assert_eq(d->x[3], 1.5f);
    nerve_data_free(d);

    /* label -2: the middle column; "3.0" is an integer */
    memset(&o, 0, sizeof o);
    o.label_column = -2;
    d = csv_ok("1,3.0,5\n2,1,6\n", &o);
    cr_assert_eq(d->labels[0], 3);
    cr_assert_eq(d->x[0], 1.0f);
    cr_assert_eq(d->x[1], 5.0f);
    nerve_data_free(d);

    /* regression: the last two columns are targets; header forced */
    memset(&o, 0, sizeof o);
    o.targets = 2;
    o.header = NERVE_CSV_HEADER_PRESENT;
    d = csv_ok("1,2,3,4\n0.5,1,-1,1e3\n", &o);
    cr_assert_eq(d->n, 1);
    cr_assert_eq(d->in, 2);
    cr_assert_eq(d->out, 2);
    cr_assert_null(d->labels);
    cr_assert_eq(d->y[0], -1.0f);
    cr_assert_eq(d->y[1], 1000.0f);
    nerve_data_free(d);

    /* regression targets in columns 1..2 */
    o.label_column = 1;
    o.header = NERVE_CSV_HEADER_AUTO;
    d = csv_ok("7,8,9\n", &o);
    cr_assert_eq(d->y[0], 7.0f);
    cr_assert_eq(d->y[1], 8.0f);
    cr_assert_eq(d->x[0], 9.0f);
    nerve_data_free(d);
}

Test(data, csv_gzip) {
    const char *text = "1,2,0\n3,4,1\n";
    write_gz(tpath("z.csv.gz"), text, strlen(text));
    nerve_data *d = NULL, *t = NULL;
    expect_status(nerve_data_load(&d, &t, tpath("z.csv.gz"), NULL), NERVE_OK, "csv.gz");
    cr_assert_null(t);
    cr_assert_eq(d->n, 2);
    cr_assert_eq(d->x[3], 4.0f);
    nerve_data_free(d);
}

Test(data, csv_bad_rows) {
    nerve_csv_opts o;
    memset(&o, 0, sizeof o);
    csv_bad("1,2,0\n3,4\n", NULL, "line 2", "column 3");
    csv_bad("1,2,0\n3,4,1,5\n", NULL, "line 2", "column 4");
    csv_bad("1,2,0\n\n3,x,1\n", NULL, "line 3", "column 2");
    csv_bad("1,2,0\n3,,1\n", NULL, "line 2", "column 2");
    csv_bad("1,2,0\n3,4,1.5\n", NULL, "line 2", "not an integer");
    csv_bad("1,2,0\n3,4,-1\n", NULL, "line 2", "column 3");
    csv_bad("1,2,0\n3,nan,1\n", NULL, "line 2", "not a number");
    csv_bad("1,2,0\n3,inf,1\n", NULL, "line 2", "not a number");
    csv_bad("1,2,0\n3,0x10,1\n", NULL, "line 2", "not a number");
    csv_bad("1,2,0\n3,1e39,1\n", NULL, "line 2", "out of the float range");
    csv_bad("1,\"2,0\n", &o, "line 1", "unterminated quote");
    csv_bad("a,b,c\n", NULL, "no data rows", NULL);
    csv_bad("", NULL, "no data rows", NULL);
    csv_bad("1\n2\n", NULL, "no feature", NULL);
    o.classes = 2;
    csv_bad("1,2,0\n3,4,2\n", &o, "line 2", "[0, 2)");
    memset(&o, 0, sizeof o);
    o.label_column = 4;
    csv_bad("1,2,0\n", &o, "label column 4", NULL);
    o.label_column = -4;
    csv_bad("1,2,0\n", &o, "label column -4", NULL);
    memset(&o, 0, sizeof o);
    o.targets = 3;
    csv_bad("1,2,0\n", &o, "no feature", NULL);
    o.targets = SIZE_MAX;
    csv_bad("1,2,0\n", &o, "no feature", NULL);
    o.targets = 1;
    o.label_column = LONG_MIN;
    csv_bad("1,2,0\n", &o, "label column", NULL);
    o.label_column = LONG_MAX;
    csv_bad("1,2,0\n", &o, "label column", NULL);
    o.label_column = 0;
    /* a header only when asked for: numeric first line kept as data */
    o.targets = 0;
    o.header = NERVE_CSV_HEADER_NONE;
    csv_bad("a,b,c\n1,2,3\n", &o, "line 1", "not a number");
}

/* A wide first row and many short ones: rejected before rows x columns
 * (10^10 floats) is allocated. */
Test(data, csv_wide_then_short_rows) {
    size_t cols = 100000, rows = 100000;
    char *t = malloc(2 * cols + 2 * rows + 1), *p = t;
    for (size_t i = 0; i < cols; i++) *p++ = '1', *p++ = i + 1 < cols ? ',' : '\n';
    for (size_t i = 0; i < rows; i++) *p++ = '2', *p++ = '\n';
    *p = '\0';
    csv_bad(t, NULL, "line 2", "row has 1 columns, expected 100000");
    free(t);
}

Test(data, csv_bad_options_einval) {
    nerve_csv_opts o;
    memset(&o, 0, sizeof o);
    o.delimiter = '.';
    write_text("o.csv", "1,2\n");
    nerve_data *d = NULL;
    expect_status(nerve_data_load_csv(&d, tpath("o.csv"), &o), NERVE_EINVAL, "delimiter");
    memset(&o, 0, sizeof o);
    o.header = (nerve_csv_header)7;
    expect_status(nerve_data_load_csv(&d, tpath("o.csv"), &o), NERVE_EINVAL, "header mode");
    memset(&o, 0, sizeof o);
    o.feature_scale = INFINITY;
    expect_status(nerve_data_load_csv(&d, tpath("o.csv"), &o), NERVE_EINVAL, "scale");
    expect_status(nerve_data_load_csv(NULL, tpath("o.csv"), NULL), NERVE_EINVAL, "null out");
}

/* ---- digits --------------------------------------------------------------------- */

Test(data, digits_embedded_matches_file) {
    nerve_data *d = NULL, *t = (nerve_data *)1;
    expect_status(nerve_data_load(&d, &t, "digits", NULL), NERVE_OK, "digits");
    cr_assert_null(t);
    cr_assert_eq(d->n, 1797);
    cr_assert_eq(d->in, 64);
    cr_assert_eq(d->out, 10);
    cr_assert_str_eq(d->name, "digits");
    /* independent reference: the shipped file read with zlib and strtol */
    gzFile g = gzopen(NERVE_SOURCE_DIR "/data/digits.csv.gz", "rb");
    cr_assert_not_null(g);
    char line[1024];
    size_t row = 0;
    size_t per_class[10] = {0};
    while (gzgets(g, line, sizeof line)) {
        cr_assert_lt(row, 1797);
        char *p = line;
        for (int j = 0; j < 65; j++) {
            long v = strtol(p, &p, 10);
            if (j < 64)
                cr_assert_eq(d->x[row * 64 + j], (float)v / 16.0f, "row %zu col %d", row, j);
            else
                cr_assert_eq(d->labels[row], v, "row %zu label", row);
            if (*p == ',') p++;
        }
        per_class[d->labels[row]]++;
        row++;
    }
    gzclose(g);
    cr_assert_eq(row, 1797);
    for (int c = 0; c < 10; c++) cr_assert_gt(per_class[c], 170, "class %d: %zu", c, per_class[c]);
    nerve_data_free(d);
}

/* ---- Fashion-MNIST (Debian dataset-fashion-mnist, a test dependency) ---------- */

Test(data, fashion_mnist, .timeout = 120) {
    nerve_data *tr = NULL, *te = NULL;
    expect_status(nerve_data_load(&tr, &te, "fashion-mnist", NULL), NERVE_OK,
                  "fashion-mnist (apt-get install dataset-fashion-mnist)");
    cr_assert_eq(tr->n, 60000);
    cr_assert_eq(te->n, 10000);
    cr_assert_eq(tr->in, 784);
    cr_assert_eq(tr->out, 10);
    cr_assert_eq(te->out, 10);
    /* Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class */
    size_t ctr[10] = {0}, cte[10] = {0};
    for (size_t i = 0; i < tr->n; i++) ctr[tr->labels[i]]++;
    for (size_t i = 0; i < te->n; i++) cte[te->labels[i]]++;
    for (int c = 0; c < 10; c++) {
        cr_assert_eq(ctr[c], 6000, "train class %d", c);
        cr_assert_eq(cte[c], 1000, "test class %d", c);
    }
    for (size_t i = 0; i < tr->n * tr->in; i += 997)
        cr_assert(tr->x[i] >= 0.0f && tr->x[i] <= 1.0f);
    nerve_data_free(tr);
    nerve_data_free(te);
}

/* ---- split and standardize -------------------------------------------------------- */

static nerve_data *indexed(size_t n, int cls) {
    nerve_data *d = NULL;
    expect_status(nerve_data_create(&d, n, 2, 3, cls, "idx"), NERVE_OK, "create");
    for (size_t i = 0; i < n; i++) {
        d->x[2 * i] = (float)i;
        d->x[2 * i + 1] = (float)(i * i % 7);
        if (cls)
            d->labels[i] = (int32_t)(i % 3);
        else
            for (int k = 0; k < 3; k++) d->y[3 * i + k] = (float)i + (float)k;
    }
    return d;
}

Test(data, split_partitions) {
    for (int cls = 0; cls < 2; cls++) {
        nerve_data *d = indexed(101, cls), *a, *b, *a2, *b2, *a3, *b3;
        expect_status(nerve_data_split(d, 0.25, 7, &a, &b), NERVE_OK, "split");
        cr_assert_eq(b->n, 25);
        cr_assert_eq(a->n, 76);
        /* every sample exactly once, rows intact */
        int seen[101] = {0};
        nerve_data *parts[2] = {a, b};
        for (int p = 0; p < 2; p++)
            for (size_t i = 0; i < parts[p]->n; i++) {
                size_t id = (size_t)parts[p]->x[2 * i];
                cr_assert_lt(id, 101);
                seen[id]++;
                cr_assert_eq(parts[p]->x[2 * i + 1], (float)(id * id % 7));
                if (cls)
                    cr_assert_eq(parts[p]->labels[i], (int32_t)(id % 3));
                else
                    cr_assert_eq(parts[p]->y[3 * i + 2], (float)id + 2.0f);
            }
        for (int i = 0; i < 101; i++)
            cr_assert_eq(seen[i], 1, "sample %d seen %d times", i, seen[i]);
        /* the same seed gives the same split, another seed another */
        expect_status(nerve_data_split(d, 0.25, 7, &a2, &b2), NERVE_OK, "again");
        cr_assert_eq(memcmp(b->x, b2->x, b->n * 2 * sizeof(float)), 0);
        expect_status(nerve_data_split(d, 0.25, 8, &a3, &b3), NERVE_OK, "seed 8");
        cr_assert_neq(memcmp(b->x, b3->x, b->n * 2 * sizeof(float)), 0);
        /* a shuffle, not the identity order */
        int in_order = 1;
        for (size_t i = 1; i < b->n; i++) in_order &= b->x[2 * i] > b->x[2 * i - 2];
        cr_assert(!in_order);
        nerve_data *fr[] = {d, a, b, a2, b2, a3, b3};
        for (int i = 0; i < 7; i++) nerve_data_free(fr[i]);
    }
}

Test(data, split_bad_arguments) {
    nerve_data *d = indexed(10, 1), *a = (nerve_data *)1, *b = (nerve_data *)1;
    expect_status(nerve_data_split(d, 0.0, 1, &a, &b), NERVE_EINVAL, "0");
    cr_assert_null(a);
    expect_status(nerve_data_split(d, 1.0, 1, &a, &b), NERVE_EINVAL, "1");
    expect_status(nerve_data_split(d, NAN, 1, &a, &b), NERVE_EINVAL, "nan");
    expect_status(nerve_data_split(d, 0.05, 1, &a, &b), NERVE_EINVAL, "empty held-out part");
    expect_status(nerve_data_split(NULL, 0.5, 1, &a, &b), NERVE_EINVAL, "null");
    nerve_data_free(d);
}

Test(data, standardize_against_double_reference) {
    nerve_data *d = indexed(50, 1), *o = indexed(5, 1);
    for (size_t i = 0; i < 5; i++) o->x[2 * i] += 100.0f;
    double mean[2] = {0, 0}, var[2] = {0, 0};
    for (size_t i = 0; i < 50; i++)
        for (int j = 0; j < 2; j++) mean[j] += d->x[2 * i + j] / 50.0;
    for (size_t i = 0; i < 50; i++)
        for (int j = 0; j < 2; j++) var[j] += pow(d->x[2 * i + j] - mean[j], 2) / 50.0;
    float ox0 = o->x[0];
    expect_status(nerve_data_standardize(d, o), NERVE_OK, "standardize");
    double s0 = 0, s1 = 0;
    for (size_t i = 0; i < 50; i++) {
        s0 += d->x[2 * i];
        s1 += (double)d->x[2 * i] * d->x[2 * i];
    }
    cr_assert_lt(fabs(s0 / 50), 1e-6);
    cr_assert_lt(fabs(s1 / 50 - 1), 1e-6);
    /* the other set uses the statistics of the first */
    cr_assert_lt(fabs(o->x[0] - (ox0 - mean[0]) / sqrt(var[0])), 1e-5);
    /* a constant feature is centred only */
    nerve_data *c = indexed(4, 1);
    for (size_t i = 0; i < 4; i++) c->x[2 * i] = 3.0f;
    expect_status(nerve_data_standardize(c, NULL), NERVE_OK, "constant");
    for (size_t i = 0; i < 4; i++) cr_assert_eq(c->x[2 * i], 0.0f);
    nerve_data *w = NULL;
    nerve_data_create(&w, 3, 5, 2, 1, "w");
    expect_status(nerve_data_standardize(d, w), NERVE_EINVAL, "widths differ");
    nerve_data_free(d);
    nerve_data_free(o);
    nerve_data_free(c);
    nerve_data_free(w);
}

Test(data, create_and_view) {
    nerve_data *d = NULL;
    expect_status(nerve_data_create(&d, 0, 3, 2, 0, "empty"), NERVE_OK, "n = 0");
    nerve_dataset v = nerve_data_view(d);
    cr_assert_eq(v.n, 0);
    cr_assert_eq(v.in, 3);
    cr_assert_eq(v.out, 2);
    cr_assert_not_null(v.y);
    cr_assert_null(v.labels);
    nerve_data_free(d);
    expect_status(nerve_data_create(&d, 4, 0, 2, 1, "x"), NERVE_EINVAL, "in = 0");
    expect_status(nerve_data_create(&d, SIZE_MAX / 2, 4, 2, 1, "x"), NERVE_EINVAL, "overflow");
    nerve_data_free(NULL);
}

/* ---- text labels, label column by name, statistics, raw pixels ------------ */

Test(data, csv_text_labels_sorted_and_split) {
    nerve_data *d = csv_ok("sepal,petal,species\n"
                           "1,2,virginica\n"
                           "3,4,\"setosa\"\n"
                           "5,6,versicolor\n"
                           "7,8,setosa\n"
                           "9,1,3\n",
                           NULL);
    cr_assert_eq(d->n, 5);
    cr_assert_eq(d->out, 4);
    cr_assert_not_null(d->class_names);
    const char *want[4] = {"3", "setosa", "versicolor", "virginica"}; /* byte order */
    for (int k = 0; k < 4; k++) cr_assert_str_eq(d->class_names[k], want[k]);
    const int32_t lab[5] = {3, 1, 2, 1, 0};
    for (int i = 0; i < 5; i++) cr_assert_eq(d->labels[i], lab[i], "row %d", i);
    nerve_data *a, *b;
    expect_status(nerve_data_split(d, 0.4, 1, &a, &b), NERVE_OK, "split");
    cr_assert_str_eq(a->class_names[2], "versicolor", "both parts keep the names");
    cr_assert_str_eq(b->class_names[3], "virginica");
    nerve_data_free(a);
    nerve_data_free(b);
    nerve_data_free(d);
    /* numbers only: numeric labels, no names */
    d = csv_ok("1,2,1\n3,4,0\n", NULL);
    cr_assert_null(d->class_names);
    cr_assert_eq(d->out, 2);
    nerve_data_free(d);
    /* NAMES: numbers read as names too */
    nerve_csv_opts o;
    memset(&o, 0, sizeof o);
    o.labels = NERVE_CSV_LABELS_NAMES;
    d = csv_ok("1,2,10\n3,4,9\n", &o);
    cr_assert_str_eq(d->class_names[0], "10");
    cr_assert_str_eq(d->class_names[1], "9");
    nerve_data_free(d);
    /* NUMERIC: a name is an error */
    o.labels = NERVE_CSV_LABELS_NUMERIC;
    csv_bad("1,2,3\n1,2,cat\n", &o, "line 2 column 3", "not an integer");
    /* a label that is no usable name */
    csv_bad("a,b,c\n1,2,\"\"\n3,4,x\n", NULL, "line 2 column 3", "not a class name");
}

Test(data, csv_labels_mapped_to_given_names) {
    const char *names[3] = {"virginica", "setosa", "versicolor"}; /* a model's order */
    nerve_csv_opts o;
    memset(&o, 0, sizeof o);
    o.class_names = names;
    o.n_class_names = 3;
    nerve_data *d = csv_ok("1,setosa\n2,virginica\n3,setosa\n", &o);
    cr_assert_eq(d->out, 3);
    cr_assert_eq(d->labels[0], 1);
    cr_assert_eq(d->labels[1], 0);
    cr_assert_eq(d->labels[2], 1);
    cr_assert_null(d->class_names, "the indices are the given names'");
    nerve_data_free(d);
    csv_bad("1,setosa\n2,daisy\n", &o, "line 2 column 2", "class \"daisy\" is not one of the 3");
}

Test(data, csv_label_column_by_name) {
    nerve_csv_opts o;
    memset(&o, 0, sizeof o);
    o.label_name = "kind";
    nerve_data *d = csv_ok("x,kind,y\n1,a,2\n3,b,4\n", &o);
    cr_assert_eq(d->in, 2);
    cr_assert_eq(d->x[0], 1.0f);
    cr_assert_eq(d->x[1], 2.0f);
    cr_assert_eq(d->x[3], 4.0f);
    cr_assert_str_eq(d->class_names[1], "b");
    nerve_data_free(d);
    o.label_name = "price";
    o.targets = 1;
    d = csv_ok("\"price\",x\n10.5,1\n20,2\n", &o);
    cr_assert_eq(d->y[0], 10.5f);
    cr_assert_eq(d->x[1], 2.0f);
    nerve_data_free(d);
    o.targets = 0;
    csv_bad("x,kind\n1,a\n", &o, "no column named \"price\"", "header");
    o.header = NERVE_CSV_HEADER_NONE;
    csv_bad("1,2\n", &o, "no header line", "price");
}

Test(data, feature_and_target_stats) {
    nerve_data *d = csv_ok("1000,5,0.1,3\n3000,5,0.3,5\n", &(nerve_csv_opts){.targets = 1});
    float m[3], s[3];
    expect_status(nerve_data_feature_stats(d, m, s), NERVE_OK, "stats");
    cr_assert_eq(m[0], 2000.0f);
    cr_assert_eq(s[0], 1000.0f);
    cr_assert_eq(m[1], 5.0f);
    cr_assert_eq(s[1], 1.0f, "a constant feature gets scale 1");
    cr_assert_float_eq(s[2], 0.1f, 1e-7f);
    expect_status(nerve_data_target_stats(d, m, s), NERVE_OK, "target stats");
    cr_assert_eq(m[0], 4.0f);
    cr_assert_eq(s[0], 1.0f);
    nerve_data_free(d);
    d = csv_ok("1,0\n", NULL);
    expect_status(nerve_data_target_stats(d, m, s), NERVE_EINVAL, "labels have no target stats");
    nerve_data_free(d);
}

Test(data, digits_raw_pixels_are_the_stored_integers) {
    nerve_data *a, *b;
    expect_status(nerve_data_load(&a, NULL, "digits", NULL), NERVE_OK, "digits");
    nerve_csv_opts o;
    memset(&o, 0, sizeof o);
    o.raw_pixels = 1;
    expect_status(nerve_data_load(&b, NULL, "digits", &o), NERVE_OK, "raw digits");
    for (size_t i = 0; i < a->n * a->in; i++) {
        cr_assert_eq(b->x[i], floorf(b->x[i]));
        float back = b->x[i] / 16.0f; /* what the input transform computes */
        cr_assert_eq(memcmp(&back, &a->x[i], 4), 0, "pixel %zu", i);
    }
    nerve_data_free(a);
    nerve_data_free(b);
}

/* ---- features only (issue 11, case 12) ------------------------------------------- */

/* Every column a feature: a one-column file is one feature per row (what a
 * 1-input model predicts from); no labels, no targets. Without the option
 * the same file has no room for a feature beside its label. */
Test(data, csv_features_only) {
    nerve_csv_opts o;
    memset(&o, 0, sizeof o);
    csv_bad("0.5\n-2\n3e2\n", &o, "no feature beside", NULL);
    o.features_only = 1;
    nerve_data *d = csv_ok("0.5\n-2\n3e2\n", &o);
    cr_assert(d->n == 3 && d->in == 1 && d->out == 0, "n %zu in %zu out %zu", d->n, d->in, d->out);
    cr_assert(d->labels == NULL && d->y == NULL && d->class_names == NULL);
    cr_assert(d->x[0] == 0.5f && d->x[1] == -2.0f && d->x[2] == 300.0f);
    const nerve_dataset v = nerve_data_view(d);
    cr_assert(v.labels == NULL && v.y == NULL && v.out == 0 && v.in == 1);
    nerve_data_free(d);
    /* a header (detected), several columns, the feature scale on every one */
    o.feature_scale = 0.25f;
    d = csv_ok("x,y,z\n1,2,3\n4,5,6\n", &o);
    cr_assert(d->n == 2 && d->in == 3 && d->out == 0);
    const float want[6] = {0.25f, 0.5f, 0.75f, 1.0f, 1.25f, 1.5f};
    for (int i = 0; i < 6; i++) cr_assert_eq(d->x[i], want[i], "x[%d] = %g", i, (double)d->x[i]);
    /* not for training or splitting: nothing to learn from */
    nerve_data *a, *b;
    expect_status(nerve_data_split(d, 0.5, 1, &a, &b), NERVE_EINVAL, "split");
    cr_assert(strstr(nerve_last_error(), "features only"), "%s", nerve_last_error());
    float m[3], sd[3];
    expect_status(nerve_data_target_stats(d, m, sd), NERVE_EINVAL, "target stats");
    expect_status(nerve_data_feature_stats(d, m, sd), NERVE_OK, "feature stats");
    size_t sizes[2] = {3, 2};
    nerve_act acts[1] = {NERVE_ACT_IDENTITY};
    nerve_net *net;
    expect_status(nerve_net_create(&net, 1, sizes, acts, NERVE_LOSS_MSE, 1), NERVE_OK, "net");
    const nerve_dataset w = nerve_data_view(d);
    expect_status(nerve_net_train_epoch(net, &w, NULL, NULL), NERVE_EINVAL, "train on features");
    nerve_net_free(net);
    nerve_data_free(d);
    /* every field must be a number: there is no label column to hold text */
    o.feature_scale = 0;
    csv_bad("1,2\n3,setosa\n", &o, "line 2 column 2", "not a number");
}

/* features_only with a label or target option is a contradiction. */
Test(data, csv_features_only_refuses_label_options) {
    write_text("f.csv", "1,2\n3,4\n");
    for (int k = 0; k < 6; k++) {
        nerve_csv_opts o;
        memset(&o, 0, sizeof o);
        o.features_only = 1;
        static const char *const names[1] = {"a"};
        switch (k) {
        case 0:
            o.targets = 1;
            break;
        case 1:
            o.classes = 3;
            break;
        case 2:
            o.label_column = 1;
            break;
        case 3:
            o.label_name = "x";
            break;
        case 4:
            o.labels = NERVE_CSV_LABELS_NAMES;
            break;
        default:
            o.class_names = names, o.n_class_names = 1;
            break;
        }
        nerve_data *d = (nerve_data *)1;
        expect_status(nerve_data_load_csv(&d, tpath("f.csv"), &o), NERVE_EINVAL, "option");
        cr_assert_null(d);
        cr_assert(strstr(nerve_last_error(), "features_only"), "%s", nerve_last_error());
    }
}
