/*
 * gnuplot.c - a gnuplot process behind three pipes.
 *
 * cwb writes commands to gnuplot's stdin and reads its stderr (errors,
 * warnings and our sync markers) and stdout (drained, unused) without
 * blocking, so a large datablock can never deadlock against a full stderr
 * pipe.  After every logical command we send `printerr "@@cwb SEQ K"`: the
 * text gnuplot writes before marker K belongs to command K, which is how an
 * error message gets the caller's line number although gnuplot reading a pipe
 * numbers every line 0.  gnuplot keeps going after an error when it reads a
 * pipe, so one bad command does not lose the session.
 */
#include "plot/gnuplot.h"
#include "util/atomic.h"
#include "util/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

#define MARK "@@cwb "
#define DEFAULT_TIMEOUT_MS 30000
#define START_TIMEOUT_MS 10000
#define PIPE_DATA_MAX (64 * 1024)   /* larger queued datablocks go through a file */

/* ---- the handle --------------------------------------------------------------- */

struct cwb_gnuplot {
    pid_t pid;
    int in, out, err;     /* our ends of gnuplot's stdin, stdout, stderr */
    int dead;
    int timeout_ms;
    unsigned long seq;    /* batch number, part of every marker */
    cwb_buf pending;         /* queued datablocks, sent with the next batch */
    cwb_buf errin;           /* stderr bytes not yet split into lines */
    cwb_buf output;          /* non-error stderr text of the last batch */
    char msg[1024];
    /* state of the batch being read */
    const int *labels;    /* caller line of each command (0 internal, -1 data) */
    int nlabels;
    int cur;              /* index of the command gnuplot is executing */
    int done;
    int nerrors;
    int err_cmd;          /* command of the first error, for continuation lines */
};

static void set_msg(cwb_gnuplot *g, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void set_msg(cwb_gnuplot *g, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->msg, sizeof g->msg, fmt, ap);
    va_end(ap);
}

const char *cwb_gnuplot_errmsg(const cwb_gnuplot *g) { return g ? g->msg : ""; }
const char *cwb_gnuplot_output(const cwb_gnuplot *g) {
    return g && g->output.p ? g->output.p : "";
}
int cwb_gnuplot_dead(const cwb_gnuplot *g) { return !g || g->dead; }
void cwb_gnuplot_set_timeout(cwb_gnuplot *g, int ms) {
    if (g) g->timeout_ms = ms > 0 ? ms : DEFAULT_TIMEOUT_MS;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- finding gnuplot ------------------------------------------------------- */

static int is_exec_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

static int search_path(const char *prog, char *out, size_t outlen) {
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    while (1) {
        const char *colon = strchr(path, ':');
        size_t dl = colon ? (size_t)(colon - path) : strlen(path);
        char cand[PATH_MAX];
        int n = dl ? snprintf(cand, sizeof cand, "%.*s/%s", (int)dl, path, prog)
                   : snprintf(cand, sizeof cand, "./%s", prog);
        if (n > 0 && (size_t)n < sizeof cand && is_exec_file(cand)) {
            snprintf(out, outlen, "%s", cand);
            return 1;
        }
        if (!colon) return 0;
        path = colon + 1;
    }
}

int cwb_gnuplot_available(char *path, size_t pathlen, char *msg, size_t msglen) {
    char found[PATH_MAX];
    const char *env = getenv("CWB_GNUPLOT");
    int ok;
    if (env && *env) {
        ok = strchr(env, '/') ? is_exec_file(env) : search_path(env, found, sizeof found);
        if (ok && strchr(env, '/')) snprintf(found, sizeof found, "%s", env);
        if (!ok) {
            if (msg && msglen)
                snprintf(msg, msglen,
                         "gnuplot not found: CWB_GNUPLOT=%s is not an executable file; "
                         "install the Debian package gnuplot-nox or fix CWB_GNUPLOT", env);
            return 0;
        }
    } else if (!search_path("gnuplot", found, sizeof found)) {
        if (msg && msglen) snprintf(msg, msglen, "%s", CWB_GNUPLOT_NOT_FOUND);
        return 0;
    }
    if (path && pathlen) snprintf(path, pathlen, "%s", found);
    if (msg && msglen) msg[0] = '\0';
    return 1;
}

/* ---- writing without SIGPIPE ------------------------------------------------- */

/* A write to a pipe whose reader has died raises SIGPIPE, which would kill
 * cwb.  Block it on this thread for the write, then swallow the one we
 * caused, leaving the process's disposition alone. */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len) {
    sigset_t pipeset, old, pend;
    sigemptyset(&pipeset);
    sigaddset(&pipeset, SIGPIPE);
    sigemptyset(&pend);
    pthread_sigmask(SIG_BLOCK, &pipeset, &old);
    sigpending(&pend);
    int was_pending = sigismember(&pend, SIGPIPE);
    ssize_t n = write(fd, buf, len);
    int saved = errno;
    if (n < 0 && saved == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipeset, NULL, &zero) < 0 && errno == EINTR) {}
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return n;
}

