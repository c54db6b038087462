/*
 * test_figure.c - the figure model (plot/figure.h), legends of runs
 * (plot/legend.h) and the store's reference lines.
 *
 * The palette: every entry, drawn by the real gnuplot's dumb terminal in
 * ANSI mode, comes out as the terminal colour cwb_palette_ansi names, all
 * ten differ and none is black or white (issue 9, item 5); a run's colour
 * follows its key and two runs of one panel never share one (item 4).  The
 * terminal follows the file's extension (item 8).  Legend placements keep
 * the key off the axes (item 6).  Legends say what differs (item 4), and
 * reference lines round-trip through the store (item 2).  The parts that
 * need gnuplot pass with a note when it is not installed.
 */
#include "plot/figure.h"
#include "plot/gnuplot.h"
#include "plot/legend.h"
#include "store/store.h"
#include "../tap.h"

#include <string.h>
#include <unistd.h>

static char dir[256];

/* The SGR colour codes (30-37 with bold or not) in text, as "1;31 22;34 ...". */
static void sgr_colors(const char *text, char *out, size_t len) {
    out[0] = '\0';
    for (const char *p = text; (p = strstr(p, "\033[")); p++) {
        int bold = -1, fg = -1, v = 0, any = 0;
        const char *q = p + 2;
        for (;; q++) {
            if (*q >= '0' && *q <= '9') {
                v = v * 10 + (*q - '0');
                any = 1;
                continue;
            }
            if (any) {
                if (v == 1) bold = 1;
                else if (v == 22) bold = 0;
                else if (v >= 30 && v <= 37) fg = v - 30;
            }
            v = 0;
            any = 0;
            if (*q != ';') break;
        }
        if (*q == 'm' && fg >= 0) {
            char one[16];
            snprintf(one, sizeof one, "%d;%d ", bold == 1 ? 1 : 22, 30 + fg);
            if (!strstr(out, one) && strlen(out) + strlen(one) < len) strcat(out, one);
        }
    }
}

static void test_palette(cwb_gnuplot *g) {
    char seen[CWB_PALETTE_N][16];
    int distinct = 1, visible = 1, as_said = 1;
    for (int i = 0; i < CWB_PALETTE_N; i++) {
        char script[200], got[200];
        snprintf(script, sizeof script,
                 "unset border\nunset tics\nunset key\nplot x with lines lc rgb '%s'\n",
                 cwb_palette_color(i, CWB_PLOT_DUMB));
        cwb_plot_target t = {.term = CWB_PLOT_DUMB, .width = 30, .height = 10, .ansi = 1};
        char *text = NULL;
        if (cwb_gnuplot_render(g, &t, script, &text) != 0 || !text) {
            ok(0, "palette entry %d renders (%s)", i, cwb_gnuplot_errmsg(g));
            return;
        }
        sgr_colors(text, got, sizeof got);
        free(text);
        int fg, bold;
        cwb_palette_ansi(i, &fg, &bold);
        char want[16];
        snprintf(want, sizeof want, "%d;%d ", bold ? 1 : 22, 30 + fg);
        if (strcmp(got, want) != 0) {
            diag("entry %d (%s): gnuplot wrote '%s', the palette says '%s'", i,
                 cwb_palette_color(i, CWB_PLOT_DUMB), got, want);
            as_said = 0;
        }
        if (fg == 0 || fg == 7) visible = 0;
        snprintf(seen[i], sizeof seen[i], "%s", want);
        for (int j = 0; j < i; j++) distinct &= strcmp(seen[i], seen[j]) != 0;
    }
    ok(as_said, "each palette entry comes out of gnuplot's ANSI mode as cwb_palette_ansi says");
    ok(visible, "no entry is black or white on a terminal");
    ok(distinct, "the %d entries are %d different terminal colours", CWB_PALETTE_N, CWB_PALETTE_N);
    int paper_ok = 1;
    for (int i = 0; i < CWB_PALETTE_N; i++)
        paper_ok &= cwb_fig_color_ok(cwb_palette_color(i, CWB_PLOT_PNG)) &&
                    strcmp(cwb_palette_color(i, CWB_PLOT_PNG), "black") != 0;
    ok(paper_ok && strcmp(cwb_palette_color(3, CWB_PLOT_SVG),
                          cwb_palette_color(3 + CWB_PALETTE_N, CWB_PLOT_PNG)) == 0,
       "paper colours are colours, and the palette wraps");
}

