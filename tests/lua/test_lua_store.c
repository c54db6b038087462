/*
 * test_lua_store.c - cwb.runs and cwb.plot from Lua.
 *
 * A C harness (so that it can also look at the store after lua_close) that
 * opens the whole cwb module and runs Lua chunks; ok() and diag() are
 * exported to Lua and write TAP.  Checks: runs recorded from Lua read back
 * through list/show/metrics/export/plot; params become JSON; argument
 * errors read like Lua's own; store objects close on __gc and mark
 * unfinished runs interrupted, as does closing the state for the session
 * store; an unopenable store is reported and not retried; figures draw as
 * text and PNG from tables and tensors, report bad options, and without
 * gnuplot return nil plus the reason instead of stopping the recipe.
 */
#include "lua/lcwb.h"
#include "plot/gnuplot.h"
#include "store/store.h"
#include "../tap.h"

#include <lualib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static int l_ok(lua_State *L) {
    int pass = lua_toboolean(L, 1);
    const char *what = luaL_optstring(L, 2, "");
    ok(pass, "%s", what);
    lua_pushboolean(L, pass);
    return 1;
}

static int l_diag(lua_State *L) {
    diag("%s", luaL_checkstring(L, 1));
    return 0;
}

static int l_now(lua_State *L) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    lua_pushnumber(L, (double)t.tv_sec + 1e-9 * (double)t.tv_nsec);
    return 1;
}

static lua_State *new_state(void) {
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "cwb", luaopen_cwb, 1);
    lua_pop(L, 1);
    lua_register(L, "ok", l_ok);
    lua_register(L, "diag", l_diag);
    lua_register(L, "now", l_now);
    lua_pushstring(L, dir);
    lua_setglobal(L, "DIR");
    return L;
}