/* ---- reading gnuplot's stderr ----------------------------------------------- */

static int starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* gnuplot's error lines look like `     line 0: undefined variable: foo` or,
 * inside a loaded file, `"file" line 3: ...`.  Returns the message part. */
static const char *error_text(const char *s) {
    while (*s == ' ' || *s == '\t') s++;
    if (*s == '"') {
        const char *q = strchr(s + 1, '"');
        if (!q) return NULL;
        s = q + 1;
        while (*s == ' ') s++;
    }
    if (!starts_with(s, "line ")) return NULL;
    s += 5;
    if (*s < '0' || *s > '9') return NULL;
    while (*s >= '0' && *s <= '9') s++;
    if (*s != ':') return NULL;
    s++;
    while (*s == ' ' || *s == '\t') s++;
    return s;
}

static int is_caret_line(const char *s) {
    int caret = 0;
    for (; *s; s++) {
        if (*s == '^') caret = 1;
        else if (*s != ' ' && *s != '\t') return 0;
    }
    return caret;
}

static int is_blank(const char *s) {
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r') return 0;
    return 1;
}

static void append_msg(cwb_gnuplot *g, const char *s) {
    size_t n = strlen(g->msg);
    if (n + 3 < sizeof g->msg) snprintf(g->msg + n, sizeof g->msg - n, "; %s", s);
}

static void handle_line(cwb_gnuplot *g, char *line) {
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = '\0';
    if (starts_with(line, MARK)) {
        char *end;
        unsigned long seq = strtoul(line + strlen(MARK), &end, 10);
        if (seq != g->seq || *end != ' ') return;   /* a stale batch's marker */
        if (strcmp(end + 1, "end") == 0) {
            g->done = 1;
        } else {
            int k = atoi(end + 1);
            if (k + 1 > g->cur) g->cur = k + 1;
        }
        return;
    }
    if (is_blank(line) || starts_with(line, "gnuplot>") || is_caret_line(line)) return;
    const char *et = error_text(line);
    int label = g->cur < g->nlabels ? g->labels[g->cur] : 0;
    if (et) {
        if (g->nerrors++ == 0) {
            g->err_cmd = g->cur;
            if (label > 0) set_msg(g, "gnuplot: line %d: %s", label, et);
            else if (label < 0) set_msg(g, "gnuplot: in a datablock: %s", et);
            else set_msg(g, "gnuplot: %s", et);
        }
        return;
    }
    /* Explanations printed after the error line ("system error: ...") belong to it. */
    const char *t = line;
    while (*t == ' ' || *t == '\t') t++;
    if (g->nerrors == 1 && g->err_cmd == g->cur && strncasecmp(t, "warning", 7) != 0) {
        append_msg(g, line);
        return;
    }
    cwb_buf_str(&g->output, line);
    cwb_buf_str(&g->output, "\n");
}

static void split_lines(cwb_gnuplot *g) {
    char *start = g->errin.p;
    char *nl;
    while (g->errin.n && (nl = memchr(start, '\n', g->errin.n - (size_t)(start - g->errin.p)))) {
        *nl = '\0';
        handle_line(g, start);
        start = nl + 1;
    }
    size_t rest = g->errin.n - (size_t)(start - g->errin.p);
    memmove(g->errin.p, start, rest);
    g->errin.n = rest;
    if (g->errin.p) g->errin.p[rest] = '\0';
}

