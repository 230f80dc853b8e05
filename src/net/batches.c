/* The minibatches of a training pass (batches.h). */
#include "batches.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "private_abi.h"
#include "split.h"

NERVE_PRIVATE nerve_status batches_init(epoch_batches *it, const char *fn, const nerve_dataset *data,
                          size_t batch_size, int shuffle, size_t part, size_t parts) {
    memset(it, 0, sizeof *it);
    const size_t n = data->n, want = batch_size ? batch_size : BATCHES_DEFAULT_SIZE;
    it->data = data;
    it->n = n;
    it->bs = want < n ? want : n;
    it->part = part;
    it->parts = parts;
    if (!shuffle) return NERVE_OK;
    /* the largest part of a batch: split_range's shares differ by at most
     * one row, so none exceeds ceil(bs / parts) */
    const size_t cap = (it->bs + parts - 1) / parts, in = data->in, C = data->out;
    const int cls = data->labels != NULL;
    it->perm = malloc(n * sizeof *it->perm);
    it->bx = malloc(cap * in * sizeof *it->bx);
    it->by = cls ? NULL : malloc(cap * C * sizeof *it->by);
    it->bl = cls ? malloc(cap * sizeof *it->bl) : NULL;
    if (!it->perm || !it->bx || (cls ? !it->bl : !it->by)) {
        batches_free(it);
        return error_set(NERVE_ENOMEM, "%s: out of memory for shuffled batches", fn);
    }
    for (size_t i = 0; i < n; i++) it->perm[i] = i;
    return NERVE_OK;
}

NERVE_PRIVATE int batches_next(epoch_batches *it, nerve_batch *b, size_t *first, size_t *rows) {
    const size_t r = it->next, n = it->n;
    if (r >= n) return 0;
    const size_t m = n - r < it->bs ? n - r : it->bs;
    it->next = r + m;
    *first = r;
    *rows = m;
    size_t p0, p1;
    split_range(m, 1, it->part, it->parts, &p0, &p1);
    const nerve_dataset *d = it->data;
    const size_t in = d->in, C = d->out, lrows = p1 - p0;
    const int cls = d->labels != NULL;
    *b = (nerve_batch){.n = lrows};
    if (it->perm) {
        for (size_t i = 0; i < lrows; i++) {
            const size_t s = it->perm[r + p0 + i];
            memcpy(it->bx + i * in, d->x + s * in, in * sizeof *it->bx);
            if (cls)
                it->bl[i] = d->labels[s];
            else
                memcpy(it->by + i * C, d->y + s * C, C * sizeof *it->by);
        }
        b->x = it->bx, b->y = it->by, b->labels = it->bl;
    } else {
        const size_t s = r + p0;
        b->x = d->x + s * in;
        b->y = cls ? NULL : d->y + s * C;
        b->labels = cls ? d->labels + s : NULL;
    }
    return 1;
}

NERVE_PRIVATE void batches_seek(epoch_batches *it, size_t row) { it->next = row; }

NERVE_PRIVATE void batches_free(epoch_batches *it) {
    free(it->perm), free(it->bx), free(it->by), free(it->bl);
    it->perm = NULL, it->bx = it->by = NULL, it->bl = NULL;
}
