/*
 * tui_draw.c - painting the screen from the layout (layout.c): pane frames
 * with titles, the output area (wrapped, scrolled from the bottom), the
 * status line and, last, the input line so that the cursor ends there.
 * Everything is painted into stdscr and sent with one refresh; curses sends
 * only what changed.
 */
#include "ui/tui_internal.h"
#include "lua/lpretty.h"

#include <curses.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void tui_colors_init(void) {
    tui.colors = 0;
    if (!has_colors() || start_color() == ERR) return;
    use_default_colors();
    for (int c = 0; c < 8; c++) init_pair((short)(c + 1), (short)c, -1);
    tui.colors = 1;
}

int tui_color_attr(int fg, int bold) {
    int a = bold ? A_BOLD : A_NORMAL;
    if (tui.colors && fg >= 0 && fg < 8) a |= COLOR_PAIR(fg + 1);
    return a;
}

/* A border with a title in the top edge. */
static void frame(cwb_rect r, const char *title, const char *right) {
    if (r.h < 2 || r.w < 2) return;
    mvhline(r.y, r.x + 1, ACS_HLINE, r.w - 2);
    mvhline(r.y + r.h - 1, r.x + 1, ACS_HLINE, r.w - 2);
    mvvline(r.y + 1, r.x, ACS_VLINE, r.h - 2);
    mvvline(r.y + 1, r.x + r.w - 1, ACS_VLINE, r.h - 2);
    mvaddch(r.y, r.x, ACS_ULCORNER);
    mvaddch(r.y, r.x + r.w - 1, ACS_URCORNER);
    mvaddch(r.y + r.h - 1, r.x, ACS_LLCORNER);
    mvaddch(r.y + r.h - 1, r.x + r.w - 1, ACS_LRCORNER);
    int room = r.w - 4;
    if (title && room > 2) {
        size_t n = tui_u8_fit(title, strlen(title), room - 2, NULL);
        attron(A_BOLD);
        mvaddch(r.y, r.x + 1, ' ');
        addnstr(title, (int)n);
        addch(' ');
        attroff(A_BOLD);
        room -= tui_u8_width(title, n) + 2;
    }
    if (right && room > 6) {
        size_t n = tui_u8_fit(right, strlen(right), room - 4, NULL);
        int w = tui_u8_width(right, n);
        mvaddch(r.y, r.x + r.w - w - 3, ' ');
        addnstr(right, (int)n);
        addch(' ');
    }
}

static cwb_rect inner(cwb_rect r) {
    cwb_rect i = {r.y + 1, r.x + 1, r.h - 2, r.w - 2};
    if (i.h < 0) i.h = 0;
    if (i.w < 0) i.w = 0;
    return i;
}

static int line_attr(int attr) {
    switch (attr) {
    case TUI_ATTR_ECHO: return A_BOLD;
    case TUI_ATTR_ERROR: return tui_color_attr(1, 1);
    case TUI_ATTR_INFO: return tui_color_attr(6, 0);
    default: return A_NORMAL;
    }
}

/* s[from..to) of a line at (y, x): plain stretches in attr, those between
 * TUI_HL_ON and TUI_HL_OFF bold yellow; hl: whether the line's text before
 * `from` left the highlight on (a phrase wrapped across rows). */
static void draw_marked(int y, int x, const char *s, size_t from, size_t to, int attr, int hl) {
    move(y, x);
    size_t i = from;
    while (i < to) {
        size_t j = i;
        while (j < to && s[j] != 0x0e && s[j] != 0x0f) j++;
        attrset(hl ? tui_color_attr(3, 1) : attr);
        if (j > i) addnstr(s + i, (int)(j - i));
        if (j < to) hl = s[j] == 0x0e;
        i = j + (j < to);
    }
    attrset(A_NORMAL);
}

static int hl_state(const char *s, size_t upto) {
    int hl = 0;
    for (size_t i = 0; i < upto; i++)
        if (s[i] == 0x0e) hl = 1;
        else if (s[i] == 0x0f) hl = 0;
    return hl;
}

/* The newest lines at the bottom, tui.scroll rows back. */
static void draw_output(cwb_rect r) {
    if (r.h <= 0 || r.w <= 0) return;
    int row = r.y + r.h - 1;
    int skip = tui.scroll;
    size_t starts[64];
    for (int i = tui.sb.count - 1; i >= 0 && row >= r.y; i--) {
        const tui_line *l = tui_sb_get(&tui.sb, i);
        const char *s = l->s ? l->s : "";
        int rows = tui_wrap(s, l->n, r.w, starts, 64);
        if (rows > 64) rows = 64; /* a monster line shows its first 64 rows */
        for (int k = rows - 1; k >= 0 && row >= r.y; k--) {
            if (skip > 0) {
                skip--;
                continue;
            }
            size_t end = k + 1 < rows ? starts[k + 1] : l->n;
            while (end > starts[k] && s[end - 1] == ' ') end--; /* where a row was broken */
            draw_marked(row, r.x, s, starts[k], end, line_attr(l->attr), hl_state(s, starts[k]));
            row--;
        }
    }
    if (skip > 0 && tui.scroll > 0) { /* scrolled past the oldest line: pull back */
        tui.scroll -= skip;
        if (tui.scroll < 0) tui.scroll = 0;
        tui.need_draw = 1;
    }
}

static void fmt_time(char *buf, size_t n, double s) {
    if (!isfinite(s) || s < 0) snprintf(buf, n, "--:--");
    else if (s < 3600) snprintf(buf, n, "%d:%02d", (int)s / 60, (int)s % 60);
    else snprintf(buf, n, "%dh%02d", (int)(s / 3600), ((int)s % 3600) / 60);
}

