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

#include <stddef.h>
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
/* status: "done", "stopped" (ended early on request: stop(), on_step
 * returning false), "failed", "interrupted". */
int cwb_store_run_end(cwb_store *s, int64_t run, const char *status);
/* Mark every run of this handle that is still "running" as "interrupted"
 * (Ctrl-C).  Safe to call from the normal control flow after a signal. */
int cwb_store_interrupt_all(cwb_store *s);

/* ---- additions (store work) ------------------------------------------------ */

/* Like cwb_store_open with a chosen wait for a locked database (open uses 2000 ms). */
cwb_store *cwb_store_open_timeout(const char *path, int busy_ms, char *err, int errlen);
/* Metrics buffered before a write (default 512, at least 1). */
void cwb_store_set_batch(cwb_store *s, int batch);
/* Metrics buffered and not yet written. */
long cwb_store_pending(const cwb_store *s);

/* Reading.  Each reader flushes this handle's pending metrics first.  The
 * strings are valid during the callback only; a callback returning non-zero
 * stops the iteration. */
typedef struct {
    int64_t id;
    const char *recipe, *name, *params, *version, *status;
    const char *started, *ended;   /* ISO-8601 UTC; ended NULL while running */
    uint64_t seed;
    double duration;               /* seconds to ended, or to now while running */
} cwb_run_info;
typedef int (*cwb_run_fn)(const cwb_run_info *run, void *ud);
/* Every run by id.  0 or -1. */
int cwb_store_runs(cwb_store *s, cwb_run_fn fn, void *ud);
/* One run: 1 found (fn called), 0 no such run, -1 error. */
int cwb_store_run_get(cwb_store *s, int64_t id, cwb_run_fn fn, void *ud);

/* One parameter of a run: a member of its params object, or of an object
 * nested in it, named by its path from the top ("batch", "loss.kind"; the
 * names as written, unquoted); an array is one parameter (its JSON text).  type is SQLite's json_tree
 * type: "integer", "real", "text", "true", "false", "null" or "array"; text
 * the value as text (a string without its quotes; "true", "false", "null"
 * for those); num the value of a number (NaN otherwise), inum that of an
 * integer. */
typedef struct {
    const char *key, *type, *text;
    double num;
    int64_t inum;
} cwb_run_param;
/* The run's parameters in the order of its params JSON (none for an unknown
 * run).  A callback returning non-zero stops.  0 or -1. */
int cwb_store_run_params(cwb_store *s, int64_t run, int (*fn)(const cwb_run_param *p, void *ud),
                         void *ud);

typedef struct {
    const char *name;
    long count;                    /* values logged (NaN counts; min/max skip it) */
    long first_step, last_step;
    double first, last, min, max;  /* NaN where undefined */
} cwb_metric_summary;
/* One summary per metric name of a run, by name.  0 or -1. */
int cwb_store_metric_summaries(cwb_store *s, int64_t run,
                               int (*fn)(const cwb_metric_summary *m, void *ud), void *ud);
/* Steps and values of one metric in step order, malloc'd (caller frees both;
 * NULL when empty).  Returns the count or -1. */
long cwb_store_metric_series(cwb_store *s, int64_t run, const char *name,
                             long **steps, double **values);
/* Every metric row of a run ordered by step then name.  0 or -1. */
int cwb_store_metric_rows(cwb_store *s, int64_t run,
                          int (*fn)(long step, const char *name, double value, void *ud),
                          void *ud);
/* The run's "main" metric: `preferred` if it has it, else "loss", else the
 * first name in alphabetical order; its name and value at the last step.
 * 1 found, 0 the run has no metrics, -1 error. */
int cwb_store_main_metric(cwb_store *s, int64_t run, const char *preferred,
                          char *name, int namelen, double *value);

/* ---- reference lines and parameter records ------------------------------------- */

/* A reference line the figures of a run's metric draw: y = value with a
 * legend label (nullable), e.g. theta_ratio at 1, "optimum theta*".  One
 * line per (run, metric, value); a second call replaces its label.  Kept in
 * the table refs, created with the first line (docs/store.md).  0 or -1
 * (no such run, value not finite). */
int cwb_store_ref(cwb_store *s, int64_t run, const char *metric, double value,
                  const char *label);
/* The reference lines of a run for metric (NULL: every metric), by metric
 * then value; label NULL when none was given.  0 or -1. */
int cwb_store_refs(cwb_store *s, int64_t run, const char *metric,
                   int (*fn)(const char *metric, double value, const char *label, void *ud),
                   void *ud);

/* ---- events ------------------------------------------------------------------------------ */

/* Something that happened to a run at a step: kind "knob" (the only kind cwb
 * writes), name the knob ("tau", "lr", "batch", ...), value its new value,
 * which applies from step + 1 on (step = the trainer's steps done when it
 * changed).  Written at once, not buffered.  Kept in the table events,
 * created with the first one (docs/store.md).  0 or -1 (no such run, value
 * not finite). */
int cwb_store_event(cwb_store *s, int64_t run, long step, const char *kind, const char *name,
                    double value);
/* A run's events by step, in the order written.  0 or -1. */
int cwb_store_events(cwb_store *s, int64_t run,
                     int (*fn)(long step, const char *kind, const char *name, double value, void *ud),
                     void *ud);

/* The leaves of a JSON text (a run's params) through SQLite's json_tree, in
 * document order: key "tau", "loss.kind" or "dims[1]", value as text
 * (strings unquoted, reals to 6 significant digits).  0, or -1 for
 * malformed JSON. */
int cwb_store_json_leaves(cwb_store *s, const char *json,
                          int (*fn)(const char *key, const char *value, void *ud), void *ud);

#endif
