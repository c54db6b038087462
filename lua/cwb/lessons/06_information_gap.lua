-- Lesson 6: the information gap theorem -- when aligning modalities hurts,
-- and what the regularisers recover.
local function f2(x) return x and string.format("%.2f", x) or "?" end

return {
  name = "information-gap",
  title = "The information gap",
  summary = "when aligning modalities hurts, and what the regularisers recover",
  minutes = 8,
  steps = {
    {title = "what one modality does not know",
     text = [[
       Image and text rarely carry the same information. Call the
       **information gap** Δ = I(X_V; Y) − I(X_T; Y): how much more the image
       tells about a label Y than the text does. Jiang et al. (CVPR 2023)
       prove that when the two embeddings are aligned perfectly, z_V = z_T,
       the best error a classifier on z_V can reach grows with Δ: what only
       the image knows cannot survive being matched to the text.

       The data here: the text knows nothing about the label (data gap 1);
       the image knows as much as ever. The score: a **linear probe**
       (logistic regression on the labels) on the image embeddings.]]},
    {title = "contrastive against supervised",
     text = "A unimodal image model trained on the labels, and a CLIP-like pair of towers.",
     setup = function(ctx) ctx.show("linear_probe") end,
     ask = {"How will CLIP's image features do against the unimodal model's?",
            choices = {"better", "about the same", "much worse"}},
     run = function(ctx)
       ctx.state.uni = ctx.preset("information gap", {method = "unimodal"})
       ctx.state.clip = ctx.preset("information gap", {method = "clip"})
       return ctx.state.clip
     end,
     reveal = function(ctx, res, answer)
       return string.format([[
         Linear probe: unimodal %s, CLIP %s (you said %s). Aligning the image
         with a text that knows nothing of the label throws the label away.]],
         f2(ctx.final(ctx.state.uni, "linear_probe")), f2(ctx.final(ctx.state.clip, "linear_probe")), answer)
     end},
    {title = "deep feature separation",
     text = [[
       The first of the paper's regularisers gives each tower a second head
       z^i, kept orthogonal to z (L_Ortho = mean ⟨z, z^i⟩²) and trained on the
       image's own views: z carries what both modalities share, **z^i** what
       only this one has. The probe then sees [z, z^i].]],
     setup = function(ctx) ctx.show("linear_probe") end,
     ask = {"What linear-probe accuracy do you expect from clip+sep? Type a number between 0 and 1.",
            number = true},
     run = function(ctx)
       ctx.once("uni", function() return ctx.preset("information gap", {method = "unimodal"}) end)
       ctx.once("clip", function() return ctx.preset("information gap", {method = "clip"}) end)
       ctx.state.sep = ctx.preset("information gap", {method = "clip+sep"})
       return ctx.state.sep
     end,
     reveal = function(ctx, res, answer)
       return string.format([[
         clip+sep: %s (you guessed %s), against %s for CLIP and %s unimodal.
         The private head keeps what the alignment would have removed.]],
         f2(ctx.final(res, "linear_probe")), tostring(answer), f2(ctx.final(ctx.state.clip, "linear_probe")),
         f2(ctx.final(ctx.state.uni, "linear_probe")))
     end,
     try = "preset(\"information gap\", {w_bridge = 1}) or {w_gc = 0.01}: the other two regularisers (docs/multimodal.md)"},
    {title = "no information gap",
     text = "The same comparison when the text knows as much as the image (data gap 0).",
     setup = function(ctx) ctx.show("linear_probe") end,
     ask = {"With no information gap, does CLIP still lose to the unimodal model?",
            choices = {"yes", "no"}},
     run = function(ctx)
       ctx.state.uni0 = ctx.preset("information gap", {method = "unimodal", ["data.gap"] = 0})
       ctx.state.clip0 = ctx.preset("information gap", {method = "clip", ["data.gap"] = 0})
       return ctx.state.clip0
     end,
     reveal = function(ctx, res, answer)
       local u, c = ctx.final(ctx.state.uni0, "linear_probe"), ctx.final(ctx.state.clip0, "linear_probe")
       return string.format([[
         Gap 0: unimodal %s, CLIP %s (you said %s). When both modalities know
         the label, aligning them costs nothing: the theorem's bound is about
         Δ, not about contrastive learning as such.]], f2(u), f2(c), answer)
     end},
    {title = "what to remember",
     text = [[
       Contrastive alignment keeps what the modalities share. When one knows
       more (a large **information gap**), perfect alignment throws that away;
       a private, orthogonal head (deep feature separation) keeps it.
       examples/modality_structures.lua runs the whole study (5 gaps, 6
       methods, 3 seeds).]]},
  },
}
