/*
 * test_store.c - the SQLite run store and `cwb runs`.
 *
 * Round trip of runs and metrics; batching (nothing visible to another
 * connection before a flush, everything after); a writer killed with
 * SIGKILL leaves a file that passes PRAGMA integrity_check with every
 * committed batch readable; a locked database gives a one-line error naming
 * the file; run statuses; the CLI's exit codes and CSV output.
 */
#include "config.h"
#include "store/store.h"
#include "app/runs_cli.h"
#include "engine/core/tensor.h"
#include "../tap.h"

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

static void path_in(char *buf, size_t len, const char *name) {
    snprintf(buf, len, "%s/%s", dir, name);
}

/* A second, independent connection: what another process would see. */
static long long count_sql(const char *db, const char *sql) {
    sqlite3 *h;
    long long v = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return -2;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    } else {
        diag("sql error: %s", sqlite3_errmsg(h));
    }
    sqlite3_close(h);
    return v;
}

static void text_sql(const char *db, const char *sql, char *out, size_t len) {
    sqlite3 *h;
    out[0] = '\0';
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
                snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(h);
}

/* ---- round trip --------------------------------------------------------------- */

typedef struct {
    int n;
    cwb_run_info last;
    char name[64], status[16], params[128], recipe[64], version[96], started[40];
    int ended_null;
} runs_seen;

static int see_run(const cwb_run_info *r, void *ud) {
    runs_seen *s = ud;
    s->n++;
    s->last = *r;
    snprintf(s->name, sizeof s->name, "%s", r->name);
    snprintf(s->status, sizeof s->status, "%s", r->status);
    snprintf(s->params, sizeof s->params, "%s", r->params);
    snprintf(s->recipe, sizeof s->recipe, "%s", r->recipe);
    snprintf(s->version, sizeof s->version, "%s", r->version);
    snprintf(s->started, sizeof s->started, "%s", r->started);
    s->ended_null = r->ended == NULL;
    return 0;
}

typedef struct {
    int n;
    cwb_metric_summary m[4];
    char names[4][32];
} sums_seen;

static int see_sum(const cwb_metric_summary *m, void *ud) {
    sums_seen *s = ud;
    if (s->n < 4) {
        s->m[s->n] = *m;
        snprintf(s->names[s->n], 32, "%s", m->name);
        s->m[s->n].name = s->names[s->n];
    }
    s->n++;
    return 0;
}

