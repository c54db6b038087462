/*
 * export.c - a recorded run's metrics as CSV (export.h), for `cwb runs
 * export` and cwb.runs.export.
 */
#include "store/export.h"
#include "util/atomic.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    FILE *f;
    int wide;
    /* wide format state */
    char **names;
    int nnames;
    double *row;
    int *have;
    long step;
    int any;
} export_ctx;

static void put_value(FILE *f, double v) {
    if (isnan(v)) fputs("nan", f);
    else fprintf(f, "%.15g", v);
}

/* CSV field: quoted when it holds a comma, quote or newline. */
static void put_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int long_row(long step, const char *name, double value, void *ud) {
    export_ctx *c = ud;
    fprintf(c->f, "%ld,", step);
    put_field(c->f, name);
    fputc(',', c->f);
    put_value(c->f, value);
    fputc('\n', c->f);
    return 0;
}

static void wide_emit(export_ctx *c) {
    if (!c->any) return;
    fprintf(c->f, "%ld", c->step);
    for (int k = 0; k < c->nnames; k++) {
        fputc(',', c->f);
        if (c->have[k]) put_value(c->f, c->row[k]);
        c->have[k] = 0;
    }
    fputc('\n', c->f);
    c->any = 0;
}

static int wide_row(long step, const char *name, double value, void *ud) {
    export_ctx *c = ud;
    if (c->any && step != c->step) wide_emit(c);
    c->step = step;
    /* names are few and sorted: a linear search is fine */
    for (int k = 0; k < c->nnames; k++)
        if (strcmp(c->names[k], name) == 0) {
            c->row[k] = value;   /* several values at one step: the last wins */
            c->have[k] = 1;
            c->any = 1;
            break;
        }
    return 0;
}

static int collect_name(const cwb_metric_summary *m, void *ud) {
    export_ctx *c = ud;
    char **p = realloc(c->names, (size_t)(c->nnames + 1) * sizeof *p);
    if (!p) return 1;
    c->names = p;
    if (!(c->names[c->nnames] = strdup(m->name))) return 1;
    c->nnames++;
    return 0;
}

static int export_metrics(cwb_store *s, int64_t id, export_ctx *c) {
    if (!c->wide) {
        fputs("step,name,value\n", c->f);
        return cwb_store_metric_rows(s, id, long_row, c);
    }
    if (cwb_store_metric_summaries(s, id, collect_name, c)) return -1;
    c->row = calloc((size_t)c->nnames + 1, sizeof *c->row);
    c->have = calloc((size_t)c->nnames + 1, sizeof *c->have);
    if (!c->row || !c->have) return -1;
    fputs("step", c->f);
    for (int k = 0; k < c->nnames; k++) {
        fputc(',', c->f);
        put_field(c->f, c->names[k]);
    }
    fputc('\n', c->f);
    if (cwb_store_metric_rows(s, id, wide_row, c)) return -1;
    wide_emit(c);
    return 0;
}

int cwb_store_export_csv(cwb_store *s, int64_t id, const char *file, int wide, char *err,
                        size_t errlen) {
    int r = cwb_store_run_get(s, id, NULL, NULL);
    if (r < 0) {
        snprintf(err, errlen, "%s", cwb_store_errmsg(s));
        return -1;
    }
    if (r == 0) {
        snprintf(err, errlen, "no run %lld in %s", (long long)id, cwb_store_path(s));
        return 1;
    }
    export_ctx c = {.wide = wide};
    cwb_atomic a = {0};
    int rc = 0;
    if (!file || strcmp(file, "-") == 0) {
        c.f = stdout;
    } else {
        if (cwb_atomic_open(&a, file, err, errlen)) return -1;
        c.f = a.f;
    }
    if (export_metrics(s, id, &c)) {
        snprintf(err, errlen, "%s", *cwb_store_errmsg(s) ? cwb_store_errmsg(s) : "out of memory");
        rc = -1;
    }
    if (c.f == stdout) {
        if (fflush(stdout) != 0 && !rc) {
            snprintf(err, errlen, "cannot write to stdout: %s", strerror(errno));
            rc = -1;
        }
    } else if (rc) {
        cwb_atomic_abort(&a);
    } else {
        rc = cwb_atomic_commit(&a, err, errlen);
    }
    for (int k = 0; k < c.nnames; k++) free(c.names[k]);
    free(c.names);
    free(c.row);
    free(c.have);
    return rc;
}