static void reap(cwb_gnuplot *g, char *why, size_t whylen) {
    int st;
    pid_t r = -1;
    /* Its pipes are closed, so it is exiting: give it a moment to finish. */
    for (int i = 0; g->pid > 0 && i < 50; i++) {
        r = waitpid(g->pid, &st, WNOHANG);
        if (r != 0) break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (r == g->pid) {
        g->pid = -1;
        if (WIFEXITED(st)) snprintf(why, whylen, "exited with status %d", WEXITSTATUS(st));
        else if (WIFSIGNALED(st)) snprintf(why, whylen, "was killed by signal %d", WTERMSIG(st));
        else snprintf(why, whylen, "stopped");
    } else {
        snprintf(why, whylen, "closed its pipes");
    }
}

static void kill_child(cwb_gnuplot *g) {
    if (g->pid > 0) {
        kill(g->pid, SIGKILL);
        while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR) {}
        g->pid = -1;
    }
}

/* Send data (ending with the batch's final marker) and read until that
 * marker comes back, gnuplot dies, or the time runs out. */
static int exchange(cwb_gnuplot *g, const char *data, size_t len, int timeout_ms) {
    size_t off = 0;
    long long deadline = now_ms() + timeout_ms;
    char buf[8192];
    while (!g->done) {
        struct pollfd p[3];
        int np = 0, ierr = -1, iout = -1, iin = -1;
        p[np].fd = g->err; p[np].events = POLLIN; ierr = np++;
        if (g->out >= 0) { p[np].fd = g->out; p[np].events = POLLIN; iout = np++; }
        if (off < len) { p[np].fd = g->in; p[np].events = POLLOUT; iin = np++; }
        long long left = deadline - now_ms();
        if (left <= 0) {
            set_msg(g, "gnuplot did not answer within %d s (stopped it)", timeout_ms / 1000);
            g->dead = 1;
            kill_child(g);
            return -1;
        }
        int r = poll(p, (nfds_t)np, (int)(left > 1000 ? 1000 : left));
        if (r < 0) {
            if (errno == EINTR) continue;
            set_msg(g, "gnuplot: poll failed: %s", strerror(errno));
            return -1;
        }
        if (iin >= 0 && (p[iin].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write_nosigpipe(g->in, data + off, len - off);
            if (w > 0) off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                char why[64];
                reap(g, why, sizeof why);
                set_msg(g, "gnuplot %s while cwb was sending commands (%s)", why, strerror(errno));
                g->dead = 1;
                return -1;
            }
        }
        if (iout >= 0 && (p[iout].revents & (POLLIN | POLLHUP))) {
            ssize_t n = read(g->out, buf, sizeof buf);   /* stdout: drained, unused */
            if (n == 0) { close(g->out); g->out = -1; }
        }
        if (p[ierr].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(g->err, buf, sizeof buf);
            if (n > 0) {
                if (cwb_buf_add(&g->errin, buf, (size_t)n)) {
                    set_msg(g, "gnuplot: out of memory reading its output");
                    return -1;
                }
                split_lines(g);
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                char why[64], keep[sizeof g->msg];
                if (g->errin.n) handle_line(g, g->errin.p);
                snprintf(keep, sizeof keep, "%s", g->nerrors ? g->msg : "");
                reap(g, why, sizeof why);
                if (*keep) set_msg(g, "gnuplot %s after: %s", why, keep);
                else if (g->output.n) {
                    size_t k = g->output.n;
                    while (k && g->output.p[k - 1] == '\n') g->output.p[--k] = '\0';
                    set_msg(g, "gnuplot %s: %s", why, g->output.p);
                } else set_msg(g, "gnuplot %s", why);
                g->dead = 1;
                return -1;
            }
        }
    }
    return 0;
}

/* ---- batches ---------------------------------------------------------------- */

typedef struct {
    cwb_buf text;
    cwb_buf labels;     /* int per command */
} batch;