static void test_round_trip(void) {
    char db[300], err[512];
    path_in(db, sizeof db, "rt.db");
    cwb_store *s = cwb_store_open(db, err, sizeof err);
    ok(s != NULL, "open creates a new store (%s)", s ? "ok" : err);
    if (!s) return;
    uint64_t bigseed = 18446744073709551557ull;   /* > 2^63: stored as signed */
    int64_t a = cwb_store_run_begin(s, "gradient_bias", "conventional",
                                    "{ \"batch\": 8, \"noise\": 0.5 }", 42);
    int64_t b = cwb_store_run_begin(s, "gradient_bias", "decomposable", NULL, bigseed);
    ok(a > 0 && b == a + 1, "run ids are positive and increasing (%lld, %lld)", (long long)a,
       (long long)b);
    for (long k = 0; k < 1000; k++) {
        cwb_store_metric(s, a, k, "loss", 2.0 / (1.0 + (double)k));
        if (k % 10 == 0) cwb_store_metric(s, a, k, "score", (double)k / 1000.0);
    }
    cwb_store_metric(s, b, 0, "loss", NAN);
    cwb_store_metric(s, b, 1, "loss", 3.5);
    ok(cwb_store_run_end(s, a, "done") == 0, "run_end done");

    runs_seen rs = {0};
    ok(cwb_store_runs(s, see_run, &rs) == 0 && rs.n == 2, "two runs listed (%d)", rs.n);
    ok(rs.last.seed == bigseed, "a seed above 2^63 reads back exactly");
    ok(strcmp(rs.status, "running") == 0 && rs.ended_null, "the unfinished run is running");
    memset(&rs, 0, sizeof rs);
    ok(cwb_store_run_get(s, a, see_run, &rs) == 1, "run_get finds run a");
    ok(strcmp(rs.name, "conventional") == 0 && strcmp(rs.recipe, "gradient_bias") == 0 &&
           strcmp(rs.status, "done") == 0 && !rs.ended_null && rs.last.seed == 42,
       "run a: recipe, name, status, ended, seed");
    ok(strcmp(rs.params, "{\"batch\":8,\"noise\":0.5}") == 0, "params stored as JSON (%s)",
       rs.params);
    {
        /* "VERSION openblas:KERNEL": the kernel decides the last bits of a run */
        char want[96];
        snprintf(want, sizeof want, "%s openblas:%s", PACKAGE_VERSION, cwb_blas_corename());
        ok(strcmp(rs.version, want) == 0, "version and BLAS kernel recorded (%s)", rs.version);
    }
    ok(strlen(rs.started) == 24 && rs.started[10] == 'T' && rs.started[23] == 'Z',
       "started is ISO-8601 UTC (%s)", rs.started);
    ok(rs.last.duration >= 0 && rs.last.duration < 60, "duration is small and non-negative (%g)",
       rs.last.duration);
    ok(cwb_store_run_get(s, 999, see_run, &rs) == 0, "run_get of a missing run returns 0");

    long *steps;
    double *vals;
    long n = cwb_store_metric_series(s, a, "loss", &steps, &vals);
    int exact = n == 1000;
    for (long k = 0; exact && k < n; k++)
        exact = steps[k] == k && vals[k] == 2.0 / (1.0 + (double)k);
    ok(exact, "1000 loss values read back exactly in step order (n=%ld)", n);
    free(steps);
    free(vals);
    n = cwb_store_metric_series(s, b, "loss", &steps, &vals);
    ok(n == 2 && isnan(vals[0]) && vals[1] == 3.5, "NaN is stored (as NULL) and read back as NaN");
    free(steps);
    free(vals);
    n = cwb_store_metric_series(s, a, "nothing", &steps, &vals);
    ok(n == 0 && steps == NULL && vals == NULL, "an absent metric gives an empty series");

    sums_seen ss = {0};
    ok(cwb_store_metric_summaries(s, a, see_sum, &ss) == 0 && ss.n == 2, "two metric summaries");
    ok(strcmp(ss.names[0], "loss") == 0 && ss.m[0].count == 1000 && ss.m[0].first == 2.0 &&
           ss.m[0].last == 2.0 / 1000.0 && ss.m[0].max == 2.0 && ss.m[0].min == 2.0 / 1000.0 &&
           ss.m[0].first_step == 0 && ss.m[0].last_step == 999,
       "loss summary: count, first, last, min, max, steps");
    ok(strcmp(ss.names[1], "score") == 0 && ss.m[1].count == 100 && ss.m[1].last == 0.99,
       "score summary");

    char name[64];
    double v;
    ok(cwb_store_main_metric(s, a, "score", name, sizeof name, &v) == 1 &&
           strcmp(name, "score") == 0 && v == 0.99,
       "main metric: the preferred one when present");
    ok(cwb_store_main_metric(s, a, "absent", name, sizeof name, &v) == 1 &&
           strcmp(name, "loss") == 0 && v == 0.002,
       "main metric: falls back to loss");
    ok(cwb_store_main_metric(s, 999, NULL, name, sizeof name, &v) == 0,
       "main metric: none for a run without metrics");

    ok(cwb_store_run_begin(s, "r", "bad-json", "{nope", 1) == -1 &&
           strstr(cwb_store_errmsg(s), "JSON") && strstr(cwb_store_errmsg(s), db),
       "malformed params JSON rejected: %s", cwb_store_errmsg(s));
    ok(cwb_store_run_end(s, a, "finished") == -1 && strstr(cwb_store_errmsg(s), "finished"),
       "bad status rejected: %s", cwb_store_errmsg(s));
    ok(cwb_store_run_end(s, 12345, "done") == -1 && strstr(cwb_store_errmsg(s), "no run 12345"),
       "ending a missing run fails: %s", cwb_store_errmsg(s));
    ok(cwb_store_metric(s, 0, 1, "x", 1) == -1 && cwb_store_metric(s, a, 1, "", 1) == -1,
       "run id 0 and an empty metric name rejected");
    cwb_store_close(s);

    ok(count_sql(db, "PRAGMA user_version") == 2, "schema version 2 in PRAGMA user_version");
    char mode[16];
    text_sql(db, "PRAGMA journal_mode", mode, sizeof mode);
    ok(strcmp(mode, "wal") == 0, "journal mode is WAL (%s)", mode);
    ok(count_sql(db, "SELECT count(*) FROM sqlite_master WHERE type='index' AND "
                     "name='metrics_run_name_step'") == 1,
       "index on metrics(run, name, step)");
    char st[16];
    text_sql(db, "SELECT status FROM runs WHERE id = 2", st, sizeof st);
    ok(strcmp(st, "interrupted") == 0, "close marks the unfinished run interrupted (%s)", st);
    ok(count_sql(db, "SELECT count(*) FROM metrics") == 1102, "all 1102 metrics on disk");

    /* reopening an existing store */
    s = cwb_store_open(db, err, sizeof err);
    ok(s && cwb_store_run_begin(s, "r", "n", "{}", 1) == 3, "reopen and continue numbering");
    cwb_store_close(s);
}

