/*
 * heap.c: the malloc heap in one transparent huge page (heap.h says why).
 * Steers glibc's main arena, which grows with sbrk, so that its next 2 MiB
 * start at a 2 MiB boundary inside a range advised MADV_HUGEPAGE before any
 * byte of it is touched (a range with a 4 KiB page already in it is never
 * faulted in as a huge page). Every step is checked; when one does not go as
 * planned the function stops and the heap works as before.
 */
#include "renderer/heap.h"

#include <stdlib.h> /* defines __GLIBC__ with glibc */

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KS_HEAP_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define KS_HEAP_ASAN 1
#endif

#if defined(__GLIBC__) && !defined(KS_HEAP_ASAN)

#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define HUGE_SIZE ((uintptr_t)2 << 20)
/* glibc's defaults, restored after the one large step. */
#define DEFAULT_TOP_PAD (128 * 1024)
/* Requests up to this size come from the heap instead of their own mmap
 * (whose pages would be 4 KiB faults again). */
#define MMAP_THRESHOLD (1 << 20)
/* Freed memory stays in the heap: glibc trims the top once 128 KiB are
 * free, which would hand the huge page back and fault later waves in again. */
#define TRIM_THRESHOLD (64 << 20)
/* The request that makes glibc grow the heap: larger than tcache's largest
 * class (1032 bytes) so that no cached chunk answers it, small enough that
 * the chunk and the new top's header stay in the page below the boundary. */
#define STEER_REQUEST 1536

/* The chunks used for steering stay allocated (reachable, not leaks): freed,
 * glibc would hand them out before the huge page and fault their 4 KiB
 * pages in. They are the untouched rest of the first top chunk and one
 * small chunk. */
static void *kept[2];

/* Whether a MADV_HUGEPAGE range would get huge pages: not when this process
 * has THP disabled (prctl, inherited) or the kernel's mode is "never" or
 * absent. Steering the heap without them would only leave a 2 MiB top chunk
 * that large callocs must clear page by page. */
static int thp_usable(void)
{
    if (prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != 0)
        return 0;
    int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char mode[128];
    ssize_t n = read(fd, mode, sizeof(mode) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    mode[n] = '\0';
    return strstr(mode, "[always]") != NULL || strstr(mode, "[madvise]") != NULL;
}

int ks_heap_hugepage(void)
{
    static int done;
    if (done)
        return 0;
    done = 1;
    mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    if (!thp_usable())
        return 0;
    long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0 || (uintptr_t)pg * 4 > HUGE_SIZE)
        return 0;
    uintptr_t page = (uintptr_t)pg;
    /* Initialises malloc if needed (without growing the heap) and gives the
     * top chunk's size (0 before the first sbrk). */
    struct mallinfo2 mi = mallinfo2();
    if (mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1)
        return 0;
    if (mi.keepcost >= STEER_REQUEST + 64) {
        /* Use up the current top (one allocation, below the mmap threshold;
         * a top of 1 MiB or more is left as it is) so that the steering
         * request below needs new memory: what remains of the top is
         * smaller than that request. */
        if (mi.keepcost - STEER_REQUEST >= MMAP_THRESHOLD)
            return 0;
        kept[0] = malloc(mi.keepcost - STEER_REQUEST);
        if (!kept[0])
            return 0;
    }
    uintptr_t cur = (uintptr_t)sbrk(0);
    if (cur == (uintptr_t)-1 || cur % page)
        return 0;
    uintptr_t boundary = (cur + page + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
    /* The skipped range is never touched: no memory, only addresses. */
    if (sbrk((intptr_t)(boundary - page - cur)) == (void *)-1)
        return 0;
    mallopt(M_TOP_PAD, (int)(HUGE_SIZE + 4 * page));
    kept[1] = malloc(STEER_REQUEST);
    mallopt(M_TOP_PAD, DEFAULT_TOP_PAD);
    uintptr_t at = (uintptr_t)kept[1];
    uintptr_t end = (uintptr_t)sbrk(0);
    /* glibc's new top must start in the page below the boundary (this chunk
     * and the top's header in it), and the heap must reach past the 2 MiB. */
    if (!kept[1] || at < boundary - page || at + STEER_REQUEST + 64 > boundary ||
        end == (uintptr_t)-1 || end < boundary + HUGE_SIZE)
        return 0;
    return madvise((void *)boundary, HUGE_SIZE, MADV_HUGEPAGE) == 0 ? 1 : 0;
}

#else

int ks_heap_hugepage(void)
{
    return 0;
}

#endif
