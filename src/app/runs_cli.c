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
#include "util/buf.h"
#include "util/json.h"

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
    "  list [--metric NAME]          one line per run: id, recipe, name (whole),\n"
    "                                status, seed, start, duration, the last value of\n"
    "                                a metric (NAME, else 'loss', else the first by\n"
    "                                name) and the parameters that differ between\n"
    "                                the listed runs; stacked on a narrow terminal\n"
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

/*
 * One line per run, every field in full: a name is never cut, since the
 * name is what a recipe writes to tell its runs apart.  The recipe column
 * drops the leading folders that every listed recipe shares ("..." marks
 * the cut; `show` has the full path).  The params column holds the
 * parameters that tell the listed runs apart: those whose value is not the
 * same in every listed run that has it (seed has its own column).  Numbers
 * get the fewest significant digits, from 4, that keep different values
 * (at float precision, the precision the engine keeps) different.  A pipe
 * gets one line per run, whatever its length (for grep and awk).  On a
 * terminal too narrow for a row the params go on indented lines below it,
 * and one too narrow for the other columns gets each run stacked: its
 * numbers, then recipe and name, then the params.
 */

/* Make room for element n of the array a (capacity cap, doubled as needed);
 * runs `fail` when out of memory. */
#define GROW(a, n, cap, fail)                                          \
    do {                                                               \
        if ((n) == (cap)) {                                            \
            int c_ = (cap) ? 2 * (cap) : 16;                           \
            void *p_ = realloc((a), (size_t)c_ * sizeof *(a));         \
            if (!p_) fail;                                             \
            (a) = p_;                                                  \
            (cap) = c_;                                                \
        }                                                              \
    } while (0)

typedef struct {
    char *key, *text;       /* text: the value as JSON prints it (strings unquoted) */
    int number, integer;    /* kind of value */
    double num;
    int64_t inum;
    const char *shown;      /* display text chosen for the key (owned by the key table) */
} list_param;

typedef struct {
    int64_t id;
    char *recipe, *name, *status;
    char seed[24], started[24], duration[16], last[96];
    list_param *p;
    int np, capp;
} list_row;

typedef struct {
    list_row *rows;
    int n, cap;
    int failed;
} list_ctx;

static char *dup_str(const char *s) { return strdup(s ? s : ""); }

static void free_rows(list_ctx *c) {
    for (int i = 0; i < c->n; i++) {
        list_row *r = &c->rows[i];
        free(r->recipe);
        free(r->name);
        free(r->status);
        for (int k = 0; k < r->np; k++) {
            free(r->p[k].key);
            free(r->p[k].text);
        }
        free(r->p);
    }
    free(c->rows);
}

static int list_one(const cwb_run_info *r, void *ud) {
    list_ctx *c = ud;
    GROW(c->rows, c->n, c->cap, return c->failed = 1);
    list_row *w = &c->rows[c->n++];
    memset(w, 0, sizeof *w);
    w->id = r->id;
    w->recipe = dup_str(r->recipe);
    w->name = dup_str(r->name);
    w->status = dup_str(r->status);
    if (!w->recipe || !w->name || !w->status) c->failed = 1;
    snprintf(w->seed, sizeof w->seed, "%llu", (unsigned long long)r->seed);
    fmt_time(r->started, w->started, sizeof w->started);
    fmt_duration(r->duration, w->duration, sizeof w->duration);
    snprintf(w->last, sizeof w->last, "-");
    return c->failed;
}

static int add_param(const cwb_run_param *q, void *ud) {
    list_row *w = ud;
    if (strcmp(q->key, "seed") == 0) return 0; /* the seed column */
    GROW(w->p, w->np, w->capp, return 1);
    list_param *p = &w->p[w->np];
    memset(p, 0, sizeof *p);
    p->key = dup_str(q->key);
    if (strcmp(q->type, "text") == 0 && (!*q->text || strpbrk(q->text, " =\"\n\t"))) {
        /* quoted, so that the column stays a list of key=value words */
        cwb_buf b = CWB_BUF_INIT;
        cwb_json_escape(&b, q->text, strlen(q->text));
        p->text = b.oom ? NULL : cwb_buf_take(&b);
        cwb_buf_free(&b);
    } else {
        p->text = dup_str(q->text);
    }
    if (!p->key || !p->text) {
        free(p->key);
        free(p->text);
        return 1;
    }
    p->integer = strcmp(q->type, "integer") == 0;
    p->number = p->integer || strcmp(q->type, "real") == 0;
    p->num = q->num;
    p->inum = q->inum;
    w->np++;
    return 0;
}

