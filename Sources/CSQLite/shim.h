#ifndef CHORUS_CSQLITE_SHIM_H
#define CHORUS_CSQLITE_SHIM_H
#include <pthread.h>
#include <sqlite3.h>

/* SQLITE_STATIC and SQLITE_TRANSIENT are casts of integers to function pointers, which Swift does
   not import: these return them. */

/// Tells sqlite3_bind_* that the caller keeps the bytes alive and unchanged until the statement is
/// stepped to completion, reset or rebound: SQLite reads them in place.
static inline sqlite3_destructor_type chorus_sqlite_static(void) { return SQLITE_STATIC; }

/// Tells sqlite3_bind_* to copy the bytes before returning.
static inline sqlite3_destructor_type chorus_sqlite_transient(void) { return SQLITE_TRANSIENT; }

#if defined(__linux__)
#include <malloc.h>
#endif

/// Returns freed heap memory to the operating system where the C library can (glibc's malloc_trim).
static inline void chorus_storage_trim_heap(void) {
#if defined(__linux__)
    malloc_trim(0);
#endif
}

#if defined(__linux__)
/* Declared here rather than through _GNU_SOURCE, which would change system types that other Clang
   modules (Glibc) also define, and make them clash. */
extern int pthread_setname_np(pthread_t thread, const char *name);
#endif

/// Names the calling thread (shown by top -H and debuggers); Linux keeps the first 15 bytes.
/// Here because ChorusStorage depends on this module only, and its writer runs a thread of its own.
static inline void chorus_storage_set_thread_name(const char *name) {
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
