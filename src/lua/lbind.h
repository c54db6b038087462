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
#include "engine/train/driver.h"

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

/* For a __tostring: when the engine object behind it is gone (obj NULL),
 * push "<what> (freed)" and return 1; otherwise 0. */
int cwb_lua_freed(lua_State *L, const void *obj, const char *what);

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

/* ---- options readers -------------------------------------------------------- */

/* Each reader's keys, as a list fragment: a table read by several readers
 * (the scale fit's flat options, the encoder's "shared") composes them,
 * {"a", "b", CWB_LUA_LOSS_KNOB_KEYS, NULL}, so an option added to a reader
 * is added in one place and every constructor that uses the reader takes it.
 * The readers only read (with type and range checks); the engine checks the
 * values when the object is built (cwb_aug_check, cwb_loss_check, ...). */
#define CWB_LUA_SYNTH_KEYS "n", "clusters", "latent_dim", "dim", "spread", "obs_noise", "nonlinear"
#define CWB_LUA_AUG_KEYS "jitter", "mask", "flip", "scale"
#define CWB_LUA_MLP_KEYS "dims", "act", "l2norm"
#define CWB_LUA_OPTIM_KEYS "kind", "lr", "momentum", "weight_decay", "beta1", "beta2", "eps"
#define CWB_LUA_SCHED_KEYS "kind", "warmup", "total", "min_frac"
#define CWB_LUA_LOSS_KNOB_KEYS "alpha", "gamma", "noise", "estep_first", "jensen"
#define CWB_LUA_LOSS_KEYS "kind", "symmetric", "chunk", "n_total", "both_views", CWB_LUA_LOSS_KNOB_KEYS
/* ... and as NULL-terminated lists, for a sub-table read by one reader */
extern const char *const cwb_lua_synth_keys[];   /* with "seed" */
extern const char *const cwb_lua_aug_keys[];
extern const char *const cwb_lua_optim_keys[];
extern const char *const cwb_lua_sched_keys[];
extern const char *const cwb_lua_loss_keys[];

/* data (ldata.c) */
const cwb_dataset *cwb_lua_checkdataset(lua_State *L, int arg);
const cwb_dataset *cwb_lua_testdataset(lua_State *L, int arg);
struct cwb_opts;
/* Read synth / augmentation options into c, whose fields hold the defaults. */
void cwb_lua_synth_opts(struct cwb_opts *o, cwb_synth_cfg *c);
void cwb_lua_aug_opts(struct cwb_opts *o, cwb_aug_cfg *c);
/* Image augmentation options (keys of cwb.data.image_augment) into c. */
void cwb_lua_imaug_opts(struct cwb_opts *o, cwb_imaug_cfg *c);
extern const char *const cwb_lua_imaug_keys[];

/* loss (lloss.c) */
/* The loss kind named by o[key] (def if absent); an unknown name is an
 * option error listing the kinds. */
cwb_loss_kind cwb_lua_loss_kind(struct cwb_opts *o, const char *key, cwb_loss_kind def);
/* A trainer's loss = {...} table (CWB_LUA_LOSS_KEYS): kind first (it picks
 * the defaults), then symmetric, chunk, n_total and the knobs. */
void cwb_lua_loss_cfg_opts(struct cwb_opts *o, cwb_loss_cfg *c);
/* The running-estimate losses' knobs (CWB_LUA_LOSS_KNOB_KEYS: alpha, gamma,
 * noise, estep_first, jensen) into c, whose fields hold the defaults. */
void cwb_lua_loss_opts(struct cwb_opts *o, cwb_loss_cfg *c);

/* nn (lnn.c) */
/* Read encoder (dims, act, l2norm), optimiser (kind first: it picks the
 * defaults) and schedule options into c, whose fields hold the defaults. */
