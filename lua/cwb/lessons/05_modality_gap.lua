-- Lesson 5: the modality gap -- two towers, the gap vector, what
-- temperature and initialisation do to it.
local function f2(x) return x and string.format("%.2f", x) or "?" end

return {
  name = "modality-gap",
  title = "The modality gap",
  summary = "two towers, the gap vector, what temperature and initialisation do to it",
  minutes = 7,
  steps = {
    {title = "two towers",
     text = [[
       CLIP-like training has one encoder per modality: an image tower f_V and
       a text tower f_T, trained with the symmetric InfoNCE between the
       image and the text of each pair. The **modality gap** is the distance
       between the two clouds' centres:

         gap = ‖ mean_i z_V,i − mean_i z_T,i ‖

       In the geometry pane A and B mark the two centres and the dashes
       between them are the gap vector (Liang et al., NeurIPS 2022).]]},
    {title = "before training",
     text = [[
       Two modalities that share all their information (data gap 0), two
       freshly initialised towers, no training yet; the points are
       coloured by modality.]],
     setup = function(ctx)
       ctx.ui("colour_by", "view")
       ctx.ui("projection", "pca")
       ctx.show("gap_centroid")
     end,
     run = function(ctx)
       local res = ctx.preset("modality gap", {}, {steps = 0})
       ctx.state.init = res
       return res
     end,
     reveal = function(ctx, res)
       return string.format([[
         gap = %s before any training: each random tower maps all its inputs
         into a narrow **cone**, and the two cones point different ways. The
         gap is there from the start.]], f2(ctx.final(res, "gap_centroid")))
     end},
    {title = "training at τ = 0.1",
     text = "1000 steps of CLIP training at τ = 0.1.",
     setup = function(ctx) ctx.show("gap_centroid") end,
     ask = {"What will training do to the gap?",
            choices = {"close it almost completely", "shrink it, but a gap stays", "make it wider"}},
     run = function(ctx)
       local res = ctx.preset("modality gap")
       ctx.state.t01 = res
       return res
     end,
     reveal = function(ctx, res, answer)
       ctx.once("init", function() return ctx.preset("modality gap", {}, {steps = 0}) end)
       return string.format([[
         The gap went from %s to %s (you said %s). Nothing in the loss asks
         for a gap; nothing asks to close it either: the loss only compares
         similarities, and shifting one whole cloud changes them little.]],
         f2(ctx.final(ctx.state.init, "gap_centroid")), f2(ctx.final(res, "gap_centroid")), answer)
     end},
    {title = "temperature",
     text = "The same training at τ = 0.01 and at τ = 1.",
     setup = function(ctx) ctx.show("gap_centroid") end,
     ask = {"At which temperature will the most gap be left?",
            choices = {"τ = 0.01", "τ = 0.1", "τ = 1"}},
     run = function(ctx)
       ctx.once("t01", function() return ctx.preset("modality gap") end)
       ctx.state.t001 = ctx.preset("modality gap", {tau = 0.01})
       ctx.state.t1 = ctx.preset("modality gap", {tau = 1})
       ctx.compare({ctx.state.t001, ctx.state.t01, ctx.state.t1})
       return ctx.state.t001
     end,
     reveal = function(ctx, res, answer)
       return string.format([[
         gap: %s at τ = 0.01, %s at τ = 0.1, %s at τ = 1 (you said %s). A low
         temperature sharpens the softmax so much that a small shift of a
         whole cloud is enough to rank every pair right: the gap is
         **preserved**. A high τ keeps pulling pairs together.]],
         f2(ctx.final(ctx.state.t001, "gap_centroid")), f2(ctx.final(ctx.state.t01, "gap_centroid")),
         f2(ctx.final(ctx.state.t1, "gap_centroid")), answer)
     end,
     try = "preset(\"modality gap\") and turn τ with [ and ] as it runs; the gap follows"},
    {title = "initialisation",
     text = [[
       Deeper towers narrow the cones: with 3 layers in each tower's body the
       gap at initialisation is larger. Training at τ = 0.01 again.]],
     setup = function(ctx) ctx.show("gap_centroid") end,
     ask = {"With the deeper towers, will the gap left after training at τ = 0.01 be larger or smaller than with one layer?",
            choices = {"larger", "smaller", "the same"}},
     run = function(ctx)
       ctx.once("t001", function() return ctx.preset("modality gap", {tau = 0.01}) end)
       local init = ctx.preset("modality gap", {body_layers = 3}, {steps = 0})
       local res = ctx.preset("modality gap", {body_layers = 3, tau = 0.01})
       ctx.state.deep_init = init
       ctx.compare({ctx.state.t001, res})
       return res
     end,
     reveal = function(ctx, res, answer)
       return string.format([[
         With 3 layers: gap %s at step 0 and %s after training, against %s
         with one layer (you said %s). The gap left depends on where the
         towers started: initialisation and temperature together make it.]],
         f2(ctx.final(ctx.state.deep_init, "gap_centroid")), f2(ctx.final(res, "gap_centroid")),
         f2(ctx.final(ctx.state.t001, "gap_centroid")), answer)
     end},
  },
}
