/*
 * textdiff.h: line-based unified diffs ("@@ -a,b +c,d @@" hunks with
 * context), used to show how an object's YAML changes between revisions.
 * Inputs are small (one object), so a longest-common-subsequence table is
 * used, capped by KS_TEXTDIFF_MAX_CELLS; past the cap the diff degrades to
 * "all old lines removed, all new lines added", which is still correct.
 */
#ifndef KS_CORE_TEXTDIFF_H
#define KS_CORE_TEXTDIFF_H

#include "core/buf.h"

#define KS_TEXTDIFF_MAX_CELLS (4u * 1024u * 1024u)

/* Appends the hunks turning a into b (NUL-terminated texts) to out, with
 * `context` unchanged lines around each change. Nothing is appended when
 * the texts are equal. Lines keep their "\n"; a missing final newline is
 * tolerated. Returns 0 or the buffer's error. */
int ks_textdiff_unified(struct ks_buf *out, const char *a, const char *b, unsigned context);

#endif
