-- Lesson 2: temperature -- the same run at three temperatures, side by side.
local function f3(x) return string.format("%.3f", x) end

return {
  name = "temperature",
  title = "Temperature",
  summary = "the same run at three temperatures, side by side",
  minutes = 7,
  steps = {
    {title = "what τ does",
     text = [[
       InfoNCE's denominator is a softmax over the batch. For anchor i the
       weight of negative j is

         p_ij = e^{s_ij/τ} / Σ_k e^{s_ik/τ}

       and the gradient pushes i away from j in proportion to p_ij / τ. A
       small **temperature** τ makes the softmax sharp: the hardest
       negatives -- the most similar ones -- get almost all the push. A large
       τ spreads it evenly over all of them.]]},
    {title = "three temperatures",
     text = [[
       The data: 1024 points in 32 clusters; the score is **top-1
       retrieval**: for each point's first view, is its own second view the
       nearest of all 1024? The curve pane shows top1 as the runs go.]],
     setup = function(ctx) ctx.show("top1") end,
     ask = {"Which temperature will retrieve best after 6000 steps?",
            choices = {"τ = 0.05", "τ = 0.2", "τ = 1"}},
     run = function(ctx)
       local out = {}
       for i, tau in ipairs{0.05, 0.2, 1} do out[i] = ctx.preset("temperature", {tau = tau}) end
       ctx.state.runs = out
       ctx.compare(out)
       return out
     end,
     reveal = function(ctx, res, answer)
       local t = {}
       local best, bi = -1, 1
       for i, r in ipairs(res) do
         t[i] = f3(ctx.final(r, "top1"))
         if ctx.final(r, "top1") > best then best, bi = ctx.final(r, "top1"), i end
       end
       return string.format([[
         top1: %s at τ = 0.05, %s at τ = 0.2, %s at τ = 1 (you said %s; the
         best was %s). Telling one point from its 1023 neighbours is all about
         the **hard negatives**, the look-alikes in the same cluster, and a
         small τ is what makes the loss care about them.]],
         t[1], t[2], t[3], answer, string.char(96 + bi))
     end},
    {title = "alignment and uniformity",
     text = [[
       The same three runs, measured on the whole data set (lesson 1's two
       numbers: alignment small = views close, uniformity negative = spread).]],
     ask = {"Which τ leaves the two views of a point closest together (lowest alignment)?",
            choices = {"τ = 0.05", "τ = 0.2", "τ = 1"}},
     run = function(ctx)
       return ctx.once("runs", function()
         local out = {}
         for i, tau in ipairs{0.05, 0.2, 1} do out[i] = ctx.preset("temperature", {tau = tau}) end
         return out
       end)
     end,
     reveal = function(ctx, runs, answer)
       local rows, best, bi = {}, math.huge, 1
       for i, tau in ipairs{0.05, 0.2, 1} do
         local a, u = ctx.final(runs[i], "alignment"), ctx.final(runs[i], "uniformity")
         rows[#rows + 1] = string.format("  τ = %-4s alignment %s  uniformity %s", tau, f3(a), f3(u))
         if a < best then best, bi = a, i end
       end
       return table.concat(rows, "\n") .. string.format([[

         You said %s; the lowest alignment is %s's. A large τ pushes every
         negative alike and gently, so the views stay close but the points
         spread less; τ = 0.2 spreads them most here (the lowest uniformity);
         τ = 0.05 spends its push on a few hard negatives.]], answer, string.char(96 + bi))
     end},
    {title = "turning τ while it trains",
     text = [[
       A **live knob**: this run starts at τ = 1 and at step 6000 the lesson
       turns τ down to 0.1, as knob("tau", 0.1) or the [ key would. The
       marker on the curve pane is where it happened; the run's record in
       the store has the event, so cwb runs plot shows it too.]],
     setup = function(ctx) ctx.show("top1") end,
     run = function(ctx)
       local tr, opts = ctx.build("temperature", {tau = 1})
       opts.steps = 12000
       opts.name = "temperature tau=1 then 0.1"
       opts.on_step = function(info) if info.step == 6000 then ctx.knob("tau", 0.1) end end
       local res = ctx.run(tr, opts)
       ctx.state.turned = res
       return res
     end,
     reveal = function(ctx, res)
       local steps, v = cwb.runs.metrics(res.run, "top1")
       local before, after
       for i, s in ipairs(steps or {}) do
         if s == 6000 then before = v[i] end
         after = v[i]
       end
       return string.format([[
         top1 was %s at step 6000 (τ = 1) and %s at step 12000 (τ = 0.1): the
         curve bends at the marker.]], before and f3(before) or "?", after and f3(after) or "?")
     end,
     try = "preset(\"temperature\", {tau = 1}) and press [ on τ while it trains (<- -> choose the knob)"},
    {title = "what to remember",
     text = [[
       τ decides which negatives matter. Small τ: the hardest ones, good for
       telling near-duplicates apart (top-1 retrieval) but blind to the
       similarity of a cluster. Large τ: all of them, gently. There is no
       best τ in general, only a best τ for a task. compare "tau" overlays
       every stored run that differs in τ alone.]]},
  },
}