static int batch_nlabels(const batch *b) { return (int)(b->labels.n / sizeof(int)); }

static int batch_label(batch *b, int label) { return cwb_buf_add(&b->labels, &label, sizeof label); }

/* Close the current command: note whose it is and ask for a marker. */
static int batch_mark(batch *b, unsigned long seq, int label) {
    if (batch_label(b, label)) return -1;
    return cwb_buf_printf(&b->text, "printerr \"" MARK "%lu %d\"\n", seq, batch_nlabels(b) - 1);
}

/* Split script into logical commands (a heredoc up to its terminator, a brace
 * block up to its closing brace, backslash continuations) and mark each.
 * numbered: label commands with their first line in script, else 0. */
static int batch_script(batch *b, unsigned long seq, const char *script, int numbered) {
    int lineno = 0, start = 0, depth = 0, cont = 0;
    char term[64] = "";
    const char *s = script;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        lineno++;
        if (!start) start = lineno;
        if (cwb_buf_add(&b->text, s, len) || cwb_buf_add(&b->text, "\n", 1)) return -1;
        if (*term) {
            size_t tl = strlen(term);
            size_t l2 = len;
            while (l2 && (s[l2 - 1] == '\r' || s[l2 - 1] == ' ')) l2--;
            if (l2 == tl && strncmp(s, term, tl) == 0) term[0] = '\0';
        } else {
            char q = 0;
            int blank = 1;
            for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (q) {
                    if (c == q) q = 0;
                    else if (c == '\\' && q == '"' && i + 1 < len) i++;
                    continue;
                }
                if (c == '#') break;
                if (c != ' ' && c != '\t' && c != '\r') blank = 0;
                if (c == '\'' || c == '"') q = c;
                else if (c == '{') depth++;
                else if (c == '}') depth--;
                else if (c == '<' && i + 1 < len && s[i + 1] == '<') {
                    size_t j = i + 2, k = 0;
                    while (j < len && s[j] == ' ') j++;
                    while (j < len && k + 1 < sizeof term &&
                           (s[j] == '_' || (s[j] >= 'A' && s[j] <= 'Z') ||
                            (s[j] >= 'a' && s[j] <= 'z') || (s[j] >= '0' && s[j] <= '9')))
                        term[k++] = s[j++];
                    term[k] = '\0';
                    i = j ? j - 1 : 0;
                }
            }
            cont = len && s[len - 1] == '\\';
            if (blank && depth <= 0 && !cont && !*term) {
                start = 0;   /* empty or comment line: nothing to mark */
            }
        }
        if (start && !*term && depth <= 0 && !cont) {
            if (batch_mark(b, seq, numbered ? start : 0)) return -1;
            start = 0;
            depth = 0;
        }
        s = nl ? nl + 1 : s + len;
    }
    if (*term || depth > 0 || cont) {
        /* Unterminated construct: close it so that the markers still run. */
        if (*term && cwb_buf_printf(&b->text, "%s\n", term)) return -1;
        if (depth > 0)
            for (int i = 0; i < depth; i++)
                if (cwb_buf_str(&b->text, "}\n")) return -1;
        if (cont && cwb_buf_str(&b->text, "\n")) return -1;
        if (batch_mark(b, seq, numbered ? start : 0)) return -1;
    }
    return 0;
}

static void batch_free(batch *b) {
    cwb_buf_free(&b->text);
    cwb_buf_free(&b->labels);
}

static int check_alive(cwb_gnuplot *g) {
    if (!g) return -1;
    if (g->dead) {
        if (!strstr(g->msg, "no longer running")) {
            char old[sizeof g->msg];
            snprintf(old, sizeof old, "%s", g->msg);
            set_msg(g, "gnuplot is no longer running (%.900s)", *old ? old : "it exited");
        }
        return -1;
    }
    return 0;
}


