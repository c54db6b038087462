-- augmentations.lua - what the image augmentations do (docs/data.md, "Image
-- augmentations"): a few Fashion-MNIST test images and two augmented views of
-- each, the two halves of a contrastive pair, as one PNG grid.
--
-- Writes into --out: augmentations.png (rows: original, view 1, view 2; one
-- column per image, captioned with its class).
--
-- Usage: cwb run examples/augmentations.lua --out DIR [-- --n 8 --noise 0.05 --erase 0.25]
-- Options are cwb.data.image_augment's (crop_pad, crop_scale, flip,
-- brightness, contrast, noise, erase, erase_ratio); the defaults below are
-- the engine's defaults plus a little noise and erasing, so every transform
-- shows.  The data come from --data-dir / CWB_DATA or Debian's
-- dataset-fashion-mnist.

local U = require "cwb.util"
local o = U.args(arg, {
  {"n", "int", 8, "images shown (the first n of the test split)"},
  {"crop_pad", "int", 0, "random crop with this padding (0: random resized crop instead)"},
  {"crop_scale", "number", 0.25, "random resized crop: smallest area fraction kept"},
  {"flip", "number", 0.5, "probability of a horizontal flip"},
  {"brightness", "number", 0.4, "brightness jitter strength"},
  {"contrast", "number", 0.4, "contrast jitter strength"},
  {"noise", "number", 0.05, "std of the Gaussian pixel noise"},
  {"erase", "number", 0.25, "probability of erasing a rectangle (cutout)"},
  {"erase_ratio", "number", 3.3, "largest aspect ratio of the erased rectangle"},
}, "augmentations.lua: a few Fashion-MNIST images and two augmented views of each")
if not o then return end
U.check(o.n >= 1, "--n must be at least 1")

local ds = cwb.data.fashion_mnist{split = "test", n = math.floor(o.n)}
local x, names, labels = ds:x(), ds:class_names(), ds:labels()
local aug = {crop_pad = math.floor(o.crop_pad), crop_scale = o.crop_scale, flip = o.flip,
             brightness = o.brightness, contrast = o.contrast, noise = o.noise,
             erase = o.erase, erase_ratio = o.erase_ratio}
-- one stream for both views, drawn in turn, as a trainer draws a pair's views
local rng = cwb.rng.new(cwb.seed(), 4)
local v1 = cwb.data.image_augment(x, aug, rng)
local v2 = cwb.data.image_augment(x, aug, rng)

local titles = {}
for j = 1, #ds do titles[j] = names[labels[j]] end
local out = cwb.outpath("augmentations.png")
local file, msg = cwb.plot.images(cwb.tensor.vstack{x, v1, v2}, {
  output = out, cols = #ds, titles = titles, row_titles = {"original", "view 1", "view 2"},
  title = string.format("Fashion-MNIST and two augmented views (crop %s, flip %g, " ..
                        "brightness %g, contrast %g, noise %g, erase %g)",
                        o.crop_pad > 0 and ("pad " .. math.floor(o.crop_pad))
                          or ("scale " .. o.crop_scale), o.flip, o.brightness, o.contrast,
                        o.noise, o.erase),
})
if file then print("wrote " .. file) else print("no figure: " .. msg) end
