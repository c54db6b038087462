-- test_knobs.lua - live knobs from Lua (cwb.knob, tr:set, tr:knobs): a knob
-- turned during a run changes the next steps and only those, the stored
-- tau changes at the marked step, the change is an event in the store and a
-- replot's marker; with nothing running the next run starts with it; runs
-- can be rebuilt from what built them (tr:origin, cwb.last_run).
local T = require "cwb.test"

local function trainer(name)
  return cwb.trainer.new{seed = 4, name = name, data = {n = 256, clusters = 4, dim = 16},
                         batch = 32, batch_max = 64, encoder = {dims = {16, 32, 16}}, tau = 0.1}
end

-- the same run twice, the second with tau turned to 0.5 after step 20
local base = trainer("knobs-base"):run{steps = 40, log_every = 1, eval = false}
local turned = trainer("knobs-turned"):run{steps = 40, log_every = 1, eval = false, on_step = function(i)
  if i.step == 20 then
    local v, live = cwb.knob("tau", 0.5)
    T.ok(live and math.abs(v - 0.5) < 1e-6, "cwb.knob during a run turns it at once (live)")
  end
end}
local _, tau = cwb.runs.metrics(turned.run, "tau")
local _, loss = cwb.runs.metrics(turned.run, "loss")
local _, loss0 = cwb.runs.metrics(base.run, "loss")
T.near(tau[20], 0.1, 1e-6, "the stored tau is 0.1 up to step 20")
T.near(tau[21], 0.5, 1e-6, "and 0.5 from step 21, the step after the change")
local same = true
for s = 1, 20 do same = same and loss[s] == loss0[s] end
T.ok(same, "steps 1-20 are those of the run without the change, bit for bit")
T.ok(loss[21] ~= loss0[21] and loss[40] ~= loss0[40], "the next steps differ (step 21: " ..
     string.format("%.4f vs %.4f)", loss[21], loss0[21]))
local run = cwb.runs.show(turned.run)
T.is(#run.events, 1, "one event in the store")
T.ok(run.events[1].step == 20 and run.events[1].kind == "knob" and run.events[1].name == "tau" and
     math.abs(run.events[1].value - 0.5) < 1e-9, "tau = 0.5 at step 20 (from step 21 on)")
T.is(#cwb.runs.show(base.run).events, 0, "the run without a change has none")

-- a replot shows the marker
if cwb.plot.available() then
  local text = cwb.runs.plot(turned.run, "loss")
  T.like(text, "tau=0.5", "cwb.runs.plot marks the change (tau=0.5 at its step)")
else
  T.skip("gnuplot not installed")
end

-- the knobs of a trainer, tr:set between runs, errors
local tr = trainer("knobs-set")
local names = {}
for _, k in ipairs(tr:knobs()) do names[#names + 1] = k.name end
T.is(table.concat(names, " "), "tau lr batch noise", "tr:knobs() lists tau lr batch noise")
T.is(tr:knobs()[3].max, 64, "batch may go up to batch_max")
tr:set("batch", 64)
T.like(tr:params(), '"batch":64,', "tr:set between runs: the next run records batch 64")
T.throws(function() tr:set("batch", 128) end, "knob 'batch' = 128 outside [2, 64]", "a batch above batch_max is refused")
T.throws(function() tr:set("alpha", 1) end, "no live knob 'alpha'", "alpha on InfoNCE is refused")
T.throws(function() tr:set("momentum", 1) end, "no live knob 'momentum' (it has: tau, lr, batch, noise)",
         "an unknown knob names those there are")
T.throws(function() tr:run{steps = 5, on_step = function() cwb.knob("tau", -1) end} end,
         "knob 'tau' = -1 outside", "a bad value during a run is an error of the run")

-- nothing running: the next run starts with the knob (and records it in its params)
local v, live = cwb.knob("lr", 0.02)
T.ok(not live and v == 0.02, "cwb.knob with nothing running keeps it for the next run")
T.is(cwb.knob("lr"), 0.02, "cwb.knob(name) says so")
local nxt = trainer("knobs-next"):run{steps = 3, eval = false}
T.like(cwb.runs.show(nxt.run).params, '"lr":0.02', "the next run starts with lr 0.02 (its params)")
T.near(nxt.last.lr, 0.02, 1e-9, "and trains with it")
local after = trainer("knobs-after"):run{steps = 1, eval = false}
T.near(after.last.lr, 0.1, 1e-7, "only the next run: the one after is back to its own lr")

-- rebuilding: what built a trainer, and the last run
local last = cwb.last_run()
T.ok(last and last.name == "knobs-after" and last.run == after.run and last.options.steps == 1,
     "cwb.last_run(): the last run's name, id and options")
local ctor, args = last.trainer:origin()
T.ok(ctor == cwb.trainer.new and args.n == 1 and args[1].tau == 0.1 and args[1].data.n == 256,
     "tr:origin(): the constructor and a copy of its options")
args[1].tau = 0.3
local again = ctor(table.unpack(args, 1, args.n))
T.like(again:params(), '"tau":0.3,', "built again with one change")
local _, args2 = last.trainer:origin()
T.is(args2[1].tau, 0.1, "each origin() is a fresh copy")
local a, b, labels = cwb.scalefit.pairs{n = 64, k = 8, clusters = 4, seed = 1}
local sf = cwb.scalefit.new(a, b, {batch = 8, batch_max = 32, labels = labels})
local sctor, sargs = sf:origin()
T.ok(sctor == cwb.scalefit.new and sargs.n == 3 and sargs[1] == a and sargs[3].batch_max == 32,
     "a scale fit's origin keeps its tensors as they are (shared) and copies the options")
local sfk = {}
for _, k in ipairs(sf:knobs()) do sfk[#sfk + 1] = k.name .. "=" .. k.option end
T.is(table.concat(sfk, " "), "lr=lr batch=batch noise=noise", "scale fit knobs have flat option names")
T.done()
