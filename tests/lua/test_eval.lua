-- test_eval.lua: the SimCLR-protocol probes from a recipe: cwb.metrics.knn
-- (weighted cosine kNN) and cwb.metrics.linear_probe (L-BFGS logistic
-- regression, l2 chosen on a validation split): labels from 1, results,
-- the convergence report, and option errors.
local T = require "cwb.test"

-- three Gaussian blobs in 5-D: 300 training and 150 test rows
local r = cwb.rng.new(3)
local centres = cwb.tensor.randn(3, 5, 4) * 3
local function make(n)
  local x, y = cwb.tensor.new(n, 5), {}
  for i = 1, n do
    local c = r:int(3)
    y[i] = c
    for j = 1, 5 do x:set(i, j, centres:get(c, j) + r:normal()) end
  end
  return x, y
end
local xtr, ytr = make(300)
local xte, yte = make(150)

local acc, pred = cwb.metrics.knn(xtr, ytr, xte, yte)
T.ok(acc > 0.9 and #pred == 150, string.format("knn: accuracy %.3f on separated blobs, one prediction per row", acc))
local hit = 0
for i = 1, 150 do hit = hit + (pred[i] == yte[i] and 1 or 0) end
T.near(hit / 150, acc, 1e-12, "knn: the accuracy is that of the returned predictions (labels from 1)")
local none, p2 = cwb.metrics.knn(xtr, ytr, xte)
T.ok(none == nil and p2[1] == pred[1], "knn without test labels: nil and the same predictions")
local loo = cwb.metrics.knn(xtr, ytr, xtr, ytr, {leave_one_out = true, k = 5})
local self = cwb.metrics.knn(xtr, ytr, xtr, ytr, {k = 1})
T.ok(self == 1 and loo < 1, string.format("leave_one_out: %.3f < 1 = the k = 1 self match", loo))

local p = cwb.metrics.linear_probe(xtr, ytr, xte, yte, {l2 = {1, 1e-2, 1e-4}, val_frac = 0.2})
T.ok(p.test_acc > 0.9 and p.train_acc > 0.9, string.format("linear probe: test %.3f, train %.3f", p.test_acc, p.train_acc))
T.ok(p.fit.converged and (p.fit.stop == "gradient" or p.fit.stop == "loss change") and p.fit.iterations > 0,
     string.format("final fit converged: %d iterations, stopped by %s, |g| %.1e", p.fit.iterations, p.fit.stop, p.fit.grad_norm))
T.is(#p.candidates, 3, "one record per l2 candidate")
local best = p.candidates[1]
for _, c in ipairs(p.candidates) do
  if c.val_acc > best.val_acc or (c.val_acc == best.val_acc and c.l2 > best.l2) then best = c end
end
T.is(p.l2, best.l2, "the chosen l2 is the validation winner")
T.ok(p.n_val == 60 and p.n_fit == 240, "val_frac = 0.2: 60 rows validate, 240 fit")
local q = cwb.metrics.linear_probe(xtr, ytr, xte, yte, {l2 = {1e-2}, max_iter = 2})
T.ok(not q.fit.converged and q.fit.stop == "max_iter", "max_iter = 2: reported as not converged")

T.throws(function() cwb.metrics.knn(xtr, {1, 2}, xte) end, "ytrain: 300 indices expected, got 2",
         "labels must cover the rows")
T.throws(function() cwb.metrics.knn(xtr, ytr, xte, yte, {k = 301}) end, "knn: k = 301 neighbours outside 1..300",
         "k beyond the training rows")
T.throws(function() cwb.metrics.linear_probe(xtr, ytr, xte, yte, {l2 = {}}) end, "0 candidates",
         "an empty l2 grid")
T.throws(function() cwb.metrics.linear_probe(xtr, ytr, xte, yte, {val_frac = 1.5}) end,
         "val_frac = 1.5 outside (0, 1)", "val_frac checked")
T.throws(function() cwb.metrics.linear_probe(xtr, ytr, cwb.tensor.new(3, 4), {1, 2, 3}) end,
         "test rows are 4 wide, training rows 5", "widths must agree")
T.done()
