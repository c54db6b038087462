/*
 * runs_cli.c - `cwb runs ...`: list, show, export and plot recorded runs.
 *
 * Exit status: 0 done, 1 failure (no such run, unreadable store, ...),
 * 2 bad usage.  Every message is one line starting "cwb runs: ".
 */
#include "app/runs_cli.h"
#include "plot/figure.h"
#include "plot/runs_plot.h"
#include "store/export.h"
#include "store/store.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: cwb runs [--db PATH] COMMAND ...\n"
    "\n"
    "Read the run store (default ./cwb-runs.db; --db PATH or CWB_DB choose another).\n"
    "\n"
    "commands:\n"
    "  list [--metric NAME]          one line per run: id, recipe, name, status, seed,\n"
    "                                start, duration and the last value of a metric\n"
    "                                (NAME, else 'loss', else the first by name)\n"
    "  show ID                       parameters, status and, for each metric, its\n"
    "                                count, first, last, min and max\n"
    "  export ID [--csv] [FILE] [--wide]\n"
    "                                metrics as CSV on stdout or into FILE (written\n"
    "                                atomically); long format 'step,name,value' by\n"
    "                                default, --wide gives 'step,<name1>,<name2>,...'\n"
    "  plot ID [ID ...] METRIC [--png FILE | --svg FILE]\n"
    "                                a figure of METRIC against step for one or more\n"
    "                                runs (46 47 48 or 46,47,48), with a legend of what\n"
    "                                differs between them: text on stdout, or a PNG/SVG\n"
    "                                file (needs gnuplot)\n"
    "\n"
    "exit status: 0 ok, 1 failure (e.g. no such run), 2 bad usage\n";

static int say(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int say(int code, const char *fmt, ...) {
    va_list ap;
    fputs("cwb runs: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

static int usage_error(const char *fmt, const char *arg) {
    fputs("cwb runs: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see cwb runs --help)\n", stderr);
    return EXIT_USAGE;
}

static int parse_id(const char *s, int64_t *id) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0) return -1;
    *id = v;
    return 0;
}

/* The store is opened only once the arguments are known to be good, so bad
 * usage exits 2 whether or not there is a store. */
typedef struct {
    const char *path;
    cwb_store *s;
} cli;

/* Open for reading: refuse to create an empty store by merely looking. */
static cwb_store *open_existing(const char *path, int *code) {
    struct stat st;
    if (stat(path, &st) != 0) {
        say(1, "no run store at %s (cwb run records runs there; --db PATH or CWB_DB choose "
               "another)", path);
        *code = 1;
        return NULL;
    }
    char err[512];
    cwb_store *s = cwb_store_open(path, err, sizeof err);
    if (!s) {
        say(1, "%s", err);
        *code = 1;
    }
    return s;
}

#define NEED_STORE(c, s)                                   \
    cwb_store *s;                                          \
    do {                                                   \
        int code_ = 1;                                     \
        if (!(c)->s) (c)->s = open_existing((c)->path, &code_); \
        if (!(c)->s) return code_;                         \
        s = (c)->s;                                        \
    } while (0)

static void fmt_duration(double sec, char *buf, size_t len) {
    if (!isfinite(sec) || sec < 0) snprintf(buf, len, "-");
    else if (sec < 60) snprintf(buf, len, "%.1fs", sec);
    else if (sec < 3600) snprintf(buf, len, "%dm%02ds", (int)(sec / 60), (int)fmod(sec, 60));
    else snprintf(buf, len, "%dh%02dm", (int)(sec / 3600), (int)fmod(sec / 60, 60));
}

/* "2024-05-01T12:34:56.789Z" -> "2024-05-01 12:34:56" */
static void fmt_time(const char *iso, char *buf, size_t len) {
    if (!iso) {
        snprintf(buf, len, "-");
        return;
    }
    snprintf(buf, len, "%.19s", iso);
    char *t = strchr(buf, 'T');
    if (t) *t = ' ';
}

/* ---- list ------------------------------------------------------------------------ */

typedef struct {
    char id[24], recipe[64], name[64], status[16], seed[24], started[24], duration[16];
    char last[96];
} list_row;

typedef struct {
    list_row *rows;
    int n, cap;
    cwb_store *s;
    const char *metric;
    int failed;
} list_ctx;

static void clip(char *dst, size_t len, const char *src) {
    size_t n = strlen(src ? src : "");
    if (n < len) snprintf(dst, len, "%s", src ? src : "");
    else snprintf(dst, len, "%.*s~", (int)len - 2, src);
}

static int list_one(const cwb_run_info *r, void *ud) {
    list_ctx *c = ud;
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 32;
        list_row *p = realloc(c->rows, (size_t)cap * sizeof *p);
        if (!p) {
            c->failed = 1;
            return 1;
        }
        c->rows = p;
        c->cap = cap;
    }
    list_row *w = &c->rows[c->n++];
    snprintf(w->id, sizeof w->id, "%lld", (long long)r->id);
    clip(w->recipe, 25, r->recipe);
    clip(w->name, 25, r->name);
    snprintf(w->status, sizeof w->status, "%s", r->status);
    snprintf(w->seed, sizeof w->seed, "%llu", (unsigned long long)r->seed);
    fmt_time(r->started, w->started, sizeof w->started);
    fmt_duration(r->duration, w->duration, sizeof w->duration);
    snprintf(w->last, sizeof w->last, "-");
    return 0;
}

