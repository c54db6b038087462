/*
 * store.c - the SQLite run store (schema and rationale in docs/store.md).
 *
 * Durability model: WAL journal with synchronous=NORMAL.  A transaction is
 * durable once its commit record is in the WAL file, which a killed process
 * cannot undo, and a half-written transaction at the end of the WAL is simply
 * ignored on the next open; so kill -9 loses at most the batch being written
 * and never leaves a corrupt file.  (Power loss may additionally lose the
 * last few commits, still without corruption.)  Metrics are buffered and
 * written one batch per transaction because a commit costs far more than an
 * insert; the insert statement is prepared once and reused.
 */
#include "config.h"
#include "store/store.h"
#include "engine/core/tensor.h"

#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Version 2 adds the status 'stopped' (a run ended early by stop() or an
 * on_step returning false); version 1 files are migrated when opened. */
#define SCHEMA_VERSION 2
#define DEFAULT_BATCH 512
#define DEFAULT_BUSY_MS 2000

#define RUNS_TABLE(name)                                                                           \
    "CREATE TABLE " name "(\n"                                                                     \
    "  id      INTEGER PRIMARY KEY,\n"                                                             \
    "  recipe  TEXT NOT NULL,\n"                                                                   \
    "  name    TEXT NOT NULL,\n"                                                                   \
    "  params  TEXT NOT NULL DEFAULT '{}',\n"                                                      \
    "  seed    INTEGER NOT NULL,\n"                                                                \
    "  version TEXT NOT NULL,\n"                                                                   \
    "  started TEXT NOT NULL,\n"                                                                   \
    "  ended   TEXT,\n"                                                                            \
    "  status  TEXT NOT NULL CHECK (status IN ('running','done','stopped','failed','interrupted'))\n" \
    ");\n"

static const char *const schema_sql =
    RUNS_TABLE("runs")
    "CREATE TABLE metrics(\n"
    "  run   INTEGER NOT NULL REFERENCES runs(id),\n"
    "  step  INTEGER NOT NULL,\n"
    "  name  TEXT NOT NULL,\n"
    "  value REAL\n"
    ");\n"
    "CREATE INDEX metrics_run_name_step ON metrics(run, name, step);\n";

typedef struct {
    int64_t run;
    long step;
    int name;       /* index into names */
    double value;
} pending_metric;

struct cwb_store {
    sqlite3 *db;
    char *path;
    char msg[512];
    int busy_ms;
    int batch;
    sqlite3_stmt *ins_metric;
    pending_metric *buf;
    size_t n, cap;
    char **names;           /* interned metric names: few distinct, logged often */
    int nnames, capnames, last_name;
    int64_t *mine;          /* runs begun by this handle and not yet ended */
    int nmine, capmine;
    size_t flush_at;        /* buffer size that triggers the next write */
};

static void setmsg(char *dst, size_t len, const char *fmt, va_list ap) {
    vsnprintf(dst, len, fmt, ap);
}

static int fail(cwb_store *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int fail(cwb_store *s, const char *fmt, ...) {
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    setmsg(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(s->msg, sizeof s->msg, "%s: %s", s->path, what);
    return -1;
}

/* The one-line message for an SQLite failure, with the lock case spelled out. */
static int fail_db(cwb_store *s, const char *doing) {
    int code = sqlite3_errcode(s->db) & 0xff;
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return fail(s, "database is locked (another process is using it; waited %.1f s) while %s",
                    s->busy_ms / 1000.0, doing);
    return fail(s, "%s while %s", sqlite3_errmsg(s->db), doing);
}

const char *cwb_store_errmsg(const cwb_store *s) { return s ? s->msg : "no store"; }
const char *cwb_store_path(const cwb_store *s) { return s ? s->path : ""; }
long cwb_store_pending(const cwb_store *s) { return s ? (long)s->n : 0; }

void cwb_store_set_batch(cwb_store *s, int batch) {
    if (s) s->batch = s->flush_at = batch < 1 ? 1 : batch;
}

static void iso_now(char *buf, size_t len) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + k, len - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

static int exec(cwb_store *s, const char *sql, const char *doing) {
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) return fail_db(s, doing);
    return 0;
}

/* A single integer from a query (PRAGMA user_version, counts). */
static int query_int(cwb_store *s, const char *sql, int64_t *out, const char *doing) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return fail_db(s, doing);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE) *out = 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail_db(s, doing);
    return 0;
}