void cwb_lua_mlp_opts(struct cwb_opts *o, cwb_mlp_cfg *c);
void cwb_lua_optim_opts(struct cwb_opts *o, cwb_optim_cfg *c);
void cwb_lua_sched_opts(struct cwb_opts *o, cwb_schedule *s);

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
/* A list of lo_n..hi_n positive integers at key into out: their count, or
 * -1 when the key is absent (out untouched). */
int cwb_opts_ints(cwb_opts *o, const char *key, int *out, int lo_n, int hi_n);
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
 * terminal, otherwise one plain line every ~10%; nothing when quiet.  The
 * line ends with "<key> <value>" of the metrics passed (e.g. "loss 2.31"),
 * looked up and formatted only when a line is drawn. */
typedef struct {
    const char *label;
    const char *key;    /* the value's name, or NULL for none */
    long total;
    int tty, active, quiet;
    long next_line;     /* step at which the next plain line is due */
    double t0, last_draw;
} cwb_progress;
void cwb_progress_start(cwb_progress *p, const char *label, const char *key, long total, int quiet);
void cwb_progress_update(cwb_progress *p, long done, const cwb_metrics *m);
void cwb_progress_end(cwb_progress *p, long done, const cwb_metrics *m);
double cwb_now(void);   /* monotonic seconds */

/* ---- trainers and their runs (lrun.c) --------------------------------------- */

/* The first member of every trainer class's userdata (cwb.trainer,
 * cwb.mmtrainer, cwb.scalefit): the engine object behind the trainer
 * interface (engine/train/driver.h), so that one run function, reset,
 * params and name serve every trainer. */
typedef struct {
    const cwb_train_ops *ops;
    void *self;              /* the engine object; NULL once freed */
    char name[96];           /* the default run name */
} cwb_lua_trainer;

/* Mark the class tname (made by cwb_lua_newclass) as a trainer class, so
 * that cwb_lua_checktrainer accepts its objects. */
void cwb_lua_trainer_class(lua_State *L, const char *tname);
/* A trainer class in one call: cwb_lua_newclass with the metamethods every
 * trainer has (__gc = cwb_lua_trainer_gc, __tostring = tostring), then
 * cwb_lua_trainer_class.  The methods list CWB_LUA_TRAINER_METHODS. */
void cwb_lua_newtrainerclass(lua_State *L, const char *tname, const char *label, const char *doc,
                             const luaL_Reg *methods, const cwb_lua_doc *docs, lua_CFunction tostring);
cwb_lua_trainer *cwb_lua_checktrainer(lua_State *L, int arg);

/*
 * tr:run{steps=, log_every=, eval_every=0, eval=true, on_step=, record=true,
 * progress=true, name=, history=false} -> result, for every trainer: drives
 * cwb_drive with hooks that record the step metrics (every log_every steps,
 * the last and a stopping one) and evaluations in the session store (unless
 * record is false or the store cannot be opened: then a one-time warning),
 * feed the workbench's observer (lua/observer.h), draw progress, check
 * Ctrl-C and call on_step(info); the run is marked done or stopped, and a
 * Lua error (a NaN, an error in on_step, Ctrl-C) marks it failed or
 * interrupted.  result = {run, status, steps, step, last, eval, history};
 * docs/lua-api.md, "Runs".
 */
int cwb_lua_trainer_run(lua_State *L);
int cwb_lua_trainer_reset(lua_State *L);   /* tr:reset() -> tr */
int cwb_lua_trainer_params(lua_State *L);  /* tr:params() -> JSON text */
int cwb_lua_trainer_name(lua_State *L);    /* tr:name() -> string */
int cwb_lua_trainer_step(lua_State *L);    /* tr:step() -> {step, <metrics>} */
int cwb_lua_trainer_gc(lua_State *L);      /* __gc: ops->destroy, then "freed" */
/* tr:set(name, value) -> tr: a live knob (engine/core/knob.h); when tr is the
 * trainer of the run going on, recorded as an event and marked in the
 * workbench, as cwb.knob does. */