static int write_temp(cwb_gnuplot *g, char *path, size_t len, const char *data, size_t n) {
    const char *dir = getenv("TMPDIR");
    snprintf(path, len, "%s/cwb-gnuplot-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        set_msg(g, "gnuplot: cannot create a temp file in %s: %s", dir && *dir ? dir : "/tmp",
                strerror(errno));
        path[0] = '\0';
        return -1;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, data + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            set_msg(g, "gnuplot: cannot write %s: %s", path, strerror(errno));
            close(fd);
            unlink(path);
            path[0] = '\0';
            return -1;
        }
        off += (size_t)w;
    }
    close(fd);
    return 0;
}

/* Run the batch: queued datablocks, then pre (internal), script (numbered),
 * post (internal).  post runs even if script fails, to close files. */
static int run_batch(cwb_gnuplot *g, const char *pre, const char *script, const char *post,
                     int timeout_ms) {
    if (check_alive(g)) return -1;
    batch b = {0};
    unsigned long seq = ++g->seq;
    int rc = -1;
    g->msg[0] = '\0';
    cwb_buf_reset(&g->output);
    char datafile[PATH_MAX] = "";
    if (g->pending.n > PIPE_DATA_MAX) {
        /* gnuplot reads its stdin a byte per system call (about 1 s per
         * 2 MB), but a loaded file at full speed: large datablocks go
         * through a temp file, removed once gnuplot has read it. */
        if (write_temp(g, datafile, sizeof datafile, g->pending.p, g->pending.n)) {
            batch_free(&b);
            return -1;
        }
        if (cwb_buf_str(&b.text, "load ") || cwb_gnuplot_quote_buf(&b.text, datafile) || cwb_buf_str(&b.text, "\n") ||
            batch_mark(&b, seq, -1))
            goto oom;
        cwb_buf_reset(&g->pending);
    } else if (g->pending.n) {
        if (cwb_buf_add(&b.text, g->pending.p, g->pending.n) || batch_mark(&b, seq, -1)) goto oom;
        cwb_buf_reset(&g->pending);
    }
    if (pre && batch_script(&b, seq, pre, 0)) goto oom;
    if (script && batch_script(&b, seq, script, 1)) goto oom;
    if (post && batch_script(&b, seq, post, 0)) goto oom;
    if (batch_label(&b, 0)) goto oom;   /* anything after the last marker */
    if (cwb_buf_printf(&b.text, "printerr \"" MARK "%lu end\"\n", seq)) goto oom;
    g->labels = (const int *)b.labels.p;   /* malloc'd: aligned for int */
    g->nlabels = batch_nlabels(&b);
    g->cur = 0;
    g->done = 0;
    g->nerrors = 0;
    g->err_cmd = -1;
    rc = exchange(g, b.text.p, b.text.n, timeout_ms);
    if (rc == 0 && g->nerrors) {
        if (g->nerrors > 1) {
            char more[40];
            snprintf(more, sizeof more, " (and %d more errors)", g->nerrors - 1);
            size_t n = strlen(g->msg);
            if (n + strlen(more) < sizeof g->msg) strcat(g->msg, more);
        }
        rc = -1;
    }
    g->labels = NULL;
    g->nlabels = 0;
    if (*datafile) unlink(datafile);
    batch_free(&b);
    return rc;
oom:
    if (*datafile) unlink(datafile);
    batch_free(&b);
    set_msg(g, "gnuplot: out of memory building a command batch");
    return -1;
}

int cwb_gnuplot_cmd(cwb_gnuplot *g, const char *script) {
    return run_batch(g, NULL, script ? script : "", NULL, g ? g->timeout_ms : 0);
}

/* ---- datablocks ---------------------------------------------------------------- */

