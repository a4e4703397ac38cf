// LD_PRELOAD shim: counts malloc/calloc/realloc calls and prints the total at exit.
// Used by bench/decode-allocations.sh to show that decoding allocates nothing per token.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static _Atomic long calls;
static void *(*real_malloc)(size_t);
static void *(*real_realloc)(void *, size_t);

void *malloc(size_t n) {
    if (!real_malloc) real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    atomic_fetch_add(&calls, 1);
    return real_malloc(n);
}

void *realloc(void *p, size_t n) {
    if (!real_realloc) real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    atomic_fetch_add(&calls, 1);
    return real_realloc(p, n);
}

__attribute__((destructor)) static void report(void) {
    fprintf(stderr, "mallocs: %ld\n", (long)atomic_load(&calls));
}
