-- cwb.presets: small data sets and models chosen so that one concept's
-- effect shows within seconds (docs/lessons.md, "Presets", has the numbers
-- they were chosen by).  The trainer's default data saturate -- top-1 0.990
-- at tau 0.5 against 0.995 at 0.1 -- so turning a knob there shows nothing;
-- each preset here was measured to move clearly when its concept changes.
--
--   local P = require "cwb.presets"
--   P.list()                          -- {name, summary, look}, in order
--   local res = P.run("temperature", {tau = 0.05})   -- build, run, result
--   local tr, opts = P.build("batch size", {batch = 256})
--
-- A change is a knob name (tau, lr, batch, noise, alpha, gamma, w_*), an
-- option path of the constructor ("data.n", "encoder.dims") or one of a
-- preset's own keys (loss = "decomposable" for the scale fits, method =
-- "unimodal" | "clip" | "clip+sep" for the information gap).  Every run is
-- recorded and named after the preset and its changes ("temperature
-- tau=0.05"), so the curve pane's legend tells them apart.
local W = require "cwb.workbench"
local P = {}

-- ---- the scale fit's pairs (experiment 1: a known optimum) ---------------------------

local pairs_cache
local function scalefit_pairs()
  if not pairs_cache then
    local a, b, labels = cwb.scalefit.pairs{n = 1024, k = 16, clusters = 8, spread = 0.6,
                                            pair_noise = 0.5, seed = 1}
    local ts = cwb.scalefit.optimum(a, b)
    local _, _, curvature = cwb.metrics.population_loss(a, b, ts)
    pairs_cache = {a = a, b = b, labels = labels, theta_star = ts, curvature = curvature}
  end
  return pairs_cache
end
P.scalefit_pairs = scalefit_pairs

-- on_step for a scale fit: theta/theta* into the run's record every `every`
-- steps (the curve pane follows it live) and, once, the optimum's line.
local function ratio_logger(theta_star, every)
  return function(info)
    if info.step % every ~= 0 and info.step ~= 1 then return end
    local last = cwb.last_run()
    local id = last and last.run
    if not id then return end
    if info.step == 1 then cwb.runs.ref(id, "theta_ratio", 1, "optimum theta* (1.0)") end
    cwb.runs.log(id, info.step, "theta_ratio", info.theta / theta_star)
  end
end

-- The log-of-a-mean picture (methods.md, "Why batches must be large [P1]"):
-- for anchors of the scale fit's pairs at theta, the population sum
-- Z_i = sum_j e^{theta s_ij} and its minibatch estimate
-- Zb_i = e^{theta s_ii} + (N-1)/(B-1) sum_{j in batch, j != i} e^{theta s_ij},
-- draws random batches and returns, per B, E[log Zb] - log Z (negative:
-- Jensen) and E[Zb]/Z - 1 (about 0: the estimate itself is unbiased).
function P.log_of_mean(theta, Bs, anchors, draws)
  local p = scalefit_pairs()
  local N = p.a:rows()
  anchors, draws = anchors or 32, draws or 200
  local r = cwb.rng.new(7)
  local out = {}
  local sims = {}
  for i = 1, anchors do
    local row = p.a:row(i):matmul(p.b:transpose()):flat()   -- s_ij, j = 1..N
    local e, Z = {}, 0
    for j = 1, N do
      e[j] = math.exp(theta * row[j])
      Z = Z + e[j]
    end
    sims[i] = {e = e, Z = Z}
  end
  for _, B in ipairs(Bs) do
    local dlog, dmean = 0, 0
    for i = 1, anchors do
      local e, Z = sims[i].e, sims[i].Z
      for _ = 1, draws do
        local perm = r:permutation(N - 1)       -- the negatives: every j but i
        local s = 0
        for k = 1, B - 1 do
          local j = perm[k] >= i and perm[k] + 1 or perm[k]
          s = s + e[j]
        end
        local Zb = e[i] + (N - 1) / (B - 1) * s
        dlog = dlog + math.log(Zb) - math.log(Z)
        dmean = dmean + Zb / Z
      end
    end
    local n = anchors * draws
    out[#out + 1] = {B = B, log_bias = dlog / n, mean_ratio = dmean / n - 1}
  end
  return out
end

-- ---- the presets ----------------------------------------------------------------------

local function named(base, changes)
  local label = W.change_label(changes)
  return label ~= "" and (base .. " " .. label) or base
end

-- Split off a preset's own keys; the rest are changes for W.rebuild.
local function split(changes, own)
  local mine, rest = {}, {}
  for k, v in pairs(changes or {}) do
    if own[k] then mine[k] = v else rest[k] = v end
  end
  return mine, rest
end

local function with(tr, changes)
  return next(changes) and W.rebuild(tr, changes) or tr
end

-- A scale fit on the pairs: B = 8 (batch_max 256) from theta*, lr
-- 0.05 / L''(theta*), the decomposable loss's alpha 10 and gamma 0.02;
-- `own` gives the preset's loss and noise, the change `loss` another loss;
-- theta/theta* is logged every `every` steps.
local function scalefit_preset(name, changes, own, steps, every)
  local mine, rest = split(changes, {loss = true})
  local p = scalefit_pairs()
  local o = {labels = p.labels, loss = mine.loss or own.loss, noise = own.noise or 0, batch = 8,
             batch_max = 256, alpha = 10, gamma = 0.02, lr = 0.05 / p.curvature, theta0 = p.theta_star,
             seed = 1, name = named(name, mine)}
  local tr = cwb.scalefit.new(p.a, p.b, o)
  return with(tr, rest), {steps = steps, log_every = every, on_step = ratio_logger(p.theta_star, every)}
end

local LIST = {
  {name = "positives", kind = "trainer",
   summary = "8 clusters in 16-d, an 8-d encoder: what InfoNCE pulls together and pushes apart",
   look = "the geometry pane over 10000 slow steps (lr 1e-5, B = 256): one clump at step 0 " ..
          "(uniformity -1.39) spreads out (-2.56); alignment (view to view distance) rises from 0.32 " ..
          "to 0.57 before it falls back a little: the push wins first",
   build = function(changes)
     local tr = cwb.trainer.new{seed = 1, name = "positives",
                                data = {n = 512, clusters = 8, latent_dim = 8, dim = 16, spread = 0.4,
                                        obs_noise = 0.05},
                                aug = {jitter = 0.2, mask = 0.1}, batch = 256,
                                encoder = {dims = {16, 64, 8}}, tau = 0.2,
                                -- slow on purpose: the picture changes over seconds, not in a blink
                                optim = {kind = "sgd", lr = 1e-5, momentum = 0}}
     return with(tr, changes), {steps = 10000, log_every = 10, eval_every = 250}
   end},
  {name = "temperature", kind = "trainer",
   summary = "1024 points in 32 clusters: instance retrieval that depends on tau",
   look = "show \"top1\": tau 0.05 -> 0.37, 0.2 -> 0.32, 1.0 -> 0.19 after 6000 steps; a small tau " ..
          "weighs the hardest negatives most",
   build = function(changes)
     local tr = cwb.trainer.new{seed = 1, name = "temperature",
                                data = {n = 1024, clusters = 32, latent_dim = 16, dim = 32, spread = 0.3,
                                        obs_noise = 0.05},
                                aug = {jitter = 0.2, mask = 0.1}, batch = 64, batch_max = 256,
                                encoder = {dims = {32, 64, 16}}, tau = 0.2,
                                optim = {kind = "sgd", lr = 0.05, momentum = 0.9}}
     return with(tr, changes), {steps = 6000, log_every = 20, eval_every = 500}
   end},
  {name = "batch size", kind = "scalefit",
   summary = "the scale fit (one parameter theta, a known optimum theta*) on the conventional loss",
   look = "show \"theta_ratio\": theta/theta* settles at 2.6 with B = 8, 1.38 with B = 32, 1.03 with " ..
          "B = 256: the minibatch estimate's bias shrinks as the batch grows",
   build = function(changes)
     return scalefit_preset("batch size", changes, {loss = "infonce"}, 10000, 10)
   end},
  {name = "decomposable", kind = "scalefit",
   summary = "the same scale fit with noisy negatives (sigma 0.5) at B = 8: the decomposable loss",
   look = "show \"theta_ratio\": the conventional loss rests at 2.6 theta*, the decomposable one at " ..
          "1.04; gamma 0.005 -> 0.90, 0.05 -> 1.28; alpha 1 to 100 changes little",
   build = function(changes)
     return scalefit_preset("decomposable", changes, {loss = "decomposable", noise = 0.5}, 100000, 100)
   end},
  {name = "modality gap", kind = "mm",
   summary = "two towers (CLIP-like) on two modalities that share everything (gap 0)",
   look = "the geometry pane coloured by view (colour_by \"view\"), and gap_centroid: 1.06 at step 0, " ..
          "after 1000 steps 0.29 at tau 0.01, 0.12 at 0.1, 0.05 at 1; deeper towers start further " ..
          "apart (1.45 with body_layers = 3) and keep more (0.51 at tau 0.01)",
   build = function(changes)
     local tr = cwb.mm.trainer{seed = 1, name = "modality gap", tau = 0.1, eval_fusion_steps = 0,
                               fewshot_episodes = 3,
                               data = {gap = 0, n_train = 1000, n_test = 500, knn_k = 0, seed = 1}}
     return with(tr, changes), {steps = 1000, log_every = 5, eval_every = 100}
   end},
  {name = "information gap", kind = "mm",
   summary = "the text knows nothing of the label (data gap 1): when aligning with it hurts the image",
   look = "linear_probe of the image features: unimodal 0.72, clip 0.41, clip+sep 0.68 (1000 steps); " ..
          "at data.gap = 0 all three are 0.77-0.80",
   build = function(changes)
     local mine, rest = split(changes, {method = true})
     local method = mine.method or "clip"
     local o = {seed = 1, name = "information gap " .. method, tau = 0.1, eval_fusion_steps = 0,
                fewshot_episodes = 5, data = {gap = 1, n_train = 1000, n_test = 500, knn_k = 0, seed = 1}}
     local tr
     if method == "unimodal" then
       o.modality = "v"
       tr = cwb.mm.unimodal(o)
     elseif method == "clip" or method == "clip+sep" then
       if method == "clip+sep" then o.w_sep = 1 end
       tr = cwb.mm.trainer(o)
     else
       error(string.format("information gap: method '%s' (unimodal, clip, clip+sep)", method), 0)
     end
     return with(tr, rest), {steps = 1000, log_every = 5, eval_every = 250}
   end},
}

-- {name, summary, look, kind} of every preset, in order.
function P.list()
  local out = {}
  for i, p in ipairs(LIST) do out[i] = {name = p.name, summary = p.summary, look = p.look, kind = p.kind} end
  return out
end

local function find(name)
  for _, p in ipairs(LIST) do
    if p.name == name then return p end
  end
  local names = {}
  for i, p in ipairs(LIST) do names[i] = "\"" .. p.name .. "\"" end
  error(string.format("preset: no preset '%s' (%s)", tostring(name), table.concat(names, ", ")), 0)
end

-- The preset's trainer with changes, and its run options (named after them).
function P.build(name, changes)
  local p = find(name)
  local tr, opts = p.build(changes or {})
  opts.name = named(p.name, changes or {})
  return tr, opts, p
end

-- Build and run: the run's result.  over: run options to change (steps = 0:
-- the model as built, evaluated).
function P.run(name, changes, over)
  local tr, opts = P.build(name, changes)
  for k, v in pairs(over or {}) do opts[k] = v end
  return tr:run(opts)
end

return P
