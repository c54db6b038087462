/*
 * lbind.h - helpers shared by the binding files (src/lua/l*.c).
 *
 * Not a contract with the rest of the program (that is lcwb.h): these are
 * the binding's own conventions, kept in one place so that every area
 * checks its arguments, reads its option tables and names its classes the
 * same way.
 *
 *  - Classes are userdata whose metatable is registered under "cwb.<name>"
 *    (so luaL_checkudata's message reads "cwb.tensor expected, got number")
 *    with __index = a documented methods table.
 *  - Option tables are checked key by key: an unknown key or a wrong type is
 *    "bad argument #1 to 'synth' (option 'spread': number expected, got
 *    string)".
 *  - Indices are 1-based in Lua (rows, dataset samples, cluster labels) and
 *    converted at the boundary.
 */
#ifndef CWB_LBIND_H
#define CWB_LBIND_H

#include <stdint.h>
#include <stdio.h>

#include "util/atomic.h"
#include "util/json.h"
#include "engine/data/data.h"
#include "engine/data/image_augment.h"
#include "engine/loss/loss.h"
#include "lua/lcwb.h"
#include "lua/observer.h"
#include "engine/nn/mlp.h"
#include "engine/nn/optim.h"
#include "engine/core/rng.h"
#include "engine/core/tensor.h"

#define CWB_TENSOR_MT "cwb.tensor"
#define CWB_RNG_MT "cwb.rng"

/* ---- classes and docs -------------------------------------------------- */

/* Create (or fetch) the metatable `tname`, fill it with the metamethods in
 * `meta` (may be NULL), set __index to a new table of `methods` documented
 * by `docs`, and list that table in help() under `label` (e.g. "tensor
 * methods") with the class doc `doc`.  Leaves the stack unchanged. */
void cwb_lua_newclass(lua_State *L, const char *tname, const char *label,
                      const char *doc, const luaL_Reg *methods,
                      const cwb_lua_doc *docs, const luaL_Reg *meta);

/* New userdata of `size` bytes (zero-filled) with `nuv` user values and the
 * metatable `tname` already set, pushed on the stack. */
void *cwb_lua_newobject(lua_State *L, size_t size, int nuv, const char *tname);

/* ---- tensors ----------------------------------------------------------- */

cwb_tensor *cwb_lua_checktensor(lua_State *L, int arg);
cwb_tensor *cwb_lua_testtensor(lua_State *L, int arg);   /* NULL if not a tensor */
/* Push a new zero-filled rows x cols tensor (raises on a bad shape). */
cwb_tensor *cwb_lua_newtensor(lua_State *L, int rows, int cols);
/* Push a copy of rows x cols floats. */
cwb_tensor *cwb_lua_pushtensor(lua_State *L, const float *data, int rows, int cols);

/* .npy files (lnpy.c): push the tensor read from path, or raise
 * "path: what is wrong"; write t atomically, or raise. */
void cwb_npy_load(lua_State *L, const char *path);
void cwb_npy_save(lua_State *L, const cwb_tensor *t, const char *path);

/* ---- random streams ---------------------------------------------------- */

cwb_rng *cwb_lua_checkrng(lua_State *L, int arg);
/* The argument as a seed: an integer (negative values wrap to uint64). */
uint64_t cwb_lua_checkseed(lua_State *L, int arg);
/* An rng object at arg (returned as is), or an integer seed (tmp is seeded
 * with (seed, stream) and returned); none/nil gives the session's default
 * generator for that stream (seeded from --seed on first use, advancing
 * from call to call).  Anything else is a type error. */
cwb_rng *cwb_lua_torng(lua_State *L, int arg, cwb_rng *tmp, uint64_t stream);

/* ---- data (ldata.c) ------------------------------------------------------ */

const cwb_dataset *cwb_lua_checkdataset(lua_State *L, int arg);
const cwb_dataset *cwb_lua_testdataset(lua_State *L, int arg);
struct cwb_opts;
/* Read synth / augmentation options (keys of cwb.data.synth / augment) into
 * c, whose fields hold the defaults. */
void cwb_lua_synth_opts(struct cwb_opts *o, cwb_synth_cfg *c);
void cwb_lua_aug_opts(struct cwb_opts *o, cwb_aug_cfg *c);
extern const char *const cwb_lua_synth_keys[];   /* with "seed" */
extern const char *const cwb_lua_aug_keys[];
/* Image augmentation options (keys of cwb.data.image_augment) into c. */
void cwb_lua_imaug_opts(struct cwb_opts *o, cwb_imaug_cfg *c);
extern const char *const cwb_lua_imaug_keys[];

/* ---- loss (lloss.c) -------------------------------------------------------- */

/* Read the losses' knobs (both_views, alpha, gamma, noise, estep_first,
 * jensen) into c, whose fields hold the defaults: one reader for cwb.loss,
 * the trainer, the scale fit and the two-tower trainer (a key the caller's
 * option list does not allow is simply absent). */
void cwb_lua_loss_opts(struct cwb_opts *o, cwb_loss_cfg *c);

/* ---- nn (lnn.c) ------------------------------------------------------------ */

/* Read encoder (dims, act, l2norm), optimiser (kind first: it picks the
 * defaults) and schedule options into c, whose fields hold the defaults. */
void cwb_lua_mlp_opts(struct cwb_opts *o, cwb_mlp_cfg *c);
void cwb_lua_optim_opts(struct cwb_opts *o, cwb_optim_cfg *c);
void cwb_lua_sched_opts(struct cwb_opts *o, cwb_schedule *s);
/* Raise the engine's complaint about c now (it is checked at creation). */
int cwb_lua_check_optim(lua_State *L, const cwb_optim_cfg *c, const char *where);

