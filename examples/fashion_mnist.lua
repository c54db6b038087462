-- fashion_mnist.lua - contrastive learning on Fashion-MNIST and the batch-size
-- study on real images (docs/real-data.md, "The batch-size study").
--
-- The claim under test (the decomposable loss's article): the decomposable
-- loss needs a smaller batch than the conventional loss for the same
-- accuracy.  For every loss of --losses, batch size of --batches and seed
-- 1..--seeds, one run of cwb.trainer.new on the training images:
--
--   encoder   MLP 784-512-128 (ReLU), the 128-wide output the representation;
--             projection head ReLU -> 128 -> L2 norm (SimCLR): the loss sees
--             the head's output, the probes the representation before it
--   views     two image augmentations of every image (random resized crop of
--             area U(--crop-scale = 0.7, 1), flip 0.5, brightness and contrast
--             +-0.4: docs/data.md, "Image augmentations")
--   order     every image once an epoch (a permutation a epoch, the last
--             incomplete batch dropped); the same --epochs for every batch
--   optimiser AdamW lr --lr, weight decay --wd, constant; tau --tau fixed
--   losses    infonce       CLIP's symmetric in-batch InfoNCE
--             ntxent        SimCLR's NT-Xent (2B anchors, 2B-2 negatives)
--             decomposable  the gamma-augmented loss (alpha 10, gamma --gamma)
--             sogclr        SogCLR (gamma --gamma), its alpha -> inf limit
--             (both stateful losses in the symmetric form, one running
--             estimate per image and direction)
--   probes    on the 10,000 test images, the frozen, un-augmented,
--             standardised representation: weighted kNN (k 20, cosine,
--             exp(s/0.07)) and the linear probe (L-BFGS, l2 chosen on 10% of
--             the training images held out; never on the test images)
--
-- and, once, the same two probes on the raw pixels of the same images: the
-- reference line.  Writes into --out:
--   summary.csv       loss,batch,seed,epochs,knn_acc,linear_acc,seconds,
--                     train_seconds,eval_seconds,steps,final_loss,linear_l2,train,test
--   baselines.csv     method,train,test,accuracy,seconds (raw pixels)
--   smallest_batch.csv  loss,best_batch,best_linear_acc,smallest_batch_99,
--                     acc_at_smallest (per loss, from the seed means)
--   fashion_mnist.png linear-probe and kNN accuracy against the batch size,
--                     one line per loss (mean of the seeds, each seed a point)
-- and prints, per loss, the smallest batch at which the seed-mean linear
-- accuracy reaches 99% of that loss's own best.
--
--   cwb run examples/fashion_mnist.lua --out fm                 (the study)
--   cwb run examples/fashion_mnist.lua --out fm -- --best       (one run)
--   cwb run examples/fashion_mnist.lua --out fm -- --best --reference
--   cwb run examples/fashion_mnist.lua --out fm -- --quick      (seconds)
--   cwb run examples/fashion_mnist.lua -- --help

local U = require "cwb.util"
local TITLE = "fashion_mnist.lua: contrastive learning on Fashion-MNIST and the batch-size study"
local o, given = U.args(arg, {
  {"train", "int", 20000, "training images (a seeded random subset of the 60000; 0: all)"},
  {"test", "int", 0, "test images (the first N of the 10000; 0: all)"},
  {"epochs", "int", 10, "epochs of every run, whatever its batch size"},
  {"batches", "numbers", {16, 32, 64, 128, 256, 512}, "batch sizes of the study"},
  {"losses", "string", "infonce,ntxent,decomposable,sogclr", "losses of the study"},
  {"seeds", "int", 3, "seeds 1..N of every configuration"},
  {"lr", "number", 1e-3, "AdamW learning rate (every batch size)"},
  {"wd", "number", 1e-4, "AdamW weight decay"},
  {"tau", "number", 0.2, "temperature"},
  {"gamma", "number", 0.9, "running-estimate rate of decomposable and sogclr"},
  {"crop_scale", "number", 0.7, "random resized crop: smallest area fraction"},
  {"best", "flag", false, "--best-loss at --best-batch only, on all 60000 images unless --train, seed 1 "
                          .. "unless --seeds, beside the baselines"},
  {"best_loss", "string", "ntxent", "the loss of --best and --reference"},
  {"best_batch", "int", 256, "the batch size of --best and --reference"},
  {"reference", "flag", false, "with --best: also train the same model in PyTorch "
                               .. "(scripts/ref_fashion_mnist.py) and print both"},
  {"python", "string", "/usr/bin/python3", "the Python with torch, for --reference"},
  {"no_baseline", "flag", false, "skip the raw-pixel probes"},
  {"quick", "flag", false, "a test's study: 2000 images, 1 epoch, batches 16 and 64, 1 seed"},
}, TITLE)
if not o then return end
if o.quick then
  local preset = {train = 2000, test = 500, epochs = 1, batches = {16, 64}, seeds = 1}
  for k, v in pairs(preset) do
    if not given[k] then o[k] = v end
  end
end
if o.best then
  if not given.train then o.train = 0 end
  o.batches, o.losses = {o.best_batch}, o.best_loss
  if not given.seeds then o.seeds = 1 end
end
U.check(o.train >= 0 and o.test >= 0, "--train and --test must be >= 0")
U.check(o.epochs >= 1 and o.seeds >= 1, "--epochs and --seeds must be >= 1")
U.check(not o.reference or o.best, "--reference needs --best (one configuration)")
local LOSSES = {}
local KNOWN = {infonce = true, ntxent = true, decomposable = true, sogclr = true, dcl = true}
for name in o.losses:gmatch("[^,]+") do
  U.check(KNOWN[name], "--losses: unknown loss '%s' (infonce, ntxent, decomposable, sogclr, dcl)", name)
  LOSSES[#LOSSES + 1] = name
end
U.check(#LOSSES > 0, "--losses: no loss given")
for _, B in ipairs(o.batches) do
  U.check(math.type(B) == "integer" or B == math.floor(B), "--batches: %s is not an integer", tostring(B))
  U.check(B >= 2, "--batches: %d is too small (a batch needs negatives)", B)
end
local say = U.say
-- the machine's 1-minute load, to state beside wall times (Linux; nil elsewhere)
local function load1()
  local f = io.open("/proc/loadavg")
  if not f then return nil end
  local v = tonumber(f:read("l"):match("^(%S+)"))
  f:close()
  return v
end

-- ---- the data -------------------------------------------------------------------------
local train = cwb.data.fashion_mnist{split = "train", n = o.train, subset = o.train > 0 and "random" or nil,
                                     seed = 1}
local test = cwb.data.fashion_mnist{split = "test", n = o.test}
local N = #train
for _, B in ipairs(o.batches) do
  U.check(B <= N, "--batches: %d is more than the %d training images", B, N)
end
say(string.format("Fashion-MNIST: %d training images%s, %d test images; %d epoch(s), %d seed(s); %d BLAS "
                  .. "thread(s), 1-minute load %s", N, o.train > 0 and " (a seeded random subset)" or "", #test,
                  o.epochs, o.seeds, cwb.threads(), tostring(load1() or "unknown")))

-- ---- the reference line: raw pixels -------------------------------------------------------
local base = {}
if not o.no_baseline then
  local xtr, ytr, xte, yte = train:x(), train:labels(), test:x(), test:labels()
  local t0 = cwb.clock()
  base.knn = cwb.metrics.knn(xtr, ytr, xte, yte, {k = 20, temperature = 0.07})
  base.knn_s = cwb.clock() - t0
  t0 = cwb.clock()
  local p = cwb.metrics.linear_probe(xtr, ytr, xte, yte)
  base.linear, base.linear_s, base.l2 = p.test_acc, cwb.clock() - t0, p.l2
  xtr, xte = nil, nil
  collectgarbage()
  say(string.format("raw pixels: kNN %.4f (%.1f s), linear probe %.4f (l2 %g, %.1f s)", base.knn, base.knn_s,
                    base.linear, base.l2, base.linear_s))
  U.write_csv(cwb.outpath("baselines.csv"), {"method", "train", "test", "accuracy", "seconds"},
              {{"knn", N, #test, base.knn, base.knn_s}, {"linear_probe", N, #test, base.linear, base.linear_s}})
end

-- ---- one run ------------------------------------------------------------------------------
local function loss_cfg(name)
  if name == "infonce" then return {kind = "infonce", symmetric = true} end
  if name == "ntxent" then return {kind = "ntxent"} end
  if name == "dcl" then return {kind = "dcl", both_views = true} end
  return {kind = name, symmetric = true, gamma = o.gamma}
end

local function run(loss, B, seed)
  local tr = cwb.trainer.new{
    seed = seed, data = train, batch = B,
    aug = {crop_scale = o.crop_scale, flip = 0.5, brightness = 0.4, contrast = 0.4},
    encoder = {dims = {784, 512, 128}, head = {128}},
    optim = {kind = "adamw", lr = o.lr, weight_decay = o.wd},
    loss = loss_cfg(loss), tau = o.tau,
    eval = {test = test},
    name = string.format("fmnist-%s-B%d-seed%d", loss, B, seed)}
  local steps = o.epochs * (N // B)
  local t0 = cwb.clock()
  local r = tr:run{steps = steps, progress = false}
  local seconds = cwb.clock() - t0
  local ev = r.eval
  local eval_s = (ev.embed_seconds or 0) + (ev.knn_seconds or 0) + (ev.linear_seconds or 0)
  return {loss = loss, batch = B, seed = seed, epochs = o.epochs, knn = ev.knn_acc, linear = ev.linear_acc,
          seconds = seconds, train_s = seconds - eval_s, eval_s = eval_s, steps = steps,
          final_loss = r.last.loss, l2 = ev.linear_l2}
end

-- ---- the study ------------------------------------------------------------------------------
local rows, results = {}, {}
local t_all = cwb.clock()
for _, loss in ipairs(LOSSES) do
  for _, B in ipairs(o.batches) do
    for seed = 1, o.seeds do
      local r = run(loss, B, seed)
      results[#results + 1] = r
      rows[#rows + 1] = {r.loss, r.batch, r.seed, r.epochs, r.knn, r.linear, r.seconds, r.train_s, r.eval_s,
                         r.steps, r.final_loss, r.l2, N, #test}
      say(string.format("  %-12s B %4d seed %d: kNN %.4f  linear %.4f  %6.1f s (train %.1f, probes %.1f)",
                        loss, B, seed, r.knn, r.linear, r.seconds, r.train_s, r.eval_s))
    end
  end
end
U.write_csv(cwb.outpath("summary.csv"),
            {"loss", "batch", "seed", "epochs", "knn_acc", "linear_acc", "seconds", "train_seconds",
             "eval_seconds", "steps", "final_loss", "linear_l2", "train", "test"}, rows)
say(string.format("%d runs in %.0f s (1-minute load at the end %s); wrote %s", #results, cwb.clock() - t_all,
                  tostring(load1() or "unknown"), cwb.outpath("summary.csv")))

-- ---- per loss: seed means, the best batch, the smallest batch within 99% of it -----------------
local mean = {}   -- mean[loss][B] = {linear=, knn=, n=}
for _, r in ipairs(results) do
  mean[r.loss] = mean[r.loss] or {}
  local m = mean[r.loss][r.batch] or {linear = 0, knn = 0, n = 0}
  m.linear, m.knn, m.n = m.linear + r.linear, m.knn + r.knn, m.n + 1
  mean[r.loss][r.batch] = m
end
local small_rows = {}
say("smallest batch at which the seed-mean linear-probe accuracy reaches 99% of the loss's own best:")
for _, loss in ipairs(LOSSES) do
  local best, bestB = -1, nil
  for _, B in ipairs(o.batches) do
    local m = mean[loss][B]
    m.linear, m.knn = m.linear / m.n, m.knn / m.n
    if m.linear > best then best, bestB = m.linear, B end
  end
  local smallest, at
  for _, B in ipairs(o.batches) do -- ascending as given
    if mean[loss][B].linear >= 0.99 * best and (not smallest or B < smallest) then
      smallest, at = B, mean[loss][B].linear
    end
  end
  small_rows[#small_rows + 1] = {loss, bestB, best, smallest, at}
  say(string.format("  %-12s best %.4f at B = %d; 99%% of it (%.4f) first at B = %d (%.4f)", loss, best, bestB,
                    0.99 * best, smallest, at))
end
U.write_csv(cwb.outpath("smallest_batch.csv"),
            {"loss", "best_batch", "best_linear_acc", "smallest_batch_99", "acc_at_smallest"}, small_rows)
if base.linear then
  local top, topname = -1, nil
  for _, r in ipairs(results) do
    if r.linear > top then top, topname = r.linear, string.format("%s B %d seed %d", r.loss, r.batch, r.seed) end
  end
  say(string.format("best run: %s, linear probe %.4f against %.4f on raw pixels (%s)", topname, top, base.linear,
                    top > base.linear and "above" or "NOT above"))
end

-- ---- the figure -----------------------------------------------------------------------------------
local COLOR = {infonce = "#1f77b4", ntxent = "#2ca02c", decomposable = "red", sogclr = "#ff7f0e",
               dcl = "#9467bd"}
local have_plot, why = cwb.plot.available()
if #o.batches < 2 then
  say("figure skipped: one batch size")
elseif not have_plot then
  say("figure skipped: " .. tostring(why) .. " (summary.csv is written)")
else
  local fig = cwb.plot.figure{terminal = "pngcairo", output = cwb.outpath("fashion_mnist.png"),
                              width = 1400, height = 600, layout = {1, 2},
                              title = string.format("Fashion-MNIST, %d training images, %d epoch(s): test accuracy "
                                                    .. "against the batch size (mean of %d seed(s); points: seeds)",
                                                    N, o.epochs, o.seeds)}
  for _, probe in ipairs{{"linear", "linear probe", base.linear}, {"knn", "weighted kNN (k 20)", base.knn}} do
    fig:panel{title = probe[2] .. " on the representation before the head", xlabel = "batch size B (log scale)",
              ylabel = "test accuracy", logx = true, key = "bottom right"}
    for _, loss in ipairs(LOSSES) do
      local xs, ys = {}, {}
      for i, B in ipairs(o.batches) do xs[i], ys[i] = B, mean[loss][B][probe[1]] end
      fig:line(xs, ys, {color = COLOR[loss], width = 2, title = loss})
      local px, py = {}, {}
      for _, r in ipairs(results) do
        if r.loss == loss then px[#px + 1], py[#py + 1] = r.batch, r[probe[1]] end
      end
      fig:points(px, py, {color = COLOR[loss], size = 0.5})
    end
    if probe[3] then fig:hline(probe[3], {label = "raw pixels", color = "black", dash = true}) end
  end
  fig:draw()
  say("wrote " .. cwb.outpath("fashion_mnist.png"))
end

-- ---- the PyTorch reference ------------------------------------------------------------------------
if o.reference then
  local r = results[1]
  local script = (cwb.recipe() or ""):gsub("examples/[^/]*$", "") .. "scripts/ref_fashion_mnist.py"
  local cmd = string.format("%s %s --train %d --test %d --epochs %d --batch %d --loss %s --lr %g --wd %g "
                            .. "--tau %g --crop-scale %g --threads %d", o.python, script, o.train, o.test,
                            o.epochs, r.batch, r.loss, o.lr, o.wd, o.tau, o.crop_scale, cwb.threads())
  say("PyTorch: " .. cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  p:close()
  io.write(out)
  local acc = tonumber(out:match("linear_acc ([%d.]+)"))
  local secs = tonumber(out:match("train_seconds ([%d.]+)"))
  -- the comparison is the result asked for: printed even under --quiet
  if acc and secs then
    print(string.format("cwb:     linear probe %.4f, training %.1f s, whole run %.1f s", r.linear, r.train_s,
                        r.seconds))
    print(string.format("PyTorch: linear probe %.4f, training %.1f s", acc, secs))
    print(string.format("difference %.2f points; cwb's training time is %.2f of PyTorch's (%d thread(s) each)",
                        100 * (r.linear - acc), r.train_s / secs, cwb.threads()))
  else
    error("the PyTorch reference did not report its accuracy and time (its output is above)", 0)
  end
end
