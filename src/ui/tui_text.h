/*
 * tui_text.h - the workbench's text handling that needs no terminal, so it
 * can be unit-tested: gnuplot's ANSI-coloured `dumb` output turned into a
 * grid of coloured cells, the output area's line store (scrollback) and
 * column arithmetic for UTF-8 text.
 */
#ifndef CWB_TUI_TEXT_H
#define CWB_TUI_TEXT_H

#include <stddef.h>

/* ---- coloured cells ---------------------------------------------------- */

typedef struct {
    char ch;             /* ASCII; ' ' when empty */
    signed char fg;      /* -1 default, 0..7 = black red green yellow blue magenta cyan white */
    unsigned char bold;
} tui_cell;

/* Fill a h x w grid from text carrying ANSI SGR escapes (ESC [ ... m):
 * colours 30-37/90-97, 39 default, 0 reset, 1 bold, 22 normal; 38;5;n and
 * 38;2;r;g;b are folded to the nearest of the 8 colours.  Other escapes and
 * control characters (gnuplot starts with a form feed) are skipped, text
 * beyond the grid is clipped, missing cells are blank.  Returns the number
 * of text lines seen. */
int tui_ansi_grid(const char *text, size_t n, tui_cell *grid, int h, int w);

/* ---- the output area's lines -------------------------------------------- */

enum { TUI_ATTR_TEXT, TUI_ATTR_ECHO, TUI_ATTR_ERROR, TUI_ATTR_INFO };

/* A highlighted stretch of a line (a lesson's term under discussion): the
 * bytes shift-out ... shift-in, which the store keeps (every other control
 * character is dropped), which take no column, and which the output area
 * draws as bold yellow on and off. */
#define TUI_HL_ON "\x0e"
#define TUI_HL_OFF "\x0f"

/* Bytes kept of one line (the rest of a longer line is dropped). */
#define TUI_LINE_MAX 65536

typedef struct {
    char *s;             /* NUL-terminated */
    size_t n, cap;
    int attr;
} tui_line;

typedef struct {
    tui_line *lines;     /* ring of cap lines */
    int cap, start, count;
    int open;            /* the last line takes more text (no newline yet) */
    int esc;             /* escape-sequence state across writes */
    int cr;              /* a carriage return is pending */
    long added;          /* lines ever added: lets the view follow new text */
} tui_sb;

void tui_sb_init(tui_sb *sb, int cap);
void tui_sb_free(tui_sb *sb);
/* Text as a program writes it: '\n' ends a line, '\r' then text rewrites the
 * line (progress bars), tabs go to the next multiple of 8, TUI_HL_ON and
 * TUI_HL_OFF are kept, escape sequences and other control characters are
 * dropped.  The oldest lines go when the
 * store is full; a line keeps at most TUI_LINE_MAX bytes. */
void tui_sb_write(tui_sb *sb, const char *s, size_t n, int attr);
/* One whole line (an open line is closed first). */
void tui_sb_line(tui_sb *sb, const char *s, int attr);
/* Line i, 0 = oldest; NULL out of range. */
const tui_line *tui_sb_get(const tui_sb *sb, int i);

/* ---- columns ------------------------------------------------------------ */

/* Display columns of UTF-8 text (wcwidth under the current locale; a
 * malformed byte counts one column, TUI_HL_ON and TUI_HL_OFF none). */
int tui_u8_width(const char *s, size_t n);
/* Bytes of s that fit in cols columns without splitting a character;
 * *used (nullable) receives their width. */
size_t tui_u8_fit(const char *s, size_t n, int cols, int *used);
/* Rows a line takes when wrapped at width (>= 1), at spaces where a row
 * has one (a word longer than the row is cut); starts[] (nullable,
 * maxrows entries) receives the byte offset of each row.  A row may end in
 * a space one column past the width: trim it when drawing. */
int tui_wrap(const char *s, size_t n, int width, size_t *starts, int maxrows);

#endif
