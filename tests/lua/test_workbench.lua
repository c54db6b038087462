-- test_workbench.lua - the workbench's commands written in Lua
-- (lua/cwb/workbench.lua, lua/cwb/presets.lua), headless: rerun{...} runs
-- the last run again with one change, named after it; compare "tau" finds
-- the runs that differ in tau alone and says what differs; the presets show
-- their concept (the measured claims of docs/lessons.md, loosely); a
-- session round-trips and a malformed one is refused in one line.
local T = require "cwb.test"
local W = require "cwb.workbench"
local P = require "cwb.presets"

local said, release = T.capture()

-- names and labels
T.is(W.change_label{tau = 0.5, lr = 0.05}, "lr=0.05 tau=0.5", "a change label: keys sorted, numbers as %g")
T.is(W.rename("temperature tau=1", {tau = 0.05}), "temperature tau=0.05", "rename replaces the changed key")
T.is(W.rename("tui-infonce", {tau = 0.5}), "tui-infonce tau=0.5", "and adds a new one")
T.is(W.fmt(0.1), "0.10", "fmt: two significant digits")
T.is(W.fmt(64), "64", "fmt: whole numbers whole")

-- rerun: the last run with one change
local tr = cwb.trainer.new{seed = 2, name = "wb", data = {n = 128, clusters = 4, dim = 8}, batch = 16,
                           encoder = {dims = {8, 16, 8}}, tau = 0.2}
local first = tr:run{steps = 30, eval = false}
W.rerun{tau = 0.5, lr = 0.02}
local text = said()
local again = cwb.runs.show(cwb.last_run().run)   -- (other tests record into the same store)
T.is(again.name, "wb lr=0.02 tau=0.5", "rerun{tau = 0.5, lr = 0.02} names the run after its changes")
local p = cwb.runs.params(again.id)
T.ok(math.abs(p.tau - 0.5) < 1e-6 and math.abs(p["optim.lr"] - 0.02) < 1e-6 and p["data.n"] == 128,
     "its parameters: tau 0.5, optim.lr 0.02 (a knob name finds its option), the rest as before")
T.is(cwb.runs.metrics(again.id, "loss") and #select(2, cwb.runs.metrics(again.id, "loss")), 30,
     "it ran the last run's steps")
T.like(text, "#" .. first.run .. " wb: loss", "it says how both runs ended")
T.like(text, "they differ in", "and what differs (plain REPL: compare)")
T.throws(function() W.rerun{nonsense = 1} end, "unknown option 'nonsense'", "an unknown change is the constructor's error")
T.throws(function() W.rerun(5) end, "rerun: a table of changes", "rerun(5) is refused")

-- compare "tau": the runs that differ from the latest in tau alone (a seed
-- of this invocation's own: the test store keeps the runs of earlier ones)
local seed = 1000 + #(cwb.runs.list() or {})
local base = cwb.trainer.new{seed = seed, name = "cmp", data = {n = 128, clusters = 4, dim = 8}, batch = 16,
                             encoder = {dims = {8, 16, 8}}, tau = 0.1}
local ids = {}
for _, tau in ipairs{0.1, 0.3} do
  local t2 = W.rebuild(base, {tau = tau})
  ids[#ids + 1] = t2:run{steps = 5, eval = false, name = "cmp tau=" .. tau}.run
end
local other = W.rebuild(base, {tau = 0.3, batch = 8}):run{steps = 5, eval = false}.run
local found, key = W.differing("tau")
T.is(key, "tau", "compare \"tau\": the parameter found")
T.ok(#found == 1 and found[1] == other, "the last run has a batch of its own: only itself")
local t3 = W.rebuild(base, {tau = 0.7}):run{steps = 5, eval = false}.run
found = W.differing("tau")
T.ok(#found == 3 and found[1] == ids[1] and found[2] == ids[2] and found[3] == t3,
     "with another run like the first two: the three that differ in tau alone (#" .. table.concat(found, ", #") .. ")")
said()
W.compare("tau")
T.like(said(), "they differ in tau: 0.10 (#" .. ids[1] .. "), 0.30 (#" .. ids[2] .. "), 0.70 (#" .. t3 .. ")",
       "compare says what differs")
T.throws(function() W.compare("no_such_param") end, "no stored run has a parameter 'no_such_param'",
         "compare of an unknown parameter says so")
T.throws(function() W.compare(99999) end, "no run #99999", "compare of an unknown id says so")

-- presets: listed, and each moves when its concept changes (the lessons' claims)
local names = {}
for i, pr in ipairs(P.list()) do names[i] = pr.name end
T.is(table.concat(names, ","), "positives,temperature,batch size,decomposable,modality gap,information gap",
     "presets() lists six")
local hot = P.run("temperature", {tau = 0.05}).eval.top1
local cold = P.run("temperature", {tau = 1}).eval.top1
T.ok(hot > cold + 0.1, string.format("temperature: top1 %.3f at tau 0.05 against %.3f at tau 1", hot, cold))
local function ratio(res)
  local _, v = cwb.runs.metrics(res.run, "theta_ratio")
  local s, n = 0, 0
  for i = #v - #v // 5, #v do s, n = s + v[i], n + 1 end
  return s / n
end
local small = ratio(P.run("batch size"))
local big = ratio(P.run("batch size", {batch = 64}))
T.ok(small > 2 and big < 1.3, string.format("batch size: theta/theta* %.2f at B = 8, %.2f at B = 64", small, big))
local red = ratio(P.run("decomposable"))
local blue = ratio(P.run("decomposable", {loss = "infonce"}))
T.ok(math.abs(red - 1) < 0.15 and blue > 2, string.format("decomposable %.2f, conventional %.2f", red, blue))
T.throws(function() P.build("nope") end, "no preset 'nope' (\"positives\"", "an unknown preset lists them")
T.throws(function() P.build("information gap", {method = "x"}) end, "method 'x' (unimodal, clip, clip+sep)",
         "an unknown method is refused")

-- sessions: written as a Lua table, read in an empty environment
local file = os.tmpname()
W.preset("temperature", {tau = 0.05})
cwb.runs.list()
W.save_session(file)
local s = W.read_session(file)
T.ok(s.version == 1 and s.recipe.preset == "temperature" and s.recipe.changes.tau == 0.05 and s.knobs and
     math.abs(s.knobs.tau - 0.05) < 1e-9, "save_session: the preset, its changes and the knob values round-trip")
T.ok(s.knobs.batch == 64 and math.type(s.knobs.batch) == "integer", "whole knobs stay whole")
P.run("decomposable")
W.save_session(file)
T.ok(W.read_session(file).knobs == nil, "knobs of a run that is not the session's recipe are not saved")
cwb.write_file(file, "return {os.exit(3)}")
T.throws(function() W.read_session(file) end, "not a cwb session", "a session file cannot call anything")
cwb.write_file(file, "return {")
T.throws(function() W.read_session(file) end, "load_session:", "a malformed session is one line")
os.remove(file)

-- the globals
W.install()
T.ok(rawget(_G, "rerun") == W.rerun and rawget(_G, "lesson") and rawget(_G, "save_session"),
     "install() sets the globals")
T.is(next({5}), 1, "and next(t) is still Lua's next")
T.like(cwb.doc(rerun), "rerun{tau = 0.5}", "each has a doc string")

release()
T.done()