int cwb_lua_trainer_set(lua_State *L);
int cwb_lua_trainer_knobs(lua_State *L);   /* tr:knobs() -> {{name, value, min, max, option, integer}, ...} */
/* tr:origin() -> constructor, {n = , args...}: what built tr (a fresh deep
 * copy of its arguments), so that it can be built again with a change. */
int cwb_lua_trainer_origin_fn(lua_State *L);
/* Called by each trainer constructor once its object (at stack index self)
 * is built: remember the constructor (the running C function) and a deep
 * copy of its arguments 1..nargs, for tr:origin(). */
void cwb_lua_trainer_origin(lua_State *L, int self, int nargs);
/* For a class's luaL_Reg and doc tables. */
#define CWB_LUA_TRAINER_METHODS                                                                   \
    {"run", cwb_lua_trainer_run}, {"reset", cwb_lua_trainer_reset},                               \
        {"params", cwb_lua_trainer_params}, {"name", cwb_lua_trainer_name},                       \
        {"set", cwb_lua_trainer_set}, {"knobs", cwb_lua_trainer_knobs},                           \
        {"origin", cwb_lua_trainer_origin_fn}
#define CWB_LUA_TRAINER_DOCS                                                                      \
    {"run", "tr:run{steps=, log_every=max(1, steps/1000), eval_every=0, eval=true, "              \
            "on_step=function(info) end, record=true, progress=true, name=, history=false} -> "    \
            "{run, status, steps, step, last, eval, history}: the same options and result for "   \
            "every trainer; runs in C, records the run in the store; on_step returning false "     \
            "stops early"},                                                                       \
        {"reset", "tr:reset() -> tr: back to the state right after construction (same seed, "     \
                  "same numbers again)"},                                                         \
        {"params", "tr:params() -> string: the parameters as JSON (as recorded with each run)"},  \
        {"name", "tr:name() -> string: the default run name"},                                    \
        {"set", "tr:set(name, value) -> tr: turn a live knob (tau, lr, batch, noise, alpha, "      \
                "gamma, w_*) from the next step on; during a run of tr it is recorded and marked "   \
                "like cwb.knob"},                                                                 \
        {"knobs", "tr:knobs() -> {{name=, value=, min=, max=, option=, integer=}, ...}: the live " \
                  "knobs and their values now"},                                                   \
        {"origin", "tr:origin() -> constructor, args: what built tr (a copy of its arguments, "    \
                   "args.n of them), to build it again with a change (rerun)"}

/* cwb.knob(name [, value]) -> value, live [, step]: with a value, turn the
 * knob of the run going on (recorded as an event at `step`, the step it
 * follows, marked by the workbench; live = true) or, with nothing running, keep it for the
 * next run (live = false); without one, the value now (of the run going
 * on, else the next run's, else the last run's; nil if none has it).
 * cwb.knobs() -> list, live: the knobs of the run going on (else of the
 * last run's trainer).  cwb.last_run() -> {trainer, options, run, name} of
 * the last tr:run, or nil. */
int cwb_lua_knob(lua_State *L);
int cwb_lua_knobs(lua_State *L);
int cwb_lua_last_run(lua_State *L);

/* t[key] = value, into the table on top of the stack, for each of the n
 * fields of the struct at base, described by its type's JSON field table
 * (util/json.h): a config's Lua table has its JSON record's names and values. */
void cwb_lua_setfields(lua_State *L, const void *base, const cwb_json_field *f, int n);

/* Push a table of the metrics, with step = `step` first when step >= 0. */
void cwb_lua_push_metrics(lua_State *L, const cwb_metrics *m, long step);
/* The JSON text as a Lua string (raises on out-of-memory during building). */
void cwb_json_push(lua_State *L, const cwb_json *j);
/* Push ops->describe's JSON as a string (raises on an engine error or out of memory). */
void cwb_lua_push_params(lua_State *L, const cwb_train_ops *ops, const void *self);

#endif
