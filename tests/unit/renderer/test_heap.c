/*
 * test_heap.c: the malloc heap in a transparent huge page (renderer/heap.h).
 * This process has used malloc before (cmocka), so the "arena already in
 * use" path runs. When the call reports success, the next allocations must
 * lie in one 2 MiB-aligned range, and with THP in "always" or "madvise"
 * mode that range must be backed by a huge page once touched. Either way the
 * heap must keep working: a mix of allocations, reallocations and frees of
 * every size class, including the 128 KiB - 1 MiB requests that now come
 * from the heap instead of mmap, keeps every byte. A process with THP
 * disabled (prctl) must be left with its heap as it was.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "renderer/heap.h"

#define HUGE_SIZE ((uintptr_t)2 << 20)

static int advised; /* what ks_heap_hugepage returned */

/* The AnonHugePages of the mapping holding addr (smaps), -1 if not found. */
static long anon_huge_kb(uintptr_t addr)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    int in = 0;
    long kb = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = addr >= lo && addr < hi;
            continue;
        }
        if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
            break;
    }
    fclose(f);
    return kb;
}

/* THP mode as the kernel says it: "always", "madvise", "never" or "". */
static void thp_mode(char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return;
    char line[128];
    if (fgets(line, sizeof line, f)) {
        char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;
        if (open && close && (size_t)(close - open) < cap) {
            memcpy(out, open + 1, (size_t)(close - open - 1));
            out[close - open - 1] = '\0';
        }
    }
    fclose(f);
}

static void once_only(void **state)
{
    (void)state;
    /* the first call happened in main; a second one changes nothing */
    assert_int_equal(ks_heap_hugepage(), 0);
    assert_true(advised == 0 || advised == 1);
#if defined(__SANITIZE_ADDRESS__)
    assert_int_equal(advised, 0);
#endif
}

static void lands_in_huge_page(void **state)
{
    (void)state;
    if (!advised) {
        char mode[32];
        thp_mode(mode, sizeof mode);
        print_message("ks_heap_hugepage declined (THP mode \"%s\"); placement not checked\n", mode);
        return;
    }
    enum { N = 256 };
    char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = malloc(2000);
        assert_non_null(p[i]);
        memset(p[i], i, 2000);
    }
    /* 512 KiB in all: one 2 MiB range, but for a few chunks that free
     * lists from before the call may still hand out */
    uintptr_t region = (uintptr_t)p[N - 1] & ~(HUGE_SIZE - 1);
    int inside = 0;
    for (int i = 0; i < N; i++)
        inside += ((uintptr_t)p[i] & ~(HUGE_SIZE - 1)) == region;
    assert_true(inside >= N - 8);
    char mode[32];
    thp_mode(mode, sizeof mode);
    if (strcmp(mode, "always") == 0 || strcmp(mode, "madvise") == 0)
        assert_true(anon_huge_kb((uintptr_t)p[N - 1]) >= 2048);
    for (int i = 0; i < N; i++)
        free(p[i]);
}

/* xorshift for a repeatable mix */
static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void fill(unsigned char *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(seed + i * 31u);
}

static void check(const unsigned char *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)(seed + i * 31u))
            fail_msg("byte %zu of a block of %zu changed", i, n);
}

static void heap_keeps_working(void **state)
{
    (void)state;
    enum { SLOTS = 64 };
    unsigned char *blk[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    unsigned seed[SLOTS] = {0};
    uint32_t s = 12345;
    static const size_t sizes[] = {1, 24, 100, 1000, 1500, 5000, 70000, 140000, 600000, 1500000};
    for (int round = 0; round < 1000; round++) {
        int i = (int)(rnd(&s) % SLOTS);
        size_t n = sizes[rnd(&s) % (sizeof sizes / sizeof sizes[0])] + rnd(&s) % 64;
        switch (rnd(&s) % 3) {
        case 0: /* replace */
            if (blk[i])
                check(blk[i], len[i], seed[i]);
            free(blk[i]);
            blk[i] = malloc(n);
            assert_non_null(blk[i]);
            len[i] = n;
            seed[i] = (unsigned)round;
            fill(blk[i], n, seed[i]);
            break;
        case 1: { /* grow or shrink, keeping the common prefix */
            unsigned char *q = realloc(blk[i], n);
            assert_non_null(q);
            size_t keep = len[i] < n ? len[i] : n;
            if (blk[i] || len[i])
                check(q, keep, seed[i]);
            blk[i] = q;
            len[i] = n;
            seed[i] = (unsigned)round;
            fill(blk[i], n, seed[i]);
            break;
        }
        default: { /* calloc must give zeroes, also from reused heap memory */
            if (blk[i])
                check(blk[i], len[i], seed[i]);
            free(blk[i]);
            blk[i] = calloc(1, n);
            assert_non_null(blk[i]);
            for (size_t k = 0; k < n; k++)
                if (blk[i][k])
                    fail_msg("calloc(%zu): byte %zu is not zero", n, k);
            len[i] = n;
            seed[i] = (unsigned)round;
            fill(blk[i], n, seed[i]);
        }
        }
    }
    for (int i = 0; i < SLOTS; i++) {
        if (blk[i])
            check(blk[i], len[i], seed[i]);
        free(blk[i]);
    }
}

static int declined_without_thp = -1; /* 1 if a child with THP disabled got 0 */

static void declines_without_thp(void **state)
{
    (void)state;
    assert_int_equal(declined_without_thp, 1);
}

int main(void)
{
    /* A child with THP disabled by prctl (inherited by what it runs) must
     * leave its heap alone; checked before this process calls it itself. */
    pid_t pid = fork();
    if (pid == 0) {
        if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
            _exit(2);
        _exit(ks_heap_hugepage() == 0 ? 0 : 1);
    }
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
        declined_without_thp = WEXITSTATUS(status) == 0;
    /* cmocka and stdio may have allocated already: the path of a heap in use */
    void *warm = malloc(100);
    advised = ks_heap_hugepage();
    free(warm);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(once_only),
        cmocka_unit_test(declines_without_thp),
        cmocka_unit_test(lands_in_huge_page),
        cmocka_unit_test(heap_keeps_working),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
