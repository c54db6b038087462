/*
 * tui_output.c - what chunks print goes to the output area.
 *
 * stdout and stderr (the descriptors, so print, io.write, help(), C code and
 * child processes alike) are pointed at one pipe; curses keeps the real
 * terminal through a duplicate of the original stdout.  A small thread
 * empties the pipe into a buffer as soon as text arrives, so a chunk that
 * prints a lot while the UI is busy never blocks on a full pipe; the main
 * thread moves the buffer into the scrollback whenever it wants the output
 * in order (before it writes an echo or an error line itself).
 */
#include "ui/tui_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_MAX (4u << 20) /* text kept while the main thread is busy */

static int pipe_r = -1, wake_r = -1, wake_w = -1, stop_r = -1, stop_w = -1;
static int saved_out = -1, saved_err = -1;
static pthread_t reader;
static int reader_on;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *buf;
static size_t nbuf, capbuf;

static void set_flags(int fd, int fl) {
    int f = fcntl(fd, F_GETFL);
    if (f >= 0) fcntl(fd, F_SETFL, f | fl);
}

/* Keep k more bytes (mutex held); past BUF_MAX the oldest text goes. */
static void append_locked(const char *p, size_t k) {
    if (nbuf + k > capbuf && capbuf < BUF_MAX) {
        size_t cap = capbuf ? capbuf * 2 : 16384;
        while (cap < nbuf + k && cap < BUF_MAX) cap *= 2;
        if (cap > BUF_MAX) cap = BUF_MAX;
        char *q = realloc(buf, cap);
        if (q) {
            buf = q;
            capbuf = cap;
        }
    }
    if (!buf || k == 0) return;
    if (k > capbuf) { /* only the newest capbuf bytes can stay */
        p += k - capbuf;
        k = capbuf;
    }
    if (nbuf + k > capbuf) {
        size_t drop = nbuf + k - capbuf;
        memmove(buf, buf + drop, nbuf - drop);
        nbuf -= drop;
    }
    memcpy(buf + nbuf, p, k);
    nbuf += k;
}

/* Read everything the pipe holds (mutex held). */
static void drain_locked(void) {
    char tmp[8192];
    for (;;) {
        ssize_t k = read(pipe_r, tmp, sizeof tmp);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        append_locked(tmp, (size_t)k);
    }
}

static void *reader_main(void *arg) {
    (void)arg;
    struct pollfd p[2] = {{pipe_r, POLLIN, 0}, {stop_r, POLLIN, 0}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (p[1].revents) break;
        pthread_mutex_lock(&mu);
        drain_locked();
        int have = nbuf > 0;
        pthread_mutex_unlock(&mu);
        if (have) {
            char c = 1;
            (void)!write(wake_w, &c, 1); /* non-blocking: one pending byte is enough */
        }
        if (p[0].revents & (POLLHUP | POLLERR) && !(p[0].revents & POLLIN)) break;
    }
    return NULL;
}

int tui_out_wakefd(void) { return wake_r; }

void tui_out_sync(void) {
    fflush(stdout);
    fflush(stderr);
    if (pipe_r < 0) return;
    char tmp[256];
    while (read(wake_r, tmp, sizeof tmp) > 0) {
    }
    pthread_mutex_lock(&mu);
    drain_locked();
    if (nbuf) {
        tui_sb_write(&tui.sb, buf, nbuf, TUI_ATTR_TEXT);
        nbuf = 0;
        tui.need_draw = 1;
    }
    pthread_mutex_unlock(&mu);
}

static void close_fd(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

int tui_out_start(void) {
    int p[2], w[2], s[2];
    fflush(stdout);
    fflush(stderr);
    int tty = dup(STDOUT_FILENO);
    if (tty < 0) return -1;
    fcntl(tty, F_SETFD, FD_CLOEXEC);
    tui.ttyout = fdopen(tty, "w");
    if (!tui.ttyout) {
        close(tty);
        return -1;
    }
    tui.ttyfd = tty;
    if (pipe(p) != 0) return -1;
    if (pipe(w) != 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pipe(s) != 0) {
        close(p[0]), close(p[1]), close(w[0]), close(w[1]);
        return -1;
    }
    pipe_r = p[0];
    wake_r = w[0];
    wake_w = w[1];
    stop_r = s[0];
    stop_w = s[1];
    for (int i = 0; i < 2; i++) {
        fcntl(p[i], F_SETFD, FD_CLOEXEC);
        fcntl(w[i], F_SETFD, FD_CLOEXEC);
        fcntl(s[i], F_SETFD, FD_CLOEXEC);
    }
    set_flags(pipe_r, O_NONBLOCK);
    set_flags(wake_r, O_NONBLOCK);
    set_flags(wake_w, O_NONBLOCK);
#ifdef F_SETPIPE_SZ
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20); /* best effort: the reader copes anyway */
#endif
    saved_out = dup(STDOUT_FILENO);
    saved_err = dup(STDERR_FILENO);
    fcntl(saved_out, F_SETFD, FD_CLOEXEC);
    fcntl(saved_err, F_SETFD, FD_CLOEXEC);
    dup2(p[1], STDOUT_FILENO); /* inherited by children: their output lands here too */
    dup2(p[1], STDERR_FILENO);
    close(p[1]);
    setvbuf(stdout, NULL, _IOLBF, BUFSIZ);
    if (pthread_create(&reader, NULL, reader_main, NULL) == 0) reader_on = 1;
    return 0;
}

void tui_out_stop(void) {
    tui_out_sync();
    if (reader_on) {
        char c = 1;
        (void)!write(stop_w, &c, 1);
        pthread_join(reader, NULL);
        reader_on = 0;
    }
    if (saved_out >= 0) {
        dup2(saved_out, STDOUT_FILENO);
        dup2(saved_err, STDERR_FILENO);
    }
    close_fd(&saved_out);
    close_fd(&saved_err);
    close_fd(&pipe_r);
    close_fd(&wake_r);
    close_fd(&wake_w);
    close_fd(&stop_r);
    close_fd(&stop_w);
    free(buf);
    buf = NULL;
    nbuf = capbuf = 0;
    if (tui.ttyout) fclose(tui.ttyout);
    tui.ttyout = NULL;
    tui.ttyfd = -1;
}