static void test_colors(void) {
    cwb_figure f;
    ok(cwb_figure_init(&f, 1, 1) == 0, "a 1x1 figure");
    cwb_fig_panel *p = cwb_figure_add_panel(&f);
    double y[2] = {1, 2};
    long keys[4] = {46, 47, 56, 3};
    for (int i = 0; i < 4; i++) cwb_fig_add_series(p, NULL, y, 2)->key = keys[i];
    cwb_fig_add_series(p, NULL, y, 2);   /* no key: by position */
    snprintf(cwb_fig_add_series(p, NULL, y, 2)->color, CWB_FIG_COLOR_MAX, "black");
    int pal[6];
    cwb_fig_colors(p, pal);
    ok(pal[0] == 46 % CWB_PALETTE_N && pal[1] == 47 % CWB_PALETTE_N,
       "a series takes the palette entry of its key (46 -> %d, 47 -> %d)", pal[0], pal[1]);
    int differ = 1;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < i; j++) differ &= pal[i] != pal[j];
    ok(differ && pal[5] == -1,
       "keys that share an entry (46, 56) still get different colours; an own colour keeps it");
    /* the same runs again: the same colours */
    cwb_figure g2;
    cwb_figure_init(&g2, 1, 1);
    cwb_fig_panel *q = cwb_figure_add_panel(&g2);
    for (int i = 0; i < 4; i++) cwb_fig_add_series(q, NULL, y, 2)->key = keys[i];
    int pal2[4];
    cwb_fig_colors(q, pal2);
    ok(memcmp(pal, pal2, sizeof pal2) == 0, "the same runs get the same colours next time");
    cwb_figure_free(&g2);
    cwb_figure_free(&f);

    ok(cwb_plot_term_for_file("/tmp/x/slide.svg") == CWB_PLOT_SVG &&
           cwb_plot_term_for_file("A.SVG") == CWB_PLOT_SVG &&
           cwb_plot_term_for_file("a.png") == CWB_PLOT_PNG &&
           cwb_plot_term_for_file("svg") == CWB_PLOT_PNG,
       "the terminal follows the file's extension (.svg, .SVG: SVG; else PNG)");
    ok(cwb_fig_color_ok("#1f77b4") && cwb_fig_color_ok("dark-green") &&
           !cwb_fig_color_ok("red' lw 9") && !cwb_fig_color_ok(""),
       "colours that could inject gnuplot commands are refused");
    ok(cwb_fig_key_ok("below") && cwb_fig_key_ok("top left") && !cwb_fig_key_ok("below;"),
       "legend placements are lowercase words");
}

static void test_script(void) {
    cwb_figure f;
    cwb_figure_init(&f, 1, 1);
    cwb_fig_panel *p = cwb_figure_add_panel(&f);
    double x[3] = {0, 10000, 40000}, y[3] = {3, 2, 1.1};
    cwb_fig_series *s = cwb_fig_add_series(p, x, y, 3);
    cwb_fig_set_str(&s->label, "it's");
    cwb_fig_add_ref(p, 0, 1.0, "optimum theta*");
    cwb_fig_add_ref(p, 1, 20000, "lr halved");
    p->compact = 1;
    snprintf(p->key, sizeof p->key, "below");
    cwb_buf b = CWB_BUF_INIT;
    ok(cwb_figure_script(&f, CWB_PLOT_DUMB, 48, 15, &b) == 0, "a script");
    const char *t = cwb_buf_text(&b);
    ok(strstr(t, "set key below") != NULL, "key \"below\": under the axes, off the curves");
    ok(strstr(t, "title 'it''s'") && strstr(t, "1 with lines") &&
           strstr(t, "title 'optimum theta*'"),
       "the series and the horizontal reference line with their legend entries");
    ok(strstr(t, "set arrow from 20000, graph 0 to 20000, graph 1 nohead") &&
           strstr(t, "set label 'lr halved'"),
       "a vertical marker at a step, with its text");
    ok(strstr(t, "set xtics 0,10000") && strstr(t, "set format x '%.0s%c'"),
       "compact: round step tics labelled short (10k)");
    ok(strstr(t, "set ytics 0.5\n") != NULL,
       "compact: y tics far enough apart for 15 rows (1..3 in steps of 0.5)");
    ok(strstr(t, "lt -1") != NULL, "a reference line without a colour uses the text colour");
    ok(strstr(t, "graph 0.06") != NULL, "room above and below so the line is not on the frame");
    cwb_buf_reset(&b);
    snprintf(p->key, sizeof p->key, "outside");
    cwb_figure_script(&f, CWB_PLOT_PNG, 800, 600, &b);
    ok(strstr(cwb_buf_text(&b), "set key outside right") &&
           strstr(cwb_buf_text(&b), "lc rgb 'black'"),
       "key \"outside\": right of the axes; on paper the reference line is black");
    cwb_buf_free(&b);
    cwb_figure_free(&f);
}