static int valid_name(const char *s) {
    if (!s || !*s || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

int cwb_gnuplot_datablock(cwb_gnuplot *g, const char *name, int ncols, size_t n,
                          const double *const *cols) {
    if (check_alive(g)) return -1;
    if (!valid_name(name)) {
        set_msg(g, "gnuplot: bad datablock name '%s' (letters, digits, _)", name ? name : "");
        return -1;
    }
    if (ncols < 1 || (n > 0 && !cols)) {
        set_msg(g, "gnuplot: datablock $%s needs at least one column", name);
        return -1;
    }
    for (int c = 0; c < ncols; c++)
        if (n > 0 && !cols[c]) {
            set_msg(g, "gnuplot: datablock $%s: column %d is NULL", name, c + 1);
            return -1;
        }
    size_t mark = g->pending.n;
    if (cwb_buf_printf(&g->pending, "$%s << EOD\n", name)) goto oom;
    /* 24 bytes per value covers "%.9g" of any double plus its separator. */
    if (cwb_buf_reserve(&g->pending, n * (size_t)ncols * 24 + 8)) goto oom;
    for (size_t i = 0; i < n; i++) {
        char *p = g->pending.p + g->pending.n;
        for (int c = 0; c < ncols; c++) {
            double v = cols[c][i];
            int w = isfinite(v) ? snprintf(p, 24, "%.9g", v) : (memcpy(p, "NaN", 3), 3);
            p += w;
            *p++ = c + 1 < ncols ? ' ' : '\n';
        }
        g->pending.n = (size_t)(p - g->pending.p);
    }
    g->pending.p[g->pending.n] = '\0';
    if (cwb_buf_str(&g->pending, "EOD\n")) goto oom;
    return 0;
oom:
    g->pending.n = mark;
    if (g->pending.p) g->pending.p[mark] = '\0';
    set_msg(g, "gnuplot: out of memory queueing datablock $%s", name);
    return -1;
}

/* ---- quoting ------------------------------------------------------------------- */

size_t cwb_gnuplot_quote(char *buf, size_t len, const char *s) {
    size_t n = 0;
#define PUT(c) do { if (n + 1 < len) buf[n] = (c); n++; } while (0)
    PUT('\'');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\'') { PUT('\''); PUT('\''); }
        else if (c < 32 || c == 127) PUT(' ');
        else PUT((char)c);
    }
    PUT('\'');
#undef PUT
    if (len) buf[n < len ? n : len - 1] = '\0';
    return n;
}

int cwb_gnuplot_quote_buf(cwb_buf *b, const char *s) {
    size_t need = cwb_gnuplot_quote(NULL, 0, s);
    if (cwb_buf_reserve(b, need)) return -1;
    cwb_gnuplot_quote(b->p + b->n, need + 1, s);
    b->n += need;
    return 0;
}

/* ---- starting and stopping ------------------------------------------------------ */

/* Move a descriptor above 2 with close-on-exec, so the dup2 calls in the
 * child cannot clobber each other even if cwb was started with 0-2 closed. */
static int high_fd(int fd) {
    int h = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return h;
}

cwb_gnuplot *cwb_gnuplot_open(char *err, size_t errlen) {
    char path[PATH_MAX], msg[512];
    if (!cwb_gnuplot_available(path, sizeof path, msg, sizeof msg)) {
        if (err && errlen) snprintf(err, errlen, "%s", msg);
        return NULL;
    }
    cwb_gnuplot *g = calloc(1, sizeof *g);
    if (!g) {
        if (err && errlen) snprintf(err, errlen, "gnuplot: out of memory");
        return NULL;
    }
    g->pid = -1;
    g->in = g->out = g->err = -1;
    g->timeout_ms = DEFAULT_TIMEOUT_MS;
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    if (pipe(pin) || pipe(pout) || pipe(perr)) goto syserr;
    for (int i = 0; i < 2; i++) {
        if ((pin[i] = high_fd(pin[i])) < 0 || (pout[i] = high_fd(pout[i])) < 0 ||
            (perr[i] = high_fd(perr[i])) < 0)
            goto syserr;
    }
    char *argv[] = {"gnuplot", "-d", NULL};   /* -d: ignore the user's init files */
    pid_t pid = fork();
    if (pid < 0) goto syserr;
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGPIPE, &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0);   /* Ctrl-C is for cwb; cwb closes gnuplot itself */
        if (dup2(pin[0], 0) < 0 || dup2(pout[1], 1) < 0 || dup2(perr[1], 2) < 0) _exit(127);
        execv(path, argv);
        static const char m[] = "cannot execute gnuplot\n";
        ssize_t ignored = write(2, m, sizeof m - 1);
        (void)ignored;
        _exit(127);
    }
    g->pid = pid;
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    g->in = pin[1];
    g->out = pout[0];
    g->err = perr[0];
    fcntl(g->in, F_SETFL, fcntl(g->in, F_GETFL) | O_NONBLOCK);
    fcntl(g->out, F_SETFL, fcntl(g->out, F_GETFL) | O_NONBLOCK);
    fcntl(g->err, F_SETFL, fcntl(g->err, F_GETFL) | O_NONBLOCK);
    if (run_batch(g, NULL, "", NULL, START_TIMEOUT_MS)) {
        if (err && errlen) snprintf(err, errlen, "cannot start %s: %s", path, g->msg);
        cwb_gnuplot_close(g);
        return NULL;
    }
    return g;