static int cmd_list(cli *cl, int argc, char **argv) {
    const char *metric = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--metric") == 0 && i + 1 < argc) metric = argv[++i];
        else if (strcmp(argv[i], "--metric") == 0) return usage_error("%s needs a NAME", argv[i]);
        else return usage_error("list: unexpected argument '%s'", argv[i]);
    }
    NEED_STORE(cl, s);
    list_ctx c = {.s = s, .metric = metric};
    if (cwb_store_runs(s, list_one, &c)) {
        free(c.rows);
        return say(1, "%s", cwb_store_errmsg(s));
    }
    if (c.failed) {
        free(c.rows);
        return say(1, "out of memory listing runs");
    }
    for (int i = 0; i < c.n; i++) {
        char name[64];
        double v;
        int64_t id = strtoll(c.rows[i].id, NULL, 10);
        int r = cwb_store_main_metric(s, id, metric, name, sizeof name, &v);
        if (r < 0) {
            free(c.rows);
            return say(1, "%s", cwb_store_errmsg(s));
        }
        if (r > 0) snprintf(c.rows[i].last, sizeof c.rows[i].last, "%.40s=%.6g", name, v);
    }
    if (c.n == 0) {
        printf("no runs in %s\n", cwb_store_path(s));
        free(c.rows);
        return 0;
    }
    static const char *head[] = {"id", "recipe", "name", "status", "seed", "started",
                                 "duration", "last"};
    int w[8];
    for (int k = 0; k < 8; k++) w[k] = (int)strlen(head[k]);
    for (int i = 0; i < c.n; i++) {
        const list_row *r = &c.rows[i];
        const char *f[8] = {r->id, r->recipe, r->name, r->status, r->seed, r->started,
                            r->duration, r->last};
        for (int k = 0; k < 8; k++)
            if ((int)strlen(f[k]) > w[k]) w[k] = (int)strlen(f[k]);
    }
    /* numbers right-aligned, text left-aligned */
    printf("%*s  %-*s  %-*s  %-*s  %*s  %-*s  %*s  %s\n", w[0], head[0], w[1], head[1], w[2],
           head[2], w[3], head[3], w[4], head[4], w[5], head[5], w[6], head[6], head[7]);
    for (int i = 0; i < c.n; i++) {
        const list_row *r = &c.rows[i];
        printf("%*s  %-*s  %-*s  %-*s  %*s  %-*s  %*s  %s\n", w[0], r->id, w[1], r->recipe, w[2],
               r->name, w[3], r->status, w[4], r->seed, w[5], r->started, w[6], r->duration,
               r->last);
    }
    free(c.rows);
    return 0;
}

/* ---- show ------------------------------------------------------------------------ */

