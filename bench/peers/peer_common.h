/* Shared by the peer programs of bench/peers/run.sh: the data prep_data.py
 * wrote, the timer, the command line and the one JSON line each prints.
 *
 *   PROG DATA_DIR SIZES(784-256-128-10) BATCH EPOCHS THREADS MAX_SECONDS
 *
 * Recipe (every system): the training set in file order (no shuffle), full
 * batches only, SGD momentum 0.9, lr 0.05 constant, ReLU hidden layers,
 * softmax cross-entropy; samples/s = trained samples / wall time of the
 * training loop; test accuracy after the last epoch. A run that passes
 * MAX_SECONDS stops early ("complete": 0, accuracy not comparable). */
#ifndef PEER_COMMON_H
#define PEER_COMMON_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct peer_data {
    char name[64];
    size_t d, n_train, n_test;
    float *xtr, *xte;
    int32_t *ytr, *yte;
} peer_data;

typedef struct peer_args {
    const char *dir;
    size_t sizes[8], n_layers, batch, epochs;
    int threads;
    double max_seconds;
} peer_args;

static inline double peer_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline void *peer_read(const char *dir, const char *file, size_t bytes) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    void *p = malloc(bytes ? bytes : 1);
    if (!f || !p || fread(p, 1, bytes, f) != bytes) {
        fprintf(stderr, "peer: cannot read %zu bytes of %s\n", bytes, path);
        exit(1);
    }
    fclose(f);
    return p;
}

static inline void peer_load(const char *dir, peer_data *d) {
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%63s %zu %zu %zu", d->name, &d->d, &d->n_train, &d->n_test) != 4) {
        fprintf(stderr, "peer: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    d->xtr = (float *)peer_read(dir, "train_x.f32", d->n_train * d->d * 4);
    d->ytr = (int32_t *)peer_read(dir, "train_y.i32", d->n_train * 4);
    d->xte = (float *)peer_read(dir, "test_x.f32", d->n_test * d->d * 4);
    d->yte = (int32_t *)peer_read(dir, "test_y.i32", d->n_test * 4);
}

static inline void peer_free(peer_data *d) {
    free(d->xtr);
    free(d->ytr);
    free(d->xte);
    free(d->yte);
}

static inline void peer_parse(int argc, char **argv, peer_args *a) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s DATA_DIR SIZES BATCH EPOCHS THREADS MAX_SECONDS\n", argv[0]);
        exit(2);
    }
    a->dir = argv[1];
    a->n_layers = 0;
    char *s = argv[2];
    size_t n = 0;
    while (*s && n < 8) {
        a->sizes[n++] = strtoul(s, &s, 10);
        if (*s == '-') s++;
    }
    a->n_layers = n - 1;
    a->batch = strtoul(argv[3], NULL, 10);
    a->epochs = strtoul(argv[4], NULL, 10);
    a->threads = atoi(argv[5]);
    a->max_seconds = atof(argv[6]);
    if (n < 2 || a->batch < 1) {
        fprintf(stderr, "peer: bad arguments\n");
        exit(2);
    }
}

/* Accuracy of logits (n x C) against labels. */
static inline double peer_accuracy(const float *logits, const int32_t *y, size_t n, size_t C) {
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        for (size_t j = 1; j < C; j++)
            if (logits[i * C + j] > logits[i * C + best]) best = j;
        ok += (int32_t)best == y[i];
    }
    return n ? 100.0 * (double)ok / (double)n : 0.0;
}

static inline void peer_report(const char *system, const char *precision, const peer_args *a,
                               const peer_data *d, size_t samples, double seconds, double acc,
                               int complete, const char *kernel) {
    printf("{\"system\": \"%s\", \"precision\": \"%s\", \"sizes\": \"", system, precision);
    for (size_t i = 0; i <= a->n_layers; i++) printf(i ? "-%zu" : "%zu", a->sizes[i]);
    printf("\", \"batch\": %zu, \"threads\": %d, \"epochs\": %zu, \"data\": \"%s\", "
           "\"samples\": %zu, \"seconds\": %.6f, \"samples_per_s\": %.1f, \"test_acc\": %.2f, "
           "\"complete\": %d, \"kernel\": \"%s\"}\n",
           a->batch, a->threads, a->epochs, d->name, samples, seconds,
           seconds > 0 ? (double)samples / seconds : 0.0, acc, complete, kernel);
    fflush(stdout);
}

#endif
