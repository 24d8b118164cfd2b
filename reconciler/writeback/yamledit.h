/*
 * yamledit.h: minimal text edits of a YAML manifest file, for the drift
 * branches of --drift-pr (docs/writeback.md, "Drift branches").
 *
 * A drift branch changes the desired-state file so that merging it makes Git
 * match what was found. Re-emitting the whole file would lose its comments,
 * key order and layout, so the edit replaces only the text of one value (or
 * inserts one "key: value" line) at the positions libyaml reports, leaves
 * every other byte alone, and then checks its own work: the edited text is
 * parsed again and must equal the original documents with exactly that one
 * value set. Anything it cannot edit that way (aliases, flow mappings as the
 * target, a missing intermediate key) is refused with KS_EINVALID, and the
 * caller writes a note file instead.
 */
#ifndef KS_RECONCILER_WRITEBACK_YAMLEDIT_H
#define KS_RECONCILER_WRITEBACK_YAMLEDIT_H

#include <jansson.h>
#include <stddef.h>

#define KS_YAMLEDIT_MAX_BYTES (4u * 1024u * 1024u)

/* Sets the value at path in one document of the stream text (len bytes).
 *   doc_line: the document whose root node starts on that line (1-based),
 *     as keelson.io/source records it ("apps/web.yaml:14"); 0 or a line
 *     before every document: the first document.
 *   path: a JSON array of steps: a string is a mapping key, an integer a
 *     sequence index, an object {"name": "web"} the sequence element that is
 *     a mapping whose members equal those given (first match).
 *   value: any JSON value; scalars are written as YAML scalars (plain when
 *     that reads back as the same value, else double-quoted), arrays and
 *     objects in flow style (JSON is valid YAML).
 * The last step may name a key the mapping does not have: a line
 * "<key>: <value>" is inserted after the mapping's first entry (which must
 * fit on one line). *out (free()) holds the new text, *out_len its length;
 * *out_changed (may be NULL) is 0 when the value was already there (then
 * *out is a copy of text). Errors: KS_EINVALID (not editable, with the
 * reason), KS_ENOTFOUND (a step not found), KS_ELIMIT (over
 * KS_YAMLEDIT_MAX_BYTES). */
int ks_yamledit_set(char **out, size_t *out_len, int *out_changed, const char *text, size_t len,
                    int doc_line, const json_t *path, const json_t *value);

#endif
