/* JSON writer: keys are ours (plain ASCII); string values are escaped. */
#include "json.h"

#include <math.h>

static void key(json_obj *o, const char *k) { fprintf(o->f, "%s\"%s\":", o->n++ ? "," : "", k); }

static void put_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void json_begin(json_obj *o, FILE *f) {
    o->f = f;
    o->n = 0;
    fputc('{', f);
}

void json_num(json_obj *o, const char *k, double v) {
    key(o, k);
    if (isfinite(v))
        fprintf(o->f, "%.9g", v);
    else
        fputs("null", o->f);
}

void json_uint(json_obj *o, const char *k, uint64_t v) {
    key(o, k);
    fprintf(o->f, "%llu", (unsigned long long)v);
}

void json_str(json_obj *o, const char *k, const char *v) {
    key(o, k);
    put_string(o->f, v ? v : "");
}

void json_bool(json_obj *o, const char *k, int v) {
    key(o, k);
    fputs(v ? "true" : "false", o->f);
}

void json_raw(json_obj *o, const char *k, const char *raw) {
    key(o, k);
    fputs(raw, o->f);
}

void json_end(json_obj *o) {
    fputs("}\n", o->f);
    fflush(o->f);
}