static double last_value(const tui_run *r, const char *name) {
    const tui_series *s = tui_run_find(r, name);
    return s && s->n > 0 ? s->y[s->n - 1] : NAN;
}

static void draw_status(void) {
    cwb_rect r = tui.lo.status;
    char left[320], tmp[64];
    size_t n = 0;
    const tui_run *run = tui.cur;
    if (!run && tui.nruns > 0) run = tui.runs[tui.nruns - 1];
    if (run) {
        int going = run->active;
        n += (size_t)snprintf(left + n, sizeof left - n, " %s %s", going
                                                                      ? (tui.paused ? "PAUSED" : "RUN")
                                                                      : run->status,
                              run->name);
        if (run->id > 0) n += (size_t)snprintf(left + n, sizeof left - n, " #%lld", (long long)run->id);
        if (run->total > 0)
            n += (size_t)snprintf(left + n, sizeof left - n, " | step %ld/%ld", run->done,
                                  run->total);
        else n += (size_t)snprintf(left + n, sizeof left - n, " | step %ld", run->done);
        if (going) {
            n += (size_t)snprintf(left + n, sizeof left - n, " | %.0f st/s", run->rate);
            if (run->total > 0 && run->rate > 0) {
                fmt_time(tmp, sizeof tmp, (double)(run->total - run->done) / run->rate);
                n += (size_t)snprintf(left + n, sizeof left - n, " | ETA %s", tmp);
            }
        } else if (run->t1 > run->t0) {
            fmt_time(tmp, sizeof tmp, run->t1 - run->t0);
            n += (size_t)snprintf(left + n, sizeof left - n, " | took %s", tmp);
        }
        double loss = last_value(run, "loss");
        if (isfinite(loss)) n += (size_t)snprintf(left + n, sizeof left - n, " | loss %.4g", loss);
        /* the run's score: the first of these it reports (a Fashion-MNIST
         * run's kNN test accuracy, from its latest evaluation) */
        static const char *const scores[] = {"knn_acc", "top1", "theta", "score", NULL};
        static const char *const shown[] = {"kNN", "top1", "theta", "score"};
        for (int i = 0; scores[i]; i++) {
            double v = last_value(run, scores[i]);
            if (isfinite(v)) {
                n += (size_t)snprintf(left + n, sizeof left - n, " | %s %.4g", shown[i], v);
                break;
            }
        }
    } else
        n += (size_t)snprintf(left + n, sizeof left - n, " idle: no run yet");
    if (tui.scroll > 0 && n < sizeof left)
        n += (size_t)snprintf(left + n, sizeof left - n, " | scrolled back");
    (void)n;
    const char *hints = run && run->active ? "^C stop  F2 png  PgUp/Dn  ^D quit "
                                           : "Tab complete  F2 png  PgUp/Dn  ^D quit ";
    attrset(A_REVERSE);
    mvhline(r.y, r.x, ' ', r.w);
    size_t ln = tui_u8_fit(left, strlen(left), r.w, NULL);
    mvaddnstr(r.y, r.x, left, (int)ln);
    int lw = tui_u8_width(left, ln), hw = (int)strlen(hints);
    if (lw + 2 + hw <= r.w) mvaddstr(r.y, r.x + r.w - hw, hints);
    attrset(A_NORMAL);
}

void tui_draw_note(cwb_rect r, const char *m) {
    const char *lines[16];
    int lens[16], n = 0, cols = r.w > 0 ? r.w : 1;
    while (*m && n < 16) {
        int len = (int)strlen(m);
        if (len > cols) { /* break at the last space that fits */
            len = cols;
            while (len > 0 && m[len] != ' ') len--;
            if (len == 0) len = cols;
        }
        lines[n] = m;
        lens[n++] = len;
        m += len;
        while (*m == ' ') m++;
    }
    if (n > r.h) n = r.h;
    int y = r.y + (r.h - n) / 2;
    for (int i = 0; i < n; i++)
        mvaddnstr(y + i, r.x + (cols - lens[i]) / 2, lines[i], lens[i]);
}

void tui_draw_all(void) {
    if (!tui.curses_on) return;
    if (tui.need_layout) {
        cwb_layout_compute(LINES, COLS,
                           (tui_knobs_shown() ? CWB_LAYOUT_KNOBS : 0) |
                               (tui.status_note[0] ? CWB_LAYOUT_TALL_OUTPUT : 0),
                           &tui.lo);
        if (tui.lo.ok) cwb_lua_set_print_width(tui.lo.output.w); /* tables fit the output area */
        tui.need_layout = 0;
        tui.plot_dirty = 1;
        clearok(curscr, TRUE);
        tui_plot_update(1);
    }
    tui.need_draw = 0;
    erase();
    if (!tui.lo.ok) { /* the too-small verdict */
        cwb_rect all = {0, 0, LINES, COLS};
        tui_draw_note(all, tui.lo.msg);
        if (LINES > 0) move(LINES - 1, 0);
        refresh();
        return;
    }
    char title[96], right[96];
    snprintf(title, sizeof title, "%s", tui.metric);
    tui_plot_caption(right, sizeof right);
    frame(tui.lo.plot, title, right);
    tui_plot_draw(inner(tui.lo.plot));
    if (tui.lo.geom.h > 0) {
        frame(tui.lo.geom, tui_geom_title(tui.lo.geom.w - 6), NULL);
        tui_geom_draw(inner(tui.lo.geom));
    }
    draw_output(tui.lo.output);
    draw_status();
    tui_knobs_draw(tui.lo.knobs);
    tui_input_draw();
    refresh();
}
