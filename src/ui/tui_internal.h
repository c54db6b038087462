/*
 * tui_internal.h - what the workbench's files share: one state record (there
 * is one terminal), the runs it follows and the functions each file offers.
 *
 *   tui_main.c    start/stop, signals, the event pump, running chunks
 *   tui_output.c  stdout/stderr captured through a pipe into the output area
 *   tui_input.c   GNU readline through its callback interface, completion
 *   tui_draw.c    painting the layout: frames, status, output, input
 *   tui_plot.c    the runs' series, which runs the curve pane shows, its figure
 *   tui_export.c  png(): the curve or the geometry pane into a PNG or SVG file
 *   tui_geom.c    the geometry pane: PCA or t-SNE of both views, centroids, gap
 *   tui_hooks.c   the live-run hooks the binding calls (tui.h)
 *   tui_knobs.c   the knob line, its keys, knob_line(), the cwb.ui primitives
 *   tui_lua.c     pause, resume, stop, quit, png, show, only, hide,
 *                 clear_runs, window, clear, projection, colour_by (run is
 *                 repl_cmds.c's)
 */
#ifndef CWB_TUI_INTERNAL_H
#define CWB_TUI_INTERNAL_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include <lua.h>

#include "engine/core/knob.h"
#include "ui/layout.h"
#include "ui/tui.h"
#include "lua/observer.h"
#include "ui/tui_text.h"

struct cwb_gnuplot;

/* One metric of one run, thinned as it grows: at most TUI_SERIES_CAP points
 * are kept, every `stride`-th value once the cap has been reached once. */
#define TUI_SERIES_CAP 2048
typedef struct {
    char name[32];
    double *x, *y;
    int n, stride;
    long seen;
} tui_series;

#define TUI_MAX_SERIES 16
/* A reference line a recipe recorded for one metric (cwb.runs.ref). */
#define TUI_MAX_REFS 8
typedef struct {
    char metric[32];
    double y;
    char label[64];
} tui_ref;

/* A knob change of a run: a vertical marker on the curve pane at its step. */
#define TUI_MAX_MARKS 32
typedef struct {
    long step;
    char label[32];            /* "tau=0.5" (ASCII: the pane's cells are) */
} tui_mark;

typedef struct tui_run {
    int serial;                /* 1, 2, ... in this session */
    char name[96];
    char *params;              /* JSON object, as recorded in the store (malloc'd) */
    int64_t id;                /* store id, -1 if not recorded */
    long total, done, step;    /* planned, done, last step number */
    double t0, t1;             /* start; end (0 while running) */
    char status[16];           /* "running", "done", ... */
    tui_series series[TUI_MAX_SERIES];
    int nseries;
    tui_ref refs[TUI_MAX_REFS];
    int nrefs;
    cwb_knob knobs[CWB_KNOBS_MAX]; /* its knobs as they were last (names are literals) */
    int nknobs;
    tui_mark marks[TUI_MAX_MARKS];
    int nmarks;
    int hidden;                /* hide(...) */
    /* steps/s, smoothed over half-second samples (rate_n of them so far;
     * before the first, the run's average) */
    double rate, rate_t;
    long rate_done;
    int rate_n;
    /* geometry source and the rows' labels (NULL: none), NULL once the run is over */
    cwb_run_embed_fn efn;
    void *esrc;
    const int *elabels;
    const char *const *enames; /* class names (static), enn of them, or NULL */
    int enn;
    int stop;                  /* stop() asked for this run */
    int active;
    struct tui_run *outer;     /* the run this one was started inside, if any */
    double ui0, paused_s;      /* tui.t_ui at the start; seconds spent paused */
} tui_run;

#define TUI_MAX_RUNS 48
#define TUI_MAX_DEPTH 4
/* Runs the curve pane overlays at most, and by default (the most recent). */
#define TUI_PLOT_MAX_RUNS 32
#define TUI_PLOT_DEFAULT_RUNS 8
#define TUI_MAX_ONLY 16

/* One argument of only(...): a store id, or a pattern ("decomposable",
 * "tau=0.5") matched against a run's name and parameters. */
typedef struct {
    int64_t id;
    char pat[64];
} tui_sel;

