/* Progress bar: redrawn at most 10 times a second (redrawing after every
 * small batch would cost more terminal time than the batch itself). */
#define _POSIX_C_SOURCE 200809L
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#include "args.h"

#define BAR_WIDTH       24  /* characters of the bar itself */
#define REDRAW_INTERVAL 0.1 /* seconds between redraws */

void progress_init(progress *p, int enabled) {
    p->enabled = enabled && isatty(STDERR_FILENO);
    p->drawn = 0;
    p->epoch = p->epochs = 0;
    p->t0 = p->last_draw = 0;
}

void progress_begin(progress *p, size_t epoch, size_t epochs) {
    p->epoch = epoch;
    p->epochs = epochs;
    p->t0 = cli_now();
    p->last_draw = 0;
}

static void format_eta(char *buf, size_t cap, double s) {
    if (s < 0 || s > 359999) s = 0;
    unsigned t = (unsigned)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%u:%02u:%02u", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%u:%02u", t / 60, t % 60);
}

void progress_update(void *user, size_t done, size_t total, float running_loss) {
    progress *p = user;
    if (!p->enabled || total == 0) return;
    double now = cli_now();
    if (done < total && now - p->last_draw < REDRAW_INTERVAL) return;
    p->last_draw = now;
    double el = now - p->t0;
    double rate = el > 0 ? (double)done / el : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    size_t fill = done * BAR_WIDTH / total;
    char bar[BAR_WIDTH + 1], etas[32];
    for (size_t i = 0; i < BAR_WIDTH; i++) bar[i] = i < fill ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    format_eta(etas, sizeof etas, eta);
    /* \r to column 0, then the line, then erase what a longer previous line left */
    fprintf(stderr, "\repoch %zu/%zu [%s] %zu/%zu  %.0f samples/s  loss %.4f  ETA %s\x1b[K",
            p->epoch, p->epochs, bar, done, total, rate, (double)running_loss, etas);
    fflush(stderr);
    p->drawn = 1;
}

void progress_end(progress *p) {
    if (!p->drawn) return;
    fputs("\r\x1b[K", stderr);
    fflush(stderr);
    p->drawn = 0;
}
