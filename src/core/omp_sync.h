/* OpenMP synchronisation made visible to ThreadSanitizer.
 *
 * GCC's libgomp is not instrumented: TSan does not see its barriers or the
 * hand-over of work to a team (futexes and atomics inside libgomp), so in a
 * -fsanitize=thread build every access across a barrier would look like a
 * race. These macros add exactly the happens-before edges OpenMP defines,
 * on an address shared by the team (the region's context), and compile to
 * nothing otherwise:
 *   OMP_FORK(p)   before `#pragma omp parallel`: the master's writes ...
 *   OMP_ENTER(p)  first in the region body: ... are seen by every thread;
 *   OMP_LEAVE(p)  last in the region body: every thread's writes ...
 *   OMP_JOIN(p)   after the region: ... are seen by the master;
 *   OMP_BARRIER(p) `#pragma omp barrier` with both edges.
 * A team thread finds the region's shared variables through a block that
 * the master filled on its stack just before libgomp woke the team, which
 * TSan cannot see either: the region body copies them into locals between
 * OMP_READ_SHARED_BEGIN() and OMP_READ_SHARED_END() (reads only, ignored),
 * then OMP_ENTER(p) on that copy.
 * Only the edges of the OpenMP constructs themselves are added, so a real
 * race in nerve's code is still reported (scripts/test.sh, TSan stage). */
#ifndef NERVE_SRC_OMP_SYNC_H
#define NERVE_SRC_OMP_SYNC_H

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
void AnnotateIgnoreReadsBegin(const char *file, int line); /* TSan's runtime */
void AnnotateIgnoreReadsEnd(const char *file, int line);
#define OMP_SYNC_RELEASE(p)      __tsan_release((void *)(p))
#define OMP_SYNC_ACQUIRE(p)      __tsan_acquire((void *)(p))
#define OMP_READ_SHARED_BEGIN() AnnotateIgnoreReadsBegin(__FILE__, __LINE__)
#define OMP_READ_SHARED_END()   AnnotateIgnoreReadsEnd(__FILE__, __LINE__)
#else
#define OMP_SYNC_RELEASE(p)      ((void)(p))
#define OMP_SYNC_ACQUIRE(p)      ((void)(p))
#define OMP_READ_SHARED_BEGIN() ((void)0)
#define OMP_READ_SHARED_END()   ((void)0)
#endif

#define OMP_FORK(p)  OMP_SYNC_RELEASE(p)
#define OMP_ENTER(p) OMP_SYNC_ACQUIRE(p)
#define OMP_LEAVE(p) OMP_SYNC_RELEASE(p)
#define OMP_JOIN(p)  OMP_SYNC_ACQUIRE(p)
#define OMP_BARRIER(p)                                                                             \
    do {                                                                                           \
        OMP_SYNC_RELEASE(p);                                                                       \
        _Pragma("omp barrier") OMP_SYNC_ACQUIRE(p);                                                \
    } while (0)

#endif
