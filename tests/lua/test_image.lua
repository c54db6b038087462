-- test_image.lua: cwb.data.image_augment and cwb.plot.images from a recipe:
-- shapes, defaults, determinism, the identity, option errors, and a PNG grid
-- (when gnuplot is installed).
local T = require "cwb.test"

local x = cwb.tensor.randn(6, 784, 1) * 0.1 + 0.5
local off = {crop_scale = 0, flip = 0, brightness = 0, contrast = 0}
T.ok(cwb.data.image_augment(x, off) == x, "every transform off: the views equal the images")
local a = cwb.data.image_augment(x, nil, 5)
local b = cwb.data.image_augment(x, {}, 5)
T.ok(a == b and a ~= x, "defaults, same seed: the same views, unlike the images")
T.is(select(2, a:shape()), 784, "28 x 28 rows by default (square rows)")
local r = cwb.rng.new(7, 4)
local v1, v2 = cwb.data.image_augment(x, nil, r), cwb.data.image_augment(x, nil, r)
T.ok(v1 ~= v2, "two views drawn in turn from one stream differ")
local flipped = cwb.data.image_augment(x, {crop_scale = 0, flip = 1, brightness = 0, contrast = 0})
T.is(flipped:get(1, 1), x:get(1, 28), "flip = 1 mirrors each row of pixels")
local wide = cwb.tensor.randn(2, 24, 1)
T.ok(cwb.data.image_augment(wide, {height = 4, width = 6, crop_scale = 0, crop_pad = 1}, 3):cols() == 24,
     "height= and width= for non-square images")
T.throws(function() cwb.data.image_augment(wide) end,
         "option 'height': rows of 24 values are not square images: give height= and width=",
         "non-square rows need height=")
T.throws(function() cwb.data.image_augment(wide, {height = 5}) end,
         "option 'height': 5 x 4 images do not match rows of 24 values", "a height that does not divide")
T.throws(function() cwb.data.image_augment(x, {flip = 2}) end, "image_augment: flip = 2 outside [0, 1]",
         "an engine range error is one line")
T.throws(function() cwb.data.image_augment(x, {erase_area = 0.3}) end,
         "option 'erase_area': table expected", "erase_area takes {min, max}")
T.throws(function() cwb.data.image_augment(x, {sharpen = 1}) end, "unknown option 'sharpen'",
         "unknown options are refused")

local have = cwb.plot.available()
local png = os.tmpname() .. ".png"
if have then
  local grid = cwb.tensor.vstack{x, a}
  local f = cwb.plot.images(grid, {output = png, cols = 6, titles = {"one", "two_b"},
                                   row_titles = {"original", "view"}, title = "t"})
  T.is(f, png, "cwb.plot.images returns the file it wrote")
  local h = io.open(png, "rb")
  local head = h and h:read(8)
  if h then h:close() end
  T.is(head, "\137PNG\r\n\26\n", "the file is a PNG")
  os.remove(png)
else
  T.skip("gnuplot not installed", 2)
end
T.throws(function() cwb.plot.images(x, {cols = 2}) end, "option 'output': a PNG file name is required",
         "cwb.plot.images needs output=")
T.throws(function() cwb.plot.images(x, {output = png, titles = {1, {}}}) end,
         "option 'titles': entry 2: string expected", "titles must be strings")
T.throws(function() cwb.plot.images(wide, {output = png}) end,
         "rows of 24 values are not square images", "non-square rows need height= (images)")
T.done()
