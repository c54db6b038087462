/*
 * store.h - the SQLite run store (schema in docs/store.md).
 *
 * runs(id, recipe, name, params, seed, version, started, ended, status) and
 * metrics(run, step, name, value).  Metrics are buffered and written in
 * batched transactions in WAL mode, so a crash or kill -9 loses at most the
 * last batch and never corrupts the file.
 */
#ifndef CWB_STORE_H
#define CWB_STORE_H

#include <stdint.h>

typedef struct cwb_store cwb_store;

/* Open (creating the schema if needed).  NULL on failure with a one-line
 * message in err ("cwb-runs.db: database is locked", ...). */
cwb_store *cwb_store_open(const char *path, char *err, int errlen);
/* Flushes pending metrics; marks still-running runs of this handle "interrupted". */
void cwb_store_close(cwb_store *s);
const char *cwb_store_errmsg(const cwb_store *s);
const char *cwb_store_path(const cwb_store *s);

/* A new run in status "running"; params is a JSON text (may be "{}").
 * Returns the run id (> 0) or -1 on error. */
int64_t cwb_store_run_begin(cwb_store *s, const char *recipe, const char *name,
                            const char *params_json, uint64_t seed);
/* Buffer one metric value; flushed every `batch` values (default 512) or on
 * cwb_store_flush / run_end.  0 or -1. */
int cwb_store_metric(cwb_store *s, int64_t run, long step, const char *name, double value);
int cwb_store_flush(cwb_store *s);
/* status: "done", "failed", "interrupted". */
int cwb_store_run_end(cwb_store *s, int64_t run, const char *status);
/* Mark every run of this handle that is still "running" as "interrupted"
 * (Ctrl-C).  Safe to call from the normal control flow after a signal. */
int cwb_store_interrupt_all(cwb_store *s);

/* `cwb runs ...` subcommands: list, show ID, export ID --csv, plot ID METRIC
 * [--png FILE].  argv[0] is "runs".  Returns the process exit status. */
int cwb_runs_main(int argc, char **argv, const char *db_path);

#endif