typedef struct {
    lua_State *L;
    lua_State *Lcur;           /* the thread running now (a run may be in a coroutine) */
    int depth;                 /* chunks running (nested while a run goes on) */
    int quit;                  /* Ctrl-D or quit(): leave when back at the top */
    int quit_armed;            /* Ctrl-D once during a run: a second one quits */
    int paused;
    volatile sig_atomic_t sigint, sigwinch;

    /* terminal */
    FILE *ttyout;              /* curses writes here (a dup of the original stdout) */
    int ttyfd;
    int curses_on;
    int colors;
    cwb_layout lo;
    int need_layout, need_draw;

    /* output area */
    tui_sb sb;
    int scroll;                /* rows scrolled back from the newest */

    /* input */
    char *chunk;               /* lines of an incomplete chunk so far */
    char **queue;              /* lines entered, not yet run */
    int nq, capq;
    int in_hook;               /* inside the Lua count hook: do not run chunks */

    /* runs */
    tui_run *runs[TUI_MAX_RUNS];
    int nruns, serial;
    tui_run *cur;              /* the innermost running run */
    int forgotten;             /* finished runs dropped to keep TUI_MAX_RUNS */
    char metric[32];           /* the metric the curve pane shows */
    int show_n;                /* the most recent runs shown (show(metric, n)) */
    tui_sel only[TUI_MAX_ONLY];/* only(...): these runs alone, when nonly > 0 */
    int nonly;

    /* curve pane */
    struct cwb_gnuplot *gp;
    int gp_failed;
    char gp_msg[200];
    tui_cell *plot_cells;
    int plot_h, plot_w;
    int plot_dirty;            /* data changed since the last render */
    double plot_next, plot_cost;
    struct cwb_gnuplot *gpwin; /* plot.window(true) */
    double win_next;

    /* geometry pane: the last sample of a run's embeddings (the pool), kept
     * after the run so that it can be projected again, and its projection */
    float *gpool;              /* gpm rows of view a then gpm of view b, gpk wide */
    int *gplab;                /* label of each pooled row (of a pair); gp_haslab */
    int gpm, gpk, gp_haslab, gp_serial;
    const char *const *gp_names; /* the pool's class names (static strings), gp_nnames */
    int gp_nnames;
    long gp_step;              /* the run's step when the pool was taken */
    float *gpts;               /* 2-D points: gn of view a then gn of view b */
    int *glab;                 /* label of each of the gn pairs shown */
    int gn;
    float ca[2], cb[2];        /* centroids in the plane */
    double g_align, g_unif, g_gap, g_expl[2];
    int g_valid;
    int colour_by;             /* TUI_COLOUR_AUTO, _CLASS or _VIEW */
    double geom_next, geom_cost;
    float *gbuf;               /* rows to project, then their projection */
    float *gprev;              /* previous points: PCA axes' signs, t-SNE warm start */

    /* knob line */
    char knob_sel[16];         /* the knob the keys turn ("" = the first shown) */
    char knob_hide[CWB_KNOBS_MAX][16]; /* knob_line{hide = ...}: left off the line, not turned by keys */
    int nknob_hide;
    int knob_line;             /* 1 shown when a run has knobs (default), 0 off (knob_line(false)) */
    char status_note[80];      /* cwb.ui.status(): the lesson step, at the right of the knob line */

    /* timing */
    double next_draw, next_input;
    double t_ui;               /* seconds spent in the UI during runs */
} tui_state;

extern tui_state tui;

