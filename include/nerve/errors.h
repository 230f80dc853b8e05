/* nerve: status codes and error messages.
 *
 * Every public function that can fail returns a nerve_status. On failure a
 * readable message describing what went wrong is kept per thread and can be
 * read with nerve_last_error() until the next failing call on that thread.
 * The library never aborts or exits. */
#ifndef NERVE_ERRORS_H
#define NERVE_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility; this marks the public API. */
#ifndef NERVE_API
#if defined(__GNUC__)
#define NERVE_API __attribute__((visibility("default")))
#else
#define NERVE_API
#endif
#endif

typedef enum nerve_status {
    NERVE_OK = 0,
    NERVE_EINVAL = 1,      /* invalid argument (null pointer, bad size, bad enum) */
    NERVE_ENOMEM = 2,      /* allocation failed */
    NERVE_EIO = 3,         /* operating-system I/O error (message holds the reason) */
    NERVE_EFORMAT = 4,     /* malformed or damaged file / data */
    NERVE_ENUMERIC = 5,    /* NaN or Inf appeared (e.g. the training loss) */
    NERVE_EUNSUPPORTED = 6 /* not available on this CPU or in this build */
} nerve_status;

/* Short fixed description of a status ("invalid argument", ...). */
NERVE_API const char *nerve_strerror(nerve_status status);

/* The message of the last failure on the calling thread ("" if none). */
NERVE_API const char *nerve_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
