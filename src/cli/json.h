/* Minimal JSON writer for one flat object per line (`nerve train --json`,
 * `nerve eval --json`). Numbers use %.9g (round-trips a float, close for a
 * double); NaN and infinities, which JSON cannot represent, become null. */
#ifndef NERVE_CLI_JSON_H
#define NERVE_CLI_JSON_H

#include <stdint.h>
#include <stdio.h>

typedef struct json_obj {
    FILE *f;
    int n; /* members written so far */
} json_obj;

void json_begin(json_obj *o, FILE *f);
void json_num(json_obj *o, const char *key, double v);
void json_uint(json_obj *o, const char *key, uint64_t v);
void json_str(json_obj *o, const char *key, const char *v);
void json_bool(json_obj *o, const char *key, int v);
/* Raw member: `raw` must already be valid JSON (an array, say). */
void json_raw(json_obj *o, const char *key, const char *raw);
/* Closes the object, ends the line and flushes (consumers read line by line). */
void json_end(json_obj *o);

#endif
