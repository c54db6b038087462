/*
 * tui_main.c - the workbench's life: taking the terminal and giving it
 * back, Ctrl-C and window-size signals, the event pump and running the
 * chunks typed at the prompt.
 *
 * Chunks run as lua.c runs them (an expression prints its value, an
 * incomplete chunk asks for more lines), under a count hook that keeps the
 * screen and the keyboard alive during long Lua code and turns Ctrl-C into
 * the error "interrupted".  While a run goes on, its ticks (tui_hooks.c)
 * pump events too, and lines typed then run at once, nested inside the
 * running chunk (pause(), stop(), 1+1 ...), up to TUI_MAX_DEPTH deep.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "ui/tui_internal.h"
#include "ui/repl_cmds.h"
#include "lua/lchunk.h"
#include "lua/lcwb.h"
#include "lua/lpretty.h"

#include <curses.h>
#include <errno.h>
#include <lauxlib.h>
#include <locale.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0"
#endif

#define HOOK_COUNT 2000       /* VM instructions between count-hook calls */
#define INPUT_PERIOD 0.02     /* seconds between keyboard polls while busy */
#define DRAW_PERIOD 0.25      /* status-line refresh while a run goes on */
#define TRACE_LINES 8         /* traceback lines shown under an error */

tui_state tui;

static SCREEN *screen;
static struct sigaction old_int, old_winch, old_term, old_hup;

lua_State *tui_lua(void) { return tui.Lcur ? tui.Lcur : tui.L; }

double tui_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tui_msg(int attr, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tui_out_sync();
    tui_sb_line(&tui.sb, buf, attr);
    tui.scroll = 0;
    tui.need_draw = 1;
}

/* ---- signals ------------------------------------------------------------------ */

static void on_sigint(int sig) {
    (void)sig;
    tui.sigint = 1;
    if (tui.depth > 0) cwb_lua_interrupt(); /* the count hook and C loops see it */
}

static void on_sigwinch(int sig) {
    (void)sig;
    tui.sigwinch = 1;
}

static void on_sigterm(int sig) {
    (void)sig;
    tui.quit = 1;
    if (tui.depth > 0) cwb_lua_interrupt();
}

static void catch(int sig, void (*fn)(int), struct sigaction *old) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(sig, &sa, old);
}

/* ---- the pump ------------------------------------------------------------------- */

static void handle_resize(void) {
    tui.sigwinch = 0;
    struct winsize ws;
    if (ioctl(tui.ttyfd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
    tui.need_layout = 1;
    tui.need_draw = 1;
}

void tui_request_quit(void) {
    tui.quit = 1;
    if (tui.depth > 0) cwb_lua_interrupt(); /* unwind the running chunks */
}

void tui_pump(int timeout_ms, int may_run) {
    if (!tui.curses_on) return;
    if (tui.sigwinch) handle_resize();
    if (tui.sigint) {
        tui.sigint = 0;
        if (tui.depth == 0) { /* at the prompt: drop the line, as a shell does */
            if (tui.chunk || (rl_line_buffer && rl_line_buffer[0])) tui_msg(TUI_ATTR_INFO, "^C");
            tui_input_reset();
            cwb_lua_clear_interrupt();
        }
    }
    if (tui.need_draw || tui.need_layout) {
        tui_draw_all();
        timeout_ms = 0; /* the next poll only collects what is waiting */
    }
    struct pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {tui_out_wakefd(), POLLIN, 0}};
    int r = poll(p, 2, timeout_ms);
    if (r < 0 && errno != EINTR) r = 0;
    if (r > 0 && (p[0].revents & POLLIN)) {
        unsigned char buf[256];
        ssize_t k = read(STDIN_FILENO, buf, sizeof buf);
        for (ssize_t i = 0; i < k && !tui.quit; i++) tui_input_byte(buf[i]);
        if (k == 0) tui_request_quit(); /* the terminal went away */
    } else if (r > 0 && (p[0].revents & (POLLHUP | POLLERR)))
        tui_request_quit();
    if (r > 0 && (p[1].revents & POLLIN)) tui_out_sync();
    if (tui.sigwinch) handle_resize();
    double now = tui_now();
    tui.next_input = now + INPUT_PERIOD;
    if (may_run && tui.nq > 0) tui_run_queue();
    tui_plot_update(0);
    if (tui.cur && now >= tui.next_draw) {
        tui.need_draw = 1; /* steps/s and ETA move on */
        tui.next_draw = now + DRAW_PERIOD;
    }
    if (tui.need_draw || tui.need_layout) tui_draw_all();
}

/* ---- running chunks --------------------------------------------------------------- */

static void count_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    if (cwb_lua_interrupted()) luaL_error(L, "interrupted");
    if (tui_now() >= tui.next_input && !tui.in_hook) {
        lua_State *saved = tui.Lcur;
        tui.Lcur = L;
        tui.in_hook++;
        tui_pump(0, 0); /* keys and screen only: no chunk runs inside a hook */
        tui.in_hook--;
        tui.Lcur = saved;
        if (cwb_lua_interrupted()) luaL_error(L, "interrupted");
    }
}

