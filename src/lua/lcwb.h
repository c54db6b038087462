/*
 * lcwb.h - what the parts of the Lua binding share.
 *
 * Each engine area has its own file (ltensor.c, lloss.c, ...) with a
 * luaL_Reg table and an opener that pushes the area's table; luaopen_cwb
 * (lcwb.c) assembles them into the `cwb` module.  Every public function
 * carries a one-line doc string, registered with cwb_lua_newlib so that
 * help(f) finds it.
 */
#ifndef CWB_LCWB_H
#define CWB_LCWB_H

#include <lua.h>
#include <lauxlib.h>

typedef struct {
    const char *name;   /* key in the library table */
    const char *doc;    /* one line: "infonce(a, b [, opts]) -> loss, grad_a, grad_b: ..." */
} cwb_lua_doc;

/* Push a new table holding fns, and record docs[] (terminated by {NULL, NULL})
 * for each function in the help registry.  docs may be NULL. */
void cwb_lua_newlib(lua_State *L, const luaL_Reg *fns, const cwb_lua_doc *docs);
/* Record a doc string for the value at stack index idx (function or table). */
void cwb_lua_setdoc(lua_State *L, int idx, const char *doc);
/* The registry field a front end may set to a string listing its keys;
 * help() shows it after the workbench commands. */
#define CWB_LUA_HELP_KEYS "cwb.help.keys"

/* Raise a Lua error from the engine's last message: "<where>: <cwb_errmsg()>"
 * (just the message if where is NULL; a leading C function name such as
 * "cwb_synth_new: " is dropped, as it means nothing in a recipe). */
int cwb_lua_engine_error(lua_State *L, const char *where);

/* Area openers: each pushes its table (called by luaopen_cwb). */
int cwb_lua_open_tensor(lua_State *L);   /* cwb.tensor */
int cwb_lua_open_rng(lua_State *L);      /* cwb.rng */
int cwb_lua_open_data(lua_State *L);     /* cwb.data */
int cwb_lua_open_nn(lua_State *L);       /* cwb.nn: encoders, optimisers, schedules */
int cwb_lua_open_loss(lua_State *L);     /* cwb.loss */
int cwb_lua_open_metrics(lua_State *L);  /* cwb.metrics, cwb.pca, cwb.tsne */
int cwb_lua_open_trainer(lua_State *L);  /* cwb.trainer */
int cwb_lua_open_scalefit(lua_State *L); /* cwb.scalefit */
int cwb_lua_open_runs(lua_State *L);     /* cwb.runs  (store work: src/lua/lruns.c) */
int cwb_lua_open_plot(lua_State *L);     /* cwb.plot  (store work: src/lua/lplot.c) */
int cwb_lua_open_mm(lua_State *L);       /* cwb.mm    (multimodal work: src/lua/lmm.c) */

int luaopen_cwb(lua_State *L);

/* The run store of this session, opened on first use at the path chosen by
 * --db / CWB_DB / ./cwb-runs.db (src/lua/lruns.c).  NULL (with a one-time
 * warning printed by the caller) if it cannot be opened.  Declared opaque so
 * binding files need not include sqlite. */
struct cwb_store;
struct cwb_store *cwb_lua_store(lua_State *L);
/* Set the store path before first use (main.c: --db). */
void cwb_lua_set_store_path(const char *path);
/* Why cwb_lua_store last returned NULL ("" if it did not), for that warning. */
const char *cwb_lua_store_error(void);

/* Set by main.c/REPL: the recipe name and --out directory, for run records and figures.
 * Either string may be the one the getter returns (run() keeps the folder by
 * passing cwb_lua_outdir() back); NULL or "" gives "(none)" / ".". */
void cwb_lua_set_context(const char *recipe, const char *outdir, unsigned long long seed);
const char *cwb_lua_recipe(void);
const char *cwb_lua_outdir(void);      /* "." if none */
unsigned long long cwb_lua_seed(void); /* --seed, default 1 */

/* --quiet: no progress bars or periodic progress lines. */
void cwb_lua_set_quiet(int quiet);
int cwb_lua_quiet(void);

/* Ctrl-C.  main.c's SIGINT handler calls cwb_lua_interrupt() (async-signal
 * safe: it only sets a flag) and arms a Lua hook that raises "interrupted";
 * loops that run in C (trainer:run, scalefit:run) poll
 * cwb_lua_check_interrupt(L), which also disarms that hook, mark their run
 * "interrupted" and raise the error themselves.  The flag stays set so that
 * main.c can exit with 130; the REPL clears it. */
void cwb_lua_interrupt(void);
int cwb_lua_interrupted(void);
int cwb_lua_check_interrupt(lua_State *L);
void cwb_lua_clear_interrupt(void);

#endif