/* ---- option tables ------------------------------------------------------ */

typedef struct cwb_opts {
    lua_State *L;
    int idx;            /* absolute stack index of the table, 0 if absent */
    int arg;            /* argument number used in error messages */
    char prefix[48];    /* "data." for a nested table, "" at top level */
} cwb_opts;

/* Start reading the options table at `arg` (none or nil: all defaults).
 * Every string key must be in `known` (NULL-terminated); anything else is
 * an argument error naming the key. */
void cwb_opts_init(cwb_opts *o, lua_State *L, int arg, const char *const known[]);
/* A nested table o[key], checked against `known` the same way; pushes it
 * on the stack (left there).  Returns 0 and sets sub->idx = 0 if absent. */
int cwb_opts_sub(cwb_opts *o, const char *key, const char *const known[], cwb_opts *sub);
/* Push o[key] and return its Lua type (LUA_TNIL if absent); the caller pops. */
int cwb_opts_get(cwb_opts *o, const char *key);
int cwb_opts_has(cwb_opts *o, const char *key);
double cwb_opts_num(cwb_opts *o, const char *key, double def);
lua_Integer cwb_opts_int(cwb_opts *o, const char *key, lua_Integer def);
/* Integer in [lo, hi]. */
lua_Integer cwb_opts_range(cwb_opts *o, const char *key, lua_Integer def,
                           lua_Integer lo, lua_Integer hi);
int cwb_opts_bool(cwb_opts *o, const char *key, int def);
const char *cwb_opts_str(cwb_opts *o, const char *key, const char *def);
/* Raise "bad argument #arg to 'f' (option 'prefix.key': <msg>)". */
int cwb_opts_error(cwb_opts *o, const char *key, const char *fmt, ...);

/* ---- index tables -------------------------------------------------------- */

/* Read a sequence of exactly n integers in 1..hi at stack index idx (a
 * table) into out[] as 0-based indices.  Errors are reported against
 * argument `arg`, naming the value `what` ("idx", "option 'labels'"). */
void cwb_lua_checkindices(lua_State *L, int idx, int arg, int n, int hi, int *out,
                          const char *what);
/* Read a sequence of n numbers (table, or tensor with n values) into out[]. */
void cwb_lua_checkfloats(lua_State *L, int idx, int arg, int n, float *out, const char *what);
/* Push a table {base + v[0], ..., base + v[n-1]}. */
void cwb_lua_pushints(lua_State *L, const int *v, int n, int base);

/* ---- progress ------------------------------------------------------------ */

/* Progress of a long loop on stderr: a bar with ETA when stderr is a
 * terminal, otherwise one plain line every ~10%; nothing when quiet. */
typedef struct {
    const char *label;
    long total;
    int tty, active, quiet;
    long next_line;     /* step at which the next plain line is due */
    double t0, last_draw;
} cwb_progress;
void cwb_progress_start(cwb_progress *p, const char *label, long total, int quiet);
/* `extra` is appended (e.g. "loss 2.31"); may be NULL. */
void cwb_progress_update(cwb_progress *p, long done, const char *extra);
void cwb_progress_end(cwb_progress *p, long done, const char *extra);
double cwb_now(void);   /* monotonic seconds */

/* ---- recorded runs (lrun.c) ----------------------------------------------- */

/* A run of a C loop: recorded in the session store (unless record is 0 or
 * the store cannot be opened: then a one-time warning on stderr), with a
 * progress display, and followed live by the workbench when it is up
 * (lua/observer.h).  cwb_run_begin pushes a to-be-closed guard; a Lua error
 * before cwb_run_finish marks the run "failed", or "interrupted" after
 * Ctrl-C.  cwb_run_finish(idx = the guard's stack index) marks it "done"
 * (the workbench is told "stopped" if the loop ended early). */
typedef struct cwb_runguard cwb_runguard;
cwb_runguard *cwb_run_begin(lua_State *L, int record, const char *name, const char *params_json,
                            uint64_t seed, long total_steps, int progress);
int64_t cwb_run_id(const cwb_runguard *g);   /* -1 if not recorded */
/* Where the workbench's geometry pane reads the run's embeddings, and the
 * label of each row (NULL: none), which it can colour the points by. */
void cwb_run_embed(cwb_runguard *g, cwb_run_embed_fn fn, void *src, const int *labels);
void cwb_run_metric(cwb_runguard *g, long step, const char *name, double value);
/* After a step (or a group of steps); non-zero: the workbench asks the loop
 * to stop early, as an on_step returning false does. */
int cwb_run_progress(lua_State *L, cwb_runguard *g, long done, const char *extra);
void cwb_run_finish(lua_State *L, cwb_runguard *g, int idx, long done, const char *extra,
                    int stopped);
/* The on_step hook of a run loop: calls the function at stack index fn with
 * the value on top of the stack (popped); non-zero when it returned false,
 * which asks the loop to stop. */
int cwb_run_hook(lua_State *L, int fn);
/* Pushes the summary table a run method returns, with the fields every
 * loop has: run (the store id, when recorded), steps done, step (the
 * trainer's count), status ("stopped" or "done").  nrec sizes the table. */
void cwb_run_push_summary(lua_State *L, int64_t id, long done, long step, int stopped, int nrec);

/* The JSON text as a Lua string (raises on out-of-memory during building). */
void cwb_json_push(lua_State *L, const cwb_json *j);

#endif
