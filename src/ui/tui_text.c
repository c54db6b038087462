/*
 * tui_text.c - ANSI cells, the scrollback store and UTF-8 columns (see
 * tui_text.h).  Nothing here touches the terminal.
 */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* wcwidth */
#endif
#include "ui/tui_text.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* ---- ANSI SGR -------------------------------------------------------------- */

/* Nearest of the 8 basic colours to an RGB triple: each channel is on when
 * it is above half, which is how 8-colour terminals fold colours anyway. */
static int rgb8(int r, int g, int b) {
    int c = (r > 127 ? 1 : 0) | (g > 127 ? 2 : 0) | (b > 127 ? 4 : 0);
    return c;
}

/* The xterm 256-colour cube and grey ramp, folded to 8 colours. */
static int ansi256(int n) {
    if (n < 8) return n;
    if (n < 16) return n - 8;
    if (n < 232) {
        n -= 16;
        int r = n / 36, g = (n / 6) % 6, b = n % 6;
        return rgb8(r * 51, g * 51, b * 51);
    }
    return n < 244 ? 0 : 7;
}

static void apply_sgr(const int *p, int np, signed char *fg, unsigned char *bold) {
    if (np == 0) { /* ESC[m is a reset */
        *fg = -1;
        *bold = 0;
        return;
    }
    for (int i = 0; i < np; i++) {
        int v = p[i];
        if (v == 0) *fg = -1, *bold = 0;
        else if (v == 1) *bold = 1;
        else if (v == 22) *bold = 0;
        else if (v >= 30 && v <= 37) *fg = (signed char)(v - 30);
        else if (v >= 90 && v <= 97) *fg = (signed char)(v - 90), *bold = 1;
        else if (v == 39) *fg = -1;
        else if (v == 38 && i + 2 < np && p[i + 1] == 5) {
            *fg = (signed char)ansi256(p[i + 2]);
            i += 2;
        } else if (v == 38 && i + 4 < np && p[i + 1] == 2) {
            *fg = (signed char)rgb8(p[i + 2], p[i + 3], p[i + 4]);
            i += 4;
        } else if (v == 48 && i + 2 < np && p[i + 1] == 5) i += 2; /* backgrounds ignored */
        else if (v == 48 && i + 4 < np && p[i + 1] == 2) i += 4;
    }
}

int tui_ansi_grid(const char *text, size_t n, tui_cell *grid, int h, int w) {
    for (int i = 0; i < h * w; i++) grid[i] = (tui_cell){' ', -1, 0};
    signed char fg = -1;
    unsigned char bold = 0;
    int y = 0, x = 0, lines = 0, any = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == 0x1b) {
            if (i + 1 < n && text[i + 1] == '[') {
                int p[16], np = 0, cur = -1;
                size_t j = i + 2;
                for (; j < n; j++) {
                    char d = text[j];
                    if (d >= '0' && d <= '9') cur = (cur < 0 ? 0 : cur * 10) + (d - '0');
                    else if (d == ';') {
                        if (np < 16) p[np++] = cur < 0 ? 0 : cur;
                        cur = -1;
                    } else
                        break;
                }
                if (cur >= 0 && np < 16) p[np++] = cur;
                if (j < n && text[j] == 'm') apply_sgr(p, np, &fg, &bold);
                i = j < n ? j : n - 1; /* skip the whole sequence, whatever its final byte */
            } else
                i++; /* ESC x: two-byte sequence */
            continue;
        }
        if (c == '\n') {
            y++;
            x = 0;
            lines++;
            any = 0;
            continue;
        }
        if (c == '\t') {
            x = (x / 8 + 1) * 8;
            continue;
        }
        if (c < 0x20 || c == 0x7f) continue; /* form feed, CR, ... */
        any = 1;
        if (y < h && x < w) grid[y * w + x] = (tui_cell){(char)(c < 0x80 ? c : '?'), fg, bold};
        /* a UTF-8 character takes one cell: skip its continuation bytes */
        if (c >= 0xc0)
            while (i + 1 < n && ((unsigned char)text[i + 1] & 0xc0) == 0x80) i++;
        x++;
    }
    return lines + any;
}

/* ---- scrollback ------------------------------------------------------------- */

void tui_sb_init(tui_sb *sb, int cap) {
    memset(sb, 0, sizeof *sb);
    sb->cap = cap > 1 ? cap : 2;
    sb->lines = calloc((size_t)sb->cap, sizeof *sb->lines);
    if (!sb->lines) sb->cap = 0;
}

void tui_sb_free(tui_sb *sb) {
    for (int i = 0; i < sb->cap; i++) free(sb->lines[i].s);
    free(sb->lines);
    memset(sb, 0, sizeof *sb);
}

const tui_line *tui_sb_get(const tui_sb *sb, int i) {
    if (i < 0 || i >= sb->count) return NULL;
    return &sb->lines[(sb->start + i) % sb->cap];
}

static tui_line *last(tui_sb *sb) { return &sb->lines[(sb->start + sb->count - 1) % sb->cap]; }

