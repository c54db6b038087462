-- Lesson 3: why small batches bias the gradient -- the θ/θ* experiment live,
-- batch 8 against 256, and the log-of-a-mean picture.
local function f2(x) return string.format("%.2f", x) end

local function bar(x, scale)
  local n = math.floor(math.abs(x) * scale + 0.5)
  return string.rep("█", n)
end

return {
  name = "batch",
  title = "Why small batches bias the gradient",
  summary = "the θ/θ* experiment live, batch 8 against 256, and the log of a mean",
  minutes = 8,
  steps = {
    {title = "a sum over everything, estimated from a batch",
     text = [[
       The loss we want uses every one of the N samples as a negative:

         L_i = −θ s_ii + log Z_i,    Z_i = Σ_{j=1..N} e^{θ s_ij}

       (θ = 1/τ). A batch of B samples only estimates the sum:

         Ẑ_i = e^{θ s_ii} + (N−1)/(B−1) Σ_{j in batch} e^{θ s_ij}

       Ẑ_i is unbiased, E[Ẑ_i] = Z_i. But the loss takes its logarithm, and
       the **log of a mean** is not the mean of the logs:
       E[log Ẑ_i] ≤ log E[Ẑ_i] (Jensen's inequality).]]},
    {title = "the log of a mean",
     text = [[
       Measured on 1024 fixed pairs at the optimum θ*: for 32 anchors, 200
       random batches each, E[log Ẑ] − log Z and E[Ẑ]/Z − 1.]],
     ask = {"How does E[log Ẑ] − log Z depend on the batch size B?",
            choices = {"below 0, and closer to 0 as B grows",
                       "above 0, and closer to 0 as B grows",
                       "below 0, and further from 0 as B grows"}},
     run = function(ctx)
       local P = require "cwb.presets"
       return P.log_of_mean(P.scalefit_pairs().theta_star, {8, 32, 256})
     end,
     reveal = function(ctx, rows, answer)
       local lines = {}
       for _, r in ipairs(rows) do
         lines[#lines + 1] = string.format("  B = %-4d E[log Ẑ] − log Z = %6.3f %-12s E[Ẑ]/Z − 1 = %6.3f",
                                           r.B, r.log_bias, bar(r.log_bias, 20), r.mean_ratio)
       end
       return table.concat(lines, "\n") .. string.format([[

         You said %s. The estimate Ẑ is right on average (last column, about
         0), its logarithm is not: it is too small, by %s at B = 8 and %s at
         B = 256. The gradient of log Ẑ is a ratio of two batch sums, so it is
         **biased** too, and SGD settles where the biased gradient is zero.]],
         answer, f2(rows[1].log_bias), f2(rows[#rows].log_bias))
     end},
    {title = "a model with a known optimum",
     text = [[
       The **scale fit** learns a single number, θ, on fixed embeddings, so the
       best θ* is known exactly (Newton on the full loss). θ/θ* = 1 is the
       optimum; the curve pane shows θ/θ* (theta_ratio) as SGD runs with the
       conventional minibatch loss at B = 8, starting at θ*.]],
     setup = function(ctx) ctx.show("theta_ratio") end,
     ask = {"Where will θ/θ* settle with B = 8? Type a number (1 = the optimum).", number = true},
     run = function(ctx)
       local res = ctx.preset("batch size")
       ctx.state.b8 = res
       return res
     end,
     reveal = function(ctx, res, answer)
       return string.format([[
         It settled at θ/θ* = %s (you guessed %s): more than twice the optimum.
         The batch's log sum is too small, so the loss believes the negatives
         are easier than they are and sharpens θ to match.]],
         f2(ctx.final(res, "theta_ratio")), tostring(answer))
     end},
    {title = "the same with B = 256",
     text = "The same run with 256 samples in each batch (32 times as many negatives).",
     setup = function(ctx) ctx.show("theta_ratio") end,
     ask = {"Where will θ/θ* settle with B = 256? Type a number.", number = true},
     run = function(ctx)
       local b8 = ctx.once("b8", function() return ctx.preset("batch size") end)
       local res = ctx.preset("batch size", {batch = 256})
       ctx.compare({b8, res})
       ctx.state.b256 = res
       return res
     end,
     reveal = function(ctx, res, answer)
       return string.format([[
         θ/θ* = %s with B = 256 (you guessed %s), against %s with B = 8. The
         bias shrinks with the batch, which is why contrastive models are
         trained with batches of thousands -- and why that costs memory.]],
         f2(ctx.final(res, "theta_ratio")), tostring(answer), f2(ctx.final(ctx.state.b8, "theta_ratio")))
     end},
    {title = "turning B while it trains",
     text = [[
       One run: B = 8 for 5000 steps, then the lesson turns the batch-size
       knob to 256 (as knob("batch", 256) or the ] key would; the buffers
       were sized for 256 when the run was built, so nothing is allocated).
       Watch θ/θ* fall at the marker.]],
     setup = function(ctx) ctx.show("theta_ratio") end,
     run = function(ctx)
       local tr, opts = ctx.build("batch size")
       local log = opts.on_step
       opts.name = "batch size B=8 then 256"
       opts.on_step = function(info)
         if info.step == 5000 then ctx.knob("batch", 256) end
         return log(info)
       end
       return ctx.run(tr, opts)
     end,
     reveal = function(ctx, res)
       local steps, v = cwb.runs.metrics(res.run, "theta_ratio")
       local before, after
       for i, s in ipairs(steps or {}) do
         if s <= 5000 then before = v[i] end
         after = v[i]
       end
       return string.format("θ/θ* was %s before the change and %s at the end.",
                            before and f2(before) or "?", after and f2(after) or "?")
     end,
     try = "preset(\"batch size\") and press ] on B as it runs (-> picks B); lesson(4) removes the bias without a large batch"},
  },
}