/* Version 1 -> 2: SQLite cannot change a CHECK constraint in place, so the
 * runs table is rebuilt with the new one and its rows copied (SQLite's own
 * procedure for schema changes; foreign keys are not enforced by cwb, so
 * metrics keep pointing at the same ids).  One transaction: a crash leaves
 * the file at version 1, intact. */
static const char *const migrate_1_2_sql =
    RUNS_TABLE("runs_v2")
    "INSERT INTO runs_v2 SELECT id, recipe, name, params, seed, version, started, ended, status FROM runs;\n"
    "DROP TABLE runs;\n"
    "ALTER TABLE runs_v2 RENAME TO runs;\n"
    "PRAGMA user_version = 2;\n";

static int init_schema(cwb_store *s) {
    int64_t ver;
    if (query_int(s, "PRAGMA user_version", &ver, "reading the schema version")) return -1;
    if (ver == SCHEMA_VERSION) return 0;
    if (ver == 1) {
        if (exec(s, "BEGIN IMMEDIATE", "upgrading the schema to version 2")) return -1;
        /* another process may have upgraded it while this one waited */
        if (query_int(s, "PRAGMA user_version", &ver, "reading the schema version")) goto rollback;
        if (ver == 1 && exec(s, migrate_1_2_sql, "upgrading the schema to version 2")) goto rollback;
        if (exec(s, "COMMIT", "upgrading the schema to version 2")) goto rollback;
        return 0;
    }
    if (ver > SCHEMA_VERSION)
        return fail(s, "written by a newer cwb (schema version %lld, this cwb knows %d)",
                    (long long)ver, SCHEMA_VERSION);
    /* Version 0: a new file, unless someone else's database sits at this path.
     * IMMEDIATE so that two cwb processes creating the file do not race. */
    if (exec(s, "BEGIN IMMEDIATE", "creating the schema")) return -1;
    int64_t ntables;
    if (query_int(s, "PRAGMA user_version", &ver, "reading the schema version") ||
        query_int(s, "SELECT count(*) FROM sqlite_master", &ntables, "reading the schema"))
        goto rollback;
    if (ver == 0) {
        if (ntables > 0) {
            fail(s, "not a cwb run store (it holds other tables and no cwb schema version)");
            goto rollback;
        }
        char sql[1400];
        snprintf(sql, sizeof sql, "%sPRAGMA user_version = %d;", schema_sql, SCHEMA_VERSION);
        if (exec(s, sql, "creating the schema")) goto rollback;
    }
    if (exec(s, "COMMIT", "creating the schema")) goto rollback;
    return 0;
rollback:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

cwb_store *cwb_store_open_timeout(const char *path, int busy_ms, char *err, int errlen) {
    if (!path || !*path) {
        if (err && errlen > 0) snprintf(err, (size_t)errlen, "run store: empty path");
        return NULL;
    }
    cwb_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        if (err && errlen > 0) snprintf(err, (size_t)errlen, "%s: out of memory", path);
        free(s);
        return NULL;
    }
    s->busy_ms = busy_ms > 0 ? busy_ms : 0;
    s->batch = DEFAULT_BATCH;
    s->flush_at = DEFAULT_BATCH;
    s->last_name = -1;
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        if (s->db) fail(s, "%s", sqlite3_errmsg(s->db));
        else fail(s, "cannot open (out of memory)");
        goto bad;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, s->busy_ms);

    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK) {
        fail_db(s, "opening");
        goto bad;
    }
    rc = sqlite3_step(st);
    char mode[16] = "";
    if (rc == SQLITE_ROW)
        snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) {
        fail_db(s, "opening");
        goto bad;
    }
    if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0) {
        fail(s, "cannot use WAL journaling (journal mode is '%s')", mode);
        goto bad;
    }
    if (exec(s, "PRAGMA synchronous=NORMAL", "opening") || init_schema(s)) goto bad;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO metrics(run, step, name, value) VALUES(?,?,?,?)",
                           -1, &s->ins_metric, NULL) != SQLITE_OK) {
        fail_db(s, "preparing the metric insert");
        goto bad;
    }
    return s;