/* Start a new, empty line (dropping the oldest if full). */
static tui_line *new_line(tui_sb *sb, int attr) {
    tui_line *l;
    if (sb->count < sb->cap) {
        sb->count++;
        l = last(sb);
    } else {
        l = &sb->lines[sb->start];
        sb->start = (sb->start + 1) % sb->cap;
    }
    l->n = 0;
    if (l->s) l->s[0] = '\0';
    l->attr = attr;
    sb->open = 1;
    sb->added++;
    return l;
}

static void put(tui_line *l, const char *s, size_t n) {
    if (l->n + n > TUI_LINE_MAX) /* a monster line would slow every redraw: keep its start */
        n = l->n < TUI_LINE_MAX ? TUI_LINE_MAX - l->n : 0;
    if (n == 0) return;
    if (l->n + n + 1 > l->cap) {
        size_t cap = (l->n + n + 1) * 2;
        if (cap < 64) cap = 64;
        char *p = realloc(l->s, cap);
        if (!p) return; /* out of memory: the text is dropped, the UI goes on */
        l->s = p;
        l->cap = cap;
    }
    memcpy(l->s + l->n, s, n);
    l->n += n;
    l->s[l->n] = '\0';
}

void tui_sb_write(tui_sb *sb, const char *s, size_t n, int attr) {
    if (!sb->cap) return;
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (sb->esc == 1) { /* after ESC */
            sb->esc = c == '[' ? 2 : 0;
            i++;
            continue;
        }
        if (sb->esc == 2) { /* inside CSI: ends at a byte in @..~ */
            if (c >= 0x40 && c <= 0x7e) sb->esc = 0;
            i++;
            continue;
        }
        if (c == 0x1b) {
            sb->esc = 1;
            i++;
            continue;
        }
        if (c == '\n') {
            if (!sb->open) new_line(sb, attr);
            sb->open = 0;
            sb->cr = 0;
            i++;
            continue;
        }
        if (c == '\r') {
            sb->cr = 1;
            i++;
            continue;
        }
        tui_line *l = sb->open ? last(sb) : new_line(sb, attr);
        if (sb->cr) { /* text after a carriage return replaces the line */
            l->n = 0;
            if (l->s) l->s[0] = '\0';
            sb->cr = 0;
        }
        if (c == '\t') {
            static const char sp[8] = "        ";
            int col = tui_u8_width(l->s ? l->s : "", l->n);
            put(l, sp, (size_t)(8 - col % 8));
            i++;
            continue;
        }
        if ((c < 0x20 && c != 0x0e && c != 0x0f) || c == 0x7f) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && ((unsigned char)s[j] >= 0x20 || s[j] == 0x0e || s[j] == 0x0f) && s[j] != 0x7f) j++;
        put(l, s + i, j - i);
        i = j;
    }
}

void tui_sb_line(tui_sb *sb, const char *s, int attr) {
    sb->open = 0;
    sb->cr = 0;
    sb->esc = 0;
    if (!sb->cap) return;
    if (!*s) new_line(sb, attr);
    else tui_sb_write(sb, s, strlen(s), attr);
    sb->open = 0;
}

/* ---- columns --------------------------------------------------------------------- */

/* Decode one character at s (n > 0 bytes): its length and width. */
static size_t u8_char(const char *s, size_t n, int *width) {
    unsigned char c = (unsigned char)s[0];
    if (c < 0x80) {
        *width = c == 0x0e || c == 0x0f ? 0 : 1;
        return 1;
    }
    mbstate_t st;
    memset(&st, 0, sizeof st);
    wchar_t wc;
    size_t len = mbrtowc(&wc, s, n, &st);
    if (len == (size_t)-1 || len == (size_t)-2 || len == 0) {
        *width = 1;
        return 1;
    }
    int wd = wcwidth(wc);
    *width = wd < 0 ? 1 : wd;
    return len;
}

int tui_u8_width(const char *s, size_t n) {
    int w = 0, cw;
    for (size_t i = 0; i < n;) {
        i += u8_char(s + i, n - i, &cw);
        w += cw;
    }
    return w;
}

size_t tui_u8_fit(const char *s, size_t n, int cols, int *used) {
    int w = 0, cw;
    size_t i = 0;
    while (i < n) {
        size_t len = u8_char(s + i, n - i, &cw);
        if (w + cw > cols) break;
        w += cw;
        i += len;
    }
    if (used) *used = w;
    return i;
}

int tui_wrap(const char *s, size_t n, int width, size_t *starts, int maxrows) {
    if (width < 1) width = 1;
    int rows = 0;
    size_t i = 0;
    do {
        if (starts && rows < maxrows) starts[rows] = i;
        rows++;
        size_t k = tui_u8_fit(s + i, n - i, width, NULL);
        if (k == 0 && i < n) { /* a character wider than the row: take it anyway */
            int cw;
            k = u8_char(s + i, n - i, &cw);
        } else if (i + k < n && s[i + k] == ' ') {
            k++; /* the space after a full row ends it, unseen */
        } else if (i + k < n) { /* break after the row's last space, if it has one */
            size_t j = k;
            while (j > 1 && s[i + j - 1] != ' ') j--;
            if (j > 1) k = j;
        }
        i += k;
    } while (i < n);
    return rows;
}
