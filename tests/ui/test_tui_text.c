/*
 * test_tui_text.c - the workbench's terminal-free text handling
 * (src/ui/tui_text.c): gnuplot's ANSI output as coloured cells, the output
 * area's scrollback and UTF-8 column arithmetic.
 */
#include "../tap.h"
#include "ui/tui_text.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

static int row_is(const tui_cell *g, int w, int y, const char *s) {
    for (int x = 0; x < w; x++) {
        char want = x < (int)strlen(s) ? s[x] : ' ';
        if (g[y * w + x].ch != want) return 0;
    }
    return 1;
}

int main(void) {
    setlocale(LC_ALL, "C.UTF-8");

    /* ---- ANSI grid: the shape gnuplot's "set term dumb ansi" writes */
    const char *fig = "\f\x1b[0;39m  +--+\n\x1b[0;39m 1|\x1b[1;31m*\x1b[0;39m \x1b[1;34m#\x1b[0;39m|\n"
                      "\x1b[38;5;46mG\x1b[38;2;250;0;250mM\x1b[0m.\n";
    tui_cell g[4 * 8];
    int lines = tui_ansi_grid(fig, strlen(fig), g, 4, 8);
    ok(lines == 3, "three text lines seen (%d)", lines);
    ok(row_is(g, 8, 0, "  +--+") && row_is(g, 8, 1, " 1|* #|") && row_is(g, 8, 2, "GM."),
       "characters land in their cells; form feed and escapes take no cell");
    ok(g[8 + 3].fg == 1 && g[8 + 3].bold == 1, "ESC[1;31m: bold red (fg %d bold %d)", g[8 + 3].fg,
       g[8 + 3].bold);
    ok(g[8 + 5].fg == 4, "ESC[1;34m: blue (fg %d)", g[8 + 5].fg);
    ok(g[8 + 4].fg == -1 && g[8 + 2].fg == -1, "ESC[0;39m returns to the default colour");
    ok(g[16].fg == 2, "ESC[38;5;46m (256-colour green) folds to green (fg %d)", g[16].fg);
    ok(g[17].fg == 5, "ESC[38;2;250;0;250m (RGB magenta) folds to magenta (fg %d)", g[17].fg);
    ok(g[18].fg == -1 && g[18].bold == 0, "ESC[0m resets colour and bold");
    ok(row_is(g, 8, 3, ""), "missing rows are blank");
    const char *wide = "0123456789ABC\nxy";
    tui_cell s[2 * 4];
    tui_ansi_grid(wide, strlen(wide), s, 1, 4);
    ok(row_is(s, 4, 0, "0123"), "text beyond the grid is clipped, not wrapped");
    const char *cut = "ab\x1b[1;3";   /* an escape cut short at the end */
    ok(tui_ansi_grid(cut, strlen(cut), s, 2, 4) == 1 && row_is(s, 4, 0, "ab"),
       "an unterminated escape at the end is dropped");

    /* ---- scrollback */
    tui_sb sb;
    tui_sb_init(&sb, 4);
    tui_sb_write(&sb, "hello ", 6, TUI_ATTR_TEXT);
    tui_sb_write(&sb, "world\nnext", 10, TUI_ATTR_TEXT);
    ok(sb.count == 2 && strcmp(tui_sb_get(&sb, 0)->s, "hello world") == 0 &&
           strcmp(tui_sb_get(&sb, 1)->s, "next") == 0 && sb.open,
       "writes join into lines; the unterminated last line stays open");
    tui_sb_line(&sb, "cwb> 1+1", TUI_ATTR_ECHO);
    ok(sb.count == 3 && strcmp(tui_sb_get(&sb, 2)->s, "cwb> 1+1") == 0 &&
           tui_sb_get(&sb, 2)->attr == TUI_ATTR_ECHO && !sb.open,
       "a whole line closes the open one and keeps its attribute");
    const char *bar = "run [##  ] 20%\rrun [####] 40%\r";
    tui_sb_write(&sb, bar, strlen(bar), TUI_ATTR_TEXT);
    ok(strcmp(tui_sb_get(&sb, sb.count - 1)->s, "run [####] 40%") == 0,
       "carriage return then text rewrites the line (progress bar): '%s'",
       tui_sb_get(&sb, sb.count - 1)->s);
    tui_sb_write(&sb, "\n\x1b[1;31mred\x1b[0m\tx\a\n", 19, TUI_ATTR_TEXT);
    ok(strcmp(tui_sb_get(&sb, sb.count - 1)->s, "red     x") == 0,
       "escapes and bells dropped, tab to column 8: '%s'", tui_sb_get(&sb, sb.count - 1)->s);
    ok(sb.count == 4 && strcmp(tui_sb_get(&sb, 0)->s, "next") == 0,
       "a full store drops its oldest lines (first now '%s')", tui_sb_get(&sb, 0)->s);
    ok(tui_sb_get(&sb, 4) == NULL && tui_sb_get(&sb, -1) == NULL, "out-of-range lines are NULL");
    long before = sb.added;
    tui_sb_write(&sb, "\n\n", 2, TUI_ATTR_TEXT);
    ok(sb.added == before + 2 && tui_sb_get(&sb, 3)->n == 0, "blank lines are kept");
    tui_sb_line(&sb, "", TUI_ATTR_INFO);
    ok(sb.added == before + 3, "an empty whole line is a line");
    size_t big = 3 * TUI_LINE_MAX;
    char *huge = malloc(big);
    memset(huge, 'y', big);
    tui_sb_write(&sb, huge, big, TUI_ATTR_TEXT);
    tui_sb_write(&sb, "z\nafter\n", 8, TUI_ATTR_TEXT);
    free(huge);
    ok(tui_sb_get(&sb, sb.count - 2)->n == TUI_LINE_MAX &&
           strcmp(tui_sb_get(&sb, sb.count - 1)->s, "after") == 0,
       "a huge line keeps its first %d bytes; the next line is whole", TUI_LINE_MAX);
    tui_sb_free(&sb);

    /* ---- columns */
    const char *u = "a\xc3\xa9\xe4\xb8\xad" "b"; /* a e-acute (1 col) CJK (2 cols) b */
    ok(tui_u8_width(u, strlen(u)) == 5, "UTF-8 width: a, e-acute, a wide CJK character, b = 5");
    int used;
    size_t k = tui_u8_fit(u, strlen(u), 3, &used);
    ok(k == 3 && used == 2, "fit in 3 columns stops before the wide character (%zu bytes, %d cols)",
       k, used);
    ok(tui_u8_width("\xff" "x", 2) == 2, "a malformed byte counts one column");
    size_t starts[8];
    int rows = tui_wrap("abcdefghij", 10, 4, starts, 8);
    ok(rows == 3 && starts[1] == 4 && starts[2] == 8, "wrap 10 columns at 4: 3 rows at 0,4,8");
    ok(tui_wrap("", 0, 10, starts, 8) == 1, "an empty line takes one row");
    rows = tui_wrap("hello world foo", 15, 8, starts, 8);
    ok(rows == 3 && starts[1] == 6 && starts[2] == 12, "words wrap whole: 'hello ' 'world ' 'foo'");
    rows = tui_wrap("aaaa bbbb", 9, 4, starts, 8);
    ok(rows == 2 && starts[1] == 5, "a space right after a full row ends it: 'aaaa' 'bbbb'");
    rows = tui_wrap("a verylongword", 14, 6, starts, 8);
    ok(rows == 3 && starts[1] == 2 && starts[2] == 8, "a word longer than the row is cut");
    ok(tui_wrap(u, strlen(u), 1, NULL, 0) == 4, "width 1: a too-wide character still advances");
    return done_testing();
}
