-- modality_structures.lua - experiment 3 of docs/methods.md ("Modality
-- structure"), on the two-modality data of docs/multimodal.md.
--
-- For several information-gap levels (the share of the class signal that
-- only the image sees: 0 = all shared, 1 = the text knows nothing about the
-- label) and several seeds, train
--   unimodal     the image tower alone, cross-entropy on the labels
--   clip         two towers, symmetric InfoNCE (CLIP)
--   clip+sep     + deep feature separation   (w_sep = 1)
--   clip+bridge  + Brownian bridge, t = 0.25 (w_bridge = 1)
--   clip+gc      + geometric consistency     (w_gc = 0.01)
--   clip+all     + all three
-- and evaluate on the test split: zero-shot (text captions as prototypes),
-- 5-shot nearest-centroid probe and a full linear probe on the image
-- features ([z, z^i] with separation heads), retrieval R@1 both ways, the
-- modality gap, and the fusion "question about an image" task.
--
-- [P2, Thm 3.1] predicts that as the gap grows, plain contrastive alignment
-- falls below the unimodal model on the image's downstream tasks, and the
-- regularisers recover part of that loss.  This recipe measures it.
--
-- Writes into --out:
--   summary.csv    one row per method and gap, means over seeds (header below;
--                  info_gap is the generator's gap knob in [0,1], delta_nats the
--                  estimated I(V;Y) - I(T;Y); *_sd are spreads over seeds)
--   runs.csv       one row per run (method, gap, seed)
--   accuracy_vs_gap.png   downstream accuracy against the information gap
--   pca.png, pca_<method>.csv   PCA of the pooled test embeddings of both
--                  modalities at one gap (colour: class; large dots: image,
--                  small light dots: text; lines join pairs)
--
-- Usage: cwb run examples/modality_structures.lua --out DIR [--seed N] [-- ARGS]
-- ARGS (-- --help lists them with their defaults): --gaps G1,G2,...
-- --seeds K --steps N --batch B --methods M1,M2,... --w-sep W --w-bridge W
-- --w-gc W --n-train N --n-test N --episodes E --fusion-steps N --pca-gap G
-- --pca-points N --pairs N --quick (two gaps, one seed, a few steps: for the
-- test-suite; arguments given explicitly override it).
-- About 5 minutes on 2 cores with the defaults.

local U = require "cwb.util"

local ALL_METHODS = "unimodal,clip,clip+sep,clip+bridge,clip+gc,clip+all"
local P, given = U.args(arg, {
  {"gaps", "numbers", {0, 0.25, 0.5, 0.75, 1}, "information-gap levels, each in [0, 1]"},
  {"seeds", "int", 3, "seeds per gap (seed, seed+1, ...): data and initialisation"},
  {"steps", "int", 1000, "training steps per run"},
  {"batch", "int", 128, "batch size B"},
  {"methods", "string", ALL_METHODS, "the methods to train, comma-separated"},
  {"w_sep", "number", 1, "weight of deep feature separation (clip+sep, clip+all)"},
  {"w_bridge", "number", 1, "weight of the Brownian bridge, t = 0.25 (clip+bridge, clip+all)"},
  {"w_gc", "number", 0.01, "weight of geometric consistency (clip+gc, clip+all)"},
  {"n_train", "int", 2000, "training split of the two-modality data"},
  {"n_test", "int", 1000, "test split (every evaluation is on it)"},
  {"episodes", "int", 20, "few-shot episodes per k"},
  {"fusion_steps", "int", 300, "steps training the fusion head of the question task (0: skip)"},
  {"pca_gap", "number", 0.75, "the gap whose embeddings pca.png shows (one of --gaps)"},
  {"pca_points", "int", 200, "test points per modality in pca.png"},
  {"pairs", "int", 40, "pairs joined by a line in pca.png"},
  {"quick", "flag", false, "a budget of seconds for the test-suite: gaps 0,1, 1 seed, 60 steps, " ..
                           "B = 64, 400/200 samples, 3 episodes, 30 fusion steps, PCA at gap 1"},
}, "modality_structures.lua: experiment 3, modality structure against the information gap " ..
   "(docs/multimodal.md)")
if not P then return end

-- --quick replaces the defaults, not what was given explicitly.
if P.quick then
  local QUICK = {gaps = {0, 1}, seeds = 1, steps = 60, batch = 64, n_train = 400, n_test = 200,
                 episodes = 3, fusion_steps = 30, pca_gap = 1, pca_points = 100, pairs = 10}
  for k, v in pairs(QUICK) do
    if not given[k] then P[k] = v end
  end
end
-- The raw-data kNN baseline (mm.data's knn_k) is not in this recipe's
-- outputs; the quick budget skips it.
P.data = {n_train = P.n_train, n_test = P.n_test, knn_k = P.quick and 0 or 10}

U.check(#P.gaps >= 1, "--gaps: give at least one gap")
for _, g in ipairs(P.gaps) do U.check(g >= 0 and g <= 1, "--gaps: %g is outside [0, 1]", g) end
U.check(P.seeds >= 1 and P.steps >= 1, "need --seeds >= 1 and --steps >= 1")
U.check(P.n_train >= 1 and P.n_test >= 1, "need --n-train >= 1 and --n-test >= 1")
U.check(P.batch >= 2 and P.batch <= P.n_train, "--batch %d: must be in [2, --n-train = %d]",
        P.batch, P.n_train)
U.check(P.episodes >= 1 and P.fusion_steps >= 0, "need --episodes >= 1 and --fusion-steps >= 0")
U.check(P.pca_points >= 1 and P.pairs >= 0, "need --pca-points >= 1 and --pairs >= 0")
for _, k in ipairs{"w_sep", "w_bridge", "w_gc"} do
  U.check(P[k] >= 0 and P[k] < math.huge, "--%s %g: must be finite and >= 0", k:gsub("_", "-"), P[k])
end
local pca_in_gaps = false
for _, g in ipairs(P.gaps) do pca_in_gaps = pca_in_gaps or g == P.pca_gap end
if not pca_in_gaps and not given.pca_gap then  -- a default that --gaps left out: the largest gap
  P.pca_gap = math.max(table.unpack(P.gaps))
  pca_in_gaps = true
end
U.check(pca_in_gaps, "--pca-gap %g: must be one of --gaps", P.pca_gap)

local KNOWN = {
  unimodal = {name = "unimodal"},
  clip = {name = "clip"},
  ["clip+sep"] = {name = "clip+sep", w_sep = P.w_sep},
  ["clip+bridge"] = {name = "clip+bridge", w_bridge = P.w_bridge},
  ["clip+gc"] = {name = "clip+gc", w_gc = P.w_gc},
  ["clip+all"] = {name = "clip+all", w_sep = P.w_sep, w_bridge = P.w_bridge, w_gc = P.w_gc},
}
local METHODS = {}
for name in P.methods:gmatch("[^,%s]+") do
  U.check(KNOWN[name], "--methods: unknown method '%s' (%s)", name, ALL_METHODS)
  METHODS[#METHODS + 1] = KNOWN[name]
end
U.check(#METHODS >= 1, "--methods: give at least one of %s", ALL_METHODS)
local COLORS = {unimodal = "black", clip = "blue", ["clip+sep"] = "red",
                ["clip+bridge"] = "dark-green", ["clip+gc"] = "orange", ["clip+all"] = "purple"}
-- pca.png colours points by class (ten hues, then they repeat); a text
-- point takes its class's hue mixed halfway with white
local CLASS_COLORS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}
local function lighter(hex)
  local out = {}
  for i = 2, 6, 2 do
    local v = tonumber(hex:sub(i, i + 1), 16)
    out[#out + 1] = string.format("%02x", math.floor((v + 255) / 2))
  end
  return "#" .. table.concat(out)
end

local say = U.say
local nan = 0 / 0
local function isnan(v) return v ~= v end

local function mean_sd(xs)
  local n, s, s2 = 0, 0, 0
  for _, v in ipairs(xs) do
    if not isnan(v) then n, s, s2 = n + 1, s + v, s2 + v * v end
  end
  if n == 0 then return nan, nan end
  local m = s / n
  if n < 2 then return m, nan end
  return m, math.sqrt(math.max((s2 - n * m * m) / (n - 1), 0))
end

local function fmt(v)
  if v == nil or isnan(v) then return "nan" end
  return (string.format("%.4f", v):gsub("^%-(0%.0+)$", "%1"))
end

-- A CSV in --out, atomically (U.write_csv; the cells are already text).
local function write_csv(name, header, rows)
  return U.write_csv(cwb.outpath(name), header, rows)
end

-- ---- the runs --------------------------------------------------------------

local results = {}   -- results[method][gap] = list of per-seed tables
local datainfo = {}  -- datainfo[gap] = list of per-seed d:info()
local pca = {}       -- pca[method] = {xy = tensor, n = points per modality, labels}
for _, m in ipairs(METHODS) do results[m.name] = {} end
local run_rows = {}
local t0 = os.clock()

for _, gap in ipairs(P.gaps) do
  datainfo[gap] = {}
  for _, m in ipairs(METHODS) do results[m.name][gap] = {} end
  for s = 1, P.seeds do
    local seed = cwb.seed() + s - 1
    local dopts = {gap = gap, seed = seed}
    for k, v in pairs(P.data) do dopts[k] = v end
    local data = cwb.mm.data(dopts)
    local info = data:info()
    datainfo[gap][s] = info
    say(string.format("gap %.2f seed %d: Bayes V %.3f T %.3f, I(V;Y) - I(T;Y) = %.3f nats",
                      gap, seed, info.bayes_v, info.bayes_t, info.info_gap))
    for _, m in ipairs(METHODS) do
      local opts = {data = data, seed = seed, batch = P.batch, fewshot_episodes = P.episodes,
                    eval_fusion_steps = P.fusion_steps,
                    name = string.format("%s gap=%.2f seed=%d", m.name, gap, seed)}
      local tr
      if m.name == "unimodal" then
        opts.modality = "v"
        tr = cwb.mm.unimodal(opts)
      else
        opts.w_sep, opts.w_bridge, opts.w_gc = m.w_sep, m.w_bridge, m.w_gc
        tr = cwb.mm.trainer(opts)
      end
      local r = tr:run{steps = P.steps, progress = false}
      local e = r.eval
      table.insert(results[m.name][gap], e)
      say(string.format("  %-12s zero-shot %s  5-shot %s  probe %s  R@1 %s/%s  gap %s/%s  fusion %s",
                        m.name, fmt(e.zero_shot), fmt(e.fewshot5), fmt(e.linear_probe),
                        fmt(e.r1_v2t), fmt(e.r1_t2v), fmt(e.gap_centroid), fmt(e.gap_paired),
                        fmt(e.fusion_acc)))
      table.insert(run_rows, {m.name, fmt(gap), tostring(seed), fmt(info.info_gap),
                              fmt(e.zero_shot), fmt(e.fewshot1), fmt(e.fewshot5), fmt(e.fewshot10),
                              fmt(e.linear_probe), fmt(e.head_acc), fmt(e.r1_v2t), fmt(e.r1_t2v),
                              fmt(e.r10_v2t), fmt(e.r10_t2v), fmt(e.gap_centroid), fmt(e.gap_paired),
                              fmt(e.alignment), fmt(e.uniformity_v), fmt(e.fusion_acc),
                              tostring(r.run or "")})
      -- The geometry behind the numbers: PCA of both modalities' test embeddings.
      if gap == P.pca_gap and s == 1 then
        local z = tr:embed()
        local ntr = info.n_train
        local n = math.min(P.pca_points, info.n_test)
        local v = z.v:slice(ntr + 1, ntr + n)
        local pooled = z.t and cwb.tensor.vstack{v, z.t:slice(ntr + 1, ntr + n)} or v
        local xy, explained = cwb.pca(pooled)
        local labels = data:labels()
        pca[m.name] = {xy = xy, n = n, two = z.t ~= nil, explained = explained,
                       labels = {table.unpack(labels, ntr + 1, ntr + n)}}
      end
    end
  end
end
say(string.format("%d runs in %.0f s of CPU time", #run_rows, os.clock() - t0))

-- ---- tables -------------------------------------------------------------------

write_csv("runs.csv", {"method", "info_gap", "seed", "delta_nats", "zero_shot_acc", "fewshot1_acc",
                       "fewshot_acc", "fewshot10_acc", "linear_probe_acc", "head_acc", "r1_v2t",
                       "r1_t2v", "r10_v2t", "r10_t2v", "gap_centroid", "gap_paired", "alignment",
                       "uniformity_v", "fusion_acc", "run"}, run_rows)

-- A metric that does not apply to a run is absent from its evaluation: NaN
-- here, which mean_sd skips.
local function col(list, key)
  local out = {}
  for i, e in ipairs(list) do out[i] = e[key] or nan end
  return out
end

local summary, curves = {}, {}
for _, m in ipairs(METHODS) do
  curves[m.name] = {}
  for _, gap in ipairs(P.gaps) do
    local es, ds = results[m.name][gap], datainfo[gap]
    local mv = {}
    for _, k in ipairs{"zero_shot", "fewshot1", "fewshot5", "fewshot10", "linear_probe",
                       "head_acc", "r1_v2t", "r1_t2v", "gap_centroid", "gap_paired",
                       "alignment", "uniformity_v", "fusion_acc"} do
      mv[k], mv[k .. "_sd"] = mean_sd(col(es, k))
    end
    local delta = mean_sd(col(ds, "info_gap"))
    local bv, bt = mean_sd(col(ds, "bayes_v")), mean_sd(col(ds, "bayes_t"))
    curves[m.name][gap] = mv
    table.insert(summary, {m.name, fmt(gap), fmt(mv.zero_shot), fmt(mv.fewshot5), fmt(mv.r1_v2t),
                           fmt(mv.r1_t2v), fmt(mv.gap_centroid), fmt(mv.gap_paired),
                           fmt(delta), fmt(bv), fmt(bt), fmt(mv.linear_probe),
                           fmt(mv.fewshot1), fmt(mv.fewshot10), fmt(mv.fusion_acc), fmt(mv.head_acc),
                           fmt(mv.alignment), fmt(mv.uniformity_v), fmt(mv.zero_shot_sd),
                           fmt(mv.fewshot5_sd), fmt(mv.linear_probe_sd), fmt(mv.fusion_acc_sd),
                           tostring(#es)})
  end
end
local out = write_csv("summary.csv",
  {"method", "info_gap", "zero_shot_acc", "fewshot_acc", "r1_v2t", "r1_t2v", "gap_centroid",
   "gap_paired", "delta_nats", "bayes_v", "bayes_t", "linear_probe_acc", "fewshot1_acc",
   "fewshot10_acc", "fusion_acc", "head_acc", "alignment", "uniformity_v", "zero_shot_sd",
   "fewshot_sd", "linear_probe_sd", "fusion_sd", "seeds"}, summary)
say("wrote " .. out)

-- ---- figures --------------------------------------------------------------------

local ok_plot, why = cwb.plot.available()
if not ok_plot then
  say("no figures: " .. tostring(why))
  return
end

local function series(name, key)
  local xs, ys = {}, {}
  for _, gap in ipairs(P.gaps) do
    local v = curves[name][gap][key]
    if not isnan(v) then xs[#xs + 1], ys[#ys + 1] = gap, v end
  end
  return xs, ys
end

local fig = cwb.plot.figure{terminal = "pngcairo", output = cwb.outpath("accuracy_vs_gap.png"),
                            width = 1300, height = 950, layout = {2, 2},
                            title = string.format("Modality structure: accuracy vs information gap " ..
                                                  "(%d seed%s, %d steps)", P.seeds,
                                                  P.seeds > 1 and "s" or "", P.steps)}
local panels = {
  {key = "linear_probe", title = "linear probe on image features", oracle = true},
  {key = "fewshot5", title = "5-shot (nearest centroid) on image features"},
  {key = "zero_shot", title = "zero-shot (text captions as prototypes)"},
  {key = "fusion_acc", title = "question about an image (fusion MLP, frozen features)"},
}
for _, p in ipairs(panels) do
  fig:panel{title = p.title, xlabel = "information gap (share of the class signal only V sees)",
            ylabel = "test accuracy", xrange = {-0.05, 1.05}, yrange = {0, 1}, key = "bottom left"}
  for _, m in ipairs(METHODS) do
    local xs, ys = series(m.name, p.key)
    if #xs > 0 then
      fig:line(xs, ys, {color = COLORS[m.name], width = 2, title = m.name})
      fig:points(xs, ys, {color = COLORS[m.name]})
    end
  end
  if p.oracle then
    local xs, bv, bt = {}, {}, {}
    for i, gap in ipairs(P.gaps) do
      xs[i], bv[i], bt[i] = gap, mean_sd(col(datainfo[gap], "bayes_v")), mean_sd(col(datainfo[gap], "bayes_t"))
    end
    -- two reference lines, told apart by colour, dash and width
    fig:line(xs, bv, {color = "black", dash = 2, width = 1.5, title = "Bayes, image (V) latents"})
    fig:line(xs, bt, {color = "gray50", dash = 3, width = 2.5, title = "Bayes, text (T) latents"})
  end
end
local file, err = fig:draw()
say(file and ("wrote " .. file) or ("figure failed: " .. tostring(err)))
fig:close()

local pf = cwb.plot.figure{terminal = "pngcairo", output = cwb.outpath("pca.png"),
                           width = 1500, height = 950, layout = {2, 3},
                           title = string.format("PCA of test embeddings at gap %.2f (colour: class; " ..
                                                 "large dots: image, small light dots: text; lines join %d pairs)",
                                                 P.pca_gap, P.pairs)}
for _, m in ipairs(METHODS) do
  local pc = pca[m.name]
  if pc then
    local n, xy = pc.n, pc.xy
    pf:panel{title = string.format("%s (PC1 %.0f%%, PC2 %.0f%%)", m.name, 100 * pc.explained[1],
                                   100 * pc.explained[2]), key = false}
    for i = 1, (pc.two and P.pairs or 0) do
      pf:line({xy:get(i, 1), xy:get(n + i, 1)}, {xy:get(i, 2), xy:get(n + i, 2)},
              {color = "dark-gray", width = 1})
    end
    -- one series per class and modality: image points, then text points
    local by_class = {}
    for i = 1, n do
      local c = pc.labels[i]
      local b = by_class[c] or {vx = {}, vy = {}, tx = {}, ty = {}}
      by_class[c] = b
      b.vx[#b.vx + 1], b.vy[#b.vy + 1] = xy:get(i, 1), xy:get(i, 2)
      if pc.two then b.tx[#b.tx + 1], b.ty[#b.ty + 1] = xy:get(n + i, 1), xy:get(n + i, 2) end
    end
    local classes = {}
    for c in pairs(by_class) do classes[#classes + 1] = c end
    table.sort(classes)  -- the same drawing order every run
    for _, c in ipairs(classes) do
      local b = by_class[c]
      local color = CLASS_COLORS[(c - 1) % #CLASS_COLORS + 1]
      pf:points(b.vx, b.vy, {color = color, size = 0.7})
      if #b.tx > 0 then pf:points(b.tx, b.ty, {color = lighter(color), size = 0.4}) end
    end
    local rows = {}
    for i = 1, xy:rows() do
      local mod = i <= n and "v" or "t"
      local j = i <= n and i or i - n
      rows[i] = {fmt(xy:get(i, 1)), fmt(xy:get(i, 2)), mod, tostring(pc.labels[j]), tostring(j)}
    end
    write_csv("pca_" .. m.name:gsub("%+", "_") .. ".csv", {"pc1", "pc2", "modality", "label", "pair"}, rows)
  end
end
file, err = pf:draw()
say(file and ("wrote " .. file) or ("figure failed: " .. tostring(err)))
pf:close()
