/*
 * tui_input.c - the prompt: GNU readline through its callback interface.
 *
 * readline never touches the terminal here: curses owns it.  Bytes read by
 * the event pump are handed to readline one at a time (rl_getc_function),
 * readline edits its line buffer, and its redisplay hook paints the prompt
 * and the buffer into the input row.  Terminal preparation, signal and
 * window-size handling are switched off (curses and tui_main.c do those),
 * readline's own output goes to /dev/null, and completion listings go to the
 * output area.  A finished line is queued; tui_main.c runs it.
 */
#include "ui/tui_internal.h"

#include <curses.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include <readline/history.h>
#include <readline/readline.h>

#define PROMPT "cwb> "
#define PROMPT_MORE ">>   "
#define HISTORY_MAX 1000

static int in_byte, in_have;
static FILE *devnull;
static char histpath[1024];

static int get_byte(FILE *f) {
    (void)f;
    if (!in_have) return EOF; /* not reached: readline asks only after a byte came */
    in_have = 0;
    return in_byte;
}

static int byte_waiting(void) { return in_have; }
static void prep_noop(int meta) { (void)meta; }
static void deprep_noop(void) {}

void tui_input_draw(void) {
    if (!tui.curses_on || !tui.lo.ok) return;
    cwb_rect r = tui.lo.input;
    const char *p = rl_display_prompt ? rl_display_prompt : PROMPT;
    const char *line = rl_line_buffer ? rl_line_buffer : "";
    size_t n = strlen(line);
    size_t point = rl_point >= 0 && (size_t)rl_point <= n ? (size_t)rl_point : n;
    int pw = tui_u8_width(p, strlen(p));
    int avail = r.w - pw - 1;
    if (avail < 4) avail = 4;
    /* scroll the line horizontally so that the cursor stays visible */
    size_t from = 0;
    while (tui_u8_width(line + from, point - from) > avail) {
        size_t step = tui_u8_fit(line + from, n - from, avail / 2, NULL);
        from += step ? step : 1;
    }
    move(r.y, r.x);
    clrtoeol();
    attron(A_BOLD);
    addnstr(p, (int)tui_u8_fit(p, strlen(p), r.w, NULL));
    attroff(A_BOLD);
    size_t shown = tui_u8_fit(line + from, n - from, r.w - pw - 1, NULL);
    addnstr(line + from, (int)shown);
    int cx = pw + tui_u8_width(line + from, point - from);
    move(r.y, r.x + (cx < r.w ? cx : r.w - 1));
}

static void redisplay(void) {
    tui_input_draw();
    refresh();
}

/* A finished line (NULL: Ctrl-D on an empty line).  While a run goes on,
 * a first Ctrl-D only asks: a stray key would throw the run away. */
static void on_line(char *line) {
    if (!line) {
        if (tui.cur && !tui.quit_armed) {
            tui.quit_armed = 1;
            tui_msg(TUI_ATTR_ERROR, "%s is running: Ctrl-D again quits (and interrupts it); "
                                    "stop() ends the run, Ctrl-C interrupts the chunk",
                    tui.cur->name);
            return;
        }
        tui_request_quit();
        return;
    }
    tui.quit_armed = 0;
    /* into the history now, while readline is between lines (adding it
     * later would shift the entry readline is editing) */
    HIST_ENTRY *prev = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (*line && !(prev && strcmp(prev->line, line) == 0)) add_history(line);
    if (tui.nq == tui.capq) {
        int cap = tui.capq ? tui.capq * 2 : 8;
        char **q = realloc(tui.queue, (size_t)cap * sizeof *q);
        if (!q) {
            free(line);
            return;
        }
        tui.queue = q;
        tui.capq = cap;
    }
    tui.queue[tui.nq++] = line;
}

void tui_input_prompt(void) {
    rl_set_prompt(tui.chunk ? PROMPT_MORE : PROMPT);
    tui.need_draw = 1;
}

void tui_input_byte(int c) {
    in_byte = c;
    in_have = 1;
    rl_callback_read_char();
}

void tui_input_reset(void) {
    rl_free_line_state();      /* undo list, numeric argument, ... */
    rl_callback_sigcleanup();  /* leave an i-search or a half-typed key sequence */
    rl_replace_line("", 0);
    rl_point = rl_end = 0;
    rl_mark = 0;
    free(tui.chunk);
    tui.chunk = NULL;
    tui_input_prompt();
    rl_on_new_line();
    tui.need_draw = 1;
}

/* ---- completion ------------------------------------------------------------------ */

static const char *const KEYWORDS[] = {
    "and",   "break", "do",   "else", "elseif", "end",    "false", "for",  "function", "goto",
    "if",    "in",    "local", "nil", "not",    "or",     "repeat", "return", "then",  "true",
    "until", "while", NULL};

static char **matches;
static int nmatch, capmatch;