/* ---- batching ------------------------------------------------------------------- */

static void test_batching(void) {
    char db[300], err[512];
    path_in(db, sizeof db, "batch.db");
    cwb_store *s = cwb_store_open(db, err, sizeof err);
    if (!ok(s != NULL, "open batch store")) return;
    cwb_store_set_batch(s, 100);
    int64_t r = cwb_store_run_begin(s, "t", "batching", "{}", 1);
    for (int k = 0; k < 99; k++) cwb_store_metric(s, r, k, "loss", k);
    ok(cwb_store_pending(s) == 99, "99 values buffered");
    ok(count_sql(db, "SELECT count(*) FROM metrics") == 0,
       "nothing visible to another connection before the batch is full");
    cwb_store_metric(s, r, 99, "loss", 99);
    ok(cwb_store_pending(s) == 0 && count_sql(db, "SELECT count(*) FROM metrics") == 100,
       "the 100th value writes the whole batch");
    for (int k = 100; k < 150; k++) cwb_store_metric(s, r, k, "loss", k);
    ok(count_sql(db, "SELECT count(*) FROM metrics") == 100, "a partial batch is not visible");
    ok(cwb_store_flush(s) == 0 && count_sql(db, "SELECT count(*) FROM metrics") == 150,
       "visible after flush");
    cwb_store_metric(s, r, 150, "loss", 150);
    ok(cwb_store_run_end(s, r, "done") == 0 && count_sql(db, "SELECT count(*) FROM metrics") == 151,
       "run_end flushes");
    cwb_store_close(s);
}

/* ---- kill -9 ---------------------------------------------------------------------- */