/* How many leading bytes every listed recipe path shares, whole folders
 * only (the list shows the rest after ".../"); 0 when a path has nothing
 * but its file name after them. */
static int common_dir_prefix(const list_ctx *c) {
    if (c->n == 0) return 0;
    const char *first = c->rows[0].recipe;
    size_t n = strlen(first);
    for (int i = 1; i < c->n; i++) {
        const char *r = c->rows[i].recipe;
        size_t k = 0;
        while (k < n && r[k] == first[k]) k++;
        n = k;
    }
    /* back to the end of a folder: the cut keeps the file names whole */
    while (n > 0 && first[n - 1] != '/') n--;
    for (int i = 0; i < c->n; i++) /* a bare file name has nothing to cut */
        if (strlen(c->rows[i].recipe) <= n) return 0;
    return (int)n;
}

/* A number as text with `digits` significant digits (integers exactly). */
static void fmt_param(const list_param *p, int digits, char *buf, size_t len) {
    if (p->integer) snprintf(buf, len, "%lld", (long long)p->inum);
    else snprintf(buf, len, "%.*g", digits, p->num);
}

typedef struct {
    const char *key;
    list_param **p;  /* the parameters with this key, one per run that has it */
    int np, capp;
    char **text;     /* the distinct display texts */
    int n, cap;
    int differs;     /* not the same in every run that has the key */
} key_info;

static void free_keys(key_info *keys, int n) {
    for (int j = 0; keys && j < n; j++) {
        for (int v = 0; v < keys[j].n; v++) free(keys[j].text[v]);
        free(keys[j].text);
        free(keys[j].p);
    }
    free(keys);
}

static int by_num(const void *x, const void *y) {
    double a = (*(list_param *const *)x)->num, b = (*(list_param *const *)y)->num;
    return (a > b) - (a < b);
}

/* The fewest digits, from 4 to 9, at which the key's different values (as
 * floats) print differently.  Rounding is monotone, so only neighbours in
 * sorted order can collide; sorts k->p. */
static int key_digits(key_info *k) {
    qsort(k->p, (size_t)k->np, sizeof *k->p, by_num);
    int digits = 4;
    for (; digits < 9; digits++) {
        int clash = 0;
        for (int i = 1; i < k->np && !clash; i++) {
            const list_param *a = k->p[i - 1], *b = k->p[i];
            if (a->integer || b->integer || !a->number || !b->number) continue;
            if ((float)a->num == (float)b->num) continue;
            char ta[40], tb[40];
            fmt_param(a, digits, ta, sizeof ta);
            fmt_param(b, digits, tb, sizeof tb);
            clash = strcmp(ta, tb) == 0;
        }
        if (!clash) break;
    }
    return digits;
}

/* Choose each key's display texts and whether it tells runs apart: the key
 * table into *out (*nk keys).  0, or -1 when out of memory. */
