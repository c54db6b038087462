-- test_train.lua: cwb.trainer from Lua: steps, evaluation, recorded runs
-- (through the session store given by --db), on_step, failures.
local T = require "cwb.test"
local ok, is, near, like, throws = T.ok, T.is, T.near, T.like, T.throws

local small = {
  seed = 3, data = {n = 256, clusters = 8, latent_dim = 8, dim = 16},
  batch = 32, encoder = {dims = {16, 48, 16}}, optim = {kind = "sgd", lr = 0.1},
  name = "test-train",
}
local function cfg(extra)
  local c = {}
  for k, v in pairs(small) do c[k] = v end
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

-- ----------------------------------------------------------------- steps ----
local tr = cwb.trainer.new(cfg())
like(tostring(tr), "trainer 'test-train': infonce loss, batch 32, N 256", "trainer prints its setup")
is(tr:size(), 256, "size() is N")
is(#tr:labels(), 256, "labels() has N entries")
ok(tr:x():cols() == 16, "x() is the training data")
like(tr:params(), '"batch":32', "params() is the recorded JSON")
like(tr:params(), '"dims":[16,48,16]', "params() has the encoder")
local before = tr:eval()
local info = tr:step()
is(info.step, 1, "step() returns info.step = 1")
for _, k in ipairs{"loss", "surrogate", "lr", "tau", "grad_norm"} do
  ok(type(info[k]) == "number" and info[k] == info[k], "info." .. k .. " is a number")
end
near(info.tau, 0.1, 1e-6, "tau stays fixed by default")
near(info.lr, 0.1, 1e-6, "lr is the constant schedule's")
is(tr:step().step, 2, "steps count up")
for _, k in ipairs{"top1", "pop_loss", "alignment", "uniformity", "collapse_std", "gap_centroid", "gap_paired"} do
  ok(type(before[k]) == "number", "eval()." .. k)
end
ok(before.top1 >= 0 and before.top1 <= 1, "top1 is a fraction")
local a, b = tr:embed()
ok(a:rows() == 256 and a:cols() == 16 and b:rows() == 256, "embed() gives N x k views")
near(a:rownorms():mean(), 1, 1e-5, "embeddings are L2-normalised")

-- same seed, same numbers
local t1, t2 = cwb.trainer.new(cfg()), cwb.trainer.new(cfg())
local same = true
for _ = 1, 3 do same = same and t1:step().loss == t2:step().loss end
ok(same, "two trainers with the same seed compute the same losses")
ok(cwb.trainer.new(cfg{seed = 4}):step().loss ~= cwb.trainer.new(cfg()):step().loss, "another seed differs")

-- ------------------------------------------------------------------- run ----
local calls, evals = 0, 0
local res = tr:run{steps = 60, eval_every = 30, progress = false, on_step = function(i)
  calls = calls + 1
  if i.eval then evals = evals + 1 end
end}
is(calls, 60, "on_step is called once per step")
is(evals, 2, "eval_every attaches info.eval every 30 steps")
is(res.steps, 60, "summary: steps run")
is(res.step, 62, "summary: the trainer's step count")
is(res.status, "done", "summary: status")
ok(res.eval and res.eval.pop_loss < before.pop_loss, "training lowers the population loss (" ..
   before.pop_loss .. " -> " .. (res.eval and res.eval.pop_loss or -1) .. ")")
ok(type(res.run) == "number", "the run is recorded in the store")
if cwb.runs and cwb.runs.show then
  local r = cwb.runs.show(res.run)
  is(r and r.status, "done", "the stored run is done")
  is(r and r.name, "test-train", "the stored run has the trainer's name")
  like(r and r.params or "", '"loss":{"kind":"infonce"', "the stored run has the parameters")
  is(r and r.metrics.loss and r.metrics.loss.count, 60, "one loss value per step")
  is(r and r.metrics.top1 and r.metrics.top1.count, 3, "eval metrics at steps 30, 60 and the final 62")
  is(r and r.metrics.tau and r.metrics.tau.last_step, 62, "metrics are stored by trainer step")
  -- long runs log about a thousand points per metric by default
  local long = cwb.trainer.new(cfg{name = "test-long"}):run{steps = 2500, progress = false}
  local n = cwb.runs.show(long.run).metrics.loss.count
  ok(n >= 1000 and n <= 1300, "a 2500-step run logs every 2nd step by default (" .. n .. " loss values)")
else
  T.skip("cwb.runs not available", 7)
end

local stop = tr:run{steps = 100, progress = false, record = false, on_step = function(i) return i.step < 65 end}
is(stop.steps, 3, "on_step returning false stops the run")
is(stop.status, "stopped", "a stopped run says so")
is(stop.run, nil, "record = false records nothing")
is(tr:run{steps = 0, progress = false, record = false}.steps, 0, "zero steps is fine")

-- errors inside a run mark it failed and keep the message and position
local failing = cwb.trainer.new(cfg{name = "test-fail"})
local okc, err = pcall(failing.run, failing, {steps = 10, progress = false, on_step = function(i)
  if i.step == 3 then error("stop here") end
end})
ok(not okc, "an error in on_step stops the run")
like(err, {"test_train%.lua:%d+: stop here"}, "the error keeps its message and position")
if cwb.runs and cwb.runs.list then
  local runs = cwb.runs.list()
  local last = runs[#runs]
  ok(last and last.name == "test-fail" and last.status == "failed", "the run is marked failed")
  is(cwb.runs.show(last.id).metrics.loss.count, 3, "the failed run keeps its metrics")
else
  T.skip("cwb.runs not available", 2)
end

-- a non-finite value names the step and the quantity
local nan = cwb.trainer.new(cfg{optim = {lr = 1e38}, name = "test-nan"})
throws(function() nan:run{steps = 5, progress = false} end, {"step %d+: .*is not finite"},
       "a NaN/Inf stops the run with the step and the quantity")
throws(function() nan:step() end, {"step %d+: .*is not finite"}, "the same from step()")
if cwb.runs and cwb.runs.list then
  local runs = cwb.runs.list()
  ok(runs[#runs].name == "test-nan" and runs[#runs].status == "failed", "the NaN run is marked failed")
else
  T.skip("cwb.runs not available", 1)
end

-- the other losses, a data set object, a learnable temperature
for _, kind in ipairs{"dcl", "sogclr", "decomposable"} do
  local t = cwb.trainer.new(cfg{loss = {kind = kind}})
  local l = t:step().loss
  ok(l == l and l > 0, kind .. " trains")
end
local ds = cwb.data.synth{n = 128, dim = 8, seed = 9}
local td = cwb.trainer.new{data = ds, batch = 16, encoder = {dims = {8, 16, 8}}, record = nil}
ok(td:size() == 128 and td:x() == ds:x(), "data = a dataset object")
local tt = cwb.trainer.new(cfg{learn_tau = true, tau = 0.2, optim = {kind = "adamw", lr = 0.01}})
tt:step()
ok(math.abs(tt:step().tau - 0.2) > 1e-6, "learn_tau moves the temperature")
local two = cwb.trainer.new(cfg{encoder = {dims = {16, 8}, shared = false}, schedule = {kind = "cosine", warmup = 2, total = 10}})
near(two:step().lr, 0, 1e-9, "cosine schedule starts its warm-up at 0")
ok(two:step().loss > 0, "two towers train")

-- option errors
throws(function() cwb.trainer.new{bogus = 1} end, "bad argument #1 to 'new' (unknown option 'bogus'",
       "unknown top-level option")
throws(function() cwb.trainer.new{loss = {kind = "hinge"}} end, "option 'loss.kind': unknown loss 'hinge'",
       "nested option values are checked and named")
throws(function() cwb.trainer.new{encoder = {width = 3}} end, "unknown option 'encoder.width'",
       "nested unknown options are named")
throws(function() cwb.trainer.new{optim = {lr = "x"}} end, "option 'optim.lr': number expected, got string",
       "nested types are checked")
throws(function() cwb.trainer.new{optim = {lr = -1}} end, "trainer: optim: lr=-1 must be finite and >= 0",
       "the engine's optimiser check, named once")
throws(function() cwb.trainer.new{schedule = {kind = "cosine"}} end,
       "trainer: schedule: a cosine schedule needs total > warmup", "a cosine schedule without its end")
throws(function() cwb.trainer.new{data = 3} end, "option 'data': table expected, got number", "data type")
throws(function() cwb.trainer.new(cfg{encoder = {dims = {8, 8}}}) end,
       "trainer: encoder input enc.dims[0] = 8, but the data dimension is 16", "engine errors are passed on")
throws(function() cwb.trainer.new(cfg{batch = 1}) end, "option 'batch': 1 is out of range", "batch >= 2")
throws(function() tr:run{} end, "option 'steps': required", "run needs steps")
throws(function() tr:run{steps = 1, on_step = 5} end, "option 'on_step': function expected, got number",
       "on_step must be a function")
throws(function() tr:run(5) end, "bad argument #1 to 'run' (table expected, got number)", "run takes a table")

T.done()