static void test_killed_writer(void) {
    char db[300], err[512];
    path_in(db, sizeof db, "killed.db");
    const int batch = 50;
    int fds[2];
    if (pipe(fds)) {
        ok(0, "pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        cwb_store *s = cwb_store_open(db, err, sizeof err);
        if (!s) _exit(3);
        cwb_store_set_batch(s, batch);
        int64_t r = cwb_store_run_begin(s, "killme", "forever", "{}", 7);
        for (long k = 0;; k++) {
            cwb_store_metric(s, r, k, "loss", 1.0 / (double)(k + 1));
            if ((k + 1) % batch == 0) {
                char c = 'x';   /* one byte per committed batch */
                if (write(fds[1], &c, 1) != 1) _exit(4);
            }
        }
    }
    close(fds[1]);
    int batches = 0;
    char c;
    while (batches < 40 && read(fds[0], &c, 1) == 1) batches++;
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    while (read(fds[0], &c, 1) == 1) batches++;   /* batches reported before the kill */
    close(fds[0]);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "writer killed with SIGKILL");
    char integ[64];
    text_sql(db, "PRAGMA integrity_check", integ, sizeof integ);
    ok(strcmp(integ, "ok") == 0, "integrity_check after kill -9: %s", integ);
    long long rows = count_sql(db, "SELECT count(*) FROM metrics");
    ok(rows >= (long long)batches * batch, "every reported batch is readable (%lld rows >= %d)",
       rows, batches * batch);
    ok(rows % batch == 0, "only whole batches are on disk (%lld rows, batch %d)", rows, batch);
    ok(count_sql(db, "SELECT count(*) FROM metrics WHERE value <> 1.0/(step+1)") == 0,
       "the stored values are intact");
    char st[16];
    text_sql(db, "SELECT status FROM runs WHERE id = 1", st, sizeof st);
    ok(strcmp(st, "running") == 0, "the killed run still says running (%s)", st);
    cwb_store *s = cwb_store_open(db, err, sizeof err);
    ok(s && cwb_store_run_begin(s, "after", "kill", "{}", 1) == 2,
       "the store opens and takes new runs after the kill");
    cwb_store_close(s);
}

/* ---- locks ------------------------------------------------------------------------ */

static void test_locked(void) {
    char db[300], err[512];
    path_in(db, sizeof db, "locked.db");
    cwb_store *s = cwb_store_open(db, err, sizeof err);
    if (!ok(s != NULL, "open store to lock")) return;
    int64_t r = cwb_store_run_begin(s, "t", "locked", "{}", 1);

    sqlite3 *other;
    sqlite3_open(db, &other);
    ok(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK,
       "another connection takes the write lock");
    cwb_store_metric(s, r, 1, "loss", 1.0);
    int rc = cwb_store_flush(s);
    const char *m = cwb_store_errmsg(s);
    ok(rc == -1 && strstr(m, db) && strstr(m, "locked") && !strchr(m, '\n'),
       "flush while locked fails with a one-line message naming the file: %s", m);
    ok(cwb_store_pending(s) == 1, "the value stays buffered");
    sqlite3_exec(other, "COMMIT", NULL, NULL, NULL);
    ok(cwb_store_flush(s) == 0 && count_sql(db, "SELECT count(*) FROM metrics") == 1,
       "after the lock is released the buffered value is written");

    /* An exclusive-mode connection keeps even readers out.  In WAL mode it
     * can only take that lock while no other connection is open. */
    cwb_store_close(s);
    s = NULL;
    char *xerr = NULL;
    int xrc = sqlite3_exec(other, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; "
                                  "UPDATE runs SET name = name; COMMIT;",
                           NULL, NULL, &xerr);
    ok(xrc == SQLITE_OK, "another connection holds an exclusive lock (%d %s)", xrc,
       xerr ? xerr : "ok");
    sqlite3_free(xerr);
    cwb_store *s2 = cwb_store_open_timeout(db, 200, err, sizeof err);
    ok(s2 == NULL && strstr(err, db) && strstr(err, "locked") && !strchr(err, '\n'),
       "opening an exclusively locked store fails clearly: %s", err);
    cwb_store_close(s2);
    sqlite3_close(other);
    s2 = cwb_store_open_timeout(db, 200, err, sizeof err);
    ok(s2 != NULL, "opens once the other connection is gone");
    cwb_store_close(s2);

    /* not a database, not ours */
    char junk[300];
    path_in(junk, sizeof junk, "junk.db");
    FILE *f = fopen(junk, "w");
    fputs("this is not an SQLite database, just some text that is long enough to matter\n", f);
    for (int i = 0; i < 100; i++) fputs("0123456789abcdef", f);
    fclose(f);
    s = cwb_store_open(junk, err, sizeof err);
    ok(s == NULL && strstr(err, junk) && strstr(err, "not a database"),
       "a text file is refused: %s", err);
    path_in(junk, sizeof junk, "foreign.db");
    sqlite3_open(junk, &other);
    sqlite3_exec(other, "CREATE TABLE runs(x)", NULL, NULL, NULL);
    sqlite3_close(other);
    s = cwb_store_open(junk, err, sizeof err);
    ok(s == NULL && strstr(err, "not a cwb run store"), "someone else's database is refused: %s",
       err);
    s = cwb_store_open("/nonexistent-dir/x.db", err, sizeof err);
    ok(s == NULL && strstr(err, "/nonexistent-dir/x.db"), "unopenable path: %s", err);
}