static int show_run(const cwb_run_info *r, void *ud) {
    (void)ud;
    char dur[16];
    fmt_duration(r->duration, dur, sizeof dur);
    printf("run %lld: %s / %s\n", (long long)r->id, r->recipe, r->name);
    printf("  status    %s\n", r->status);
    printf("  seed      %llu\n", (unsigned long long)r->seed);
    printf("  version   %s\n", r->version);
    printf("  started   %s\n", r->started);
    printf("  ended     %s\n", r->ended ? r->ended : "-");
    printf("  duration  %s%s\n", dur, r->ended ? "" : " (still running or stopped without "
                                                       "an end)");
    printf("  params    %s\n", r->params);
    return 0;
}

typedef struct {
    int header;
} show_ctx;

static int show_metric(const cwb_metric_summary *m, void *ud) {
    show_ctx *c = ud;
    if (!c->header) {
        printf("metrics:\n  %-20s %8s %12s %12s %12s %12s %10s\n", "name", "count", "first",
               "last", "min", "max", "last step");
        c->header = 1;
    }
    printf("  %-20s %8ld %12.6g %12.6g %12.6g %12.6g %10ld\n", m->name, m->count, m->first,
           m->last, m->min, m->max, m->last_step);
    return 0;
}

static int cmd_show(cli *cl, int argc, char **argv) {
    if (argc != 2) return usage_error("%s", argc < 2 ? "show needs a run ID" : "show takes one run ID");
    int64_t id;
    if (parse_id(argv[1], &id)) return usage_error("bad run id '%s' (a positive integer)", argv[1]);
    NEED_STORE(cl, s);
    int r = cwb_store_run_get(s, id, show_run, NULL);
    if (r < 0) return say(1, "%s", cwb_store_errmsg(s));
    if (r == 0) return say(1, "no run %lld in %s", (long long)id, cwb_store_path(s));
    show_ctx c = {0};
    if (cwb_store_metric_summaries(s, id, show_metric, &c)) return say(1, "%s", cwb_store_errmsg(s));
    if (!c.header) printf("metrics:  (none)\n");
    return 0;
}

/* ---- export ---------------------------------------------------------------------- */

static int cmd_export(cli *cl, int argc, char **argv) {
    const char *idarg = NULL, *file = NULL;
    int wide = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--csv") == 0) {
            if (i + 1 < argc && argv[i + 1][0] != '-' && idarg) file = argv[++i];
        } else if (strcmp(argv[i], "--wide") == 0) wide = 1;
        else if (strcmp(argv[i], "-") == 0 && idarg && !file) file = "-";
        else if (argv[i][0] == '-') return usage_error("export: unknown option '%s'", argv[i]);
        else if (!idarg) idarg = argv[i];
        else if (!file) file = argv[i];
        else return usage_error("export: unexpected argument '%s'", argv[i]);
    }
    if (!idarg) return usage_error("%s", "export needs a run ID");
    int64_t id;
    if (parse_id(idarg, &id)) return usage_error("bad run id '%s' (a positive integer)", idarg);
    NEED_STORE(cl, s);
    char err[1024];
    if (cwb_store_export_csv(s, id, file, wide, err, sizeof err)) return say(1, "%s", err);
    return 0;
}

/* ---- plot ------------------------------------------------------------------------ */

static void terminal_size(int *w, int *h) {
    struct winsize ws;
    *w = 79;
    *h = 24;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20 &&
        ws.ws_row >= 10) {
        *w = ws.ws_col > 200 ? 200 : ws.ws_col;
        *h = ws.ws_row - 2 > 60 ? 60 : ws.ws_row - 2;
        return;
    }
    const char *cols = getenv("COLUMNS");
    if (cols && atoi(cols) >= 20 && atoi(cols) <= 1000) *w = atoi(cols);
}

/* "46", "46,47,48": append the ids to ids (at most max); -1 on a bad one. */
static int parse_ids(const char *arg, int64_t *ids, int *n, int max) {
    char buf[256];
    if (strlen(arg) >= sizeof buf) return -1;
    snprintf(buf, sizeof buf, "%s", arg);
    char *save = NULL;
    int any = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n >= max || parse_id(t, &ids[*n])) return -1;
        ++*n;
        any = 1;
    }
    return any && arg[strlen(arg) - 1] != ',' ? 0 : -1;
}

