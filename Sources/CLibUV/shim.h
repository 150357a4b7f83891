#ifndef CHORUS_CLIBUV_SHIM_H
#define CHORUS_CLIBUV_SHIM_H
#include <pthread.h>
#include <uv.h>

#if defined(__linux__)
/* Declared here rather than through _GNU_SOURCE, which would change system types (fd_set) that
   other Clang modules (Dispatch, Glibc) also define, and make them clash. */
extern int pthread_setname_np(pthread_t thread, const char *name);
#endif

/// Names the calling thread (shown by top -H and debuggers); Linux keeps the first 15 bytes.
static inline void chorus_set_thread_name(const char *name) {
#if defined(__linux__)
    char shortName[16];
    size_t i = 0;
    for (; i < 15 && name[i]; i++) shortName[i] = name[i];
    shortName[i] = 0;
    pthread_setname_np(pthread_self(), shortName);
#else
    (void)name;
#endif
}
#endif