static void arm_hook(lua_State *L) {
    if (tui.depth > 0) lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_COUNT);
    else lua_sethook(L, NULL, 0, 0);
}

/* Call the function under its nargs arguments with a traceback handler. */
static int docall(lua_State *L, int nargs, int nres) {
    if (tui.depth == 0) cwb_lua_clear_interrupt(); /* a late Ctrl-C from the last chunk */
    tui.depth++;
    arm_hook(L);
    int st = cwb_lua_docall(L, nargs, nres, CWB_CALL_TRACEBACK);
    tui.depth--;
    arm_hook(L); /* C loops disarm it when they see Ctrl-C */
    if (st != LUA_OK && !tui.quit) cwb_lua_clear_interrupt(); /* Ctrl-C stops one chunk */
    return st;
}

/* The error on top: its first line in red, a short traceback under it (none
 * after Ctrl-C, where it is noise). */
static void report(lua_State *L) {
    const char *msg = lua_tostring(L, -1);
    if (!msg) msg = "(error object is not a string)";
    tui_out_sync();
    const char *nl = strchr(msg, '\n');
    char first[1024];
    snprintf(first, sizeof first, "%.*s", nl ? (int)(nl - msg) : (int)strlen(msg), msg);
    tui_sb_line(&tui.sb, first, TUI_ATTR_ERROR);
    int interrupted = strstr(first, "interrupted") != NULL;
    for (int shown = 0; nl && !interrupted && shown < TRACE_LINES;) {
        const char *ln = nl + 1;
        nl = strchr(ln, '\n');
        int len = nl ? (int)(nl - ln) : (int)strlen(ln);
        if (len > 0 && ln[0] == '\t') ln++, len--;
        /* the REPL's own frame ("[C]: in ?") says nothing to the user */
        if (len == 0 || strncmp(ln, "[C]: in ?", (size_t)len) == 0) continue;
        char text[512];
        snprintf(text, sizeof text, "  %.*s", len, ln);
        tui_sb_line(&tui.sb, text, TUI_ATTR_INFO);
        shown++;
    }
    lua_pop(L, 1);
    tui.scroll = 0;
    tui.need_draw = 1;
}

/* One line typed at the prompt: complete the chunk or run it. */
static void exec_line(const char *line) {
    lua_State *L = tui_lua();
    int base = lua_gettop(L);
    tui_out_sync();
    char echo[1200];
    snprintf(echo, sizeof echo, "%s%s", tui.chunk ? ">>   " : "cwb> ", line);
    tui_sb_line(&tui.sb, echo, TUI_ATTR_ECHO);
    tui.scroll = 0;
    tui.need_draw = 1;

    if (!tui.chunk && !*line) return;
    /* an answer to a lesson's question goes to the lesson (lchunk.h) */
    if (!tui.chunk && cwb_lua_push_line_hook(L, line)) {
        int st = docall(L, 1, 1);
        int taken = st == LUA_OK && lua_toboolean(L, -1);
        if (st != LUA_OK) report(L);
        lua_settop(L, base);
        tui_out_sync();
        tui.need_draw = 1;
        if (taken || st != LUA_OK) return;
    }
    size_t n = (tui.chunk ? strlen(tui.chunk) + 1 : 0) + strlen(line) + 1;
    char *text = malloc(n);
    if (!text) {
        tui_msg(TUI_ATTR_ERROR, "not enough memory");
        return;
    }
    snprintf(text, n, "%s%s%s", tui.chunk ? tui.chunk : "", tui.chunk ? "\n" : "", line);
    /* an expression first (on a chunk's first line), so that 1+1 prints 2 */
    int status = cwb_lua_load_typed(L, text, !tui.chunk, "=stdin");
    free(tui.chunk);
    tui.chunk = NULL;
    if (status == CWB_LUA_INCOMPLETE) {
        tui.chunk = text;
        tui_input_prompt();
        return;
    }
    free(text);
    tui_input_prompt();
    if (status != LUA_OK) {
        report(L);
        lua_settop(L, base);
        return;
    }
    status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) status = cwb_lua_print_results(L, base);
    if (status != LUA_OK) report(L);
    lua_settop(L, base);
    tui_out_sync();
    tui.need_draw = 1;
}