syserr:
    if (err && errlen) snprintf(err, errlen, "cannot start gnuplot: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        if (pin[i] >= 0) close(pin[i]);
        if (pout[i] >= 0) close(pout[i]);
        if (perr[i] >= 0) close(perr[i]);
    }
    free(g);
    return NULL;
}

void cwb_gnuplot_close(cwb_gnuplot *g) {
    if (!g) return;
    if (!g->dead && g->in >= 0) {
        static const char bye[] = "\nexit\n";
        write_nosigpipe(g->in, bye, sizeof bye - 1);
    }
    if (g->in >= 0) close(g->in);
    if (g->out >= 0) close(g->out);
    if (g->err >= 0) close(g->err);
    if (g->pid > 0) {
        /* Give it two seconds to leave on its own (closing a window, a file). */
        for (int i = 0; i < 200; i++) {
            pid_t r = waitpid(g->pid, NULL, WNOHANG);
            if (r == g->pid || (r < 0 && errno != EINTR)) { g->pid = -1; break; }
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        kill_child(g);
    }
    cwb_buf_free(&g->pending);
    cwb_buf_free(&g->errin);
    cwb_buf_free(&g->output);
    free(g);
}

/* ---- rendering ------------------------------------------------------------------ */

static char *read_file(const char *path, char *why, size_t whylen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    cwb_buf b = {0};
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (cwb_buf_add(&b, buf, n)) {
            fclose(f);
            cwb_buf_free(&b);
            snprintf(why, whylen, "out of memory reading %s", path);
            return NULL;
        }
    fclose(f);
    if (!b.p && cwb_buf_add(&b, "", 0)) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    return b.p;
}

/* Pick a window terminal this gnuplot has: qt, else x11. */
static int select_window(cwb_gnuplot *g, int w, int h) {
    const char *disp = getenv("DISPLAY");
    const char *way = getenv("WAYLAND_DISPLAY");
    if ((!disp || !*disp) && (!way || !*way)) {
        set_msg(g, "gnuplot: no display for a window (DISPLAY is not set); "
                   "use terminal pngcairo, svg or dumb");
        return -1;
    }
    char cmd[128];
    static const char *terms[] = {"qt", "x11"};
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "set terminal %s size %d,%d noenhanced\n", terms[i], w, h);
        if (run_batch(g, cmd, NULL, NULL, g->timeout_ms) == 0) return 0;
        if (g->dead) return -1;
    }
    set_msg(g, "gnuplot: this gnuplot has no window terminal (qt or x11; gnuplot-nox has "
               "neither); use pngcairo, svg or dumb");
    return -1;
}

