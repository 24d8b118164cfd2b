/*
 * notify.c: inotify on the directory through libinotifytools, and the
 * wait that a parked watch does. libinotifytools reads its events with its
 * own select() and has no call that hands out its descriptor nor one that
 * another thread can wake, so the descriptor is found once, right after
 * inotifytools_initialize(), as the new "anon_inode:inotify" entry of
 * /proc/self/fd; the wait then polls it together with the interrupt pipe
 * (millisecond timeouts, immediate interrupt) and lets the library read
 * the events (inotifytools_next_events with a zero timeout). The library
 * keeps one instance per process: one directory source at a time.
 */
#include "nodeagent/staticpods/internal.h"

#include "core/error.h"
#include "core/str.h"

#include <dirent.h>
#include <errno.h>
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WATCH_EVENTS                                                                               \
    (IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB |            \
     IN_DELETE_SELF | IN_MOVE_SELF)
#define SETTLE_MS 15  /* quiet time that ends a burst of events (editors write in steps) */
#define SETTLE_MAX 20 /* at most this many settle rounds per wait */
#define MAX_FDS 4096  /* descriptors looked at in /proc/self/fd */

static pthread_mutex_t in_use_lock = PTHREAD_MUTEX_INITIALIZER;
static bool in_use;

/* Bitmap of this process's inotify descriptors below MAX_FDS. */
static void inotify_fds(unsigned char *map)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    char path[64], target[64];

    memset(map, 0, MAX_FDS / 8);
    if (!d)
        return;
    while ((e = readdir(d))) {
        int64_t number = -1;
        ssize_t n;

        if (e->d_name[0] == '.' || ks_str_to_i64(&number, e->d_name, "fd") != 0 || number < 0 ||
            number >= MAX_FDS)
            continue;
        int fd = (int)number;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        n = readlink(path, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strcmp(target, "anon_inode:inotify") == 0)
            map[fd / 8] |= (unsigned char)(1u << (fd % 8));
    }
    closedir(d);
}

int sp_notify_start(struct sp_source *s)
{
    unsigned char before[MAX_FDS / 8], after[MAX_FDS / 8];
    int fd, found = -1, rc = 0;
    bool mine = false;

    pthread_mutex_lock(&in_use_lock);
    if (in_use) {
        rc = ks_error_set(KS_ECONFLICT, "static pods: another directory source is open in this "
                                        "process (libinotifytools keeps one inotify instance)");
        goto done;
    }
    in_use = mine = true;
    inotify_fds(before);
    if (!inotifytools_initialize()) {
        rc = ks_error_set(KS_EIO, "static pods: inotify: %s", strerror(inotifytools_error()));
        goto done;
    }
    inotify_fds(after);
    for (fd = 0; fd < MAX_FDS; fd++)
        if ((after[fd / 8] & ~before[fd / 8]) & (1u << (fd % 8)))
            found = fd;
    if (found < 0) {
        rc = ks_error_set(KS_EIO, "static pods: cannot find libinotifytools' inotify descriptor");
        inotifytools_cleanup();
        goto done;
    }
    if (!inotifytools_watch_file(s->dir, WATCH_EVENTS)) {
        rc = ks_error_set(KS_EIO, "static pods: inotify on %s: %s", s->dir,
                          strerror(inotifytools_error()));
        inotifytools_cleanup();
        goto done;
    }
    s->notify_fd = found;
done:
    if (rc < 0 && mine)
        in_use = false;
    pthread_mutex_unlock(&in_use_lock);
    return rc;
}

void sp_notify_stop(struct sp_source *s)
{
    if (s->notify_fd < 0)
        return;
    pthread_mutex_lock(&in_use_lock);
    inotifytools_cleanup();
    in_use = false;
    s->notify_fd = -1;
    pthread_mutex_unlock(&in_use_lock);
}

bool sp_notify_refollow(struct sp_source *s)
{
    struct stat st;

    if (!s->watch_lost || stat(s->dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return false;
    /* The old watch died with its inode (IN_IGNORED); follow the new one. */
    inotifytools_remove_watch_by_filename(s->dir);
    if (!inotifytools_watch_file(s->dir, WATCH_EVENTS))
        return false;
    s->watch_lost = false;
    return true;
}

static void drain_events(struct sp_source *s)
{
    struct inotify_event *e;

    while ((e = inotifytools_next_events(0, 1)))
        if (e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
            s->watch_lost = true;
}

int sp_notify_wait(struct sp_source *s, long timeout_ms)
{
    struct pollfd p[2] = {{.fd = s->notify_fd, .events = POLLIN},
                          {.fd = s->wake[0], .events = POLLIN}};
    char buf[64];
    int n, rounds;

    n = poll(p, 2, timeout_ms < 0 ? 0 : (int)(timeout_ms > 3600000 ? 3600000 : timeout_ms));
    if (n < 0 && errno != EINTR)
        return ks_error_set(KS_EIO, "static pods: poll: %s", strerror(errno));
    if (n <= 0)
        return 0;
    if (p[1].revents & POLLIN) {
        while (read(s->wake[0], buf, sizeof(buf)) > 0)
            ;
        return 0;
    }
    if (!(p[0].revents & POLLIN))
        return 0;
    drain_events(s);
    /* Let a burst of writes finish so one change is read once. */
    for (rounds = 0; rounds < SETTLE_MAX; rounds++) {
        struct pollfd q = {.fd = s->notify_fd, .events = POLLIN};

        if (poll(&q, 1, SETTLE_MS) <= 0)
            break;
        drain_events(s);
    }
    return 1;
}