bad:
    if (err && errlen > 0) snprintf(err, (size_t)errlen, "%s", s->msg);
    sqlite3_close_v2(s->db);
    free(s->path);
    free(s);
    return NULL;
}

cwb_store *cwb_store_open(const char *path, char *err, int errlen) {
    return cwb_store_open_timeout(path, DEFAULT_BUSY_MS, err, errlen);
}

/* ---- writing ------------------------------------------------------------------ */

static int intern(cwb_store *s, const char *name) {
    if (s->last_name >= 0 && strcmp(s->names[s->last_name], name) == 0) return s->last_name;
    for (int i = 0; i < s->nnames; i++)
        if (strcmp(s->names[i], name) == 0) return s->last_name = i;
    if (s->nnames == s->capnames) {
        int cap = s->capnames ? 2 * s->capnames : 16;
        char **p = realloc(s->names, (size_t)cap * sizeof *p);
        if (!p) return -1;
        s->names = p;
        s->capnames = cap;
    }
    if (!(s->names[s->nnames] = strdup(name))) return -1;
    return s->last_name = s->nnames++;
}

static int remember_run(cwb_store *s, int64_t id) {
    if (s->nmine == s->capmine) {
        int cap = s->capmine ? 2 * s->capmine : 8;
        int64_t *p = realloc(s->mine, (size_t)cap * sizeof *p);
        if (!p) return -1;
        s->mine = p;
        s->capmine = cap;
    }
    s->mine[s->nmine++] = id;
    return 0;
}

static void forget_run(cwb_store *s, int64_t id) {
    for (int i = 0; i < s->nmine; i++)
        if (s->mine[i] == id) {
            s->mine[i] = s->mine[--s->nmine];
            return;
        }
}

int64_t cwb_store_run_begin(cwb_store *s, const char *recipe, const char *name,
                            const char *params_json, uint64_t seed) {
    if (!s) return -1;
    if (!params_json || !*params_json) params_json = "{}";
    char now[40];
    iso_now(now, sizeof now);
    sqlite3_stmt *st;
    /* json() both validates and normalises the parameter text. */
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO runs(recipe, name, params, seed, version, started, status) "
                           "VALUES(?, ?, json(?), ?, ?, ?, 'running')",
                           -1, &st, NULL) != SQLITE_OK) {
        fail_db(s, "starting a run");
        return -1;
    }
    sqlite3_bind_text(st, 1, recipe ? recipe : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name ? name : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, params_json, -1, SQLITE_TRANSIENT);
    /* SQLite integers are signed: seeds >= 2^63 are stored as their two's
     * complement and read back through the same cast (docs/store.md). */
    sqlite3_bind_int64(st, 4, (sqlite3_int64)seed);
    /* The BLAS kernel is part of what reproduces a run (tensor.h). */
    char version[96];
    snprintf(version, sizeof version, "%s openblas:%s", PACKAGE_VERSION, cwb_blas_corename());
    sqlite3_bind_text(st, 5, version, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, now, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        if (strstr(sqlite3_errmsg(s->db), "JSON")) {
            fail(s, "run parameters are not valid JSON: %.200s", params_json);
            return -1;
        }
        fail_db(s, "starting a run");
        return -1;
    }
    int64_t id = sqlite3_last_insert_rowid(s->db);
    if (remember_run(s, id)) {
        fail(s, "out of memory");
        return -1;
    }
    return id;
}