void tui_run_queue(void) {
    while (tui.nq > 0 && !tui.quit && !tui.in_hook && tui.depth < TUI_MAX_DEPTH) {
        char *line = tui.queue[0];
        memmove(tui.queue, tui.queue + 1, (size_t)(tui.nq - 1) * sizeof *tui.queue);
        tui.nq--;
        exec_line(line);
        free(line);
    }
}

/* ---- start and stop ---------------------------------------------------------------- */

static void restore_terminal(void) {
    if (!tui.curses_on) return;
    tui.curses_on = 0;
    endwin();
    if (screen) delscreen(screen);
    screen = NULL;
}

/* os.exit() from a chunk leaves through exit(): give the terminal back. */
static void at_exit(void) {
    if (tui.curses_on) {
        restore_terminal();
        tui_out_stop();
    }
}

int cwb_tui_main(lua_State *L) {
    static int registered;
    memset(&tui, 0, sizeof tui);
    tui.L = L;
    tui.ttyfd = -1;
    snprintf(tui.metric, sizeof tui.metric, "loss");
    /* wide characters for curses; numbers keep the C locale Lua relies on */
    setlocale(LC_CTYPE, "");

    if (tui_out_start() != 0) {
        tui_out_stop();
        return -1;
    }
    /* before newterm: ncurses installs its own SIGWINCH handler only when
     * none is set, and ours must see resizes while Lua code runs */
    catch(SIGWINCH, on_sigwinch, &old_winch);
    screen = newterm(NULL, tui.ttyout, stdin);
    if (!screen) {
        sigaction(SIGWINCH, &old_winch, NULL);
        tui_out_stop();
        return -1;
    }
    set_term(screen);
    /* a terminal that cannot place the cursor (TERM=dumb, a printer) gets
     * the plain REPL rather than a garbled screen */
    const char *cup = tigetstr("cup");
    if (!cup || cup == (const char *)-1) {
        endwin();
        delscreen(screen);
        screen = NULL;
        sigaction(SIGWINCH, &old_winch, NULL);
        tui_out_stop();
        return -1;
    }
    tui.curses_on = 1;
    if (!registered) atexit(at_exit);
    registered = 1;
    catch(SIGINT, on_sigint, &old_int);
    catch(SIGTERM, on_sigterm, &old_term);
    catch(SIGHUP, on_sigterm, &old_hup);
    cbreak(); /* keeps ISIG: Ctrl-C arrives as SIGINT even while Lua runs */
    noecho();
    nonl();
    intrflush(stdscr, FALSE);
    keypad(stdscr, FALSE); /* readline reads the raw key sequences */
    tui_colors_init();
    tui.need_layout = 1;
    tui.need_draw = 1;

    tui_sb_init(&tui.sb, 5000);
    tui_input_start();
    tui_hooks_install(L);
    tui_lua_open(L);
    tui_knobs_open(L);
    cwb_repl_open_workbench(L);
    /* four short lines: each fits the classic 80 columns whole */
    tui_msg(TUI_ATTR_INFO, "cwb %s, the contrastive-learning workbench (%s).", PACKAGE_VERSION,
            LUA_RELEASE);
    tui_msg(TUI_ATTR_INFO, "run \"recipe.lua\" trains with live panes; pause() resume() stop() "
                           "show() png()");
    tui_msg(TUI_ATTR_INFO, "help() lists the API; Ctrl-C interrupts, Ctrl-D quits.");
    tui_msg(TUI_ATTR_INFO, "lesson() lists six guided lessons; presets() quick experiments.");

    tui_plot_warm();
    if (cwb_repl_session()) { /* cwb --session FILE: typed for the user, shown as typed */
        char line[1200];
        cwb_repl_session_line(line, sizeof line);
        char *copy = strdup(line);
        char **q = copy ? realloc(tui.queue, (size_t)(tui.capq = 8) * sizeof *q) : NULL;
        if (q) {
            tui.queue = q;
            tui.queue[tui.nq++] = copy;
        } else
            free(copy);
    }
    while (!tui.quit) {
        tui_run_queue();
        if (tui.quit) break;
        tui_pump(tui.plot_dirty ? 100 : 1000, 1);
    }

    tui_hooks_remove(L);
    tui_input_stop();
    restore_terminal();
    tui_out_stop();
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGWINCH, &old_winch, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    for (int i = 0; i < tui.nq; i++) free(tui.queue[i]);
    free(tui.queue);
    free(tui.chunk);
    tui_plot_close();
    tui_geom_free();
    tui_runs_free();
    tui_sb_free(&tui.sb);
    lua_sethook(L, NULL, 0, 0);
    cwb_lua_clear_interrupt();
    cwb_lua_set_print_width(80);
    memset(&tui, 0, sizeof tui);
    tui.ttyfd = -1;
    return 0;
}