static int classify_params(list_ctx *c, key_info **out, int *nk) {
    key_info *keys = NULL;
    int n = 0, cap = 0;
    for (int i = 0; i < c->n; i++)
        for (int k = 0; k < c->rows[i].np; k++) {
            list_param *a = &c->rows[i].p[k];
            int j = 0;
            while (j < n && strcmp(keys[j].key, a->key) != 0) j++;
            if (j == n) {
                GROW(keys, n, cap, goto nomem);
                memset(&keys[n], 0, sizeof keys[n]);
                keys[n++].key = a->key;
            }
            key_info *ki = &keys[j];
            GROW(ki->p, ki->np, ki->capp, goto nomem);
            ki->p[ki->np++] = a;
        }
    for (int j = 0; j < n; j++) {
        key_info *ki = &keys[j];
        int digits = key_digits(ki);
        for (int i = 0; i < ki->np; i++) {
            list_param *a = ki->p[i];
            char num[64];
            fmt_param(a, digits, num, sizeof num);
            const char *t = a->number ? num : a->text;
            int v = 0;
            while (v < ki->n && strcmp(ki->text[v], t) != 0) v++;
            if (v == ki->n) {
                GROW(ki->text, ki->n, ki->cap, goto nomem);
                if (!(ki->text[v] = dup_str(t))) goto nomem;
                ki->n++;
            }
            a->shown = ki->text[v];
        }
        ki->differs = ki->n > 1;
    }
    *out = keys;
    *nk = n;
    return 0;
nomem:
    free_keys(keys, n);
    return -1;
}

static int key_differs(const key_info *keys, int nk, const char *key) {
    for (int j = 0; j < nk; j++)
        if (strcmp(keys[j].key, key) == 0) return keys[j].differs;
    return 0;
}

/* The terminal's width (COLUMNS where the terminal does not say), or 0
 * when stdout is not a terminal. */
static int tty_width(void) {
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    const char *cols = getenv("COLUMNS");
    if (isatty(STDOUT_FILENO) && cols && atoi(cols) >= 20) return atoi(cols);
    return 0;
}

/* Continuation lines of a stacked run: text indented, broken at spaces
 * before `width` (a word longer than a line stays whole). */
#define STACK_INDENT 6
static void print_wrapped(const char *p, int indent, int width) {
    int room = width - indent > 20 ? width - indent : 20;
    while (*p) {
        int n = (int)strlen(p);
        if (n > room) {
            int cut = room;
            while (cut > 0 && p[cut] != ' ') cut--;
            if (cut == 0)
                for (cut = room; p[cut] && p[cut] != ' '; cut++) {}
            n = cut;
        }
        printf("%*s%.*s\n", indent, "", n, p);
        p += n;
        while (*p == ' ') p++;
    }
}

