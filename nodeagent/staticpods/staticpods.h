/*
 * staticpods.h: the directory source of the node agent (source.h): Pod
 * manifests in one directory, run without a control plane as the kubelet
 * runs kubeadm's static pods, followed with inotify (libinotifytools) so
 * that adding, editing or removing a file takes effect at once. With a
 * report directory it is also the file-backed source of the tests: pod
 * statuses and events are written as files there.
 *
 * Details (docs/nodeagent-sources.md): every pod gets spec.nodeName, the
 * namespace "default" when none is written, the annotation
 * keelson.io/source-file and metadata.uid = first 32 hex digits of
 * sha256(node + "\n" + canonical JSON of the pod), so an edited pod is a
 * new pod and an unchanged one keeps its uid across agent restarts.
 * ConfigMap and Secret documents answer get_object. A file that does not
 * load gives a Warning event naming file:line:col and the pods of its last
 * good version stay.
 *
 * libinotifytools keeps one inotify instance per process, so only one
 * directory source may exist at a time (a second is KS_ECONFLICT).
 */
#ifndef KS_NODEAGENT_STATICPODS_STATICPODS_H
#define KS_NODEAGENT_STATICPODS_STATICPODS_H

#include "nodeagent/agent/source.h"

#include <stddef.h>

#define KS_STATICPODS_DEFAULT_MAX_FILE_BYTES (1024u * 1024u)
#define KS_STATICPODS_DEFAULT_MAX_FILES 1000u
#define KS_STATICPODS_MAX_DOCS 100u         /* YAML documents in one file */
#define KS_STATICPODS_MAX_LOG 4096u         /* changes kept for watch; older since: KS_EGONE */
#define KS_STATICPODS_MAX_EVENT_LINE 65536u /* bytes of one events.ndjson line */

struct ks_staticpods_opts {
    const char
        *dir; /* *.yaml, *.yml, *.json in it (not recursive, dot-files skipped); multi-document */
    const char *
        node_name; /* pods get spec.nodeName; names stay as written (namespace default "default") */
    const char *report_dir; /* NULL: status/events only logged; else
                               <report_dir>/status/<ns>_<name>.json (atomic rename) and
                               <report_dir>/events.ndjson (one event per line, appended) */
    size_t max_file_bytes;  /* 0 = 1 MiB */
    unsigned max_files;     /* 0 = 1000 */
};

/* Reads the directory once (errors in files become events, not failures;
 * a missing directory is KS_ENOTFOUND) and starts following it. *out is
 * freed with (*out)->ops->free. */
int ks_staticpods_source_new(struct ks_agent_source **out, const struct ks_staticpods_opts *opts);

#endif