/* tui_main.c */
double tui_now(void);
lua_State *tui_lua(void);      /* the thread to use now: Lcur, else L */
void tui_pump(int timeout_ms, int may_run);
void tui_run_queue(void);
void tui_request_quit(void);
void tui_msg(int attr, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* tui_output.c */
int tui_out_start(void);       /* 0 or -1 */
void tui_out_stop(void);
int tui_out_wakefd(void);      /* readable when captured text waits */
void tui_out_sync(void);       /* flush stdio and move captured text to the output area */

/* tui_input.c */
void tui_input_start(void);
void tui_input_stop(void);
void tui_input_byte(int c);
void tui_input_draw(void);     /* the input line; leaves the cursor there */
void tui_input_reset(void);    /* Ctrl-C at the prompt: drop the line */
void tui_input_prompt(void);   /* refresh the prompt (continuation or not) */

/* tui_draw.c */
void tui_draw_all(void);
/* A message in the middle of r, wrapped at spaces (pane placeholders, the
 * too-small verdict). */
void tui_draw_note(cwb_rect r, const char *msg);
void tui_colors_init(void);
int tui_color_attr(int fg, int bold);

/* tui_plot.c */
struct cwb_figure;
tui_run *tui_run_new(const char *name, const char *params, long total, int64_t id);
tui_run *tui_run_by_id(int64_t id);
void tui_run_metric(tui_run *r, long step, const char *name, double value);
void tui_run_ref(tui_run *r, const char *metric, double y, const char *label);
const tui_series *tui_run_find(const tui_run *r, const char *name);
/* The workbench's entry for store id (a new one, from the store, with its
 * knob changes as markers, when it has none); NULL without a store or run. */
tui_run *tui_run_stored(lua_State *L, int64_t id);
/* Read metric (and its reference lines) from the session store for the
 * recorded runs that do not have it in memory: 0, or -1 without a store. */
int tui_runs_load(const char *metric);
void tui_runs_free(void);
void tui_runs_forget(void);    /* clear_runs(): every finished run */
int tui_run_matches(const tui_run *r, const tui_sel *s);
/* The runs the curve pane shows now, oldest first (at most
 * TUI_PLOT_MAX_RUNS), and in *total how many have the metric. */
int tui_plot_runs(tui_run **out, int *total);
/* "showing 8 of 40 runs" for the pane's frame. */
void tui_plot_caption(char *buf, size_t len);
/* The curve pane's figure: text (pretty 0: the pane, w x h characters) or
 * a file's (pretty 1).  0, or -1 when no run has the metric. */
int tui_plot_figure(struct cwb_figure *f, int pretty, int w, int h);
void tui_plot_update(int force);
void tui_plot_draw(cwb_rect r);
int tui_plot_window(int on, char *err, size_t errlen);
int tui_plot_gnuplot(void);    /* the pane's gnuplot is up (tui.gp), or not */

/* tui_export.c: the curve pane (png()/svg()/F2) or the geometry pane into a
 * file, PNG or SVG by its extension; without a path OUTDIR/<run>-METRIC.ext
 * (or <run>-geometry.ext) named after the run shown, ext ".png" or ".svg",
 * "-2", "-3" ... when taken.  0 and what was saved, or -1 and why, in msg. */
int tui_plot_png(const char *path, const char *ext, char *msg, size_t len);
int tui_geom_png(const char *path, const char *ext, char *msg, size_t len);
/* Both panes (the geometry pane when it has a picture), named after the run:
 * one message line each through tui_msg.  0, or -1 when nothing was saved. */
int tui_panes_save(const char *ext);
void tui_plot_warm(void);
void tui_plot_close(void);

/* tui_geom.c */
void tui_geom_update(tui_run *r, int force);
void tui_geom_draw(cwb_rect r);
void tui_geom_free(void);
enum { TUI_PROJ_PCA, TUI_PROJ_TSNE };
/* Choose the geometry pane's projection (perplexity <= 0 keeps the last
 * one) and project at once: the running run's embeddings as they are now
 * (paused or not), else the last ones seen.  0, or -1 when there is
 * nothing to project yet (the first frame of a run will use it). */
int tui_geom_set_projection(int kind, double perplexity);
/* "pca" or "tsne", and the t-SNE perplexity asked for (nullable). */
const char *tui_geom_projection(double *perplexity);
enum { TUI_COLOUR_AUTO, TUI_COLOUR_CLASS, TUI_COLOUR_VIEW };
/* What the points are coloured by: class when the run's data has labels
 * (AUTO, the default, or CLASS), else by view. */
void tui_geom_set_colour(int by);
/* The pane's title in at most room columns (the longest form that fits). */
const char *tui_geom_title(int room);
/* What colour_by() reports: the setting, and what the pane shows now
 * ("class", "view", or "nothing yet" before the first picture). */
const char *tui_geom_colour(const char **shown);

/* tui_knobs.c */
int tui_knobs_shown(void);     /* the layout has a knob line */
void tui_knobs_draw(cwb_rect r);
void tui_knob_key(int dir);    /* ] (+1) and [ (-1): turn the chosen knob one step */
void tui_knob_pick(int dir);   /* -> and <-: choose the next or the previous knob */
void tui_knobs_open(lua_State *L); /* knob_line() and package.loaded["cwb.ui"] */
void tui_run_knobs(tui_run *r, const cwb_knob *k, int n);
void tui_run_mark(tui_run *r, long step, const char *name, double value);
/* "tau" -> "τ", "batch" -> "B", ... (the knob line's names) */
const char *tui_knob_symbol(const char *name);

/* tui_hooks.c */
void tui_hooks_install(lua_State *L);
void tui_hooks_remove(lua_State *L);
int tui_tick(lua_State *L);    /* the pump as seen from a running chunk */

/* tui_lua.c */
void tui_lua_open(lua_State *L);
/* After a change of what the curve pane shows: draw it again and say so. */
void tui_say_shown(void);

#endif