/* ---- statuses ---------------------------------------------------------------------- */

static void test_statuses(void) {
    char db[300], err[512], st[64];
    path_in(db, sizeof db, "status.db");
    cwb_store *s = cwb_store_open(db, err, sizeof err);
    if (!ok(s != NULL, "open status store")) return;
    int64_t a = cwb_store_run_begin(s, "t", "a", "{}", 1);
    int64_t b = cwb_store_run_begin(s, "t", "b", "{}", 1);
    int64_t c = cwb_store_run_begin(s, "t", "c", "{}", 1);
    cwb_store_metric(s, c, 5, "loss", 0.5);
    ok(cwb_store_run_end(s, a, "failed") == 0, "run a failed");
    ok(cwb_store_interrupt_all(s) == 0, "interrupt_all");
    text_sql(db, "SELECT group_concat(status, ',') FROM (SELECT status FROM runs ORDER BY id)",
             st, sizeof st);
    ok(strcmp(st, "failed,interrupted,interrupted") == 0,
       "interrupt_all marks only the running runs (%s)", st);
    ok(count_sql(db, "SELECT count(*) FROM metrics WHERE run = 3") == 1,
       "interrupt_all keeps the buffered metrics");
    ok(count_sql(db, "SELECT count(*) FROM runs WHERE ended IS NULL") == 0,
       "every ended run has an end time");
    ok(cwb_store_run_end(s, b, "done") == 0, "an interrupted run can still be ended explicitly");
    int64_t d = cwb_store_run_begin(s, "t", "d", "{}", 1);
    ok(cwb_store_run_end(s, d, "stopped") == 0, "a run ended early on request is 'stopped' (%s)",
       cwb_store_errmsg(s));
    cwb_store_close(s);
    text_sql(db, "SELECT status FROM runs WHERE id = 2", st, sizeof st);
    ok(strcmp(st, "done") == 0, "close leaves ended runs alone (%s)", st);
    text_sql(db, "SELECT status FROM runs WHERE id = 4", st, sizeof st);
    ok(strcmp(st, "stopped") == 0, "the store keeps 'stopped' (%s)", st);
    (void)b;
}

/* A file written by a cwb of schema version 1 (status without 'stopped'):
 * opened, it is upgraded in place, its runs and metrics kept. */