int cwb_store_metric(cwb_store *s, int64_t run, long step, const char *name, double value) {
    if (!s) return -1;
    if (run <= 0) return fail(s, "metric for run %lld: run ids start at 1", (long long)run);
    if (!name || !*name) return fail(s, "metric of run %lld has an empty name", (long long)run);
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : (size_t)s->batch;
        pending_metric *p = realloc(s->buf, cap * sizeof *p);
        if (!p) return fail(s, "out of memory buffering metrics");
        s->buf = p;
        s->cap = cap;
    }
    int k = intern(s, name);
    if (k < 0) return fail(s, "out of memory buffering metrics");
    s->buf[s->n++] = (pending_metric){run, step, k, value};
    if (s->n < s->flush_at) return 0;
    if (cwb_store_flush(s) == 0) return 0;
    /* Locked or failing: keep buffering and retry one batch later rather
     * than waiting out the busy timeout on every value. */
    s->flush_at = s->n + (size_t)s->batch;
    return -1;
}

int cwb_store_flush(cwb_store *s) {
    if (!s) return -1;
    if (s->n == 0) return 0;
    if (exec(s, "BEGIN IMMEDIATE", "writing metrics")) return -1;
    sqlite3_stmt *st = s->ins_metric;
    for (size_t i = 0; i < s->n; i++) {
        const pending_metric *m = &s->buf[i];
        sqlite3_bind_int64(st, 1, m->run);
        sqlite3_bind_int64(st, 2, m->step);
        sqlite3_bind_text(st, 3, s->names[m->name], -1, SQLITE_STATIC);
        if (isnan(m->value)) sqlite3_bind_null(st, 4);
        else sqlite3_bind_double(st, 4, m->value);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            fail_db(s, "writing metrics");
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;   /* the batch stays buffered for the next attempt */
        }
    }
    sqlite3_clear_bindings(st);
    if (exec(s, "COMMIT", "writing metrics")) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    s->n = 0;
    s->flush_at = (size_t)s->batch;
    return 0;
}

static int set_status(cwb_store *s, int64_t run, const char *status, int only_running) {
    char now[40];
    iso_now(now, sizeof now);
    sqlite3_stmt *st;
    const char *sql = only_running
        ? "UPDATE runs SET status = ?, ended = ? WHERE id = ? AND status = 'running'"
        : "UPDATE runs SET status = ?, ended = ? WHERE id = ?";
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail_db(s, "ending a run");
    sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, run);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return fail_db(s, "ending a run");
    if (!only_running && sqlite3_changes(s->db) == 0)
        return fail(s, "no run %lld", (long long)run);
    return 0;
}

int cwb_store_run_end(cwb_store *s, int64_t run, const char *status) {
    if (!s) return -1;
    if (!status || (strcmp(status, "done") && strcmp(status, "stopped") && strcmp(status, "failed") &&
                    strcmp(status, "interrupted")))
        return fail(s, "bad status '%s' for run %lld (done, stopped, failed or interrupted)",
                    status ? status : "(null)", (long long)run);
    int rc = cwb_store_flush(s);
    if (set_status(s, run, status, 0)) return -1;
    forget_run(s, run);
    return rc;
}

int cwb_store_interrupt_all(cwb_store *s) {
    if (!s) return -1;
    int rc = cwb_store_flush(s);   /* keep the metrics even if this fails */
    while (s->nmine > 0) {
        if (set_status(s, s->mine[s->nmine - 1], "interrupted", 1)) return -1;
        s->nmine--;
    }
    return rc;
}

void cwb_store_close(cwb_store *s) {
    if (!s) return;
    cwb_store_interrupt_all(s);
    sqlite3_finalize(s->ins_metric);
    sqlite3_close_v2(s->db);
    for (int i = 0; i < s->nnames; i++) free(s->names[i]);
    free(s->names);
    free(s->buf);
    free(s->mine);
    free(s->path);
    free(s);
}

