-- Lesson 4: the decomposable loss -- red against blue, what u and ẑ are,
-- what α and γ do.
local function f2(x) return x and string.format("%.2f", x) or "?" end

return {
  name = "decomposable",
  title = "The decomposable loss",
  summary = "red against blue: a loss whose batch gradient is not biased; u, ẑ, α, γ",
  minutes = 8,
  steps = {
    {title = "a sum instead of a log",
     text = [[
       log Z cannot be split into a sum over batches; the trick (Chen et al.,
       NeurIPS 2022) is an identity with a Gamma-distributed weight u:

         log Z = min over u > 0 of ( u Z − log u − 1 )     (best u = 1/Z)

       u Z is a sum over the negatives, so a batch estimates it without bias.
       For each sample the loss keeps a running estimate **ẑ_i** of Z_i and,
       each step,

         1. ẑ_i ← (1 − γ) ẑ_i + γ Ẑ_i              (**γ**: how fast ẑ follows)
         2. u_i ~ Gamma(α, rate α ẑ_i), mean 1/ẑ_i   (**α**: how sure u is)
         3. minimise  −θ s_ii + u_i Ẑ_i(θ)           (u held fixed)

       The gradient of step 3 is linear in the batch sum: no log of a mean.]]},
    {title = "red against blue",
     text = [[
       The scale fit of lesson 3, now at B = 8 with noisy negatives (each
       term e^{θ s_ij} multiplied by mean-one lognormal noise, σ = 0.5): the
       decomposable loss (γ = 0.02, α = 10) against the conventional one.]],
     setup = function(ctx) ctx.show("theta_ratio") end,
     ask = {"Where will the decomposable loss settle? Type θ/θ* (the conventional one rests near 2.6).",
            number = true},
     run = function(ctx)
       local red = ctx.preset("decomposable")
       local blue = ctx.preset("decomposable", {loss = "infonce"})
       ctx.state.red, ctx.state.blue = red, blue
       ctx.compare({red, blue})
       return red
     end,
     reveal = function(ctx, res, answer)
       return string.format([[
         Decomposable: θ/θ* = %s; conventional: %s (you guessed %s). The same
         batches, the same noise: only the way log Z is estimated differs.]],
         f2(ctx.final(ctx.state.red, "theta_ratio")), f2(ctx.final(ctx.state.blue, "theta_ratio")),
         tostring(answer))
     end},
    {title = "γ: how fast ẑ follows",
     text = [[
       θ moves while ẑ_i is being estimated, so ẑ_i is always a little out of
       date. γ = 0.005 keeps a long memory, γ = 0.05 a short one.]],
     setup = function(ctx) ctx.show("theta_ratio") end,
     ask = {"With the slow γ = 0.005, where does θ/θ* settle?",
            choices = {"above 1", "about 1", "below 1"}},
     run = function(ctx)
       ctx.once("red", function() return ctx.preset("decomposable") end)
       local slow = ctx.preset("decomposable", {gamma = 0.005})
       local fast = ctx.preset("decomposable", {gamma = 0.05})
       ctx.state.slow, ctx.state.fast = slow, fast
       ctx.compare({slow, ctx.state.red, fast})
       return slow
     end,
     reveal = function(ctx, res, answer)
       local s = ctx.final(ctx.state.slow, "theta_ratio")
       return string.format([[
         γ = 0.005: %s; γ = 0.02: %s; γ = 0.05: %s (you said %s; it was %s).
         A slow ẑ remembers the smaller Z of earlier steps and holds θ back;
         a fast one follows the noisy batches and the log-of-a-mean bias
         creeps back in (ẑ and the batch it multiplies are no longer
         independent).]],
         f2(s), f2(ctx.final(ctx.state.red, "theta_ratio")), f2(ctx.final(ctx.state.fast, "theta_ratio")),
         answer, s > 1.05 and "a" or s < 0.95 and "c" or "b")
     end,
     try = "preset(\"decomposable\") and turn γ with ] and [ (-> picks γ) as it runs"},
    {title = "α: how sure u is",
     text = [[
       u_i is drawn from Gamma(α, α ẑ_i): its mean is 1/ẑ_i whatever α, its
       variance 1/(α ẑ_i²). α → ∞ gives u_i = 1/ẑ_i exactly (SogCLR).]],
     ask = {"Between α = 1 and α = 100, how much does the resting θ/θ* change?",
            choices = {"a lot (more than 0.1)", "barely (less than 0.05)"}},
     run = function(ctx)
       local a1 = ctx.preset("decomposable", {alpha = 1})
       local a100 = ctx.preset("decomposable", {alpha = 100})
       ctx.state.a1, ctx.state.a100 = a1, a100
       ctx.compare({a1, a100})
       return a1
     end,
     reveal = function(ctx, res, answer)
       local x, y = ctx.final(ctx.state.a1, "theta_ratio"), ctx.final(ctx.state.a100, "theta_ratio")
       return string.format([[
         α = 1: %s, α = 100: %s (you said %s). What matters is u's mean, 1/ẑ;
         α only adds noise around it, which SGD averages away.]], f2(x), f2(y), answer)
     end},
    {title = "what to remember",
     text = [[
       The conventional loss is biased because it takes the log of a batch
       mean; the decomposable loss replaces the log by u Ẑ with u ≈ 1/ẑ, a
       running estimate. **γ** trades staleness against noise, **α** hardly
       matters. examples/gradient_bias.lua draws the article's figure of 10
       runs each.]]},
  },
}