static void test_upgrade(void) {
    char db[300], err[512], st[128];
    path_in(db, sizeof db, "v1.db");
    sqlite3 *h;
    int rc = sqlite3_open(db, &h);
    rc |= sqlite3_exec(h,
                       "PRAGMA journal_mode=WAL;"
                       "CREATE TABLE runs(id INTEGER PRIMARY KEY, recipe TEXT NOT NULL, name TEXT NOT NULL,"
                       " params TEXT NOT NULL DEFAULT '{}', seed INTEGER NOT NULL, version TEXT NOT NULL,"
                       " started TEXT NOT NULL, ended TEXT,"
                       " status TEXT NOT NULL CHECK (status IN ('running','done','failed','interrupted')));"
                       "CREATE TABLE metrics(run INTEGER NOT NULL REFERENCES runs(id), step INTEGER NOT NULL,"
                       " name TEXT NOT NULL, value REAL);"
                       "CREATE INDEX metrics_run_name_step ON metrics(run, name, step);"
                       "INSERT INTO runs VALUES(1, 'old.lua', 'old run', '{\"batch\":8}', 3, '0.1.0',"
                       " '2025-01-01T00:00:00.000Z', '2025-01-01T00:01:00.000Z', 'done');"
                       "INSERT INTO metrics VALUES(1, 10, 'loss', 0.5), (1, 20, 'loss', 0.25);"
                       "PRAGMA user_version = 1;",
                       NULL, NULL, NULL);
    sqlite3_close(h);
    if (!ok(rc == SQLITE_OK, "a version-1 store written by hand")) return;
    cwb_store *s = cwb_store_open(db, err, sizeof err);
    ok(s != NULL, "a cwb of version 2 opens it (%s)", s ? "ok" : err);
    if (!s) return;
    int64_t r = cwb_store_run_begin(s, "new.lua", "new run", "{}", 1);
    ok(r == 2 && cwb_store_run_end(s, r, "stopped") == 0, "a new run after the upgrade can be 'stopped' (%s)",
       cwb_store_errmsg(s));
    cwb_store_close(s);
    ok(count_sql(db, "PRAGMA user_version") == 2, "upgraded to schema version 2");
    text_sql(db, "SELECT group_concat(id || ':' || name || ':' || status || ':' || seed || ':' || params, ' ') "
                 "FROM (SELECT * FROM runs ORDER BY id)", st, sizeof st);
    ok(strcmp(st, "1:old run:done:3:{\"batch\":8} 2:new run:stopped:1:{}") == 0, "the old run is kept (%s)", st);
    ok(count_sql(db, "SELECT count(*) FROM metrics WHERE run = 1 AND name = 'loss'") == 2 &&
           count_sql(db, "SELECT count(*) FROM sqlite_master WHERE type='index' AND name='metrics_run_name_step'") == 1,
       "with its metrics and the index");
    text_sql(db, "PRAGMA integrity_check", st, sizeof st);
    ok(strcmp(st, "ok") == 0, "integrity_check: %s", st);
    s = cwb_store_open(db, err, sizeof err);
    ok(s != NULL, "an upgraded file opens again as it is");
    cwb_store_close(s);
}

/* ---- CLI ----------------------------------------------------------------------------- */

/* Run cwb_runs_main with stdout and stderr captured into files. */
static int run_cli(const char *db, char *out, size_t outlen, char *errt, size_t errlen, ...) {
    char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, errlen);
    const char *a;
    while ((a = va_arg(ap, const char *)) && argc < 15) argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    char fo[300], fe[300];
    path_in(fo, sizeof fo, "cli.out");
    path_in(fe, sizeof fe, "cli.err");
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    FILE *o = fopen(fo, "w"), *e = fopen(fe, "w");
    dup2(fileno(o), 1);
    dup2(fileno(e), 2);
    int rc = cwb_runs_main(argc, argv, db);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    fclose(o);
    fclose(e);
    const char *files[2] = {fo, fe};
    char *bufs[2] = {out, errt};
    size_t lens[2] = {outlen, errlen};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "r");
        size_t n = f ? fread(bufs[i], 1, lens[i] - 1, f) : 0;
        bufs[i][n] = '\0';
        if (f) fclose(f);
    }
    return rc;
}

/* A copy of the captured message without its newline, for test descriptions. */
static const char *chomp(const char *s) {
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s", s);
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '\n') buf[n - 1] = '\0';
    return buf;
}

static int one_line(const char *s) {
    const char *nl = strchr(s, '\n');
    return *s && nl && nl[1] == '\0';
}