/* Run a chunk; a Lua error is one failed test carrying the message. */
static void run(lua_State *L, const char *name, const char *chunk) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (luaL_loadbuffer(L, chunk, strlen(chunk), name) != LUA_OK ||
        lua_pcall(L, 0, 0, 0) != LUA_OK) {
        ok(0, "%s: Lua error: %s", name, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    diag("%s: %.2f s", name, (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
}

/* Helpers shared by the chunks. */
static const char *prelude =
    "function raises(f, pat, what)\n"
    "  local okc, err = pcall(f)\n"
    "  local m = tostring(err)\n"
    "  ok(not okc and m:find(pat, 1, true) ~= nil, what .. ': ' .. m)\n"
    "end\n"
    "function readall(p) local f = assert(io.open(p, 'rb')); local s = f:read('a'); "
    "f:close(); return s end\n";

static const char *runs_chunk =
    "local runs = cwb.runs\n"
    "ok(runs.path() == DIR .. '/session.db', 'the session store follows CWB_DB: ' .. runs.path())\n"
    "local id = runs.begin('decomposable', {batch = 8, noise = 0.5, name = 'a\"b',\n"
    "  nested = {alpha = 10, list = {1, 2.5, true}}, bad = 0/0})\n"
    "ok(math.type(id) == 'integer' and id == 1, 'begin returns the run id 1')\n"
    "for step = 0, 99 do\n"
    "  ok_log = runs.log(id, step, 'loss', 2.0 / (step + 1))\n"
    "  if step % 10 == 0 then runs.log(id, step, 'ratio', 1 + step / 100) end\n"
    "end\n"
    "ok(ok_log == true, 'log returns true')\n"
    "ok(runs.finish(id) == true, 'finish defaults to done')\n"
    "local l = runs.list()\n"
    "ok(#l == 1 and l[1].id == id and l[1].status == 'done' and l[1].seed == 7 and\n"
    "   l[1].name == 'decomposable' and l[1].recipe == 'recipes/test.lua' and l[1].ended,\n"
    "   'list: one run with its recipe, name, seed (--seed) and status')\n"
    "ok(l[1].params == '{\"bad\":null,\"batch\":8,\"name\":\"a\\\\\"b\",\"nested\":{\"alpha\":10,'\n"
    "   .. '\"list\":[1,2.5,true]},\"noise\":0.5}', 'params as sorted JSON: ' .. l[1].params)\n"
    "local r = runs.show(id)\n"
    "ok(r and r.metrics.loss.count == 100 and r.metrics.loss.first == 2 and\n"
    "   r.metrics.loss.last == 0.02 and r.metrics.ratio.count == 10 and\n"
    "   r.metrics.ratio.max == 1.9 and r.metrics.ratio.last_step == 90, 'show: metric summaries')\n"
    "local none, msg = runs.show(999)\n"
    "ok(none == nil and msg:find('no run 999'), 'show of a missing run: nil, ' .. tostring(msg))\n"
    "local steps, values = runs.metrics(id, 'ratio')\n"
    "ok(#steps == 10 and steps[1] == 0 and steps[10] == 90 and values[10] == 1.9,\n"
    "   'metrics: steps and values in order')\n"
    "local s0, v0 = runs.metrics(id, 'absent')\n"
    "ok(#s0 == 0 and #v0 == 0, 'metrics of an absent name: empty tables')\n"
    "local csv = DIR .. '/m.csv'\n"
    "ok(runs.export(id, csv) == true, 'export to a file')\n"
    "local text = readall(csv)\n"
    "ok(text:sub(1, 44) == 'step,name,value\\n0,loss,2\\n0,ratio,1\\n1,loss,1\\n',\n"
    "   'export: long CSV in step order')\n"
    "runs.export(id, csv, {wide = true})\n"
    "local wtext = readall(csv)\n"
    "ok(wtext:sub(1, 29) == 'step,loss,ratio\\n0,2,1\\n1,1,\\n2,', 'export wide: one column per metric')\n"
    "local nx, emsg = runs.export(999, csv)\n"
    "ok(nx == nil and emsg:find('no run 999'), 'export of a missing run: nil, msg')\n"
    "if cwb.plot.available() then\n"
    "  local fig = runs.plot(id, 'loss')\n"
    "  ok(type(fig) == 'string' and fig:find('run 1: recipes/test.lua / decomposable', 1, true),\n"
    "     'plot: a text figure with the run in its title')\n"
    "  local png = DIR .. '/loss.png'\n"
    "  ok(runs.plot(id, 'loss', png) == png and readall(png):sub(2, 4) == 'PNG', 'plot into a PNG')\n"
    "  local np, pm = runs.plot(id, 'nothing')\n"
    "  ok(np == nil and pm:find(\"no metric 'nothing'\"), 'plot of a missing metric: nil, ' .. pm)\n"
    "end\n"
    "-- argument errors\n"
    "raises(function() runs.log('x', 1, 'loss', 1) end,\n"
    "  \"bad argument #1 to 'log' (number expected, got string)\", 'log with a string id')\n"
    "raises(function() runs.log(id, 1, 'loss', 'high') end,\n"
    "  \"bad argument #4 to 'log' (number expected, got string)\", 'log with a string value')\n"
    "raises(function() runs.log(0, 1, 'loss', 1) end, 'run ids start at 1', 'log to run 0')\n"
    "raises(function() runs.finish(id, 'bogus') end, \"invalid option 'bogus'\", 'finish status')\n"
    "raises(function() runs.begin('x', 42) end, 'table or JSON string expected', 'begin params')\n"
    "raises(function() runs.begin('x', '{nope') end, 'not valid JSON', 'begin with bad JSON')\n"
    "raises(function() runs.begin() end, \"bad argument #1 to 'begin'\", 'begin without a name')\n"
    "raises(function() runs.export(id, csv, {width = 1}) end, \"unknown option 'width'\",\n"
    "  'export with an unknown option')\n"
    "ok(runs.begin('with seed', '{\"a\":1}', 123) == 2, 'begin with JSON text and a seed')\n"
    "ok(runs.list()[2].seed == 123 and runs.list()[2].params == '{\"a\":1}', 'seed and JSON kept')\n"
    "ok(cwb.doc(runs.log):find('cwb.runs.log%(run, step, name, value%)'), 'log has a doc string')\n"
    "local h = cwb.helptext()\n"
    "ok(h:find('cwb.runs.begin(name, params', 1, true) and h:find('st:metrics(id, name)', 1, true)\n"
    "   and h:find('cwb.plot.figure{', 1, true) and h:find('fig:hline(y', 1, true),\n"
    "   'help() lists cwb.runs, cwb.plot and their methods')\n"
    "-- run 2 stays unfinished: closing the state marks it interrupted\n";

static const char *object_chunk =
    "local p = DIR .. '/obj.db'\n"
    "local st = cwb.runs.open(p)\n"
    "ok(tostring(st) == 'cwb.store(' .. p .. ')', 'tostring: ' .. tostring(st))\n"
    "local a = st:begin('obj', {k = 1}, 5)\n"
    "st:log(a, 1, 'loss', 0.5)\n"
    "ok(st:finish(a, 'failed') and st:show(a).status == 'failed', 'methods: begin/log/finish/show')\n"
    "ok(#st:list() == 1 and st:path() == p, 'methods: list and path')\n"
    "local b = st:begin('left open', nil, 5)\n"
    "st:log(b, 3, 'loss', 0.25)\n"
    "st = nil\n"
    "collectgarbage(); collectgarbage()\n"
    "local again = cwb.runs.open(p)\n"
    "local rb = again:show(b)\n"
    "ok(rb.status == 'interrupted' and rb.metrics.loss.last == 0.25,\n"
    "   '__gc flushed the metrics and marked the open run interrupted')\n"
    "again:close()\n"
    "ok(tostring(again) == 'cwb.store(closed)', 'closed store prints as closed')\n"
    "raises(function() again:list() end, 'the store is closed', 'use after close')\n"
    "raises(function() cwb.runs.open(DIR .. '/no/such/dir/x.db') end, 'cwb.runs.open: ',\n"
    "  'open in a missing folder')\n"
    "raises(function() cwb.runs.open() end, \"bad argument #1 to 'open' (string expected\",\n"
    "  'open without a path')\n";

static const char *plot_chunk =
    "local plot = cwb.plot\n"
    "ok(plot.available() == true, 'gnuplot is available')\n"
    "local fig = plot.figure{terminal = 'dumb', width = 100, height = 30, layout = {1, 2},\n"
    "                        title = 'Gradient bias'}\n"
    "ok(tostring(fig):find('cwb.figure%(dumb'), 'tostring: ' .. tostring(fig))\n"
    "ok(fig:panel{title = 'theta ratio', xlabel = 'step', ylabel = 'theta/theta*',\n"
    "             yrange = {0.5, 5}} == 1,\n"
    "   'panel 1')\n"
    "local xs, up, down = {}, {}, {}\n"
    "for i = 1, 200 do xs[i] = i; up[i] = 1 + 2 / i; down[i] = 2.7 - 1 / i end\n"
    "fig:line(xs, up, {color = 'red', title = 'decomposable'})\n"
    "fig:line(xs, down, {color = 'blue', width = 2, title = 'conventional'})\n"
    "fig:hline(1.0, {label = 'optimum'})\n"
    "fig:panel{title = 'retrieval', logy = true, yrange = {0.1, 10}, key = 'bottom left'}\n"
    "fig:points(cwb.tensor.from({1, 2, 3, 4}), cwb.tensor.from({0.5, 1, 2, 4}),\n"
    "           {title = 'top-1'})\n"
    "local text = fig:draw()\n"
    "ok(type(text) == 'string', 'draw returns the text of a dumb figure')\n"
    "for _, w in ipairs{'Gradient bias', 'theta ratio', 'retrieval', 'decomposable',\n"
    "                   'conventional', 'optimum', 'top-1', 'step'} do\n"
    "  ok(text:find(w, 1, true), 'the figure shows ' .. w)\n"
    "end\n"
    "fig:close()\n"
    "ok(tostring(fig) == 'cwb.figure(closed)', 'closed')\n"
    "raises(function() fig:draw() end, 'the figure is closed', 'draw after close')\n"
    "-- PNG, atomically\n"
    "local out = DIR .. '/fig.png'\n"
    "local f2 = plot.figure{output = out, width = 640, height = 400}\n"
    "local h = f2:line(nil, {3, 1, 2}, {title = 'three'})\n"
    "ok(f2:draw() == out and readall(out):sub(1, 8) == '\\137PNG\\r\\n\\26\\n', 'PNG written')\n"
    "-- update: only that series changes\n"
    "local d = plot.figure{terminal = 'dumb'}\n"
    "local hd = d:line({1, 2, 3}, {1, 2, 3})\n"
    "d:update(hd, {1, 2, 3}, {100, 200, 300})\n"
    "local t2 = d:draw()\n"
    "ok(t2:find('300', 1, true) and not t2:find('3.5', 1, true), 'update replaced the data')\n"
    "raises(function() d:update(hd + 5, {1}, {1}) end, 'not a series of this figure',\n"
    "  'update with a bad handle')\n"
    "-- bad arguments\n"
    "raises(function() plot.figure{terminal = 'jpeg', output = 'x'} end,\n"
    "  \"option 'terminal': 'jpeg' is not one of\", 'unknown terminal')\n"
    "raises(function() plot.figure{terminal = 'svg'} end, 'needs an output file', 'svg without output')\n"
    "raises(function() plot.figure{terminal = 'dumb', colour = 1} end, \"unknown option 'colour'\",\n"
    "  'misspelt option')\n"
    "raises(function() plot.figure{terminal = 'dumb', layout = {0, 2}} end, \"option 'layout'\",\n"
    "  'bad layout')\n"
    "raises(function() d:line({1, 2}, {1}) end, 'ys has 1 values but xs has 2', 'length mismatch')\n"
    "raises(function() d:line({1, 'a'}, {1, 2}) end, 'xs[2]: number expected, got string',\n"
    "  'a string among the numbers')\n"
    "raises(function() d:line({1}, {1}, {color = \"red' lw 9\"}) end, 'is not a colour',\n"
    "  'a colour that would inject gnuplot commands')\n"
    "raises(function() d:line({1}, 5) end, 'table or tensor expected, got number', 'ys a number')\n"
    "raises(function() d:line({1}, cwb.tensor.new(2, 2)) end, 'a vector expected, got a 2x2',\n"
    "  'a matrix is not a series')\n"
    "raises(function() d:hline('one') end, \"bad argument #1 to 'hline'\", 'hline y a string')\n"
    "raises(function() d:panel{} ; d:panel{} end, 'layout is full', 'too many panels')\n"
    "raises(function() plot.figure{terminal = 'dumb'}:draw() end, 'nothing to draw', 'empty figure')\n"
    "raises(function() d:panel(1, {yrange = {2, 1}}) end, 'lo < hi', 'empty y range')\n"
    "raises(function() d:panel(3) end, 'panel 3 does not exist', 'selecting a missing panel')\n"
    "-- titles with quotes and newlines cannot break out of gnuplot strings\n"
    "local q = plot.figure{terminal = 'dumb', title = \"it's\\nfine\"}\n"
    "q:line({1, 2}, {1, 2}, {title = \"a'b\"})\n"
    "local qt, qm = q:draw()\n"
    "ok(qt and qt:find(\"it's fine\", 1, true) and qt:find(\"a'b\", 1, true),\n"
    "   'quotes and newlines in titles: ' .. tostring(qm))\n"
    "-- a log axis over less than a decade still gets labelled tics (1-2-5)\n"
    "local lg = plot.figure{terminal = 'dumb', width = 60, height = 20}\n"
    "lg:panel{logy = true}\n"
    "lg:line({1, 2, 3}, {0.3, 1, 4})\n"
    "local lt = lg:draw()\n"
    "ok(lt and lt:find('\\n%s*0%.5 ') and lt:find('\\n%s*2 ') and lt:find('\\n%s*0%.3 ') == nil,\n"
    "   'log y axis: tics at 0.5, 1, 2')\n"
    "lg:close()\n"
    "-- many series stay fast: datablocks, sent once\n"
    "local big = plot.figure{terminal = 'dumb'}\n"
    "local bx = {} for i = 1, 20000 do bx[i] = i end\n"
    "for k = 1, 20 do local by = {} for i = 1, 20000 do by[i] = k + math.sin(i / 500) end\n"
    "  big:line(bx, by) end\n"
    "local c0, w0 = os.clock(), now()\n"
    "local okb = big:draw()\n"
    "local c1, w1 = os.clock(), now()\n"
    "big:draw()\n"
    "local c2, w2 = os.clock(), now()\n"
    "diag(string.format('20 x 20000 points: first draw %.2f s (%.2f s CPU in cwb), '\n"
    "     .. 'redraw %.2f s (%.2f s CPU)', w1 - w0, c1 - c0, w2 - w1, c2 - c1))\n"
    "ok(okb, 'draw of 400k points')\n"
    "ok(c2 - c1 < (c1 - c0) / 2 + 0.01, 'a redraw does not re-send unchanged data')\n"
    "big:close()\n";

static const char *nognuplot_chunk =
    "local okp, msg = cwb.plot.available()\n"
    "ok(okp == false and msg:find('not found', 1, true), 'available() -> false, ' .. msg)\n"
    "local fig = cwb.plot.figure{terminal = 'dumb'}\n"
    "fig:line({1, 2}, {1, 2})\n"
    "local r, m = fig:draw()\n"
    "ok(r == nil and m:find('not found', 1, true), 'draw without gnuplot: nil, ' .. tostring(m))\n"
    "local r2 = fig:draw()\n"
    "ok(r2 == nil, 'and again, without raising')\n"
    "local id = cwb.runs.begin('no plot', {})\n"
    "cwb.runs.log(id, 1, 'loss', 1)\n"
    "local pr, pm = cwb.runs.plot(id, 'loss')\n"
    "ok(pr == nil and pm:find('not found', 1, true), 'runs.plot without gnuplot: nil, msg')\n"
    "ok(cwb.runs.finish(id), 'the run goes on')\n";

static const char *badstore_chunk =
    "local okl, err = pcall(cwb.runs.list)\n"
    "ok(not okl and tostring(err):find('no run store', 1, true) and\n"
    "   tostring(err):find('/no/such/dir/x.db', 1, true), 'unopenable session store: ' ..\n"
    "   tostring(err))\n";

static int grab_status(const cwb_run_info *r, void *ud) {
    snprintf(ud, 32, "%s", r->status);
    return 0;
}

int main(void) {
    if (tap_tmpdir(dir, sizeof dir, "lua-store")) return 99;
    char db[300];
    snprintf(db, sizeof db, "%s/session.db", dir);
    setenv("CWB_DB", db, 1);
    cwb_lua_set_store_path(NULL);
    cwb_lua_set_context("recipes/test.lua", dir, 7);

    lua_State *L = new_state();
    run(L, "prelude", prelude);
    run(L, "runs", runs_chunk);
    run(L, "object", object_chunk);
    char err[512];
    if (cwb_gnuplot_available(NULL, 0, err, sizeof err)) run(L, "plot", plot_chunk);
    else ok(1, "# SKIP gnuplot not installed: %s", err);
    lua_close(L);

    /* closing the state closed the session store: run 2 was left open */
    cwb_store *s = cwb_store_open(db, err, sizeof err);
    char status[32] = "";
    if (s) cwb_store_run_get(s, 2, grab_status, status);
    cwb_store_close(s);
    ok(strcmp(status, "interrupted") == 0,
       "lua_close closes the session store: the open run is interrupted (%s)", status);

    /* no gnuplot */
    setenv("CWB_GNUPLOT", "/nonexistent", 1);
    L = new_state();
    run(L, "prelude", prelude);
    run(L, "nognuplot", nognuplot_chunk);
    lua_close(L);
    unsetenv("CWB_GNUPLOT");

    /* a store that cannot be opened */
    cwb_lua_set_store_path("/no/such/dir/x.db");
    L = new_state();
    run(L, "badstore", badstore_chunk);
    ok(cwb_lua_store(L) == NULL && strstr(cwb_lua_store_error(), "/no/such/dir/x.db"),
       "cwb_lua_store: NULL and the reason: %s", cwb_lua_store_error());
    lua_close(L);
    cwb_lua_set_store_path(NULL);

    tap_rmtree(dir);
    return done_testing();
}
