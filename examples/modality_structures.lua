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
--                  modalities at one gap (points by modality, pairs joined)
--
-- Usage: cwb run examples/modality_structures.lua --out DIR [-- --quick]
-- (--quick: two gaps, one seed, a few steps: for the test-suite.)
-- About 5 minutes on 2 cores in full mode.

local quick = false
for _, a in ipairs(arg or {}) do
  if a == "--quick" then quick = true
  else error("unknown argument '" .. tostring(a) .. "' (only --quick)") end
end

local P = quick and {
  gaps = {0, 1}, seeds = 1, steps = 60, batch = 64,
  data = {n_train = 400, n_test = 200, knn_k = 0},
  episodes = 3, fusion_steps = 30, pca_gap = 1, pca_points = 100, pairs = 10,
} or {
  gaps = {0, 0.25, 0.5, 0.75, 1}, seeds = 3, steps = 1000, batch = 128,
  data = {},
  episodes = 20, fusion_steps = 300, pca_gap = 0.75, pca_points = 200, pairs = 40,
}

local METHODS = {
  {name = "unimodal"},
  {name = "clip"},
  {name = "clip+sep", w_sep = 1},
  {name = "clip+bridge", w_bridge = 1},
  {name = "clip+gc", w_gc = 0.01},
  {name = "clip+all", w_sep = 1, w_bridge = 1, w_gc = 0.01},
}
local COLORS = {unimodal = "black", clip = "blue", ["clip+sep"] = "red",
                ["clip+bridge"] = "dark-green", ["clip+gc"] = "orange", ["clip+all"] = "purple"}

local say = cwb.quiet() and function() end or print
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

-- Write a CSV atomically (cwb.write_file): a table of rows, each a list.
local function write_csv(name, header, rows)
  local lines = {table.concat(header, ",")}
  for _, r in ipairs(rows) do lines[#lines + 1] = table.concat(r, ",") end
  return cwb.write_file(cwb.outpath(name), table.concat(lines, "\n") .. "\n")
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
    fig:line(xs, bv, {color = "gray", dash = true, title = "Bayes, V latents"})
    fig:line(xs, bt, {color = "gray", dash = 2, title = "Bayes, T latents"})
  end
end
local file, err = fig:draw()
say(file and ("wrote " .. file) or ("figure failed: " .. tostring(err)))
fig:close()

local pf = cwb.plot.figure{terminal = "pngcairo", output = cwb.outpath("pca.png"),
                           width = 1500, height = 950, layout = {2, 3},
                           title = string.format("PCA of test embeddings at gap %.2f " ..
                                                 "(blue: image, red: text, lines join %d pairs)", P.pca_gap, P.pairs)}
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
    pf:points(xy:col(1):slice(1, n), xy:col(2):slice(1, n), {color = "blue", size = 0.6})
    if pc.two then
      pf:points(xy:col(1):slice(n + 1, 2 * n), xy:col(2):slice(n + 1, 2 * n), {color = "red", size = 0.6})
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
