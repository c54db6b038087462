-- Lesson 1: positives and negatives -- what InfoNCE pulls together and
-- pushes apart, seen in the geometry pane (docs/lessons.md).
local function fmt(x) return string.format("%.2f", x) end

return {
  name = "positives",
  title = "Positives and negatives",
  summary = "what InfoNCE pulls together and pushes apart, in the geometry pane",
  minutes = 6,
  steps = {
    {title = "two views, many negatives",
     text = [[
       Contrastive learning sees no labels. Each sample x is augmented twice
       (noise, masking) into two **views**; their embeddings z and z' are a
       **positive pair**. Every other sample in the batch is a **negative**.
       With s_ij = ⟨z_i, z'_j⟩ (unit vectors) and a temperature τ, InfoNCE is

         L_i = −log( e^{s_ii/τ} / Σ_j e^{s_ij/τ} )

       The numerator pulls the two views of x_i together; the denominator
       Σ_j pushes x_i away from everything else in the batch.]]},
    {title = "before training",
     text = [[
       The data: 512 points from 8 clusters (the colours of the geometry
       pane), encoded into 8 dimensions. This step evaluates the encoder as
       it is built, without a single step of training. Two numbers measure
       the picture (Wang & Isola, 2020):

         **alignment**  = E ‖z − z'‖²               small: views close together
         **uniformity** = log E e^{−2‖z_i − z_j‖²}   more negative: points spread out]],
     setup = function(ctx)
       ctx.ui("projection", "pca")
       ctx.ui("colour_by", "class")
     end,
     run = function(ctx)
       local res = ctx.preset("positives", {}, {steps = 0})
       ctx.state.before = res
       return res
     end,
     reveal = function(ctx, res)
       return string.format([[
         At step 0: alignment %s, uniformity %s. The views are close -- but
         so is everything: a random encoder puts all points in one clump
         (the pane scales every picture to fit: the caption's numbers give
         the size).]],
         fmt(ctx.final(res, "alignment")), fmt(ctx.final(res, "uniformity")))
     end},
    {title = "predict, then train",
     text = [[
       Now 10000 steps of InfoNCE at τ = 0.2, slowly (a small learning rate),
       so that the picture changes over a few seconds. Watch the geometry
       pane and its caption (align, unif) as it trains; pause() holds it.]],
     ask = {"What will **alignment** do as training starts?",
            choices = {"fall: the positives are pulled together",
                       "rise: the negatives' push spreads everything, the two views too",
                       "stay about where it is"}},
     run = function(ctx)
       local res = ctx.preset("positives")
       ctx.state.trained = res
       return res
     end,
     reveal = function(ctx, res, answer)
       local before = ctx.once("before", function() return ctx.preset("positives", {}, {steps = 0}) end)
       local a0, a1 = ctx.final(before, "alignment"), ctx.final(res, "alignment")
       local u0, u1 = ctx.final(before, "uniformity"), ctx.final(res, "uniformity")
       local right = a1 > a0 + 0.02 and "b" or a1 < a0 - 0.02 and "a" or "c"
       local _, al = cwb.runs.metrics(res.run, "alignment")
       local peak = a1
       for _, v in ipairs(al or {}) do peak = math.max(peak, v) end
       return string.format([[
         Alignment went from %s to %s (at most %s on the way) and uniformity
         from %s to %s (you said %s; what happened is %s). The clump was the problem: the
         **negatives** in the denominator push every point away from the
         others, and the two views, which were close only because everything
         was, move apart a little too. The numerator then holds each pair
         together while the clusters spread over the sphere.]],
         fmt(a0), fmt(a1), fmt(peak), fmt(u0), fmt(u1), answer, right)
     end,
     try = "pause() during a rerun{} and look at the picture; resume() goes on"},
    {title = "a softer push",
     text = [[
       τ divides every similarity: with τ = 1 instead of 0.2 the softmax in
       the denominator is flat, every negative pushes about as much as any
       other, and the push is weak. To compare where each ends up rather
       than how fast it gets there, both runs now use a large learning rate
       (lr 0.01 with momentum 0.9): they settle within a few hundred steps.]],
     ask = {"With τ = 1, will the points end up spread more evenly (lower uniformity) than at τ = 0.2?",
            choices = {"yes, more spread", "no, less spread", "the same"}},
     run = function(ctx)
       local fast = {lr = 0.01, ["optim.momentum"] = 0.9}
       ctx.state.trained = ctx.preset("positives", fast, {steps = 3000})
       fast.tau = 1
       local res = ctx.preset("positives", fast, {steps = 3000})
       ctx.compare({ctx.state.trained, res})
       return res
     end,
     reveal = function(ctx, res, answer)
       local u02, u1 = ctx.final(ctx.state.trained, "uniformity"), ctx.final(res, "uniformity")
       local a02, a1 = ctx.final(ctx.state.trained, "alignment"), ctx.final(res, "alignment")
       return string.format([[
         Uniformity %s at τ = 1 against %s at τ = 0.2, alignment %s against %s
         (you said %s). A weak, even push leaves the points %s and the views
         closer: temperature trades **uniformity** against **alignment**.]],
         fmt(u1), fmt(u02), fmt(a1), fmt(a02), answer, u1 > u02 and "less spread" or "more spread")
     end,
     try = "knob(\"tau\", 0.05) during a rerun{tau = 1}: the marker on the curve shows where"},
    {title = "what to remember",
     text = [[
       InfoNCE is a tug of war: the positive pair is pulled together
       (**alignment**), every negative pushes (**uniformity**). At the start
       the push wins. τ sets how hard the nearest negatives push. Next:
       lesson(2) makes τ the subject.]]},
  },
}
