-- gradient_bias_sweep.lua - where each loss settles, as the batch size, the
-- noise and the decomposable loss's alpha and gamma vary (panel 1 of
-- examples/gradient_bias.lua; docs/gradient-bias.md, "The sweep").
--
-- Same experiment as gradient_bias.lua's panel 1: fixed clustered pairs, SGD
-- on the logit scale theta alone, theta* from Newton on the population loss,
-- lr = 0.01 / L''(theta*).  Every run starts at theta* (the main recipe shows
-- that the start does not matter) and reports final theta/theta*, the mean of
-- the last 20% of its steps.  Runs are long enough for every anchor to be
-- revisited `visits` times, so the decomposable loss's running estimates see
-- as many updates at every batch size (steps = visits * n / B).
--
--   part "batch_noise"  B in {8, 16, 32, 64, 128, 256 = n} x sigma in
--                       {0, 0.5, 1, 2} x {infonce (conventional),
--                       decomposable (alpha 10, gamma 0.02), standard,
--                       decomposable_corrected (the same with estep_first
--                       and jensen)}
--   part "alpha_gamma"  the decomposable loss at B = 8, sigma = 0:
--                       gamma in {0.005 ... 0.5} x alpha in {1, 3, 10, 100, inf}
--   part "estep_first"  the same at alpha 10 with estep_first = true (u drawn
--                       from zhat before the batch updates it: loss.h)
--   part "estep_jensen" the same with jensen = true as well (u's mean
--                       corrected for E[1/zhat] > 1/Z: loss.h)
--
-- Writes into --out: sweep.csv (one row per run:
-- part,loss,batch,noise,alpha,gamma,seed,steps,final_score; final_score is
-- nan for a run that a NaN stopped) and gradient_bias_sweep.png.
-- Every run is in the run store.
--
-- Usage: cwb run examples/gradient_bias_sweep.lua --out DIR [-- --seeds K
-- --visits V --quick]. About 4 minutes on 2 cores.

local U = require "cwb.util"

local P = U.args(arg, {
  {"seeds", "int", 2, "runs per setting (seeds seed, seed+1, ...)"},
  {"visits", "int", 2500, "visits per anchor in each run: steps = visits * n / B"},
  {"quick", "flag", false, "a tiny grid and budget (seconds), for the test-suite"},
}, "gradient_bias_sweep.lua: batch size, noise, alpha and gamma (docs/gradient-bias.md)")
if not P then return end
U.check(P.seeds >= 1 and P.visits >= 1, "need --seeds >= 1 and --visits >= 1")

local GRID = P.quick and {
  batches = {8, 64}, noises = {0, 1}, gammas = {0.02, 0.2}, alphas = {10, math.huge},
  seeds = 1, visits = math.min(P.visits, 60),
} or {
  batches = {8, 16, 32, 64, 128, 256}, noises = {0, 0.5, 1, 2},
  gammas = {0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5}, alphas = {1, 3, 10, 100, math.huge},
  seeds = P.seeds, visits = P.visits,
}
local ALPHA, GAMMA = 10, 0.02      -- the main recipe's decomposable loss
local LOSSES = {
  {key = "standard", color = "grey", opts = {loss = "infonce", unscaled = true}},
  {key = "infonce", color = "blue", opts = {loss = "infonce"}},
  {key = "decomposable", color = "red", opts = {loss = "decomposable", alpha = ALPHA,
                                                 gamma = GAMMA}},
  {key = "decomposable_corrected", color = "#7b3294",
   opts = {loss = "decomposable", alpha = ALPHA, gamma = GAMMA, estep_first = true, jensen = true}},
}
local LABEL = {standard = "standard in-batch InfoNCE", infonce = "conventional",
               decomposable = "decomposable",
               decomposable_corrected = "decomposable, E-step first + Jensen"}

