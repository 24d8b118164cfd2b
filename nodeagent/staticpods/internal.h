/*
 * internal.h: what the directory source's files share: the source state
 * (source.c), loading one manifest file (load.c), rescanning the directory
 * into a change log (scan.c), the inotify wait (notify.c) and the report
 * directory writer (report.c).
 */
#ifndef KS_NODEAGENT_STATICPODS_INTERNAL_H
#define KS_NODEAGENT_STATICPODS_INTERNAL_H

#include "nodeagent/staticpods/staticpods.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* One manifest file as last read. */
struct sp_file {
    char *name; /* within the directory */
    dev_t dev;  /* what it was read from: re-read when any of these change */
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
    json_t *docs; /* last good version: normalised Pods, ConfigMaps, Secrets (array) */
    char *error;  /* the current version's load error, or NULL */
    bool seen;    /* present in the latest scan */
    bool fresh;   /* read again in the latest scan */
};

struct sp_source {
    struct ks_agent_source base;
    struct ks_staticpods_opts opts; /* strings below are owned copies */
    char *dir, *node, *report_dir;
    pthread_mutex_t lock;        /* guards the state below */
    pthread_mutex_t report_lock; /* guards the report files and tmp_seq */
    struct sp_file *files;
    size_t n_files;
    bool files_limited; /* the last scan found more files than max_files */
    json_t *current;    /* "Kind/ns/name" -> object: the merged view of all files */
    json_t *log;        /* changes with "revision", oldest first */
    int64_t revision;   /* revision of the newest change (starts at 1) */
    int64_t log_floor;  /* watch(since) needs since >= log_floor */
    unsigned tmp_seq;   /* unique temporary names for status files */
    int notify_fd;      /* libinotifytools' inotify descriptor */
    bool watch_lost;    /* the directory's watch ended (removed or moved away) */
    int wake[2];        /* interrupt pipe: read end polled with notify_fd */
};

/* Loads one file: *out_docs gets the normalised documents (array, new
 * reference). Errors (KS_EINVALID "path:line:col: ...", KS_ELIMIT) leave
 * the message in ks_error_last(). */
int sp_load_file(json_t **out_docs, const struct sp_source *s, const char *name);

/* Re-reads changed files, rebuilds s->current and appends the differences
 * to s->log (Warning events for bad files are emitted here). Caller holds
 * s->lock. */
int sp_rescan(struct sp_source *s);

/* Starts inotify on the directory; fills s->notify_fd. */
int sp_notify_start(struct sp_source *s);
void sp_notify_stop(struct sp_source *s);
/* After the directory's watch ended (the directory was removed or moved):
 * true when a directory is at s->dir again and is now followed; the caller
 * rescans. Called without s->lock, on the watch thread. */
bool sp_notify_refollow(struct sp_source *s);
/* Waits up to timeout_ms for directory events (1), an interrupt (0) or
 * nothing (0); drains what arrived. Called without s->lock. */
int sp_notify_wait(struct sp_source *s, long timeout_ms);

/* Report directory (or log) writers; callers do not hold s->lock. */
int sp_report_status(struct sp_source *s, const char *ns, const char *name, const json_t *status);
int sp_report_events(struct sp_source *s, const json_t *events);
/* One Warning event about a manifest file (reason "StaticPodFile"). */
void sp_report_file_warning(struct sp_source *s, const char *file, const char *message);

#endif