static void add_match(const char *prefix, size_t plen, const char *name, const char *suffix) {
    if (nmatch + 2 > capmatch) {
        int cap = capmatch ? capmatch * 2 : 32;
        char **m = realloc(matches, (size_t)cap * sizeof *m);
        if (!m) return;
        matches = m;
        capmatch = cap;
    }
    size_t nl = strlen(name), sl = strlen(suffix);
    char *s = malloc(plen + nl + sl + 1);
    if (!s) return;
    memcpy(s, prefix, plen);
    memcpy(s + plen, name, nl);
    memcpy(s + plen + nl, suffix, sl + 1);
    for (int i = 0; i < nmatch; i++)
        if (strcmp(matches[i], s) == 0) { /* a field both in a table and its __index */
            free(s);
            return;
        }
    matches[nmatch++] = s;
}

/* Add the string keys of the table on top (and of its __index chain, for
 * objects and classes) that start with part.  Pops the table. */
static void add_fields(lua_State *L, const char *prefix, size_t plen, const char *part,
                       int methods_only) {
    size_t n = strlen(part);
    for (int depth = 0; depth < 4 && lua_istable(L, -1); depth++) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) == LUA_TSTRING) {
                const char *k = lua_tostring(L, -2);
                int isfn = lua_isfunction(L, -1);
                if (strncmp(k, part, n) == 0 && (!methods_only || isfn))
                    add_match(prefix, plen, k, isfn ? "(" : lua_istable(L, -1) ? "." : "");
            }
            lua_pop(L, 1);
        }
        /* follow __index so that objects show their methods */
        if (!lua_getmetatable(L, -1)) break;
        lua_getfield(L, -1, "__index");
        lua_remove(L, -2);
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
}

/* Replace the value on top by value[k], without running any code: raw
 * access to a table, then to its metatable's __index table (objects and
 * classes); nil otherwise. */
static void raw_field(lua_State *L, const char *k, size_t kl) {
    int base = lua_gettop(L);
    lua_pushnil(L); /* the result, at base + 1 */
    if (lua_istable(L, base)) {
        lua_pushlstring(L, k, kl);
        lua_rawget(L, base);
        lua_replace(L, base + 1);
    }
    if (lua_isnil(L, base + 1) && lua_getmetatable(L, base)) {
        lua_pushliteral(L, "__index");
        lua_rawget(L, -2);
        if (lua_istable(L, -1)) {
            lua_pushlstring(L, k, kl);
            lua_rawget(L, -2);
            lua_replace(L, base + 1);
        }
    }
    lua_settop(L, base + 1);
    lua_replace(L, base);
}

/* Push the value named by the dotted path text[0..n) (from the globals). */
static void push_path(lua_State *L, const char *text, size_t n) {
    lua_pushglobaltable(L);
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && text[j] != '.' && text[j] != ':') j++;
        raw_field(L, text + i, j - i);
        i = j + 1;
    }
}

static char *no_generator(const char *text, int state) {
    (void)text;
    (void)state;
    return NULL;
}