/* ---- reading -------------------------------------------------------------------- */

static const char *col_text(sqlite3_stmt *st, int i) {
    return (const char *)sqlite3_column_text(st, i);
}

static double col_double(sqlite3_stmt *st, int i) {
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

#define RUN_COLUMNS                                                                   \
    "SELECT id, recipe, name, params, version, status, started, ended, seed, "       \
    "(julianday(coalesce(ended, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))) - "          \
    "julianday(started)) * 86400.0 FROM runs "

static int each_run(cwb_store *s, sqlite3_stmt *st, cwb_run_fn fn, void *ud, int *count) {
    int rc;
    *count = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cwb_run_info r;
        r.id = sqlite3_column_int64(st, 0);
        r.recipe = col_text(st, 1);
        r.name = col_text(st, 2);
        r.params = col_text(st, 3);
        r.version = col_text(st, 4);
        r.status = col_text(st, 5);
        r.started = col_text(st, 6);
        r.ended = col_text(st, 7);
        r.seed = (uint64_t)sqlite3_column_int64(st, 8);
        r.duration = col_double(st, 9);
        ++*count;
        if (fn && fn(&r, ud)) break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail_db(s, "reading runs");
    return 0;
}

int cwb_store_runs(cwb_store *s, cwb_run_fn fn, void *ud) {
    if (!s || cwb_store_flush(s)) return -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, RUN_COLUMNS "ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return fail_db(s, "reading runs");
    int n, rc = each_run(s, st, fn, ud, &n);
    sqlite3_finalize(st);
    return rc;
}

int cwb_store_run_get(cwb_store *s, int64_t id, cwb_run_fn fn, void *ud) {
    if (!s || cwb_store_flush(s)) return -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, RUN_COLUMNS "WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return fail_db(s, "reading a run");
    sqlite3_bind_int64(st, 1, id);
    int n, rc = each_run(s, st, fn, ud, &n);
    sqlite3_finalize(st);
    return rc ? -1 : n > 0;
}

/* The value of one metric at its first (dir = "ASC") or last step. */
/* The leaves of the params object: members whose parent is an object (so an
 * array counts as one value, its elements are not visited), in document
 * order.  SQLite's json_tree does the reading (util/json.h writes only). */
int cwb_store_run_params(cwb_store *s, int64_t run, int (*fn)(const cwb_run_param *p, void *ud),
                         void *ud) {
    if (!s || cwb_store_flush(s)) return -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "WITH t AS (SELECT j.* FROM runs, json_tree(runs.params) AS j "
                           "WHERE runs.id = ?) "
                           "SELECT replace(substr(c.fullkey, 3), '\"', ''), c.type, c.value "
                           "FROM t AS c "
                           "JOIN t AS p ON p.id = c.parent "
                           "WHERE p.type = 'object' AND c.type != 'object' ORDER BY c.id",
                           -1, &st, NULL) != SQLITE_OK)
        return fail_db(s, "reading run parameters");
    sqlite3_bind_int64(st, 1, run);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cwb_run_param q;
        q.key = col_text(st, 0);
        q.type = col_text(st, 1);
        q.text = col_text(st, 2);
        /* json_tree gives true and false as 1 and 0 */
        if (!q.text || strcmp(q.type, "true") == 0 || strcmp(q.type, "false") == 0 ||
            strcmp(q.type, "null") == 0)
            q.text = q.type;
        int number = strcmp(q.type, "integer") == 0 || strcmp(q.type, "real") == 0;
        q.num = number ? sqlite3_column_double(st, 2) : NAN;
        q.inum = strcmp(q.type, "integer") == 0 ? sqlite3_column_int64(st, 2) : 0;
        if (fn && fn(&q, ud)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return fail_db(s, "reading run parameters");
    return 0;
}

static int end_value(cwb_store *s, sqlite3_stmt *st, int64_t run, const char *name,
                     double *v) {
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    *v = rc == SQLITE_ROW ? col_double(st, 0) : NAN;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail_db(s, "reading metrics");
    return 0;
}

