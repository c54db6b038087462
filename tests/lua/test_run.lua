-- test_run.lua: the one run driver as recipes see it.  cwb.trainer,
-- cwb.mm.trainer, cwb.mm.unimodal and cwb.scalefit runs take the same
-- options with the same defaults, return the same table and are recorded
-- the same way; reset() gives the same numbers again; and the drift bugs of
-- the three old run loops stay fixed (estep_first refused by the two-tower
-- trainer, jitter = inf accepted by cwb.trainer.new, a stopped run stored
-- as "done", float noise in the recorded parameters, NaN for "does not
-- apply" in evaluations).
local T = require "cwb.test"
local ok, is, like, throws, lives = T.ok, T.is, T.like, T.throws, T.lives

local function trainer(extra)
  local o = {seed = 3, data = {n = 128, clusters = 4, latent_dim = 4, dim = 8}, batch = 16,
             encoder = {dims = {8, 16, 8}}, name = "run-trainer"}
  for k, v in pairs(extra or {}) do o[k] = v end
  return cwb.trainer.new(o)
end
local MMDATA = {n_train = 200, n_test = 100, classes = 4, knn_k = 0}
local function mm(extra)
  local o = {seed = 3, data = MMDATA, batch = 16, hidden = 16, dim = 8, eval_fusion_steps = 0,
             fewshot_episodes = 2, probe_steps = 20, name = "run-mm"}
  for k, v in pairs(extra or {}) do o[k] = v end
  return cwb.mm.trainer(o)
end
local function unimodal()
  return cwb.mm.unimodal{seed = 3, data = MMDATA, batch = 16, hidden = 16, dim = 8,
                         fewshot_episodes = 2, probe_steps = 20, name = "run-unimodal"}
end
local PAIRS = {cwb.scalefit.pairs{n = 64, k = 8, clusters = 4, seed = 3}}
local function scalefit()
  return cwb.scalefit.new(PAIRS[1], PAIRS[2], {labels = PAIRS[3], batch = 8, lr = 0.1, theta0 = 5,
                                               seed = 3, name = "run-scalefit"})
end
local KINDS = {{"trainer", trainer, "run-trainer"}, {"mm.trainer", mm, "run-mm"},
               {"mm.unimodal", unimodal, "run-unimodal"}, {"scalefit", scalefit, "run-scalefit"}}

local function same_list(a, b)
  if type(a) ~= "table" or type(b) ~= "table" or #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

local quiet = {progress = false}
local function opts(t)
  for k, v in pairs(quiet) do if t[k] == nil then t[k] = v end end
  return t
end

for _, K in ipairs(KINDS) do
  local kind, make, name = K[1], K[2], K[3]
  local t = make()

  -- the result table, the same for every trainer
  local res = t:run(opts{steps = 30})
  is(res.status, "done", kind .. ": status done")
  is(res.steps, 30, kind .. ": steps run")
  is(res.step, 30, kind .. ": the trainer's step count")
  ok(math.type(res.run) == "integer", kind .. ": the store id")
  ok(type(res.last) == "table" and res.last.step == 30 and type(res.last.loss) == "number",
     kind .. ": last = the last step's metrics, loss among them")
  if kind == "scalefit" then
    is(res.eval, nil, kind .. ": no evaluation to report")
    ok(type(res.last.theta) == "number", kind .. ": theta is a step metric")
  else
    ok(type(res.eval) == "table" and next(res.eval) ~= nil, kind .. ": eval = the final evaluation")
  end
  is(res.history, nil, kind .. ": no history unless asked")

  -- the same defaults: log_every = max(1, steps / 1000), so 30 steps log 30 points
  local rec = cwb.runs.show(res.run)
  is(rec.status, "done", kind .. ": stored as done")
  is(rec.metrics.loss.count, 30, kind .. ": a 30-step run logs every step by default")
  is(rec.metrics.loss.last_step, 30, kind .. ": metrics are stored by trainer step")

  -- log_every, history, and steps counted from where the trainer is
  local h = t:run(opts{steps = 20, log_every = 5, record = false, history = true})
  ok(same_list(h.history.step, {35, 40, 45, 50}), kind .. ": history at steps 35, 40, 45, 50 (" ..
     table.concat(h.history.step or {}, ",") .. ")")
  ok(#h.history.loss == 4 and h.history.loss[4] == h.last.loss,
     kind .. ": history.loss aligned with history.step, its last the last loss")
  is(h.run, nil, kind .. ": record = false records nothing")

  -- on_step sees every step; returning false stops, and the run is stored as stopped
  local calls = 0
  local s = t:run(opts{steps = 10, on_step = function(info)
    calls = calls + 1
    return info.step < 53
  end})
  is(calls, 3, kind .. ": on_step once per step")
  is(s.status, "stopped", kind .. ": on_step returning false stops the run")
  is(s.steps, 3, kind .. ": ... after 3 steps")
  local srec = cwb.runs.show(s.run)
  is(srec.status, "stopped", kind .. ": the store says stopped, not done")
  is(srec.metrics.loss.last_step, 53, kind .. ": the stopping step is logged")

  -- every run option is accepted by every trainer
  lives(function()
    t:run(opts{steps = 2, log_every = 1, eval_every = 1, eval = false, record = false,
               name = "run-all-options", history = true, on_step = function() end})
  end, kind .. ": takes every run option")
  throws(function() t:run{} end, "option 'steps': required", kind .. ": steps is required")
  throws(function() t:run{steps = 1, every = 2} end, "unknown option 'every'",
         kind .. ": unknown run options are refused")
  throws(function() t:run(5) end, "bad argument #1 to 'run' (table expected, got number)",
         kind .. ": run takes a table")
  throws(function() t:run{steps = 1, on_step = 5} end, "option 'on_step': function expected",
         kind .. ": on_step must be a function")

  -- reset: back to the state right after construction, same numbers again
  local fresh = make()
  local r1 = fresh:run(opts{steps = 12, log_every = 3, record = false, history = true})
  ok(fresh:reset() == fresh, kind .. ": reset() returns the trainer")
  local r2 = fresh:run(opts{steps = 12, log_every = 3, record = false, history = true})
  is(r2.step, 12, kind .. ": reset() restarts the step count")
  ok(same_list(r1.history.step, r2.history.step) and same_list(r1.history.loss, r2.history.loss),
     kind .. ": after reset() the same losses again")
  if kind == "scalefit" then
    ok(same_list(r1.history.theta, r2.history.theta), kind .. ": and the same thetas")
  else
    ok(r1.eval and r2.eval and r1.eval[next(r1.eval)] == r2.eval[next(r1.eval)],
       kind .. ": and the same evaluation")
  end

  ok(type(t:params()) == "string" and t:params():sub(1, 1) == "{", kind .. ": params() is JSON")
  is(t:name(), name, kind .. ": name()")
end

-- eval_every: every trainer that can evaluate does so at those steps
do
  local t = trainer()
  local evals = {}
  local res = t:run(opts{steps = 6, eval_every = 2, record = false, on_step = function(info)
    if info.eval then evals[#evals + 1] = info.step end
  end})
  ok(same_list(evals, {2, 4, 6}), "eval_every = 2: info.eval at steps 2, 4, 6")
  ok(res.eval and res.eval.top1, "the last step's evaluation is the result's (no second one)")
end

-- ---- the drift bugs ----------------------------------------------------------------
lives(function() mm{loss = {kind = "decomposable", estep_first = true, jensen = true}} end,
      "cwb.mm.trainer takes estep_first and jensen, like cwb.trainer.new")
throws(function() mm{loss = {kind = "decomposable", estep = true}} end, "unknown option 'loss.estep'",
       "cwb.mm.trainer names an unknown loss option")
throws(function() trainer{aug = {jitter = 1 / 0}} end, "jitter",
       "jitter = inf is refused when the trainer is built, not at step 1")
throws(function() mm{aug_v = {scale = 1 / 0}} end, "scale", "the two-tower trainer refuses it the same way")
throws(function() trainer{schedule = {kind = "cosine", warmup = 5, total = 5}} end, "cosine",
       "a cosine schedule that ends before its warm-up is refused by cwb.trainer")
throws(function() mm{schedule = {kind = "cosine", warmup = 5, total = 5}} end, "cosine",
       "... and by cwb.mm.trainer")
like(trainer{tau = 0.2, aug = {jitter = 0.3}}:params(), {'"tau":0%.2[,}]'},
     "params record tau = 0.2 as given, not 0.200000003")
like(trainer{aug = {jitter = 0.3}}:params(), {'"jitter":0%.3[,}]'}, "... and jitter = 0.3")
like(mm{tau = 0.07}:params(), {'"tau":0%.07[,}]'}, "the two-tower trainer too")
do
  local e = unimodal():eval()
  ok(e.zero_shot == nil and e.r1_v2t == nil, "a unimodal evaluation has no zero-shot or retrieval (absent, not NaN)")
  ok(type(e.linear_probe) == "number" and type(e.head_acc) == "number", "... and has its probe and head")
  local bad = 0
  for _, v in pairs(e) do if v ~= v then bad = bad + 1 end end
  is(bad, 0, "no NaN anywhere in an evaluation")
end

T.done()
