/* The per-epoch progress bar of `nerve train` on stderr.
 *
 * Drawn only when stderr is a terminal (and not --quiet): one line redrawn
 * with '\r' showing samples done, samples/s, running loss and ETA. When
 * stderr is not a terminal nothing is written at all, so logs and pipes never
 * see control characters. */
#ifndef NERVE_CLI_PROGRESS_H
#define NERVE_CLI_PROGRESS_H

#include <stddef.h>

typedef struct progress {
    int enabled; /* draw at all */
    int drawn;   /* a line is on screen and must be cleared */
    size_t epoch, epochs;
    double t0;        /* start of the epoch (cli_now) */
    double last_draw; /* time of the last redraw, to limit the rate */
} progress;

/* enabled: the caller's wish (not --quiet); drawing also needs a terminal. */
void progress_init(progress *p, int enabled);
void progress_begin(progress *p, size_t epoch, size_t epochs);
/* nerve_progress_fn: user is a progress*. */
void progress_update(void *user, size_t done, size_t total, float running_loss);
/* Erases the bar so that the next line starts clean. */
void progress_end(progress *p);

#endif