static void test_render(cwb_gnuplot *g) {
    cwb_figure f;
    cwb_figure_init(&f, 1, 2);
    cwb_fig_set_str(&f.title, "two panels");
    cwb_fig_panel *p = cwb_figure_add_panel(&f);
    double y[4] = {4, 3, 2, 1};
    cwb_fig_set_str(&cwb_fig_add_series(p, NULL, y, 4)->label, "falling");
    cwb_figure_add_panel(&f);   /* an empty second panel */
    char svg[300], err[300];
    snprintf(svg, sizeof svg, "%s/fig.svg", dir);
    cwb_plot_target t = {.term = cwb_plot_term_for_file(svg), .output = svg};
    ok(cwb_figure_render(&f, g, &t, NULL, err, sizeof err) == 0, "render to SVG (%s)", err);
    FILE *fp = fopen(svg, "r");
    char head[4096] = "";
    size_t n = fp ? fread(head, 1, sizeof head - 1, fp) : 0;
    head[n] = '\0';
    if (fp) fclose(fp);
    ok(strstr(head, "<svg") != NULL, "the file is an SVG");
    unlink(svg);
    ok(f.p[0].s[0].sent == 1, "the series' datablock was sent");
    cwb_plot_target d = {.term = CWB_PLOT_DUMB, .width = 80, .height = 20};
    char *text = NULL;
    ok(cwb_figure_render(&f, g, &d, &text, err, sizeof err) == 0 && text &&
           strstr(text, "falling") && strstr(text, "two panels"),
       "drawn again as text without sending the data again");
    free(text);
    cwb_figure_free(&f);
    cwb_figure_init(&f, 1, 1);
    cwb_figure_add_panel(&f);
    ok(cwb_figure_render(&f, g, &d, &text, err, sizeof err) == -1 &&
           strcmp(err, "nothing to draw") == 0,
       "an empty figure: nothing to draw");
    cwb_figure_free(&f);
}

