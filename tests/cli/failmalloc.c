/* An LD_PRELOAD shim for the end-to-end tests (tests/cli.cmake, case
 * cli_rel_eval_fails_after_training): one malloc() of exactly
 * NERVE_FAILMALLOC_SIZE bytes fails, the first one after skipping
 * NERVE_FAILMALLOC_SKIP (default 0) such calls. NERVE_FAILMALLOC_MODE says
 * how: "null" (default) returns NULL with errno ENOMEM, as an exhausted heap
 * does; "kill" sends the process SIGKILL, as the kernel's out-of-memory
 * killer does under overcommit, where malloc rarely returns NULL. Every
 * other call goes to glibc's allocator untouched, so the failure lands on
 * one chosen allocation whatever the machine: the test picks a size that
 * only that allocation has. Not built with the sanitizers, which own the
 * allocator. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t n);
/* exported whatever the project's -fvisibility=hidden says: the point */
__attribute__((visibility("default"))) void *malloc(size_t n);

static size_t env_size(const char *name) {
    const char *s = getenv(name); /* getenv does not allocate */
    size_t v = 0;
    for (; s && *s >= '0' && *s <= '9'; s++) v = v * 10 + (size_t)(*s - '0');
    return v;
}

/* Read once the program's environment is in place (a constructor runs
 * after it is; the loader and libc call malloc earlier, when getenv may
 * still see nothing); until then every call passes. */
static size_t size, skip;
static int kill_mode;
static atomic_size_t matched;

__attribute__((constructor)) static void read_environment(void) {
    const char *mode = getenv("NERVE_FAILMALLOC_MODE");
    skip = env_size("NERVE_FAILMALLOC_SKIP");
    kill_mode = mode && strcmp(mode, "kill") == 0;
    size = env_size("NERVE_FAILMALLOC_SIZE");
}

void *malloc(size_t n) {
    if (size && n == size && atomic_fetch_add(&matched, 1) == skip) {
        if (kill_mode) raise(SIGKILL);
        errno = ENOMEM;
        return NULL;
    }
    return __libc_malloc(n);
}