static char **complete(const char *text, int start, int end) {
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1; /* never fall back to file names */
    lua_State *L = tui_lua();
    if (!lua_checkstack(L, 16)) return NULL;
    nmatch = 0;
    size_t tl = strlen(text);
    const char *sep = NULL;
    for (const char *p = text; *p; p++)
        if (*p == '.' || *p == ':') sep = p;
    int top = lua_gettop(L);
    if (sep) {
        size_t plen = (size_t)(sep - text) + 1;
        push_path(L, text, plen - 1);
        if (lua_istable(L, -1)) add_fields(L, text, plen, sep + 1, *sep == ':');
        else if (lua_isuserdata(L, -1) && lua_getmetatable(L, -1)) {
            lua_getfield(L, -1, "__index");
            lua_remove(L, -2);
            add_fields(L, text, plen, sep + 1, *sep == ':');
        }
    } else {
        lua_pushglobaltable(L);
        add_fields(L, "", 0, text, 0);
        for (int i = 0; KEYWORDS[i]; i++)
            if (strncmp(KEYWORDS[i], text, tl) == 0) add_match("", 0, KEYWORDS[i], "");
    }
    lua_settop(L, top);
    if (nmatch == 0) return NULL;
    /* readline wants [common prefix, match1, ..., NULL] */
    char **out = malloc((size_t)(nmatch + 2) * sizeof *out);
    if (!out) {
        for (int i = 0; i < nmatch; i++) free(matches[i]);
        return NULL;
    }
    size_t common = strlen(matches[0]);
    for (int i = 1; i < nmatch; i++) {
        size_t k = 0;
        while (k < common && matches[i][k] == matches[0][k]) k++;
        common = k;
    }
    if (nmatch == 1) out[0] = matches[0];
    else {
        out[0] = malloc(common + 1);
        if (out[0]) {
            memcpy(out[0], matches[0], common);
            out[0][common] = '\0';
        }
        for (int i = 0; i < nmatch; i++) out[i + 1] = matches[i];
    }
    out[nmatch == 1 ? 1 : nmatch + 1] = NULL;
    if (!out[0]) {
        for (int i = 0; i < nmatch; i++) free(matches[i]);
        free(out);
        return NULL;
    }
    rl_completion_append_character = '\0';
    return out;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Several matches: list them in the output area, as many per row as fit. */
static void show_matches(char **m, int n, int maxlen) {
    qsort(m + 1, (size_t)n, sizeof *m, cmp_str);
    int width = tui.lo.ok ? tui.lo.output.w : 80;
    int colw = maxlen + 2, per = width / colw > 0 ? width / colw : 1;
    tui_out_sync();
    char row[1024];
    size_t len = 0;
    for (int i = 1; i <= n; i++) {
        int k = snprintf(row + len, sizeof row - len, "%-*s", colw, m[i]);
        if (k > 0) len += (size_t)k < sizeof row - len ? (size_t)k : sizeof row - len - 1;
        if (i % per == 0 || i == n) {
            while (len && row[len - 1] == ' ') len--;
            row[len] = '\0';
            tui_sb_line(&tui.sb, row, TUI_ATTR_INFO);
            len = 0;
        }
    }
    tui.scroll = 0;
    tui.need_draw = 1;
}

/* ---- keys -------------------------------------------------------------------------- */

static int key_png(int count, int key) {
    (void)count;
    (void)key;
    tui_panes_save(".png"); /* both panes, named after the run, as png() */
    return 0;
}

static int key_scroll(int count, int key) {
    (void)count;
    int page = tui.lo.ok ? tui.lo.output.h - 1 : 5;
    if (page < 1) page = 1;
    tui.scroll += key == 'u' ? page : -page;
    if (tui.scroll < 0) tui.scroll = 0;
    tui.need_draw = 1;
    return 0;
}

static int key_up(int count, int key) { return key_scroll(count, 'u'); }
static int key_down(int count, int key) { return key_scroll(count, 'd'); }

/* The knob keys act on an empty prompt only (tui_knobs.c); on a line being
 * typed they are what they always are: [ and ] characters, the arrows move. */
static int empty_prompt(void) { return rl_end == 0 && !tui.chunk; }

static int key_bracket(int count, int key) {
    if (!empty_prompt()) return rl_insert(count, key);
    tui_knob_key(key == ']' ? 1 : -1);
    return 0;
}

static int key_left(int count, int key) {
    if (!empty_prompt()) return rl_backward_char(count, key);
    tui_knob_pick(-1);
    return 0;
}

static int key_right(int count, int key) {
    if (!empty_prompt()) return rl_forward_char(count, key);
    tui_knob_pick(1);
    return 0;
}

void tui_input_start(void) {
    const char *h = getenv("CWB_HISTORY");
    if (h && *h) snprintf(histpath, sizeof histpath, "%s", h);
    else {
        const char *home = getenv("HOME");
        snprintf(histpath, sizeof histpath, "%s/.cwb_history", home && *home ? home : ".");
    }
    devnull = fopen("/dev/null", "w");
    rl_readline_name = "cwb";
    rl_instream = stdin;
    rl_outstream = devnull ? devnull : tui.ttyout;
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
    rl_prep_term_function = prep_noop;
    rl_deprep_term_function = deprep_noop;
    rl_getc_function = get_byte;
    rl_input_available_hook = byte_waiting;
    rl_redisplay_function = redisplay;
    rl_attempted_completion_function = complete;
    rl_completion_entry_function = no_generator;
    rl_completion_display_matches_hook = show_matches;
    /* '.' and ':' belong to the word so that cwb.loss.in<Tab> completes */
    rl_completer_word_break_characters = " \t\n\"'`@$><=;|&{(,+-*/%^~#[]";
    rl_basic_word_break_characters = rl_completer_word_break_characters;
    using_history();
    stifle_history(HISTORY_MAX);
    read_history(histpath); /* a missing file is fine */
    rl_callback_handler_install(PROMPT, on_line);
    /* F2 and Ctrl-X p: the curves to PNG; PgUp/PgDn (and Alt-v / Ctrl-V
     * style fallbacks) scroll the output area */
    rl_bind_keyseq("\\eOQ", key_png);
    rl_bind_keyseq("\\e[12~", key_png);
    rl_bind_keyseq("\\C-xp", key_png);
    rl_bind_keyseq("\\e[5~", key_up);
    rl_bind_keyseq("\\e[6~", key_down);
    /* on an empty prompt: [ ] turn the chosen knob, <- -> choose one */
    rl_bind_key('[', key_bracket);
    rl_bind_key(']', key_bracket);
    rl_bind_keyseq("\\e[D", key_left);
    rl_bind_keyseq("\\eOD", key_left);
    rl_bind_keyseq("\\e[C", key_right);
    rl_bind_keyseq("\\eOC", key_right);
}

void tui_input_stop(void) {
    rl_callback_handler_remove();
    if (histpath[0] && write_history(histpath) == 0) history_truncate_file(histpath, HISTORY_MAX);
    clear_history();
    for (int i = 0; i < nmatch; i++) matches[i] = NULL;
    free(matches);
    matches = NULL;
    nmatch = capmatch = 0;
    rl_outstream = stdout;
    if (devnull) fclose(devnull);
    devnull = NULL;
}
