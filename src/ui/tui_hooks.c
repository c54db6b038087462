/*
 * tui_hooks.c - the live-run hooks (tui.h) as the workbench implements
 * them: a run's metrics feed the curve pane, its ticks keep the keyboard,
 * the screen and the geometry pane alive, pause() holds the run inside its
 * tick and stop() ends it through the tick's return value.  What a recipe
 * records itself through cwb.runs.log / cwb.runs.ref joins the run of that
 * store id (or a new entry for a run begun with cwb.runs.begin), so such a
 * metric shows live too.
 *
 * A tick costs one clock read unless INPUT_PERIOD has passed since the last
 * look at the keyboard, so a fast loop is not slowed down; what the panes
 * cost is bounded by their own throttles (tui_plot.c, tui_geom.c).
 */
#include "ui/tui_internal.h"
#include "lua/lcwb.h"
#include "lua/observer.h"
#include "store/store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void *h_begin(void *ud, lua_State *L, const char *name, const char *params, long total,
                     int64_t id) {
    (void)ud;
    (void)L;
    tui_run *r = tui_run_new(name, params, total, id);
    if (!r) return NULL;
    r->outer = tui.cur;
    r->ui0 = tui.t_ui;
    tui.cur = r;
    tui.plot_dirty = 1;
    tui.need_draw = 1;
    return r;
}

static void h_embed(void *run, cwb_run_embed_fn fn, void *src, const int *labels,
                    const char *const *names, int n_names) {
    tui_run *r = run;
    r->efn = fn;
    r->esrc = src;
    r->elabels = labels;
    r->enames = names;
    r->enn = n_names;
    tui.geom_next = 0; /* show the starting geometry at the first tick */
}

static void h_metric(void *run, long step, const char *name, double value) {
    tui_run_metric(run, step, name, value);
}

int tui_tick(lua_State *L) {
    double t0 = tui_now();
    lua_State *saved = tui.Lcur;
    tui.Lcur = L; /* lines typed now run on the thread that runs the loop */
    tui_pump(0, 1);
    if (tui.cur) tui_geom_update(tui.cur, 0);
    tui.Lcur = saved;
    tui.t_ui += tui_now() - t0;
    return 0;
}

static int h_tick(void *run, lua_State *L, long done) {
    tui_run *r = run;
    r->done = done;
    double now = tui_now();
    if (now - r->rate_t >= 0.5) {
        double inst = (double)(done - r->rate_done) / (now - r->rate_t);
        r->rate = r->rate > 0 ? 0.5 * r->rate + 0.5 * inst : inst;
        r->rate_t = now;
        r->rate_done = done;
        r->rate_n++;
    } else if (r->rate_n == 0 && now - r->t0 - r->paused_s > 0) {
        /* no half-second sample yet (a scale fit is often over before
         * one): the run's own average so far, not "0 st/s" */
        r->rate = (double)done / (now - r->t0 - r->paused_s);
    }
    if (now < tui.next_input && !tui.paused) return r->stop;
    tui_tick(L);
    if (tui.paused && r == tui.cur) {
        double p0 = tui_now();
        tui_geom_update(r, 1); /* the picture of where it paused, not of the last frame */
        tui.need_draw = 1;
        lua_State *saved = tui.Lcur;
        tui.Lcur = L;
        while (tui.paused && !r->stop && !tui.quit && !cwb_lua_interrupted() && tui.curses_on)
            tui_pump(100, 1);
        tui.Lcur = saved;
        r->paused_s += tui_now() - p0;
        r->rate_t = tui_now(); /* the pause is not slowness */
        r->rate_done = r->done;
    }
    return r->stop;
}

static void h_end(void *run, const char *status) {
    tui_run *r = run;
    r->active = 0;
    r->t1 = tui_now();
    snprintf(r->status, sizeof r->status, "%s",
             r->stop && strcmp(status, "done") == 0 ? "stopped" : status);
    if (r->efn && (strcmp(status, "done") == 0 || strcmp(status, "stopped") == 0))
        tui_geom_update(r, 1); /* the final picture */
    r->efn = NULL;
    r->esrc = NULL;
    r->elabels = NULL;
    r->enames = NULL;
    if (tui.cur == r) tui.cur = r->outer;
    else /* ended out of order (an error unwound several): drop it from the chain */
        for (tui_run *c = tui.cur; c; c = c->outer)
            if (c->outer == r) c->outer = r->outer;
    if (!tui.cur) tui.paused = tui.quit_armed = 0; /* nothing left to lose: Ctrl-D quits */
    double secs = r->t1 - r->t0, busy = secs - r->paused_s;
    const tui_series *loss = tui_run_find(r, "loss");
    char extra[96] = "";
    size_t n = 0;
    if (loss && isfinite(loss->y[loss->n - 1]))
        n += (size_t)snprintf(extra, sizeof extra, ", loss %.4g", loss->y[loss->n - 1]);
    char idtxt[32] = "";
    if (r->id > 0) snprintf(idtxt, sizeof idtxt, " #%lld", (long long)r->id);
    /* what following the run cost it: the panes, the keyboard, typed chunks */
    if (busy > 0.5)
        snprintf(extra + n, sizeof extra - n, " (display %.1f%% of the time)",
                 100 * (tui.t_ui - r->ui0) / busy);
    tui_msg(strcmp(r->status, "done") == 0 || strcmp(r->status, "stopped") == 0 ? TUI_ATTR_INFO
                                                                                 : TUI_ATTR_ERROR,
            "run %s%s %s: %ld steps in %.1f s%s", r->name, idtxt, r->status, r->done, secs,
            extra);
    tui.plot_dirty = 1;
    tui.need_draw = 1;
}

/* A run the recipe recorded itself (cwb.runs.begin) joins the runs the
 * workbench follows with its first value (tui_run_stored). */
static void h_stored_metric(void *ud, lua_State *L, int64_t id, long step, const char *name,
                            double value) {
    (void)ud;
    tui_run *r = tui_run_stored(L, id);
    if (r) tui_run_metric(r, step, name, value);
}

static void h_stored_ref(void *ud, lua_State *L, int64_t id, const char *metric, double value,
                         const char *label) {
    (void)ud;
    tui_run *r = tui_run_stored(L, id);
    if (r) tui_run_ref(r, metric, value, label);
}

static void h_knob(void *run, long step, const char *name, double value) { tui_run_mark(run, step, name, value); }
static void h_knobs(void *run, const cwb_knob *k, int n) { tui_run_knobs(run, k, n); }

static const cwb_run_observer hooks = {NULL,   h_begin, h_embed,         h_metric,     h_tick,
                                       h_end,  h_stored_metric, h_stored_ref, h_knob, h_knobs};

void tui_hooks_install(lua_State *L) { cwb_lua_set_observer(L, &hooks); }

void tui_hooks_remove(lua_State *L) { cwb_lua_set_observer(L, NULL); }