-- The pairs of gradient_bias.lua's panel 1.
local PAIRS = {n = 256, k = 16, clusters = 8, spread = 0.6, pair_noise = 0.5}
local seed0 = cwb.seed()
local a, b = cwb.scalefit.pairs{n = PAIRS.n, k = PAIRS.k, clusters = PAIRS.clusters,
                                spread = PAIRS.spread, pair_noise = PAIRS.pair_noise,
                                seed = seed0}
local theta_star = cwb.scalefit.optimum(a, b)
local _, _, curvature = cwb.metrics.population_loss(a, b, theta_star)
local lr = 0.01 / curvature
local say = U.say
local nan = 0 / 0
local t_start = os.clock()
say(string.format("sweep: %d pairs, theta* = %.4f, lr = %.4g, %d visits per anchor, %d seed(s)",
                  PAIRS.n, theta_star, lr, GRID.visits, GRID.seeds))
say("final theta/theta* of standard, conventional (infonce), decomposable, decomposable_corrected:")

-- One run from theta*: final theta/theta* (nan if the run failed).
local function settle(opts, B, seed)
  local steps = math.max(200, GRID.visits * PAIRS.n // B)
  local o = {batch = B, lr = lr, theta0 = theta_star, seed = seed}
  for k, v in pairs(opts) do o[k] = v end
  o.name = string.format("sweep %s B=%d sigma=%g alpha=%s gamma=%s seed=%d", o.loss_key,
                         B, o.noise or 0, tostring(o.alpha or "-"), tostring(o.gamma or "-"),
                         seed)
  o.loss_key = nil
  local okr, res = pcall(function()
    local s = cwb.scalefit.new(a, b, o)
    local res = s:run{steps = steps, log_every = math.max(1, steps // 200), progress = false,
                      history = true}
    local st, thetas, run = res.history.step, res.history.theta, res.run
    local ratio = {}
    for i, th in ipairs(thetas) do ratio[i] = th / theta_star end
    local final = U.tail_mean(ratio, 0.2)
    if run then
      cwb.runs.log(run, 0, "theta_star", theta_star)
      cwb.runs.log(run, st[#st], "final_score", final)
    end
    return final
  end)
  if not okr then
    say("    run failed: " .. tostring(res))
    return nan, steps
  end
  return res, steps
end

local rows = {}
local mean = {}    -- mean[part .. key] = mean final over seeds
local function record(part, key, loss, B, noise, alpha, gamma, opts)
  local vals = {}
  for s = 1, GRID.seeds do
    local f, steps = settle(opts, B, seed0 + s - 1)
    vals[s] = f
    rows[#rows + 1] = {part, loss, B, noise, alpha or "", gamma or "", seed0 + s - 1, steps, f}
  end
  local st = U.stats(vals)
  mean[key] = st.mean or nan
  return mean[key]
end

-- ---- part 1: batch size x noise, every loss ----------------------------------------
for _, B in ipairs(GRID.batches) do
  local t0 = os.clock()
  local line = {}
  for _, sigma in ipairs(GRID.noises) do
    local ms = {}
    for _, L in ipairs(LOSSES) do
      local opts = {loss_key = L.key, noise = sigma}
      for k, v in pairs(L.opts) do opts[k] = v end
      ms[#ms + 1] = record("batch_noise", table.concat({"bn", L.key, B, sigma}, ":"), L.key, B,
                           sigma, opts.alpha, opts.gamma, opts)
    end
    line[#line + 1] = string.format("sigma %g: %.3f %.3f %.3f %.3f", sigma, table.unpack(ms))
  end
  say(string.format("  B = %3d  %s  (%.1f s)", B, table.concat(line, " | "), os.clock() - t0))
end

-- ---- part 2: alpha x gamma, the decomposable loss at B = 8, sigma = 0 ------------
local B0 = GRID.batches[1]
for _, alpha in ipairs(GRID.alphas) do
  local t0 = os.clock()
  local line = {}
  for _, gamma in ipairs(GRID.gammas) do
    local m = record("alpha_gamma", table.concat({"ag", alpha, gamma}, ":"), "decomposable", B0, 0,
                     alpha, gamma, {loss_key = "decomposable", loss = "decomposable",
                                    alpha = alpha, gamma = gamma, noise = 0})
    line[#line + 1] = string.format("gamma %g: %.3f", gamma, m)
  end
  say(string.format("  decomposable, B = %d, alpha = %-4s %s  (%.1f s)", B0, tostring(alpha),
                    table.concat(line, ", "), os.clock() - t0))
end

-- ---- part 3: the E-step first (u independent of the Zbatch it multiplies), --------
-- without and with the Jensen correction of u's mean
for _, V in ipairs{{part = "estep_first", tag = "es", key = "decomposable-estep", jensen = false},
                   {part = "estep_jensen", tag = "ej", key = "decomposable-estep-jensen",
                    jensen = true}} do
  local t0 = os.clock()
  local line = {}
  for _, gamma in ipairs(GRID.gammas) do
    local m = record(V.part, table.concat({V.tag, ALPHA, gamma}, ":"), "decomposable", B0, 0,
                     ALPHA, gamma, {loss_key = V.key, loss = "decomposable", alpha = ALPHA,
                                    gamma = gamma, noise = 0, estep_first = true,
                                    jensen = V.jensen})
    line[#line + 1] = string.format("gamma %g: %.3f", gamma, m)
  end
  say(string.format("  decomposable %s, B = %d, alpha = %-4s %s  (%.1f s)", V.part, B0,
                    tostring(ALPHA), table.concat(line, ", "), os.clock() - t0))
end

U.write_csv(cwb.outpath("sweep.csv"), {"part", "loss", "batch", "noise", "alpha", "gamma", "seed",
                                       "steps", "final_score"}, rows)

-- ---- the figure -------------------------------------------------------------------------
local have_plot, why = cwb.plot.available()
if not have_plot then
  say("figure skipped: " .. tostring(why) .. " (sweep.csv is written)")
else
  local fig = cwb.plot.figure{terminal = "pngcairo", output = cwb.outpath("gradient_bias_sweep.png"),
                              width = 1400, height = 1000, layout = {2, 2},
                              title = string.format("Where SGD on theta settles: final " ..
                                                    "theta/theta* (1.0 = optimum), mean of %d " ..
                                                    "seed(s)", GRID.seeds)}
  local function curve(xs, key_of, x_of)
    local px, py = {}, {}
    for i, x in ipairs(xs) do px[i], py[i] = x_of and x_of(x) or x, mean[key_of(x)] end
    return px, py
  end
  local function line(xs, ys, opts)
    fig:line(xs, ys, opts)
    fig:points(xs, ys, {color = opts.color, size = 0.6})
  end
  -- (a) against the batch size, at two noise levels
  local sig2 = GRID.noises[math.min(3, #GRID.noises)]
  fig:panel{title = string.format("Batch size (solid: sigma 0, dashed: sigma %g)", sig2),
            xlabel = "batch size B (log scale; B = n = 256 is the whole data set)",
            ylabel = "final theta / theta*", logx = true, yrange = {0.8, 3.2},
            key = "top right"}
  for _, L in ipairs(LOSSES) do
    for j, sigma in ipairs{0, sig2} do
      local xs, ys = curve(GRID.batches, function(B)
        return table.concat({"bn", L.key, B, sigma}, ":") end)
      line(xs, ys, {color = L.color, width = j == 1 and 2 or 1, dash = j == 2 and 2 or nil,
                    title = string.format("%s, sigma %g", LABEL[L.key], sigma)})
    end
  end
  fig:hline(1.0, {label = "optimum", color = "black", dash = true})
  -- (b) against the noise level, at the smallest and a larger batch
  local Bs = {GRID.batches[1], GRID.batches[math.min(4, #GRID.batches)]}
  fig:panel{title = string.format("Noise on the negative terms (solid: B = %d, dashed: B = %d)",
                                  Bs[1], Bs[2]),
            xlabel = "sigma of the mean-one lognormal noise",
            ylabel = "final theta / theta*", yrange = {0.8, 3.2}, key = "top left"}
  for _, L in ipairs(LOSSES) do
    for j, B in ipairs(Bs) do
      local xs, ys = curve(GRID.noises, function(sigma)
        return table.concat({"bn", L.key, B, sigma}, ":") end)
      line(xs, ys, {color = L.color, width = j == 1 and 2 or 1, dash = j == 2 and 2 or nil,
                    title = string.format("%s, B = %d", LABEL[L.key], B)})
    end
  end
  fig:hline(1.0, {label = "optimum", color = "black", dash = true})
  -- (c) the decomposable loss against gamma, one line per alpha
  local ACOL = {"#fdae6b", "#f16913", "red", "#a50f15", "black"}
  local function alpha_name(alpha)
    return alpha == math.huge and "alpha = inf (SogCLR limit)" or string.format("alpha = %g", alpha)
  end
  fig:panel{title = string.format("Decomposable loss against gamma (B = %d, sigma 0)", B0),
            xlabel = "gamma, the running-estimate rate (log scale)",
            ylabel = "final theta / theta* (log scale)", logx = true, logy = true,
            yrange = {0.5, 1000}, key = "top left"}
  for j, alpha in ipairs(GRID.alphas) do
    local xs, ys = curve(GRID.gammas, function(gamma)
      return table.concat({"ag", alpha, gamma}, ":") end)
    line(xs, ys, {color = ACOL[j] or "red", width = 2, title = alpha_name(alpha)})
  end
  do
    local xs, ys = curve(GRID.gammas, function(gamma)
      return table.concat({"es", ALPHA, gamma}, ":") end)
    line(xs, ys, {color = "#31a354", width = 2, dash = 2,
                  title = string.format("alpha = %g, E-step first (estep_first)", ALPHA)})
    xs, ys = curve(GRID.gammas, function(gamma)
      return table.concat({"ej", ALPHA, gamma}, ":") end)
    line(xs, ys, {color = "#7b3294", width = 2, dash = 3,
                  title = string.format("alpha = %g, E-step first + Jensen correction", ALPHA)})
  end
  fig:hline(1.0, {label = "optimum", color = "black", dash = true})
  -- (d) the decomposable loss against alpha, one line per gamma (the
  -- gammas whose runs ran away to huge theta are left to panel (c))
  local GCOL = {"#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b", "black"}
  fig:panel{title = string.format("Decomposable loss against alpha (B = %d, sigma 0; inf " ..
                                  "drawn at 1000)", B0),
            xlabel = "alpha, the gamma shape (log scale)",
            ylabel = "final theta / theta*", logx = true, yrange = {0.8, 2.4},
            key = "top left"}
  for j, gamma in ipairs(GRID.gammas) do
    local xs, ys = curve(GRID.alphas, function(alpha)
      return table.concat({"ag", alpha, gamma}, ":") end,
      function(alpha) return alpha == math.huge and 1000 or alpha end)
    local top = 0
    for _, v in ipairs(ys) do if v == v then top = math.max(top, v) end end
    if top < 2.4 then
      line(xs, ys, {color = GCOL[j] or "blue", width = 2,
                    title = string.format("gamma = %g", gamma)})
    end
  end
  fig:hline(1.0, {label = "optimum", color = "black", dash = true})
  local file, err = fig:draw()
  fig:close()
  if not file then say("figure failed: " .. tostring(err)) end
end

say(string.format("sweep done: %d runs, outputs in %s (%.0f s CPU)", #rows, cwb.outdir(),
                  os.clock() - t_start))