#define PLOT_MAX_IDS 64

static int cmd_plot(cli *cl, int argc, char **argv) {
    const char *metric = NULL, *png = NULL, *svg = NULL;
    const char *pos[PLOT_MAX_IDS + 1];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--png") == 0 || strcmp(argv[i], "--svg") == 0) {
            if (i + 1 >= argc) return usage_error("%s needs a FILE", argv[i]);
            if (argv[i][2] == 'p') png = argv[++i];
            else svg = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error("plot: unknown option '%s'", argv[i]);
        } else if (npos <= PLOT_MAX_IDS) {
            pos[npos++] = argv[i];
        } else {
            return usage_error("plot: more than %s runs", "64");
        }
    }
    /* ID [ID ...] METRIC: the last word is the metric, the ones before it runs */
    if (npos < 2) return usage_error("%s", "plot needs run IDs and a METRIC (plot 46 47 top1)");
    metric = pos[npos - 1];
    if (png && svg) return usage_error("%s", "plot: choose --png or --svg, not both");
    if (svg && cwb_plot_term_for_file(svg) != CWB_PLOT_SVG)
        return usage_error("--svg %s: the file name must end in .svg", svg);
    if (png && cwb_plot_term_for_file(png) == CWB_PLOT_SVG)
        return usage_error("--png %s: use --svg for an SVG file", png);
    int64_t ids[PLOT_MAX_IDS];
    int nids = 0;
    for (int i = 0; i < npos - 1; i++)
        if (parse_ids(pos[i], ids, &nids, PLOT_MAX_IDS))
            return usage_error("bad run id '%s' (positive integers, e.g. 46 47 or 46,47,48)",
                               pos[i]);
    NEED_STORE(cl, s);
    int w = 0, h = 0;
    if (!png && !svg) terminal_size(&w, &h);
    char err[1024], *text = NULL;
    if (cwb_plot_runs(s, ids, nids, metric, png ? png : svg, w, h, &text, err, sizeof err))
        return say(1, "%s", err);
    if (text) fputs(text, stdout);
    else printf("wrote %s\n", png ? png : svg);
    free(text);
    return 0;
}

/* ---- entry ----------------------------------------------------------------------- */

int cwb_runs_main(int argc, char **argv, const char *db_path) {
    int i = 1;
    /* options before the command */
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--db") == 0) {
            if (i + 1 >= argc) return usage_error("%s needs a PATH", argv[i]);
            db_path = argv[i + 1];
            i += 2;
            continue;
        }
        return usage_error("unknown option '%s'", argv[i]);
    }
    if (i >= argc) return usage_error("%s", "missing command (list, show, export, plot)");
    const char *cmd = argv[i];
    int sub_argc = argc - i;
    char **sub_argv = argv + i;
    /* --db is also accepted after the command (`cwb runs list --db x.db`),
     * where users type it; it is taken out before the command parses. */
    int kept = 1;
    for (int k = 1; k < sub_argc; k++) {
        if (strcmp(sub_argv[k], "--help") == 0 || strcmp(sub_argv[k], "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (strcmp(sub_argv[k], "--db") == 0) {
            if (k + 1 >= sub_argc) return usage_error("%s needs a PATH", sub_argv[k]);
            db_path = sub_argv[++k];
            continue;
        }
        sub_argv[kept++] = sub_argv[k];
    }
    sub_argc = kept;
    int (*fn)(cli *, int, char **) = NULL;
    if (strcmp(cmd, "list") == 0) fn = cmd_list;
    else if (strcmp(cmd, "show") == 0) fn = cmd_show;
    else if (strcmp(cmd, "export") == 0) fn = cmd_export;
    else if (strcmp(cmd, "plot") == 0) fn = cmd_plot;
    else return usage_error("unknown command '%s' (list, show, export, plot)", cmd);
    if (!db_path || !*db_path) db_path = getenv("CWB_DB");
    if (!db_path || !*db_path) db_path = "cwb-runs.db";
    cli cl = {db_path, NULL};
    int rc = fn(&cl, sub_argc, sub_argv);
    cwb_store_close(cl.s);
    return rc;
}
