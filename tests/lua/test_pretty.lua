-- test_pretty.lua: cwb.pretty / cwb.pp, the printer behind what both REPLs
-- show for a table (src/lua/lpretty.c).  Run as
-- `cwb run --quiet --db DB tests/lua/test_pretty.lua`.
local T = require "cwb.test"
local is, like, throws = T.is, T.like, T.throws
local P = cwb.pretty

is(P{}, "{}", "an empty table")
is(P{1, 2, 3}, "{1, 2, 3}", "a sequence in order, on one line")
is(P{b = 2, a = 1, [3] = "x", [1] = true}, '{true, [3] = "x", a = 1, b = 2}',
   "sequence first, then numbers, then strings sorted")
is(P{["not an id"] = 1, ["end"] = 2, _ok = 3}, '{_ok = 3, ["end"] = 2, ["not an id"] = 1}',
   "keywords and other strings in brackets, identifiers bare")
is(P{[false] = 1, [true] = 2, [1.5] = 3, [-1] = 4}, "{[-1] = 4, [1.5] = 3, [false] = 1, [true] = 2}",
   "numbers then booleans")
is(P{s = 'a "q"\n\t\\'}, [[{s = "a \"q\"\n\t\\"}]], "strings quoted and escaped")
is(P("\1x"), [["\1x"]], "control bytes as decimal escapes")
is(P(3), "3", "a number as print shows it")
is(P(0.5), "0.5", "a float as print shows it")
is(P(nil), "nil", "nil")
like(P("a" .. ("é"):rep(150)), {'^"a' .. ("é"):rep(99) .. '"%.%.%.%(301 bytes%)$'},
     "a long string is cut after 200 bytes at a character boundary, its length said")

-- nesting, bounds, cycles
is(P{a = {b = {c = {d = {e = 1}}}}}, "{a = {b = {c = {d = {...}}}}}", "deeper than 4 levels: {...}")
is(P({a = {b = 1}}, {depth = 1}), "{a = {...}}", "depth= bounds the levels")
is(P({a = {}}, {depth = 1}), "{a = {}}", "an empty table is shown even past the depth")
local cyc = {name = "c"}
cyc.self = cyc
is(P(cyc), '{name = "c", self = <cycle>}', "a table met inside itself is marked <cycle>")
local shared = {1}
is(P{shared, shared}, "{{1}, {1}}", "a table met twice but not inside itself is printed twice")
local long = {}
for i = 1, 120 do long[i] = i end
like(P(long), {"^{\n  1, 2, 3,"}, "a long sequence is packed, several items to a line")
like(P(long), {"50,\n  %.%.%. %(70 more%)\n}$"}, "items beyond 50 are counted, not shown")
is(P({1, 2, 3, 4}, {items = 2}), "{1, 2, ... (2 more)}", "items= bounds the entries")
local l = P(long, {width = 30})
local widest = 0
for line in l:gmatch("[^\n]+") do widest = math.max(widest, #line) end
T.ok(widest <= 30, "short sequence items are packed into lines of at most width columns (" .. widest .. ")")

-- the layout: one line when it fits, else one entry per line, indented by two
local summary = {steps = 100, status = "done", eval = {top1 = 0.5, align = 0.25, unif = -3.5,
                 gap = 0.125, note = "a note long enough to push this table past the width"}}
is(P(summary), [[{
  eval = {
    align = 0.25,
    gap = 0.125,
    note = "a note long enough to push this table past the width",
    top1 = 0.5,
    unif = -3.5,
  },
  status = "done",
  steps = 100,
}]], "a wide table: one entry per line, nested tables indented")
is(P({a = {1, 2}, b = "x"}, {width = 80}), '{a = {1, 2}, b = "x"}', "a narrow table stays on one line")

-- long texts: the buffer grows while entries are added, at every possible
-- moment (value lengths 1..200 move where it fills up)
local wrong = 0
for len = 1, 200 do
  local t, want = {}, {"{"}
  for i = 1, 30 do
    t[string.format("k%02d", i)] = ("v"):rep(len)
    want[#want + 1] = string.format('  k%02d = "%s",', i, ("v"):rep(len))
  end
  want[#want + 1] = "}"
  if P(t) ~= table.concat(want, "\n") then wrong = wrong + 1 end
end
is(wrong, 0, "tables of up to 7 kB print whole, one entry per line, however the buffer grows")

-- values with their own text
local obj = setmetatable({}, {__tostring = function() return "<obj>" end})
is(P{o = obj}, "{o = <obj>}", "a table with __tostring prints as it says")
like(P{t = cwb.tensor.ones(1, 2)}, {"^{t = tensor 1x2"}, "userdata print through their __tostring")
is(P{f = print}, "{f = " .. tostring(print) .. "}", "functions as print shows them")
throws(function() P({}, {depth = 0}) end, "option 'depth': 0 is out of range", "bad options are refused")
throws(function() P({}, {colour = 1}) end, "colour", "unknown options are refused")
throws(function() P(setmetatable({}, {__tostring = function() error("inner") end})) end, "inner",
       "an error in __tostring is raised, not swallowed")

-- cwb.pp prints through the global print, as the REPLs show results
local got = {}
local saved = print
print = function(...) got[#got + 1] = table.concat({...}, "\t") end
cwb.pp({z = 1, a = {2}}, "text", 7)
print = saved
is(got[1], "{a = {2}, z = 1}\ttext\t7", "cwb.pp: tables readable, other values as print shows them")

T.done()
