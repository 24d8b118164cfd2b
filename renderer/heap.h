/*
 * heap.h: puts the process's malloc heap into one transparent huge page, for
 * short-lived processes that render (the `reconcile` front, docs/renderer.md
 * "Page faults"). On the benchmark VM every fresh 4 KiB page costs ~15 us to
 * fault in, while one 2 MiB huge page costs ~0.2-0.3 ms: a render of a
 * 50-template chart touches ~180 heap pages (~2.7 ms) that one huge page
 * replaces. The price is resident memory: the whole 2 MiB counts at once.
 *
 * How: glibc's main arena grows with sbrk. Before the arena first needs more
 * memory, the program break is moved to one page below a 2 MiB boundary, the
 * top pad is raised so glibc's next sbrk reaches past the following 2 MiB,
 * glibc is made to take that step (the chunks it touches stay in the page
 * below the boundary), and the 2 MiB above the boundary are advised
 * MADV_HUGEPAGE before anything touches them. Requests up to 1 MiB are kept
 * on the heap (M_MMAP_THRESHOLD) so that large buffers land there too.
 *
 * Optional in effect: if THP is off ("never" in
 * /sys/kernel/mm/transparent_hugepage/enabled, or disabled for the process
 * with prctl(PR_SET_THP_DISABLE)), not built into the kernel, or any step
 * does not go as planned, the heap is left an ordinary heap (a step that
 * fails leaves at most an untouched address range, which costs nothing).
 * Not used, and a no-op, under AddressSanitizer (it replaces malloc) or
 * without glibc. It also sets glibc's trim threshold to 64 MiB (freed memory
 * stays for reuse), also when it declines.
 */
#ifndef KS_RENDERER_HEAP_H
#define KS_RENDERER_HEAP_H

/* Prepares the heap as above. Call once, early in main, single-threaded.
 * Returns 1 if a 2 MiB range of the heap is advised MADV_HUGEPAGE, 0 if the
 * heap was left as it is (never an error). The chunks it allocates to steer
 * glibc stay allocated (a few bytes and the untouched rest of glibc's first
 * top chunk) so that later allocations do not fall back into 4 KiB pages. */
int ks_heap_hugepage(void);

#endif