static int cmd_list(cli *cl, int argc, char **argv) {
    const char *metric = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--metric") == 0 && i + 1 < argc) metric = argv[++i];
        else if (strcmp(argv[i], "--metric") == 0) return usage_error("%s needs a NAME", argv[i]);
        else return usage_error("list: unexpected argument '%s'", argv[i]);
    }
    NEED_STORE(cl, s);
    list_ctx c = {0};
    int rc = 0;
    key_info *keys = NULL;
    int nk = 0;
    cwb_buf line = CWB_BUF_INIT, par = CWB_BUF_INIT;
    if (cwb_store_runs(s, list_one, &c)) {
        rc = say(1, "%s", cwb_store_errmsg(s));
        goto out;
    }
    if (c.failed) goto nomem;
    for (int i = 0; i < c.n; i++) {
        char name[64];
        double v;
        list_row *r = &c.rows[i];
        int m = cwb_store_main_metric(s, r->id, metric, name, sizeof name, &v);
        if (m < 0 || cwb_store_run_params(s, r->id, add_param, r)) {
            rc = say(1, "%s", cwb_store_errmsg(s));
            goto out;
        }
        if (m > 0) snprintf(r->last, sizeof r->last, "%.40s=%.6g", name, v);
    }
    if (c.n == 0) {
        printf("no runs in %s\n", cwb_store_path(s));
        goto out;
    }
    if (classify_params(&c, &keys, &nk)) goto nomem;
    const int cut = common_dir_prefix(&c);
    const char *marker = cut ? ".../" : "";

    static const char *head[] = {"id", "recipe", "name", "status", "seed", "started",
                                 "duration", "last", "params"};
    enum { NCOL = 8 };   /* params, the last column, is not padded */
    int w[NCOL];
    for (int k = 0; k < NCOL; k++) w[k] = (int)strlen(head[k]);
    for (int i = 0; i < c.n; i++) {
        const list_row *r = &c.rows[i];
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)r->id);
        int len[NCOL] = {(int)strlen(id), (int)(strlen(marker) + strlen(r->recipe + cut)),
                         (int)strlen(r->name), (int)strlen(r->status), (int)strlen(r->seed),
                         (int)strlen(r->started), (int)strlen(r->duration), (int)strlen(r->last)};
        for (int k = 0; k < NCOL; k++)
            if (len[k] > w[k]) w[k] = len[k];
    }
    int width = tty_width(), fixed = 2 * NCOL;
    for (int k = 0; k < NCOL; k++) fixed += w[k];
    int any_params = 0;
    for (int j = 0; j < nk; j++) any_params |= keys[j].differs;
    /* On a terminal narrower than the fixed columns, each run is stacked:
     * its numbers on one line, then recipe and name, then the params. */
    const int stacked = width && fixed - 2 > width;

    if (stacked) /* numbers right-aligned, text left-aligned */
        printf("%*s  %-*s  %*s  %-*s  %*s  %s\n%*s%s\n", w[0], head[0], w[3], head[3], w[4],
               head[4], w[5], head[5], w[6], head[6], head[7], STACK_INDENT, "",
               any_params ? "recipe  name / params" : "recipe  name");
    else
        printf("%*s  %-*s  %-*s  %-*s  %*s  %-*s  %*s  %-*s%s%s\n", w[0], head[0], w[1],
               head[1], w[2], head[2], w[3], head[3], w[4], head[4], w[5], head[5], w[6],
               head[6], any_params ? w[7] : 0, head[7], any_params ? "  " : "",
               any_params ? head[8] : "");
    for (int i = 0; i < c.n; i++) {
        const list_row *r = &c.rows[i];
        cwb_buf_reset(&par);
        for (int k = 0; k < r->np; k++)
            if (key_differs(keys, nk, r->p[k].key))
                cwb_buf_printf(&par, "%s%s=%s", par.n ? " " : "", r->p[k].key, r->p[k].shown);
        cwb_buf_reset(&line);
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)r->id);
        if (stacked) {
            printf("%*s  %-*s  %*s  %-*s  %*s  %s\n", w[0], id, w[3], r->status, w[4], r->seed,
                   w[5], r->started, w[6], r->duration, r->last);
            cwb_buf_printf(&line, "%s%s  %s", marker, r->recipe + cut, r->name);
            if (line.oom || par.oom) goto nomem;
            print_wrapped(cwb_buf_text(&line), STACK_INDENT, width);
            if (par.n) print_wrapped(cwb_buf_text(&par), STACK_INDENT, width);
            continue;
        }
        const int same_line = par.n && (!width || fixed + (int)par.n <= width);
        /* the recipe's field: marker and path, padded as one */
        const int pad = w[1] - (int)(strlen(marker) + strlen(r->recipe + cut));
        cwb_buf_printf(&line, "%*s  %s%s%*s  %-*s  %-*s  %*s  %-*s  %*s  %-*s", w[0], id, marker,
                       r->recipe + cut, pad, "", w[2], r->name, w[3], r->status, w[4], r->seed,
                       w[5], r->started, w[6], r->duration, same_line ? w[7] : 0, r->last);
        if (par.oom || line.oom) goto nomem;
        if (same_line) printf("%s  %s\n", cwb_buf_text(&line), cwb_buf_text(&par));
        else printf("%s\n", cwb_buf_text(&line));
        if (par.n && !same_line) /* too wide: the params below, wrapped at spaces */
            print_wrapped(cwb_buf_text(&par), STACK_INDENT, width);
    }
    goto out;
nomem:
    rc = say(1, "out of memory listing runs");
out:
    cwb_buf_free(&line);
    cwb_buf_free(&par);
    free_keys(keys, nk);
    free_rows(&c);
    return rc;
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

static int show_event(long step, const char *kind, const char *name, double value, void *ud) {
    int *n = ud;
    printf("%s%s %s = %.6g from step %ld\n", (*n)++ ? "          " : "events:   ", kind, name, value, step + 1);
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
    int nev = 0;
    if (cwb_store_events(s, id, show_event, &nev)) return say(1, "%s", cwb_store_errmsg(s));
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
