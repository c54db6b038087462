-- fmnist_baselines.lua - the reference line for Fashion-MNIST: the two
-- probes of the SimCLR protocol (docs/real-data.md) on raw pixels.
--
--   weighted kNN   k = 20, cosine, votes exp(s / 0.07) (InstDisc)
--   linear probe   multinomial logistic regression on standardised pixels,
--                  L-BFGS to ||g|| <= 1e-4 max(1, ||w||) or a relative loss
--                  change < 1e-6 over 10 iterations, l2 chosen among
--                  1e-1 .. 1e-6 on 10% of the training rows held out
--
-- trained on the train split (or its first --train rows), scored on the test
-- split (or its first --test rows).  Published figures on raw pixels (the
-- data set's benchmark, scikit-learn): logistic regression about 0.84, kNN
-- about 0.85-0.86.
--
-- Writes into --out: baselines.csv (method,train,test,accuracy,seconds,detail).
-- Usage: cwb run examples/fmnist_baselines.lua --out DIR [-- --train 60000 --test 10000]

local U = require "cwb.util"
local o = U.args(arg, {
  {"train", "int", 0, "training rows (the first N of the train split; 0: all 60000)"},
  {"test", "int", 0, "test rows (the first N of the test split; 0: all 10000)"},
}, "fmnist_baselines.lua: weighted kNN and the linear probe on Fashion-MNIST's raw pixels")
if not o then return end
U.check(o.train >= 0 and o.test >= 0, "--train and --test must be >= 0")

local function clock() return os.clock() end
local wall = os.time
local tr = cwb.data.fashion_mnist{split = "train", n = o.train}
local te = cwb.data.fashion_mnist{split = "test", n = o.test}
local xtr, xte, ytr, yte = tr:x(), te:x(), tr:labels(), te:labels()
print(string.format("Fashion-MNIST raw pixels: %d training rows -> %d test rows", #tr, #te))

local rows = {}
local t0, w0 = clock(), wall()
local acc = cwb.metrics.knn(xtr, ytr, xte, yte, {k = 20, temperature = 0.07})
local t_knn = clock() - t0
print(string.format("  weighted kNN (k 20, cosine, exp(s/0.07)): accuracy %.4f  (%.1f s CPU)", acc, t_knn))
rows[#rows + 1] = string.format("knn,%d,%d,%.4f,%.1f,k=20 cosine exp(s/0.07)", #tr, #te, acc, t_knn)

t0 = clock()
local p = cwb.metrics.linear_probe(xtr, ytr, xte, yte)
local t_lp = clock() - t0
local cand = {}
for _, c in ipairs(p.candidates) do
  cand[#cand + 1] = string.format("%g:%.4f(%d it)", c.l2, c.val_acc, c.iterations)
end
print(string.format("  linear probe (L-BFGS, l2 on validation): accuracy %.4f  (%.1f s CPU)", p.test_acc, t_lp))
print(string.format("    validation (l2: accuracy): %s", table.concat(cand, " ")))
print(string.format("    chosen l2 %g; final fit on %d rows: %d iterations, stopped by %s (converged %s), "
                    .. "loss %.4f, |g| %.2e; train accuracy %.4f",
                    p.l2, #tr, p.fit.iterations, p.fit.stop, tostring(p.fit.converged), p.fit.loss,
                    p.fit.grad_norm, p.train_acc))
rows[#rows + 1] = string.format("linear_probe,%d,%d,%.4f,%.1f,l2=%g %s %d it", #tr, #te, p.test_acc,
                                t_lp, p.l2, p.fit.stop, p.fit.iterations)
print(string.format("  wall time %d s", wall() - w0))
local path = cwb.write_file(cwb.outpath("baselines.csv"),
                            "method,train,test,accuracy,seconds,detail\n" .. table.concat(rows, "\n") .. "\n")
print("wrote " .. path)