int cwb_store_metric_summaries(cwb_store *s, int64_t run,
                               int (*fn)(const cwb_metric_summary *m, void *ud), void *ud) {
    if (!s || cwb_store_flush(s)) return -1;
    sqlite3_stmt *agg = NULL, *first = NULL, *last = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name, count(*), min(value), max(value), min(step), max(step) "
                           "FROM metrics WHERE run = ? GROUP BY name ORDER BY name",
                           -1, &agg, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "SELECT value FROM metrics WHERE run = ? AND name = ? "
                           "ORDER BY step, rowid LIMIT 1", -1, &first, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "SELECT value FROM metrics WHERE run = ? AND name = ? "
                           "ORDER BY step DESC, rowid DESC LIMIT 1", -1, &last, NULL) != SQLITE_OK) {
        fail_db(s, "reading metrics");
        goto out;
    }
    sqlite3_bind_int64(agg, 1, run);
    int r;
    while ((r = sqlite3_step(agg)) == SQLITE_ROW) {
        cwb_metric_summary m;
        m.name = col_text(agg, 0);
        m.count = (long)sqlite3_column_int64(agg, 1);
        m.min = col_double(agg, 2);
        m.max = col_double(agg, 3);
        m.first_step = (long)sqlite3_column_int64(agg, 4);
        m.last_step = (long)sqlite3_column_int64(agg, 5);
        if (end_value(s, first, run, m.name, &m.first) ||
            end_value(s, last, run, m.name, &m.last))
            goto out;
        if (fn && fn(&m, ud)) break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        fail_db(s, "reading metrics");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(agg);
    sqlite3_finalize(first);
    sqlite3_finalize(last);
    return rc;
}

long cwb_store_metric_series(cwb_store *s, int64_t run, const char *name, long **steps,
                             double **values) {
    *steps = NULL;
    *values = NULL;
    if (!s || cwb_store_flush(s)) return -1;
    if (!name) return fail(s, "metric name missing");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT step, value FROM metrics WHERE run = ? AND name = ? "
                           "ORDER BY step, rowid", -1, &st, NULL) != SQLITE_OK)
        return fail_db(s, "reading a metric");
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    long n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            long nc = cap ? 2 * cap : 256;
            long *ps = realloc(*steps, (size_t)nc * sizeof *ps);
            if (ps) *steps = ps;
            double *pv = realloc(*values, (size_t)nc * sizeof *pv);
            if (pv) *values = pv;
            if (!ps || !pv) {
                sqlite3_finalize(st);
                free(*steps);
                free(*values);
                *steps = NULL;
                *values = NULL;
                return fail(s, "out of memory reading metric '%s'", name);
            }
            cap = nc;
        }
        (*steps)[n] = (long)sqlite3_column_int64(st, 0);
        (*values)[n] = col_double(st, 1);
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(*steps);
        free(*values);
        *steps = NULL;
        *values = NULL;
        return fail_db(s, "reading a metric");
    }
    return n;
}

int cwb_store_metric_rows(cwb_store *s, int64_t run,
                          int (*fn)(long step, const char *name, double value, void *ud),
                          void *ud) {
    if (!s || cwb_store_flush(s)) return -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT step, name, value FROM metrics WHERE run = ? "
                           "ORDER BY step, name, rowid", -1, &st, NULL) != SQLITE_OK)
        return fail_db(s, "reading metrics");
    sqlite3_bind_int64(st, 1, run);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn((long)sqlite3_column_int64(st, 0), col_text(st, 1), col_double(st, 2), ud)) {
            rc = SQLITE_DONE;
            break;
        }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return fail_db(s, "reading metrics");
    return 0;
}

