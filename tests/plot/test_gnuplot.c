/*
 * test_gnuplot.c - the gnuplot driver.
 *
 * A dumb figure comes back as text holding its title and data; a PNG is
 * written atomically (PNG signature, no temp file left, an existing file
 * untouched when the plot fails); gnuplot's error output is reported with
 * the caller's line number and attributed to the batch that caused it;
 * gnuplot dying mid-write does not kill us with SIGPIPE; a missing gnuplot
 * gives the not-found message.  Skips (as passes with a note) the parts that
 * need gnuplot when it is not installed.
 */
#include "plot/gnuplot.h"
#include "../tap.h"

#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static int count_entries(const char *d) {
    DIR *dp = opendir(d);
    int n = 0;
    struct dirent *e;
    while (dp && (e = readdir(dp)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (dp) closedir(dp);
    return n;
}

static void test_missing(void) {
    char err[512], msg[512];
    setenv("CWB_GNUPLOT", "/nonexistent", 1);
    ok(cwb_gnuplot_available(NULL, 0, msg, sizeof msg) == 0 && strstr(msg, "not found") &&
           strstr(msg, "gnuplot-nox") && strstr(msg, "/nonexistent"),
       "CWB_GNUPLOT=/nonexistent: not available: %s", msg);
    cwb_gnuplot *g = cwb_gnuplot_open(err, sizeof err);
    ok(g == NULL && strstr(err, "not found"), "open fails with: %s", err);
    ok(cwb_gnuplot_cmd(NULL, "plot x") == -1 && *cwb_gnuplot_errmsg(NULL) == '\0',
       "calls on a NULL handle fail without crashing");
    cwb_gnuplot_close(NULL);

    /* Not on PATH at all. */
    unsetenv("CWB_GNUPLOT");
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", "/nonexistent-bin", 1);
    ok(cwb_gnuplot_available(NULL, 0, msg, sizeof msg) == 0 &&
           strcmp(msg, CWB_GNUPLOT_NOT_FOUND) == 0,
       "not on PATH: %s", msg);
    if (old) setenv("PATH", old, 1);
    free(old);

    /* Something that is not gnuplot and exits at once. */
    setenv("CWB_GNUPLOT", "/bin/true", 1);
    g = cwb_gnuplot_open(err, sizeof err);
    ok(g == NULL && strstr(err, "exited"), "a program that exits at once: %s", err);
    unsetenv("CWB_GNUPLOT");
}

static void test_dumb(cwb_gnuplot *g) {
    double x[50], y[50];
    for (int i = 0; i < 50; i++) {
        x[i] = i;
        y[i] = (i - 25.0) * (i - 25.0);
    }
    const double *cols[2] = {x, y};
    ok(cwb_gnuplot_datablock(g, "parabola", 2, 50, cols) == 0, "queue a datablock");
    cwb_plot_target t = {.term = CWB_PLOT_DUMB, .width = 70, .height = 20};
    char *text = NULL;
    int rc = cwb_gnuplot_render(g, &t,
                                "set title 'Quadratic bowl'\n"
                                "plot $parabola using 1:2 with lines title 'bowl'\n",
                                &text);
    ok(rc == 0 && text, "render dumb (%s)", cwb_gnuplot_errmsg(g));
    ok(text && strstr(text, "Quadratic bowl"), "the text holds the title");
    ok(text && strstr(text, "bowl") && strstr(text, "600") && !strstr(text, "800"),
       "and the legend and y ticks that fit the data (max 625)");
    int lines = 0;
    for (const char *p = text; p && *p; p++) lines += *p == '\n';
    ok(lines >= 18 && lines <= 21, "about 20 lines tall (%d)", lines);
    ok(text && !strchr(text, '\033'), "no ANSI escapes unless asked");
    free(text);
    t.ansi = 1;
    text = NULL;
    rc = cwb_gnuplot_render(g, &t, "plot $parabola with lines lc rgb 'red' title 'bowl'\n", &text);
    ok(rc == 0 && text && strchr(text, '\033'), "ANSI colours when asked");
    free(text);

    /* Redraw after the data grows: only the datablock changes. */
    double x2[3] = {0, 1, 2}, y2[3] = {7777, 8888, 9999};
    const double *c2[2] = {x2, y2};
    cwb_gnuplot_datablock(g, "parabola", 2, 3, c2);
    t.ansi = 0;
    text = NULL;
    rc = cwb_gnuplot_render(g, &t, "plot $parabola with lines notitle\n", &text);
    ok(rc == 0 && text && strstr(text, "9999") == NULL && strstr(text, "600") == NULL &&
           (strstr(text, "9500") || strstr(text, "9000") || strstr(text, "10000")),
       "a re-sent datablock replaces the old data");
    free(text);

    /* A datablock too large for the pipe goes through a temp file. */
    size_t nb = 20000;
    double *bx = malloc(nb * sizeof *bx), *by = malloc(nb * sizeof *by);
    for (size_t i = 0; i < nb; i++) {
        bx[i] = (double)i;
        by[i] = i == 12345 ? 4321.5 : sin((double)i / 1000.0);
    }
    const double *cb[2] = {bx, by};
    cwb_gnuplot_datablock(g, "big", 2, nb, cb);
    free(bx);
    free(by);
    text = NULL;
    rc = cwb_gnuplot_render(g, &t, "stats $big using 2 nooutput\n"
                                   "set title sprintf('n=%d max=%g', STATS_records, STATS_max)\n"
                                   "plot $big with lines notitle\n", &text);
    ok(rc == 0 && text && strstr(text, "n=20000 max=4321.5"),
       "a 20000-row datablock arrives whole (%s)", cwb_gnuplot_errmsg(g));
    ok(count_entries(dir) == 0, "its temp file is gone (%d files in TMPDIR)", count_entries(dir));
    free(text);

    /* NaN is a gap, not an error. */
    double y3[3] = {1, NAN, 3};
    const double *c3[2] = {x2, y3};
    cwb_gnuplot_datablock(g, "gap", 2, 3, c3);
    text = NULL;
    ok(cwb_gnuplot_render(g, &t, "plot $gap with linespoints notitle\n", &text) == 0,
       "NaN values plot as gaps (%s)", cwb_gnuplot_errmsg(g));
    free(text);
}

static void test_errors(cwb_gnuplot *g) {
    int rc = cwb_gnuplot_cmd(g, "set xrange [0:1]\n"
                                "set title 'fine'\n"
                                "plot undefined_thing(x)\n");
    const char *m = cwb_gnuplot_errmsg(g);
    ok(rc == -1 && strncmp(m, "gnuplot: line 3: ", 17) == 0 && strstr(m, "undefined"),
       "an undefined function is reported with its line: %s", m);
    rc = cwb_gnuplot_cmd(g, "print 1+1\n");
    ok(rc == 0 && *cwb_gnuplot_errmsg(g) == '\0', "the next batch is clean: errors stay with "
                                                  "the batch that caused them");
    ok(strcmp(cwb_gnuplot_output(g), "2\n") == 0, "print output is kept apart");
    rc = cwb_gnuplot_cmd(g, "\n# comment\nfrobnicate the axes\n");
    m = cwb_gnuplot_errmsg(g);
    ok(rc == -1 && strstr(m, "line 3") && strstr(m, "invalid command"),
       "a syntax error: %s", m);
    rc = cwb_gnuplot_cmd(g, "$blk << END\n1 2\n3 4\nEND\nreset; stats $blk nooutput\n"
                            "if (STATS_records != 2) { print 'wrong' } else { print 'two' }\n"
                            "set ylabel undefined_var\n");
    m = cwb_gnuplot_errmsg(g);
    ok(rc == -1 && strstr(m, "line 7"), "heredoc and brace blocks keep line numbers right: %s", m);
    ok(strstr(cwb_gnuplot_output(g), "two\n") != NULL, "the block ran");
    rc = cwb_gnuplot_cmd(g, "$open << EOD\n1 2\n");
    ok(rc == 0 && !cwb_gnuplot_dead(g), "an unterminated datablock does not hang the session");
    ok(cwb_gnuplot_cmd(g, "print 'alive'\n") == 0, "still answering");
    ok(cwb_gnuplot_datablock(g, "bad-name", 1, 0, NULL) == -1 &&
           strstr(cwb_gnuplot_errmsg(g), "bad-name"),
       "bad datablock name: %s", cwb_gnuplot_errmsg(g));

    cwb_plot_target t = {.term = CWB_PLOT_DUMB, .width = 5, .height = 5};
    char *text = NULL;
    ok(cwb_gnuplot_render(g, &t, "plot x\n", &text) == -1 && text == NULL &&
           strstr(cwb_gnuplot_errmsg(g), "size"),
       "too small a figure: %s", cwb_gnuplot_errmsg(g));
    cwb_plot_target w = {.term = CWB_PLOT_WINDOW};
    char *disp = getenv("DISPLAY") ? strdup(getenv("DISPLAY")) : NULL;
    unsetenv("DISPLAY");
    unsetenv("WAYLAND_DISPLAY");
    ok(cwb_gnuplot_render(g, &w, "plot x\n", NULL) == -1 &&
           strstr(cwb_gnuplot_errmsg(g), "DISPLAY"),
       "window without a display: %s", cwb_gnuplot_errmsg(g));
    if (disp) setenv("DISPLAY", disp, 1);
    free(disp);
}

static void test_png(cwb_gnuplot *g) {
    char png[300], svg[300];
    snprintf(png, sizeof png, "%s/fig.png", dir);
    snprintf(svg, sizeof svg, "%s/fig.svg", dir);
    double x[4] = {1, 2, 3, 4}, y[4] = {1, 4, 9, 16};
    const double *cols[2] = {x, y};
    cwb_gnuplot_datablock(g, "sq", 2, 4, cols);
    cwb_plot_target t = {.term = CWB_PLOT_PNG, .output = png, .width = 400, .height = 300};
    int rc = cwb_gnuplot_render(g, &t, "set title 'squares'\nplot $sq with lines\n", NULL);
    ok(rc == 0, "render PNG (%s)", cwb_gnuplot_errmsg(g));
    unsigned char sig[8] = {0};
    FILE *f = fopen(png, "rb");
    size_t n = f ? fread(sig, 1, 8, f) : 0;
    if (f) fclose(f);
    ok(n == 8 && memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0, "the file starts with the PNG signature");
    struct stat st;
    mode_t um = umask(0);
    umask(um);
    int got = stat(png, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
    ok(got == (int)(0666 & ~um), "the PNG has the mode of any new file (%o)", got);
    ok(count_entries(dir) == 1, "no temp file left next to it (%d entries)", count_entries(dir));

    /* A failing plot leaves the old file alone and no temp behind. */
    off_t size = st.st_size;
    rc = cwb_gnuplot_render(g, &t, "plot $nosuchblock with lines\n", NULL);
    ok(rc == -1 && strstr(cwb_gnuplot_errmsg(g), "line 1"), "a failed plot reports: %s",
       cwb_gnuplot_errmsg(g));
    ok(stat(png, &st) == 0 && st.st_size == size && count_entries(dir) == 1,
       "the existing PNG is untouched and no temp is left");

    t.term = CWB_PLOT_SVG;
    t.output = svg;
    rc = cwb_gnuplot_render(g, &t, "plot $sq with points title 'sq'\n", NULL);
    char head[256] = "";
    f = fopen(svg, "r");
    n = f ? fread(head, 1, sizeof head - 1, f) : 0;
    head[n] = '\0';
    if (f) fclose(f);
    ok(rc == 0 && strstr(head, "<svg") != NULL, "render SVG");
    ok(count_entries(dir) == 2, "PNG + SVG and nothing else");

    char bad[300];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.png", dir);
    t.term = CWB_PLOT_PNG;
    t.output = bad;
    rc = cwb_gnuplot_render(g, &t, "plot x\n", NULL);
    ok(rc == -1 && strstr(cwb_gnuplot_errmsg(g), bad), "unwritable output: %s",
       cwb_gnuplot_errmsg(g));
}

/* gnuplot quits while we are still writing a large batch: the write fails
 * with EPIPE, the call returns an error, and this process lives on. */
static void test_sigpipe(void) {
    char err[512];
    cwb_gnuplot *g = cwb_gnuplot_open(err, sizeof err);
    if (!ok(g != NULL, "open a second gnuplot (%s)", g ? "ok" : err)) return;
    size_t n = 4u << 20;
    char *big = malloc(n + 16);
    memcpy(big, "exit\n", 5);
    for (size_t i = 5; i < n; i++) big[i] = (i % 64 == 63) ? '\n' : '#';
    big[n] = '\0';
    int rc = cwb_gnuplot_cmd(g, big);
    free(big);
    ok(rc == -1 && cwb_gnuplot_dead(g), "gnuplot gone: %s", cwb_gnuplot_errmsg(g));
    ok(cwb_gnuplot_cmd(g, "plot x\n") == -1 && strstr(cwb_gnuplot_errmsg(g), "no longer running"),
       "later calls fail: %s", cwb_gnuplot_errmsg(g));
    cwb_gnuplot_close(g);
    sigset_t pend;
    sigpending(&pend);
    ok(!sigismember(&pend, SIGPIPE), "no SIGPIPE left pending");
}

int main(void) {
    if (tap_tmpdir(dir, sizeof dir, "gnuplot")) return 99;
    char *user = getenv("CWB_GNUPLOT") ? strdup(getenv("CWB_GNUPLOT")) : NULL;
    test_missing();
    if (user) setenv("CWB_GNUPLOT", user, 1);
    free(user);

    char err[512];
    if (!cwb_gnuplot_available(NULL, 0, err, sizeof err)) {
        ok(1, "# SKIP gnuplot is not installed: %s", err);
    } else {
        setenv("TMPDIR", dir, 1);   /* to see that temp files are removed */
        cwb_gnuplot *g = cwb_gnuplot_open(err, sizeof err);
        ok(g != NULL, "gnuplot starts (%s)", g ? "ok" : err);
        if (g) {
            test_dumb(g);
            test_errors(g);
            test_png(g);
            cwb_gnuplot_close(g);
        }
        test_sigpipe();
    }
    tap_rmtree(dir);
    return done_testing();
}
