// A measuring tool, not part of the library: LD_PRELOAD it into a process to count the heap
// allocations (calls and bytes requested) and the bytes copied by memcpy/memmove calls made
// through the dynamic linker (Swift's array copies, Open MPI's, OpenBLAS's). At exit it appends
// one line to $ALLOC_COUNT_DIR/<pid> (nothing without ALLOC_COUNT_DIR):
//   exe allocations bytes_allocated copy_calls bytes_copied swift_copy_calls swift_bytes_copied
// where the swift_ pair counts only the copies called from the executable or the Swift runtime
// (the rest are Open MPI's shared-memory transport and other libraries).
// Used by Scripts/measure-step-allocations.sh (docs/architecture.md, "Copies per step").
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static unsigned long long allocations, allocated, copies, copied, swiftCopies, swiftCopied;
static struct { unsigned long start, end; } swiftCode[64];
static int swiftRanges;
static void *(*real_memcpy)(void *, const void *, size_t);
static void *(*real_memmove)(void *, const void *, size_t);

static void count(size_t n) { __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED); __atomic_fetch_add(&allocated, n, __ATOMIC_RELAXED); }
static void copy(size_t n, void *caller) {
    __atomic_fetch_add(&copies, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&copied, n, __ATOMIC_RELAXED);
    unsigned long pc = (unsigned long)caller;
    for (int i = 0; i < swiftRanges; i++) {
        if (pc >= swiftCode[i].start && pc < swiftCode[i].end) {
            __atomic_fetch_add(&swiftCopies, 1, __ATOMIC_RELAXED);
            __atomic_fetch_add(&swiftCopied, n, __ATOMIC_RELAXED);
            return;
        }
    }
}

void *malloc(size_t n) { count(n); return __libc_malloc(n); }
void *calloc(size_t k, size_t n) { count(k * n); return __libc_calloc(k, n); }
void *realloc(void *p, size_t n) { count(n); return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { count(n); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { count(n); return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    count(n);
    void *p = __libc_memalign(a, n);
    if (!p) return 12;  // ENOMEM
    *out = p;
    return 0;
}

void *memcpy(void *d, const void *s, size_t n) {
    copy(n, __builtin_return_address(0));
    if (real_memcpy) return real_memcpy(d, s, n);
    for (size_t i = 0; i < n; i++) ((char *)d)[i] = ((const char *)s)[i];
    return d;
}
void *memmove(void *d, const void *s, size_t n) {
    copy(n, __builtin_return_address(0));
    if (real_memmove) return real_memmove(d, s, n);
    if (d < s) { for (size_t i = 0; i < n; i++) ((char *)d)[i] = ((const char *)s)[i]; }
    else { for (size_t i = n; i > 0; i--) ((char *)d)[i - 1] = ((const char *)s)[i - 1]; }
    return d;
}

__attribute__((constructor)) static void start(void) {
    real_memcpy = dlsym(RTLD_NEXT, "memcpy");
    real_memmove = dlsym(RTLD_NEXT, "memmove");
    // Executable mappings of the program itself and of the Swift runtime libraries.
    char exe[4096] = {0};
    if (readlink("/proc/self/exe", exe, sizeof exe - 1) < 0) return;
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) return;
    char line[8192];
    while (fgets(line, sizeof line, maps) && swiftRanges < 64) {
        unsigned long start, end;
        char perms[8], path[4096] = {0};
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %4095s", &start, &end, perms, path) < 3 || perms[2] != 'x') continue;
        if (strcmp(path, exe) == 0 || strstr(path, "libswift") || strstr(path, "libFoundation")) {
            swiftCode[swiftRanges].start = start;
            swiftCode[swiftRanges].end = end;
            swiftRanges++;
        }
    }
    fclose(maps);
}

__attribute__((destructor)) static void report(void) {
    const char *dir = getenv("ALLOC_COUNT_DIR");
    if (!dir) return;
    char exe[256] = {0}, path[4096];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k < 0) strcpy(exe, "?");
    snprintf(path, sizeof path, "%s/%d", dir, (int)getpid());
    FILE *f = fopen(path, "a");
    if (!f) return;
    fprintf(f, "%s %llu %llu %llu %llu %llu %llu\n", exe, allocations, allocated, copies, copied, swiftCopies, swiftCopied);
    fclose(f);
}