int cwb_store_main_metric(cwb_store *s, int64_t run, const char *preferred, char *name,
                          int namelen, double *value) {
    if (!s || cwb_store_flush(s)) return -1;
    sqlite3_stmt *has = NULL, *any = NULL, *last = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM metrics WHERE run = ? AND name = ? LIMIT 1",
                           -1, &has, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "SELECT name FROM metrics WHERE run = ? ORDER BY name LIMIT 1",
                           -1, &any, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "SELECT value FROM metrics WHERE run = ? AND name = ? "
                           "ORDER BY step DESC, rowid DESC LIMIT 1", -1, &last, NULL) != SQLITE_OK) {
        fail_db(s, "reading metrics");
        goto out;
    }
    const char *cands[2] = {preferred, "loss"};
    char chosen[256] = "";
    for (int i = 0; i < 2 && !*chosen; i++) {
        if (!cands[i] || !*cands[i]) continue;
        sqlite3_reset(has);
        sqlite3_bind_int64(has, 1, run);
        sqlite3_bind_text(has, 2, cands[i], -1, SQLITE_STATIC);
        int r = sqlite3_step(has);
        if (r == SQLITE_ROW) snprintf(chosen, sizeof chosen, "%s", cands[i]);
        else if (r != SQLITE_DONE) {
            fail_db(s, "reading metrics");
            goto out;
        }
    }
    if (!*chosen) {
        sqlite3_bind_int64(any, 1, run);
        int r = sqlite3_step(any);
        if (r == SQLITE_ROW) snprintf(chosen, sizeof chosen, "%s", col_text(any, 0));
        else if (r != SQLITE_DONE) {
            fail_db(s, "reading metrics");
            goto out;
        }
    }
    if (!*chosen) {
        rc = 0;
        goto out;
    }
    if (end_value(s, last, run, chosen, value)) goto out;
    if (name && namelen > 0) snprintf(name, (size_t)namelen, "%s", chosen);
    rc = 1;
out:
    sqlite3_finalize(has);
    sqlite3_finalize(any);
    sqlite3_finalize(last);
    return rc;
}

/* ---- reference lines ----------------------------------------------------------------- */

/* The refs table is created with the first reference line, so that the
 * schema of a store without any stays version 1 and older cwb versions read
 * it as before (they ignore the extra table). */
static const char *const refs_sql =
    "CREATE TABLE IF NOT EXISTS refs(\n"
    "  run    INTEGER NOT NULL REFERENCES runs(id),\n"
    "  metric TEXT NOT NULL,\n"
    "  value  REAL NOT NULL,\n"
    "  label  TEXT,\n"
    "  PRIMARY KEY (run, metric, value)\n"
    ");";

/* Whether the store has the table `name` (refs, events: created on first use). */
static int has_table(cwb_store *s, const char *name, int64_t *yes, const char *doing) {
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'",
             name);
    return query_int(s, sql, yes, doing);
}

int cwb_store_ref(cwb_store *s, int64_t run, const char *metric, double value,
                  const char *label) {
    if (!s) return -1;
    if (!metric || !*metric) return fail(s, "a reference line needs a metric name");
    if (!isfinite(value)) return fail(s, "reference line of '%s': the value is not finite", metric);
    int found = cwb_store_run_get(s, run, NULL, NULL);
    if (found < 0) return -1;
    if (found == 0) return fail(s, "no run %lld for a reference line", (long long)run);
    sqlite3_stmt *st;
    if (exec(s, refs_sql, "creating the reference lines table")) return -1;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO refs(run, metric, value, label) "
                           "VALUES (?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
        return fail_db(s, "writing a reference line");
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, metric, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 3, value);
    if (label) sqlite3_bind_text(st, 4, label, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, 4);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return fail_db(s, "writing a reference line");
    return 0;
}

