/*
 * lpretty.h - Lua values as readable text: the one printer behind what both
 * REPLs show for a table (cwb_lua_print_results in lchunk.c) and behind
 * cwb.pretty / cwb.pp for recipes.
 *
 * Layer: lua (the binding).  Included by lchunk.c, lcwb.c (which registers
 * cwb.pretty and cwb.pp) and the workbench (which sets the width).
 *
 * A table prints as a Lua constructor: its sequence part first, in order,
 * then the other keys sorted (numbers, then strings, then booleans, then
 * the rest), identifiers bare and other keys in brackets, strings quoted.
 * It stays on one line when that fits the width; otherwise one entry per
 * line (short sequence items packed several to a line), indented by two.
 * Bounded: tables deeper than `depth` print as {...}, at most `items`
 * entries per table are shown ("... (N more)"), strings are cut after 200
 * bytes; a table met again inside itself prints as <cycle>.  Tables and
 * userdata with a __tostring metamethod print as it says.
 */
#ifndef CWB_LPRETTY_H
#define CWB_LPRETTY_H

#include <lua.h>

typedef struct {
    int depth;  /* nesting levels shown, 1..32 */
    int items;  /* entries shown per table, >= 1 */
    int width;  /* columns a one-line table may take, >= 20 */
} cwb_pretty_opts;

/* depth 4, items 50, width: the print width (80 unless set). */
void cwb_pretty_defaults(cwb_pretty_opts *o);
/* The columns the REPL's output has (the workbench sets its output area's). */
void cwb_lua_set_print_width(int cols);

/* Push the text of the value at idx.  May raise (out of memory, or a
 * __tostring metamethod that fails): call it in protected mode. */
void cwb_lua_pretty(lua_State *L, int idx, const cwb_pretty_opts *o);

/* Replace each plain table (no __tostring) among the values above base by
 * its text, leaving other values as they are: what a REPL shows.  May
 * raise, as cwb_lua_pretty. */
void cwb_lua_pretty_values(lua_State *L, int base);

/* cwb.pretty(v [, {depth=, items=, width=}]) -> string and cwb.pp(...):
 * print the values as the REPL shows them. */
int cwb_lua_l_pretty(lua_State *L);
int cwb_lua_l_pp(lua_State *L);

#endif