int cwb_gnuplot_render(cwb_gnuplot *g, const cwb_plot_target *t, const char *script,
                       char **text) {
    if (text) *text = NULL;
    if (check_alive(g)) return -1;
    if (!t) {
        set_msg(g, "gnuplot: no target given");
        return -1;
    }
    int pixels = t->term != CWB_PLOT_DUMB;
    int w = t->width > 0 ? t->width : (pixels ? 800 : 79);
    int h = t->height > 0 ? t->height : (pixels ? 600 : 24);
    int lo = pixels ? 16 : 10, hi = pixels ? 20000 : 1000;
    if (w < lo || w > hi || h < lo || h > hi) {
        set_msg(g, "gnuplot: figure size %dx%d out of range [%d, %d]", w, h, lo, hi);
        return -1;
    }
    if ((t->term == CWB_PLOT_PNG || t->term == CWB_PLOT_SVG) && (!t->output || !*t->output)) {
        set_msg(g, "gnuplot: a %s figure needs an output file",
                t->term == CWB_PLOT_PNG ? "PNG" : "SVG");
        return -1;
    }
    if (t->term == CWB_PLOT_DUMB && !text) {
        set_msg(g, "gnuplot: a dumb figure needs somewhere to return its text");
        return -1;
    }
    if (t->term == CWB_PLOT_WINDOW && select_window(g, w, h)) return -1;

    /* PNG/SVG: gnuplot writes a temporary file beside the target, renamed
     * over it only once the figure is complete (util/atomic.h); dumb: a
     * scratch file whose text is handed back. */
    char tmp[PATH_MAX] = "";
    cwb_atomic out = {0};
    const char *dest = NULL;
    cwb_buf pre = {0};
    int rc = -1;
    if (t->term == CWB_PLOT_DUMB) {
        const char *dir = getenv("TMPDIR");
        int n = snprintf(tmp, sizeof tmp, "%s/cwb-plot-XXXXXX", dir && *dir ? dir : "/tmp");
        if (n < 0 || (size_t)n >= sizeof tmp) {
            set_msg(g, "gnuplot: TMPDIR path too long");
            return -1;
        }
        int fd = mkstemp(tmp);
        if (fd < 0) {
            set_msg(g, "cannot write %s: %s", tmp, strerror(errno));
            return -1;
        }
        close(fd);
        dest = tmp;
    } else if (t->term != CWB_PLOT_WINDOW) {
        char why[PATH_MAX + 64];
        if (cwb_atomic_reserve(&out, t->output, why, sizeof why)) {
            set_msg(g, "cannot write %s", why);
            return -1;
        }
        dest = cwb_atomic_name(&out);
    }
    int okb = cwb_buf_str(&pre, "reset\n") == 0;
    switch (t->term) {
    case CWB_PLOT_PNG:
        okb = okb && cwb_buf_printf(&pre, "set terminal pngcairo size %d,%d noenhanced\n", w, h) == 0;
        break;
    case CWB_PLOT_SVG:
        okb = okb && cwb_buf_printf(&pre, "set terminal svg size %d,%d noenhanced "
                                     "background rgb 'white'\n", w, h) == 0;
        break;
    case CWB_PLOT_DUMB:
        okb = okb && cwb_buf_printf(&pre, "set terminal dumb size %d,%d nofeed %s\n", w, h,
                               t->ansi ? "ansi" : "mono") == 0;
        break;
    case CWB_PLOT_WINDOW:
        break;
    }
    if (dest)
        okb = okb && cwb_buf_str(&pre, "set output ") == 0 && cwb_gnuplot_quote_buf(&pre, dest) == 0 &&
              cwb_buf_str(&pre, "\n") == 0;
    if (!okb) {
        set_msg(g, "gnuplot: out of memory");
        goto out;
    }
    rc = run_batch(g, pre.p, script ? script : "", "unset multiplot\nunset output\n",
                   g->timeout_ms);
    if (rc) goto out;
    if (t->term == CWB_PLOT_DUMB) {
        char why[PATH_MAX + 64];
        char *s = read_file(tmp, why, sizeof why);
        if (!s) {
            set_msg(g, "gnuplot: %s", why);
            rc = -1;
            goto out;
        }
        if (s[0] == '\f') memmove(s, s + 1, strlen(s));
        *text = s;
    } else if (t->term != CWB_PLOT_WINDOW) {
        struct stat st;
        if (stat(dest, &st) != 0 || (S_ISREG(st.st_mode) && st.st_size == 0)) {
            set_msg(g, "gnuplot: wrote nothing for %s (empty figure?)", t->output);
            rc = -1;
            goto out;
        }
        char why[PATH_MAX + 64];
        if (cwb_atomic_commit(&out, why, sizeof why)) {
            set_msg(g, "cannot write %s", why);
            rc = -1;
            goto out;
        }
    }
out:
    if (*tmp) unlink(tmp);
    cwb_atomic_abort(&out);
    cwb_buf_free(&pre);
    return rc;
}