int cwb_store_refs(cwb_store *s, int64_t run, const char *metric,
                   int (*fn)(const char *metric, double value, const char *label, void *ud),
                   void *ud) {
    if (!s) return -1;
    int64_t yes = 0;
    if (has_table(s, "refs", &yes, "reading reference lines")) return -1;
    if (!yes) return 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT metric, value, label FROM refs WHERE run = ?1 AND "
                           "(?2 IS NULL OR metric = ?2) ORDER BY metric, value",
                           -1, &st, NULL) != SQLITE_OK)
        return fail_db(s, "reading reference lines");
    sqlite3_bind_int64(st, 1, run);
    if (metric) sqlite3_bind_text(st, 2, metric, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, 2);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *label = sqlite3_column_type(st, 2) == SQLITE_NULL ? NULL : col_text(st, 2);
        if (fn(col_text(st, 0), sqlite3_column_double(st, 1), label, ud)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return fail_db(s, "reading reference lines");
    return 0;
}

/* ---- events (knob changes) ------------------------------------------------------------- */

/* Created with the first event, as refs is: a store without any has the
 * schema of docs/store.md unchanged, and an older cwb ignores the table. */
static const char *const events_sql =
    "CREATE TABLE IF NOT EXISTS events(\n"
    "  run   INTEGER NOT NULL REFERENCES runs(id),\n"
    "  step  INTEGER NOT NULL,\n"
    "  kind  TEXT NOT NULL,\n"
    "  name  TEXT NOT NULL,\n"
    "  value REAL NOT NULL\n"
    ");";

int cwb_store_event(cwb_store *s, int64_t run, long step, const char *kind, const char *name,
                    double value) {
    if (!s) return -1;
    if (!kind || !*kind || !name || !*name) return fail(s, "an event needs a kind and a name");
    if (!isfinite(value)) return fail(s, "event %s '%s': the value is not finite", kind, name);
    int found = cwb_store_run_get(s, run, NULL, NULL);
    if (found < 0) return -1;
    if (found == 0) return fail(s, "no run %lld for an event", (long long)run);
    if (exec(s, events_sql, "creating the events table")) return -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO events(run, step, kind, name, value) VALUES (?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return fail_db(s, "writing an event");
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(st, 2, step);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 5, value);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return fail_db(s, "writing an event");
    return 0;
}

int cwb_store_events(cwb_store *s, int64_t run,
                     int (*fn)(long step, const char *kind, const char *name, double value, void *ud),
                     void *ud) {
    if (!s) return -1;
    int64_t yes = 0;
    if (has_table(s, "events", &yes, "reading events")) return -1;
    if (!yes) return 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT step, kind, name, value FROM events WHERE run = ? ORDER BY step, rowid",
                           -1, &st, NULL) != SQLITE_OK)
        return fail_db(s, "reading events");
    sqlite3_bind_int64(st, 1, run);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn((long)sqlite3_column_int64(st, 0), col_text(st, 1), col_text(st, 2), sqlite3_column_double(st, 3),
               ud)) {
            rc = SQLITE_DONE;
            break;
        }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return fail_db(s, "reading events");
    return 0;
}

/* ---- reading parameter records --------------------------------------------------------- */

int cwb_store_json_leaves(cwb_store *s, const char *json,
                          int (*fn)(const char *key, const char *value, void *ud), void *ud) {
    if (!s) return -1;
    if (!json || !*json) return 0;
    sqlite3_stmt *st;
    /* json_tree walks nested objects and arrays; a leaf's fullkey is
     * "$.loss.kind" or "$.dims[1]"; atom is its SQL value (strings
     * unquoted, true/false as 1/0, so the JSON text is used for those;
     * reals with 6 digits, so that a float parameter reads 0.1, not
     * 0.100000001490116). */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT substr(fullkey, 3), CASE type WHEN 'true' THEN 'true' "
                           "WHEN 'false' THEN 'false' WHEN 'null' THEN 'null' "
                           "WHEN 'real' THEN printf('%.6g', atom) ELSE atom END "
                           "FROM json_tree(?) WHERE type NOT IN ('object', 'array') "
                           "ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return fail_db(s, "reading parameters");
    sqlite3_bind_text(st, 1, json, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn(col_text(st, 0), col_text(st, 1), ud)) {
            rc = SQLITE_DONE;
            break;
        }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return fail_db(s, "reading parameters (malformed JSON?)");
    return 0;
}