static void test_cli(void) {
    char db[300], err[512], out[8192], et[1024];
    path_in(db, sizeof db, "cli.db");
    cwb_store *s = cwb_store_open(db, err, sizeof err);
    if (!ok(s != NULL, "open cli store")) return;
    int64_t r = cwb_store_run_begin(s, "gradient_bias", "decomposable", "{\"batch\":8}", 3);
    for (int k = 0; k < 5; k++) {
        cwb_store_metric(s, r, k, "loss", 1.0 + k);
        if (k % 2 == 0) cwb_store_metric(s, r, k, "score", 0.5 * k);
    }
    cwb_store_run_end(s, r, "done");
    cwb_store_close(s);

    int rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", "--help", NULL);
    ok(rc == 0 && strstr(out, "usage: cwb runs") && !*et, "runs --help: usage on stdout, exit 0");
    rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", NULL);
    ok(rc == 2 && strncmp(et, "cwb runs: ", 10) == 0 && one_line(et),
       "no command: exit 2, one line: %s", chomp(et));
    rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", "frobnicate", NULL);
    ok(rc == 2 && strstr(et, "frobnicate") && one_line(et), "unknown command: exit 2: %s", chomp(et));
    rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", "show", NULL);
    ok(rc == 2 && one_line(et), "show without id: exit 2: %s", chomp(et));
    rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", "show", "abc", NULL);
    ok(rc == 2 && strstr(et, "abc") && one_line(et), "show abc: exit 2: %s", chomp(et));
    rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", "plot", "1", NULL);
    ok(rc == 2 && one_line(et), "plot without metric: exit 2: %s", chomp(et));
    rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", "list", "--bogus", NULL);
    ok(rc == 2 && strstr(et, "--bogus") && one_line(et), "list --bogus: exit 2: %s", chomp(et));
    rc = run_cli("/nonexistent/none.db", out, sizeof out, et, sizeof et, "runs", "show", "x", NULL);
    ok(rc == 2, "bad usage is 2 even without a store");

    rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", "show", "99", NULL);
    ok(rc == 1 && strstr(et, "cwb runs: no run 99") && one_line(et),
       "unknown id: exit 1: %s", chomp(et));
    rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", "export", "99", "--csv", NULL);
    ok(rc == 1 && strstr(et, "no run 99"), "export of an unknown id: exit 1");
    rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", "plot", "1", "nothing", NULL);
    ok(rc == 1 && strstr(et, "no metric 'nothing'") && strstr(et, "loss, score"),
       "plot of an unknown metric names the ones there: %s", chomp(et));
    char missing[300];
    path_in(missing, sizeof missing, "missing.db");
    rc = run_cli(missing, out, sizeof out, et, sizeof et, "runs", "list", NULL);
    struct stat sb;
    ok(rc == 1 && strstr(et, "no run store") && stat(missing, &sb) != 0,
       "list on a missing store: exit 1 and no file created: %s", chomp(et));

    rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", "list", NULL);
    ok(rc == 0 && strstr(out, "recipe") && strstr(out, "gradient_bias") &&
           strstr(out, "decomposable") && strstr(out, "done") && strstr(out, "loss=5"),
       "list shows the run with its last loss");
    rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", "list", "--metric", "score", NULL);
    ok(rc == 0 && strstr(out, "score=2"), "list --metric score");
    rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", "show", "1", NULL);
    ok(rc == 0 && strstr(out, "{\"batch\":8}") && strstr(out, "done") &&
           strstr(out, "loss") && strstr(out, "score"),
       "show prints params, status and metrics");

    rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", "export", "1", "--csv", NULL);
    ok(rc == 0 && strncmp(out, "step,name,value\n0,loss,1\n0,score,0\n1,loss,2\n", 44) == 0,
       "export --csv: long format on stdout in step order");
    char csv[300];
    path_in(csv, sizeof csv, "out.csv");
    rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", "export", "1", "--csv", csv,
                 "--wide", NULL);
    FILE *f = fopen(csv, "r");
    char body[512] = "";
    size_t n = f ? fread(body, 1, sizeof body - 1, f) : 0;
    body[n] = '\0';
    if (f) fclose(f);
    ok(rc == 0 && strcmp(body, "step,loss,score\n0,1,0\n1,2,\n2,3,1\n3,4,\n4,5,2\n") == 0,
       "export --wide into a file: one column per metric, blanks where missing");
    rc = run_cli(db, out, sizeof out, et, sizeof et, "runs", "export", "1", "--csv",
                 "/nonexistent-dir/out.csv", NULL);
    ok(rc == 1 && strstr(et, "/nonexistent-dir/out.csv") && one_line(et),
       "export to an unwritable place: exit 1: %s", chomp(et));

    /* no temp files left next to the CSV */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls -a %s | grep -c tmp", dir);
    FILE *p = popen(cmd, "r");
    int tmps = -1;
    if (p) {
        if (fscanf(p, "%d", &tmps) != 1) tmps = -1;
        pclose(p);
    }
    ok(tmps == 0, "no temp files left behind (%d)", tmps);
}

