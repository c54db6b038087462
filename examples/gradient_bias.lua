-- gradient_bias.lua - the article's gradient-bias figure (docs/methods.md,
-- "The experiments", 1; docs/gradient-bias.md).
--
-- Panel 1, a known optimum.  Fixed unit-norm embeddings of clustered pairs;
-- the only parameter is the logit scale theta (inverse temperature).  The
-- population InfoNCE (all N-1 negatives) has one minimiser theta*, found by
-- Newton's method.  Plain SGD on four minibatch losses from 10 starts spread
-- log-uniformly over [0.25, 4] x theta*:
--   infonce       the conventional loss: the minibatch estimate of the
--                 population loss, -s_ii + log Zb_i with the negatives scaled
--                 by (N-1)/(B-1) ("Why batches must be large [P1]")   blue
--   decomposable  the gamma-augmented loss, stochastic EM ("Decomposable
--                 loss by Bayesian augmentation [P1]")                 red
--   standard      unscaled in-batch InfoNCE, for reference               grey
--   decomposable_corrected  the decomposable loss with u drawn before the
--                 batch updates zhat and its mean corrected for Jensen's
--                 E[1/zhat] > 1/Z (loss.h estep_first, jensen)        purple
-- An unbiased gradient settles at theta/theta* = 1.
--
-- Panel 2, representation.  The encoder itself trained on clustered synthetic
-- data with the conventional (infonce with n_total = N), decomposable, SogCLR
-- and DCL losses at the same small batch: full-data-set top-1 retrieval
-- (optimum 1.0) and the population loss's gap to a full-batch reference
-- (B = N: the exact population gradient).
--
-- Writes into --out:
--   gradient_bias.png        the figure (needs gnuplot)
--   summary.csv              panel 1, one row per run:
--                            loss,seed,noise,batch,final_score
--                            final_score = theta/theta* averaged over the
--                            last 5% of the steps
--   representation.csv       panel 2, one row per run (columns below)
--   representation_curves.csv  panel 2's evaluations: loss,seed,step,top1,pop_loss
-- and records every run in the run store (--db): scalefit runs with the
-- metrics theta, loss, theta_ratio (= theta/theta*), theta_star and
-- final_score; trainer runs with loss, top1, pop_loss, ...
--
-- Usage: cwb run examples/gradient_bias.lua --out DIR [--seed N] [-- ARGS]
-- ARGS (-- --help lists them): --steps N --noise S --batch B --runs R
-- --alpha A --gamma G --batch-noise X --importance --rep-steps N
-- --rep-seeds K --rep-gamma G --lr-scale C --estep-first --jensen
-- --no-corrected --quick.  About 30 s on 2 cores.

local U = require "cwb.util"

local P = U.args(arg, {
  {"steps", "int", 200000, "SGD steps per panel-1 run"},
  {"noise", "number", 0.5, "sigma of the mean-one lognormal noise on each negative term"},
  {"batch", "int", 8, "batch size B (both panels)"},
  {"runs", "int", 10, "panel-1 runs per loss (starts spread over [0.25, 4] theta*)"},
  {"alpha", "number", 10, "decomposable loss: gamma shape alpha (inf: u = 1/zhat)"},
  {"gamma", "number", 0.02, "decomposable loss: running-estimate rate, panel 1"},
  {"lr_scale", "number", 0.01, "panel-1 lr = lr_scale / L''(theta*)"},
  {"batch_noise", "number", 0, "skew of the batches towards one cluster, in [0, 1]"},
  {"importance", "flag", false, "importance-weight the skewed batches' negatives"},
  {"rep_steps", "int", 20000, "panel-2 training steps per run"},
  {"rep_seeds", "int", 5, "panel-2 seeds per loss"},
  {"rep_gamma", "number", 0.1, "decomposable loss: running-estimate rate, panel 2"},
  {"estep_first", "flag", false, "decomposable and SogCLR: draw u from zhat before the batch " ..
                                 "updates it (independent of the Zbatch it multiplies)"},
  {"jensen", "flag", false, "decomposable and SogCLR: divide u's mean by 1 + c, the " ..
                            "second-order Jensen correction (loss.h)"},
  {"no_corrected", "flag", false, "panel 1 without the corrected decomposable series " ..
                                  "(E-step first + Jensen correction)"},
  {"quick", "flag", false, "a tiny budget (seconds), for the test-suite"},
}, "gradient_bias.lua: the article's gradient-bias figure (docs/gradient-bias.md)")
if not P then return end

if P.quick then
  P.steps, P.rep_steps, P.rep_seeds = math.min(P.steps, 4000), math.min(P.rep_steps, 200), 1
end
-- Arguments the runs would refuse only after minutes of work are refused now,
-- in one line (U.check).
U.check(P.runs >= 1 and P.steps >= 20, "need --runs >= 1 and --steps >= 20")
local max_batch = P.quick and 128 or 256   -- panel 1 has 256 pairs, panel 2 (quick) 128 samples
U.check(P.batch >= 2 and P.batch <= max_batch, "--batch %d: must be in [2, %d]", P.batch, max_batch)
U.check(P.noise >= 0 and P.noise < math.huge, "--noise %g: must be finite and >= 0", P.noise)
U.check(P.batch_noise >= 0 and P.batch_noise <= 1, "--batch-noise %g: must be in [0, 1]", P.batch_noise)
U.check(P.gamma > 0 and P.gamma <= 1, "--gamma %g: must be in (0, 1]", P.gamma)
U.check(P.rep_gamma > 0 and P.rep_gamma <= 1, "--rep-gamma %g: must be in (0, 1]", P.rep_gamma)
U.check(P.lr_scale > 0 and P.lr_scale < math.huge, "--lr-scale %g: must be positive", P.lr_scale)
U.check(P.rep_steps >= 1 and P.rep_seeds >= 1, "need --rep-steps >= 1 and --rep-seeds >= 1")

-- Panel 1's data: the pairs of the engine's own scalefit tests (n = 256).
-- Few pairs keep the decomposable loss's running estimates fresh: each
-- anchor is revisited every n/B = 32 steps at B = 8.
local PAIRS = {n = 256, k = 16, clusters = 8, spread = 0.6, pair_noise = 0.5}
-- Panel 2's data and model.
local REP = {
  data = {n = P.quick and 128 or 512, clusters = 16, latent_dim = 8, dim = 32, spread = 0.5},
  encoder = {dims = {32, 64, 16}},
  optim = {kind = "sgd", lr = 0.1, momentum = 0.9},
  tau = 0.1,
  ref_steps = P.quick and 20 or 1000,      -- the full-batch reference
  evals = P.quick and 2 or 20,             -- evaluations per run
}

local seed0 = cwb.seed()
local say = U.say
local t_start = os.clock()

-- ---- panel 1: the logit scale, with a known optimum ----------------------------

local a, b, labels = cwb.scalefit.pairs{n = PAIRS.n, k = PAIRS.k, clusters = PAIRS.clusters,
                                        spread = PAIRS.spread, pair_noise = PAIRS.pair_noise,
                                        seed = seed0}
local theta_star = cwb.scalefit.optimum(a, b)
-- The step size in units of the curvature: near theta* SGD shrinks the error
-- by (1 - lr L'') = 0.99 per step, whatever the data's scale.
local _, _, curvature = cwb.metrics.population_loss(a, b, theta_star)
local lr = P.lr_scale / curvature
local starts = U.loguniform(0.25, 4, P.runs)
local every = math.max(1, P.steps // 2000)  -- ~2000 recorded points per run

say(string.format("panel 1: %d pairs, theta* = %.4f (Newton), L''(theta*) = %.4g, lr = %.4g; " ..
                  "B = %d, sigma = %g, %d runs x %d steps per loss",
                  PAIRS.n, theta_star, curvature, lr, P.batch, P.noise, P.runs, P.steps))

local LOSSES = {   -- drawn in this order: the reference first, red on top
  {key = "standard", label = "standard in-batch InfoNCE", color = "grey",
   opts = {loss = "infonce", unscaled = true}},
  {key = "infonce", label = "conventional (minibatch estimate)", color = "blue",
   opts = {loss = "infonce"}},
  {key = "decomposable", label = "decomposable", color = "red",
   opts = {loss = "decomposable", alpha = P.alpha, gamma = P.gamma, estep_first = P.estep_first,
           jensen = P.jensen}},
}
-- The same loss with the two changes docs/gradient-bias.md measures: u drawn
-- before the batch updates zhat (independent of the Zbatch it multiplies) and
-- its mean corrected for E[1/zhat] > 1/Z.  Not methods.md's algorithm, so a
-- series of its own.
if not P.no_corrected then
  LOSSES[#LOSSES + 1] = {key = "decomposable_corrected",
                         label = "decomposable, E-step first + Jensen correction",
                         color = "#7b3294",
                         opts = {loss = "decomposable", alpha = P.alpha, gamma = P.gamma,
                                 estep_first = true, jensen = true}}
end

-- One run: SGD on theta alone from opts.theta0.  Returns the curve (steps and
-- theta/theta*) and the final score (theta/theta* over the last 5% of steps).
local function fit_theta(opts)
  local s = cwb.scalefit.new(a, b, opts)
  local xs, ys, early = {}, {}, {}
  -- The first `every` steps one at a time, keeping steps 1, 2, 3, 4, 6, 8,
  -- ...: the figure's log axis shows how each run leaves its start.
  local keep = 1
  for st = 1, every do
    local th, loss = s:step()
    if st >= keep or st == every then
      early[#early + 1] = {st, th, loss}
      xs[#xs + 1], ys[#ys + 1] = st, th / theta_star
      keep = math.ceil(st * 1.4)
    end
  end
  -- The rest in C, recorded in the store every `every` steps (history: the
  -- same points as a table, for the figure and the final score).
  local res = s:run{steps = P.steps - every, log_every = every, progress = false, history = true}
  local steps, thetas, run = res.history.step, res.history.theta, res.run
  local ratio = {}
  for i, th in ipairs(thetas) do
    ratio[i] = th / theta_star
    xs[#xs + 1], ys[#ys + 1] = steps[i], ratio[i]
  end
  local final = U.tail_mean(ratio, 0.05)   -- equally spaced points: the last 5% of steps
  if run then
    -- The early steps and theta/theta* join the run's record, so that
    -- `cwb runs plot ID theta_ratio` redraws this line of the figure.
    for _, e in ipairs(early) do
      cwb.runs.log(run, e[1], "theta", e[2])
      cwb.runs.log(run, e[1], "loss", e[3])
    end
    for i, x in ipairs(xs) do cwb.runs.log(run, x, "theta_ratio", ys[i]) end
    -- the optimum, drawn by `cwb runs plot` and the workbench's show "theta_ratio"
    cwb.runs.ref(run, "theta_ratio", 1, "optimum theta* (1.0)")
    cwb.runs.log(run, 0, "theta_star", theta_star)
    cwb.runs.log(run, steps[#steps], "final_score", final)
  end
  return {steps = xs, ratio = ys}, final
end

local curves = {}   -- curves[key][r] = {steps = {...}, ratio = {...}}
local finals = {}   -- finals[key][r] = final theta/theta*
local summary_rows = {}
for _, L in ipairs(LOSSES) do
  curves[L.key], finals[L.key] = {}, {}
  local t0 = os.clock()
  for r = 1, P.runs do
    local seed = seed0 + r - 1
    local opts = {labels = labels, batch = P.batch, noise = P.noise, lr = lr, seed = seed,
                  theta0 = starts[r] * theta_star, batch_noise = P.batch_noise,
                  importance = P.importance,
                  name = string.format("gradient_bias %s B=%d sigma=%g start=%.3g", L.key,
                                       P.batch, P.noise, starts[r])}
    for k, v in pairs(L.opts) do opts[k] = v end
    curves[L.key][r], finals[L.key][r] = fit_theta(opts)
    summary_rows[#summary_rows + 1] = {L.key, seed, P.noise, P.batch, finals[L.key][r]}
  end
  local st = U.stats(finals[L.key])
  say(string.format("  %-22s final theta/theta*: median %.3f, range [%.3f, %.3f]  (%.1f s)",
                    L.key, st.median, st.min, st.max, os.clock() - t0))
end
U.write_csv(cwb.outpath("summary.csv"), {"loss", "seed", "noise", "batch", "final_score"},
            summary_rows)

-- ---- panel 2: the representation ------------------------------------------------

local ds = cwb.data.synth{n = REP.data.n, clusters = REP.data.clusters,
                          latent_dim = REP.data.latent_dim, dim = REP.data.dim,
                          spread = REP.data.spread, seed = seed0}
local N = ds:size()
local REP_LOSSES = {
  {key = "infonce", label = "conventional", color = "blue",
   loss = {kind = "infonce", n_total = N, noise = P.noise}},
  {key = "decomposable", label = "decomposable", color = "red",
   loss = {kind = "decomposable", alpha = P.alpha, gamma = P.rep_gamma, noise = P.noise,
           estep_first = P.estep_first, jensen = P.jensen}},
  {key = "sogclr", label = "SogCLR", color = "dark-green",
   loss = {kind = "sogclr", noise = P.noise, estep_first = P.estep_first, jensen = P.jensen}},
  {key = "dcl", label = "DCL", color = "orange",
   loss = {kind = "dcl", n_total = N, noise = P.noise}},
}

local function train(key, loss, batch, steps, seed)
  local tr = cwb.trainer.new{seed = seed, data = ds, batch = batch, encoder = REP.encoder,
                             optim = REP.optim, loss = loss, tau = REP.tau,
                             name = string.format("gradient_bias rep %s B=%d seed=%d", key,
                                                  batch, seed)}
  local evals = {}
  local res = tr:run{steps = steps, eval_every = math.max(1, steps // REP.evals),
                     progress = false, on_step = function(info)
    if info.eval then
      evals[#evals + 1] = {step = info.step, top1 = info.eval.top1, pop_loss = info.eval.pop_loss}
    end
  end}
  return res.eval, evals
end

say(string.format("panel 2: encoder %s on %d samples, tau = %g, B = %d, %d steps x %d seed(s) " ..
                  "per loss; reference: full batch, %d steps",
                  table.concat(REP.encoder.dims, "-"), N, REP.tau, P.batch, P.rep_steps,
                  P.rep_seeds, REP.ref_steps))
local t0 = os.clock()
-- B = N: every negative is in the batch, so the (unscaled) InfoNCE gradient
-- is the population loss's own: the best population loss known to cwb here.
local ref = train("full-batch", {kind = "infonce"}, N, REP.ref_steps, seed0)
say(string.format("  %-13s top-1 %.3f, population loss %.4f  (%.1f s)", "full batch",
                  ref.top1, ref.pop_loss, os.clock() - t0))

local rep_rows = {{"full_batch", seed0, N, REP.ref_steps, ref.top1, ref.pop_loss, 0,
                   ref.alignment, ref.uniformity}}
local curve_rows = {}
local rep = {}      -- rep[key] = {top1 = {...}, gap = {...}, curves = {...}}
for _, L in ipairs(REP_LOSSES) do
  rep[L.key] = {top1 = {}, gap = {}, curves = {}}
  t0 = os.clock()
  for s = 1, P.rep_seeds do
    local seed = seed0 + s - 1
    local e, evals = train(L.key, L.loss, P.batch, P.rep_steps, seed)
    local gap = e.pop_loss - ref.pop_loss
    table.insert(rep[L.key].top1, e.top1)
    table.insert(rep[L.key].gap, gap)
    table.insert(rep[L.key].curves, evals)
    rep_rows[#rep_rows + 1] = {L.key, seed, P.batch, P.rep_steps, e.top1, e.pop_loss, gap,
                               e.alignment, e.uniformity}
    for _, ev in ipairs(evals) do
      curve_rows[#curve_rows + 1] = {L.key, seed, ev.step, ev.top1, ev.pop_loss}
    end
  end
  local t1, g = U.stats(rep[L.key].top1), U.stats(rep[L.key].gap)
  say(string.format("  %-13s top-1 %.3f [%.3f, %.3f], population-loss gap %.4f [%.4f, %.4f]" ..
                    "  (%.1f s)", L.key, t1.mean, t1.min, t1.max, g.mean, g.min, g.max,
                    os.clock() - t0))
end
U.write_csv(cwb.outpath("representation.csv"),
            {"loss", "seed", "batch", "steps", "top1", "pop_loss", "pop_gap", "alignment",
             "uniformity"}, rep_rows)
U.write_csv(cwb.outpath("representation_curves.csv"),
            {"loss", "seed", "step", "top1", "pop_loss"}, curve_rows)

-- ---- the figure -------------------------------------------------------------------

local have_plot, why = cwb.plot.available()
if not have_plot then
  say("figure skipped: " .. tostring(why) .. " (the CSV files are written)")
else
  local fig = cwb.plot.figure{terminal = "pngcairo", output = cwb.outpath("gradient_bias.png"),
                              width = 1800, height = 600, layout = {1, 3},
                              title = string.format("Gradient bias at batch size %d, noise " ..
                                                    "sigma = %g (seed %d)", P.batch, P.noise,
                                                    seed0)}
  fig:panel{title = string.format("Known optimum: the logit scale, %d runs per loss", P.runs),
            xlabel = "SGD step (log scale)", ylabel = "theta / theta*",
            logx = true, logy = true, xrange = {1, P.steps}, yrange = {0.2, 5},
            key = "bottom right"}
  for _, L in ipairs(LOSSES) do
    for r, c in ipairs(curves[L.key]) do
      fig:line(c.steps, c.ratio, {color = L.color, width = 1, title = r == 1 and L.label or nil})
    end
  end
  fig:hline(1.0, {label = "optimum theta* (1.0)", color = "black", dash = true, width = 2})

  fig:panel{title = "Representation: full-data-set top-1 retrieval",
            xlabel = "training step (thousands)", ylabel = "top-1 (optimum 1.0)",
            key = "bottom right"}
  for _, L in ipairs(REP_LOSSES) do
    for s, ev in ipairs(rep[L.key].curves) do
      local xs, ys = {}, {}
      for i, e in ipairs(ev) do xs[i], ys[i] = e.step / 1000, e.top1 end
      fig:line(xs, ys, {color = L.color, width = 1, title = s == 1 and L.label or nil})
    end
  end
  fig:hline(ref.top1, {label = "full batch", color = "black", dash = true})

  fig:panel{title = "Representation: population loss above the full-batch reference",
            xlabel = "training step (thousands)", ylabel = "population loss - reference",
            key = "top right"}
  for _, L in ipairs(REP_LOSSES) do
    for s, ev in ipairs(rep[L.key].curves) do
      local xs, ys = {}, {}
      for i, e in ipairs(ev) do xs[i], ys[i] = e.step / 1000, e.pop_loss - ref.pop_loss end
      fig:line(xs, ys, {color = L.color, width = 1, title = s == 1 and L.label or nil})
    end
  end
  fig:hline(0, {label = "full-batch reference", color = "black", dash = true})
  local file, err = fig:draw()
  fig:close()
  if not file then say("figure failed: " .. tostring(err)) end
end

-- ---- summary ----------------------------------------------------------------------

say("")
say(string.format("gradient bias, B = %d, sigma = %g, seed %d: final theta/theta* " ..
                  "(mean of the last 5%% of %d steps; optimum 1.0)", P.batch, P.noise, seed0,
                  P.steps))
for i = #LOSSES, 1, -1 do
  local L = LOSSES[i]
  local st = U.stats(finals[L.key])
  say(string.format("  %-22s median %.3f  min %.3f  max %.3f  (%d runs)", L.key, st.median,
                    st.min, st.max, st.n))
end
say(string.format("representation, B = %d, %d steps, %d seed(s): top-1 (optimum 1.0) and " ..
                  "population-loss gap to full batch (%.4f)", P.batch, P.rep_steps,
                  P.rep_seeds, ref.pop_loss))
for _, L in ipairs(REP_LOSSES) do
  local t1, g = U.stats(rep[L.key].top1), U.stats(rep[L.key].gap)
  say(string.format("  %-13s top-1 %.3f (%.3f-%.3f)  gap %+.4f (%+.4f..%+.4f)", L.key, t1.mean,
                    t1.min, t1.max, g.mean, g.min, g.max))
end
say(string.format("  %-13s top-1 %.3f", "full batch", ref.top1))
say(string.format("outputs in %s (%.0f s CPU)", cwb.outdir(), os.clock() - t_start))
