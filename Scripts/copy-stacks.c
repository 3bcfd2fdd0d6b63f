// A measuring tool, not part of the library: where the copies of Scripts/alloc-count.c come from.
// LD_PRELOAD it with COPY_STACKS=DIR: every memcpy/memmove of 4 KiB or more is attributed to its
// call stack (7 frames), and at exit DIR/<pid> lists "bytes calls object:offset…" per stack.
// Scripts/copy-stacks.py A B STEPS [N] prints the N stacks whose bytes grew most from run A to run B
// (e.g. --steps 3 and --steps 6, STEPS = 3), per step, symbolized:
//   gcc -O2 -shared -fPIC -o /tmp/copy-stacks.so Scripts/copy-stacks.c -ldl -lpthread
//   COPY_STACKS=/tmp/a LD_PRELOAD=/tmp/copy-stacks.so .build/release/dion train --steps 3
//   COPY_STACKS=/tmp/b LD_PRELOAD=/tmp/copy-stacks.so .build/release/dion train --steps 6
//   python3 Scripts/copy-stacks.py /tmp/a/<pid> /tmp/b/<pid> 3 20
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
extern void *__libc_malloc(size_t);
static void *(*real_memcpy)(void *, const void *, size_t);
static void *(*real_memmove)(void *, const void *, size_t);
#define DEPTH 7
#define SLOTS 4096
static struct { void *f[DEPTH]; unsigned long long bytes, calls; } table[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int inside;
static void record(size_t n) {
    if (n < 4096 || inside || !real_memcpy) return;
    inside = 1;
    void *frames[DEPTH + 2];
    int k = backtrace(frames, DEPTH + 2);
    unsigned long h = 0;
    for (int i = 2; i < k; i++) h = h * 31 + (unsigned long)frames[i];
    pthread_mutex_lock(&lock);
    for (unsigned long s = h % SLOTS, t = 0; t < SLOTS; s = (s + 1) % SLOTS, t++) {
        if (table[s].calls == 0) { for (int i = 2; i < k; i++) table[s].f[i - 2] = frames[i]; }
        else { int same = 1; for (int i = 2; i < k; i++) if (table[s].f[i - 2] != frames[i]) same = 0; if (!same) continue; }
        table[s].bytes += n; table[s].calls++; break;
    }
    pthread_mutex_unlock(&lock);
    inside = 0;
}
void *memcpy(void *d, const void *s, size_t n) {
    record(n);
    if (real_memcpy) return real_memcpy(d, s, n);
    for (size_t i = 0; i < n; i++) ((char *)d)[i] = ((const char *)s)[i];
    return d;
}
void *memmove(void *d, const void *s, size_t n) {
    record(n);
    if (real_memmove) return real_memmove(d, s, n);
    if (d < s) { for (size_t i = 0; i < n; i++) ((char *)d)[i] = ((const char *)s)[i]; }
    else { for (size_t i = n; i > 0; i--) ((char *)d)[i - 1] = ((const char *)s)[i - 1]; }
    return d;
}
__attribute__((constructor)) static void start(void) {
    void *(*m)(void *, const void *, size_t) = dlsym(RTLD_NEXT, "memmove");
    void *(*c)(void *, const void *, size_t) = dlsym(RTLD_NEXT, "memcpy");
    void *dummy[2]; inside = 1; backtrace(dummy, 2); inside = 0;  // load libgcc before counting
    real_memmove = m; real_memcpy = c;
}
__attribute__((destructor)) static void report(void) {
    const char *dir = getenv("COPY_STACKS");
    if (!dir) return;
    char path[4096]; snprintf(path, sizeof path, "%s/%d", dir, (int)getpid());
    FILE *f = fopen(path, "w"); if (!f) return;
    for (int s = 0; s < SLOTS; s++) {
        if (!table[s].calls) continue;
        fprintf(f, "%llu %llu", table[s].bytes, table[s].calls);
        for (int i = 0; i < DEPTH && table[s].f[i]; i++) {
            Dl_info info;
            if (dladdr(table[s].f[i], &info) && info.dli_fname)
                fprintf(f, " %s:0x%lx", info.dli_fname, (unsigned long)((char *)table[s].f[i] - (char *)info.dli_fbase) - 1);
        }
        fprintf(f, "\n");
    }
    fclose(f);
}