static void test_legend(cwb_store *s) {
    cwb_legend_run r[3] = {
        {"infonce-B256-seed1", "{\"batch\":256,\"loss\":{\"kind\":\"infonce\",\"tau\":0.100000001}}", 1},
        {"infonce-B256-seed1", "{\"batch\":256,\"loss\":{\"kind\":\"infonce\",\"tau\":0.5}}", 2},
        {"dcl", "{\"batch\":64}", 3}};
    char *l[3];
    int rc = cwb_legend_labels(s, r, 2, l);
    ok(rc == 0 && strcmp(l[0], "tau=0.1") == 0 &&
           strcmp(l[1], "tau=0.5") == 0,
       "two runs of one name that differ in tau: '%s', '%s'", l[0], l[1]);
    for (int i = 0; i < 2; i++) free(l[i]);
    rc = cwb_legend_labels(s, r, 3, l);
    ok(rc == 0 && strcmp(l[0], "infonce-B256-seed1 tau=0.1") == 0 &&
           strcmp(l[2], "dcl") == 0,
       "names differ: the name, plus what differs within a name ('%s', '%s')", l[0], l[2]);
    for (int i = 0; i < 3; i++) free(l[i]);
    cwb_legend_run gb[2] = {{"gradient_bias standard B=8 start=0.25", "{}", 5},
                            {"gradient_bias decomposable B=8 start=0.25", "{}", 6}};
    rc = cwb_legend_labels(s, gb, 2, l);
    ok(rc == 0 && strcmp(l[0], "standard") == 0 && strcmp(l[1], "decomposable") == 0,
       "the words every name has go: '%s', '%s'", l[0], l[1]);
    for (int i = 0; i < 2; i++) free(l[i]);
    cwb_legend_run same[2] = {{"a", "{\"x\":1}", 46}, {"a", "{\"x\":1}", 47}};
    rc = cwb_legend_labels(s, same, 2, l);
    ok(rc == 0 && strcmp(l[0], "a #46") == 0 &&
           strcmp(l[1], "a #47") == 0,
       "runs nothing tells apart get their ids ('%s', '%s')", l[0], l[1]);
    for (int i = 0; i < 2; i++) free(l[i]);
    rc = cwb_legend_labels(NULL, r, 2, l);
    ok(rc == 0 && strcmp(l[0], "infonce-B256-seed1 #1") == 0,
       "without a store to read the parameters: names and ids ('%s')", l[0]);
    for (int i = 0; i < 2; i++) free(l[i]);
}

static int count_ref(const char *metric, double value, const char *label, void *ud) {
    char *acc = ud;
    size_t n = strlen(acc);
    snprintf(acc + n, 256 - n, "%s=%g:%s;", metric, value, label ? label : "-");
    return 0;
}

static void test_refs(cwb_store *s) {
    char got[256] = "";
    int64_t id = cwb_store_run_begin(s, "test", "r", "{}", 1);
    ok(cwb_store_refs(s, id, NULL, count_ref, got) == 0 && got[0] == '\0',
       "no reference lines before the first (and no refs table needed)");
    ok(cwb_store_ref(s, id, "theta_ratio", 1.0, "optimum") == 0 &&
           cwb_store_ref(s, id, "theta_ratio", 1.0, "optimum theta*") == 0 &&
           cwb_store_ref(s, id, "loss", 0.5, NULL) == 0,
       "record reference lines (%s)", cwb_store_errmsg(s));
    cwb_store_refs(s, id, NULL, count_ref, got);
    ok(strcmp(got, "loss=0.5:-;theta_ratio=1:optimum theta*;") == 0,
       "read back by metric; a second line at the same value replaces the label: %s", got);
    got[0] = '\0';
    cwb_store_refs(s, id, "theta_ratio", count_ref, got);
    ok(strcmp(got, "theta_ratio=1:optimum theta*;") == 0, "one metric's lines: %s", got);
    ok(cwb_store_ref(s, 999, "loss", 1, NULL) == -1 && strstr(cwb_store_errmsg(s), "no run 999"),
       "a line for an unknown run: %s", cwb_store_errmsg(s));
    ok(cwb_store_ref(s, id, "loss", NAN, NULL) == -1 && strstr(cwb_store_errmsg(s), "finite"),
       "a NaN line is refused: %s", cwb_store_errmsg(s));
}

int main(void) {
    if (tap_tmpdir(dir, sizeof dir, "figure")) return 99;
    test_colors();
    test_script();
    char db[300], err[300];
    snprintf(db, sizeof db, "%s/runs.db", dir);
    cwb_store *s = cwb_store_open(db, err, sizeof err);
    ok(s != NULL, "a scratch run store (%s)", s ? "ok" : err);
    if (s) {
        test_legend(s);
        test_refs(s);
        cwb_store_close(s);
    }
    unlink(db);   /* closing the last connection removed its -wal and -shm */
    cwb_gnuplot *g = cwb_gnuplot_open(err, sizeof err);
    if (g) {
        test_palette(g);
        test_render(g);
        cwb_gnuplot_close(g);
    } else {
        ok(1, "# SKIP gnuplot not installed: %s", err);
    }
    rmdir(dir);
    return done_testing();
}
