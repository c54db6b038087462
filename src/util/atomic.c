/*
 * atomic.c - atomic file writes (atomic.h).
 */
#include "util/atomic.h"
#include <limits.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void release(cwb_atomic *a) {
    free(a->tmp);
    free(a->path);
    a->tmp = a->path = NULL;
    a->f = NULL;
}

/* ".NAME.tmp.XXXXXX" beside path. */
static char *temp_name(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
    size_t n = strlen(path) + 16;
    char *t = malloc(n);
    if (t) snprintf(t, n, "%.*s.%s.tmp.XXXXXX", (int)dir, path, path + dir);
    return t;
}

static int start(cwb_atomic *a, const char *path, int want_file, char *err, size_t errlen) {
    memset(a, 0, sizeof *a);
    if (!path || !*path) {
        snprintf(err, errlen, "empty file name");
        return -1;
    }
    struct stat st;
    int in_place = 0;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "%s: is a directory", path);
            return -1;
        }
        if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s: not a regular file (refusing to write a block device)", path);
            return -1;
        }
        in_place = 1;
    }
    a->path = strdup(path);
    if (!a->path) goto nomem;
    if (in_place) {
        if (!want_file) return 0;
        a->f = fopen(path, "wb");
        if (!a->f) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            release(a);
            return -1;
        }
        return 0;
    }
    a->tmp = temp_name(path);
    if (!a->tmp) goto nomem;
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        release(a);
        return -1;
    }
    /* mkstemp creates the file 0600; give it the mode a plain fopen would. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) { /* not fatal: the data is still right */ }
    if (!want_file) {
        close(fd);
        return 0;
    }
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(a->tmp);
        release(a);
        return -1;
    }
    return 0;
nomem:
    snprintf(err, errlen, "%s: out of memory", path);
    release(a);
    return -1;
}

int cwb_atomic_open(cwb_atomic *a, const char *path, char *err, size_t errlen) {
    return start(a, path, 1, err, errlen);
}

int cwb_atomic_reserve(cwb_atomic *a, const char *path, char *err, size_t errlen) {
    return start(a, path, 0, err, errlen);
}

const char *cwb_atomic_name(const cwb_atomic *a) { return a->tmp ? a->tmp : a->path; }

static void fsync_dir(const char *path) {
    /* The rename is durable only once the folder's entry is on disk. */
    char *dir = strdup(path);
    if (!dir) return;
    char *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash) {
        if (slash == dir) slash[1] = '\0';
        else *slash = '\0';
        d = dir;
    }
    int fd = open(d, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

int cwb_atomic_commit(cwb_atomic *a, char *err, size_t errlen) {
    int rc = 0;
    if (a->f) {
        if (fflush(a->f) != 0 || ferror(a->f)) {
            snprintf(err, errlen, "%s: write failed: %s", a->path, strerror(errno));
            rc = -1;
        } else if (a->tmp && fsync(fileno(a->f)) != 0) {
            snprintf(err, errlen, "%s: fsync failed: %s", a->path, strerror(errno));
            rc = -1;
        }
        if (fclose(a->f) != 0 && rc == 0) {
            snprintf(err, errlen, "%s: close failed: %s", a->path, strerror(errno));
            rc = -1;
        }
        a->f = NULL;
    } else if (a->tmp) {
        /* written by another process under its name: make it durable too */
        int fd = open(a->tmp, O_RDONLY);
        if (fd < 0 || fsync(fd) != 0) {
            snprintf(err, errlen, "%s: fsync failed: %s", a->path, strerror(errno));
            rc = -1;
        }
        if (fd >= 0) close(fd);
    }
    if (a->tmp) {
        if (rc == 0 && rename(a->tmp, a->path) != 0) {
            snprintf(err, errlen, "%s: rename failed: %s", a->path, strerror(errno));
            rc = -1;
        }
        if (rc != 0) unlink(a->tmp);
        else fsync_dir(a->path);
    }
    release(a);
    return rc;
}

void cwb_atomic_abort(cwb_atomic *a) {
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    release(a);
}

int cwb_atomic_write(const char *path, const void *data, size_t n, char *err, size_t errlen) {
    cwb_atomic a;
    if (cwb_atomic_open(&a, path, err, errlen)) return -1;
    if (n && fwrite(data, 1, n, a.f) != n) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
        cwb_atomic_abort(&a);
        return -1;
    }
    return cwb_atomic_commit(&a, err, errlen);
}

/* ---- folders ------------------------------------------------------------------------ */

int cwb_mkdir_p(const char *path) {
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
    struct stat st;
    if (stat(buf, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}
