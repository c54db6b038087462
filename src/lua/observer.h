/*
 * observer.h - how a front end follows the runs the binding drives.
 *
 * Layer: lua (the binding).  Declared here, implemented above: the
 * interactive workbench (ui/tui_hooks.c) registers one observer for its Lua
 * state while it is up; the run driver (lua/lrun.c) forwards each recorded
 * run's start, metrics, progress ticks and end to it.  Nothing below the UI
 * knows the UI exists, as Redis declares its script-interrupt callback in
 * the lower layer.  Headless (no observer registered) nothing changes.
 *
 * A tick is where the workbench reads the keyboard, redraws (throttled) and
 * runs chunks typed while the run goes on, so training continues as you
 * type; a non-zero return from a tick asks the run to stop early (stop()),
 * exactly as an on_step callback returning false does.
 */
#ifndef CWB_OBSERVER_H
#define CWB_OBSERVER_H

#include <stdint.h>
#include <lua.h>

#include "engine/core/knob.h"

/* Embeddings of a run for the geometry pane: a and b are n x k row-major,
 * owned by the source and valid until the next call.  0 on success. */
typedef int (*cwb_run_embed_fn)(void *src, const float **a, const float **b, int *n, int *k);

typedef struct cwb_run_observer {
    void *ud;
    /* A run starts: its label, its parameters (a JSON object, as recorded
     * in the store), planned steps (0 if unknown) and store id (-1 if not
     * recorded).  Returns the handle passed to the other calls (NULL: the
     * observer does not follow this run). */
    void *(*run_begin)(void *ud, lua_State *L, const char *name, const char *params,
                       long total, int64_t id);
    /* Where the geometry pane can read the run's current embeddings, and
     * the class (cluster) label of each of their n rows, or NULL when the
     * data has none; both valid until run_end.  names (nullable): the
     * n_names class names, static strings, for the pane's legend. */
    void (*run_embed)(void *run, cwb_run_embed_fn fn, void *src, const int *labels,
                      const char *const *names, int n_names);
    void (*run_metric)(void *run, long step, const char *name, double value);
    /* After a step (or a group of steps): done of total.  May run Lua on L.
     * Non-zero: stop the loop early. */
    int (*run_tick)(void *run, lua_State *L, long done);
    /* status: "done", "failed", "interrupted", "stopped". */
    void (*run_end)(void *run, const char *status);
    /* What a recipe recorded itself through the session store (cwb.runs.log,
     * cwb.runs.ref) for run `id`, which the observer may follow already (a
     * driven run, before or after its end) or not (cwb.runs.begin): a metric
     * value, and a reference line for a metric (y = value, label nullable).
     * Either may be NULL. */
    void (*stored_metric)(void *ud, lua_State *L, int64_t id, long step, const char *name,
                          double value);
    void (*stored_ref)(void *ud, lua_State *L, int64_t id, const char *metric, double value,
                       const char *label);
    /* A live knob changed (cwb.knob, tr:set, the knob keys): name = value
     * from step + 1 on, step the trainer's steps done; for the curve pane's
     * marker.  May be NULL. */
    void (*run_knob)(void *run, long step, const char *name, double value);
    /* The run's knobs and their values now (k[0..n-1], valid during the call):
     * at the start of a run and after every change, for the knob line.  May
     * be NULL. */
    void (*run_knobs)(void *run, const cwb_knob *k, int n);
} cwb_run_observer;

/* Register obs for L (NULL removes it); obs must outlive the registration. */
void cwb_lua_set_observer(lua_State *L, const cwb_run_observer *obs);
/* The observer registered for L, or NULL when none is. */
const cwb_run_observer *cwb_lua_observer(lua_State *L);

#endif