/* ---- events (knob changes) ----------------------------------------------------- */

typedef struct {
    int n;
    long step[4];
    char name[4][16];
    double value[4];
} events_seen;

static int see_event(long step, const char *kind, const char *name, double value, void *ud) {
    events_seen *e = ud;
    if (e->n < 4 && strcmp(kind, "knob") == 0) {
        e->step[e->n] = step;
        snprintf(e->name[e->n], sizeof e->name[0], "%s", name);
        e->value[e->n] = value;
    }
    e->n++;
    return 0;
}

static void test_events(void) {
    char db[300], err[512];
    path_in(db, sizeof db, "events.db");
    cwb_store *s = cwb_store_open(db, err, sizeof err);
    int64_t id = s ? cwb_store_run_begin(s, "r.lua", "knobs", "{}", 1) : -1;
    events_seen e = {0};
    ok(id > 0 && cwb_store_events(s, id, see_event, &e) == 0 && e.n == 0 &&
           count_sql(db, "SELECT count(*) FROM sqlite_master WHERE name = 'events'") == 0,
       "a store without events has no events table, and reading one finds none");
    ok(cwb_store_event(s, id, 100, "knob", "tau", 0.5) == 0 && cwb_store_event(s, id, 40, "knob", "batch", 16) == 0,
       "two knob events written");
    ok(count_sql(db, "SELECT count(*) FROM events WHERE run = 1 AND name = 'tau' AND step = 100 AND value = 0.5") == 1,
       "another connection sees the event at once (not buffered like metrics)");
    e.n = 0;
    ok(cwb_store_events(s, id, see_event, &e) == 0 && e.n == 2 && e.step[0] == 40 && strcmp(e.name[0], "batch") == 0 &&
           e.value[0] == 16 && e.step[1] == 100 && strcmp(e.name[1], "tau") == 0,
       "read back in step order: batch 16 at 40, tau 0.5 at 100");
    ok(cwb_store_event(s, 99, 1, "knob", "tau", 1) == -1 && strstr(cwb_store_errmsg(s), "no run 99"),
       "an event of a run that does not exist is refused (%s)", cwb_store_errmsg(s));
    ok(cwb_store_event(s, id, 1, "knob", "tau", NAN) == -1 && strstr(cwb_store_errmsg(s), "not finite"),
       "a NaN value is refused (%s)", cwb_store_errmsg(s));
    cwb_store_close(s);
}

int main(void) {
    if (tap_tmpdir(dir, sizeof dir, "store")) return 99;
    test_round_trip();
    test_batching();
    test_killed_writer();
    test_locked();
    test_statuses();
    test_upgrade();
    test_cli();
    test_events();
    tap_rmtree(dir);
    return done_testing();
}
