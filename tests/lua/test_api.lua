-- test_api.lua: the cwb Lua API area by area: values checked against
-- independent Lua computations, argument and option errors, docs for every
-- public function.  Run as `cwb run --quiet --db DB tests/lua/test_api.lua`.
local T = require "cwb.test"
local ok, is, near, like, throws = T.ok, T.is, T.near, T.like, T.throws
local tensor = cwb.tensor

local function close_tables(a, b, tol)
  if #a ~= #b then return false end
  for i = 1, #a do
    if math.abs(a[i] - b[i]) > tol then return false end
  end
  return true
end

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p '" .. p .. "'"))
  return p
end

local function listdir(dir)
  local names = {}
  local f = assert(io.popen("ls -A '" .. dir .. "'"))
  for l in f:lines() do names[#names + 1] = l end
  f:close()
  return names
end

-- ---------------------------------------------------------------- module ----
is(type(cwb), "table", "cwb is a global table")
like(cwb.version, {"^%d+%.%d+"}, "cwb.version is a version string")
is(cwb.seed(), 1, "default session seed is 1")
is(type(help), "function", "help() is a global")
is(cwb.pca, cwb.metrics.pca, "cwb.pca is cwb.metrics.pca")

-- ---------------------------------------------------------------- tensor ----
do
  local t = tensor.new(2, 3)
  is(select("#", t:shape()), 2, "shape returns two values")
  local r, c = t:shape()
  ok(r == 2 and c == 3, "new(2, 3) is 2x3")
  is(#t, 2, "#t is the number of rows")
  is(t:sum(), 0.0, "new() is zero-filled")
  is(tensor.new(2, 2, 1.5):sum(), 6.0, "new(rows, cols, fill)")
  is(tensor.ones(3, 4):sum(), 12.0, "ones")
  is(tensor.zeros(3, 4):norm(), 0.0, "zeros")
  local e = tensor.eye(3)
  ok(e:get(2, 2) == 1 and e:get(1, 2) == 0 and e:sum() == 3, "eye")

  local m = tensor.from{{1, 2, 3}, {4, 5, 6}}
  is(m:get(2, 3), 6.0, "from rows: get(2, 3)")
  is(m:rows() * 10 + m:cols(), 23, "from rows: shape 2x3")
  local f = tensor.from({1, 2, 3, 4, 5, 6}, 3, 2)
  ok(f:rows() == 3 and f:get(3, 1) == 5, "from flat + shape")
  local v = tensor.from{7, 8, 9}
  ok(v:rows() == 1 and v:cols() == 3 and v:get(2) == 8, "from flat alone is 1 x n; get(i) on a vector")
  v:set(3, 1.5)
  is(v:get(3), 1.5, "set(i, v) on a vector")
  ok(m:set(1, 1, -1) == m and m:get(1, 1) == -1, "set returns the tensor and changes it")
  m:set(1, 1, 1)

  local row = m:row(2)
  ok(row:rows() == 1 and row:get(1, 2) == 5, "row(i) copies a row")
  row:set(1, 1, 100)
  is(m:get(2, 1), 4.0, "row() is a copy")
  local col = m:col(3)
  ok(col:rows() == 2 and col:get(2, 1) == 6, "col(j)")
  local sl = m:slice(2)
  ok(sl:rows() == 1 and sl:get(1, 1) == 4, "slice(r0) to the end")
  is(tensor.from{{1}, {2}, {3}, {4}}:slice(2, 3):sum(), 5.0, "slice(r0, r1) is inclusive")
  local g = m:gather{2, 1, 2}
  ok(g:rows() == 3 and g:get(1, 1) == 4 and g:get(2, 1) == 1, "gather rows")
  local cp = m:copy()
  cp:fill(0)
  ok(cp:sum() == 0 and m:sum() == 21, "copy is deep, fill in place")
  local tt = m:totable()
  ok(#tt == 2 and tt[2][3] == 6, "totable: rows of numbers")
  ok(close_tables(m:flat(), {1, 2, 3, 4, 5, 6}, 0), "flat: row-major values")
  ok(m == tensor.from{{1, 2, 3}, {4, 5, 6}}, "== compares values")
  ok(m ~= m:transpose(), "tensors of other shapes differ")

  -- arithmetic, with broadcasting
  ok(close_tables((m + 1):flat(), {2, 3, 4, 5, 6, 7}, 0), "t + number")
  ok(close_tables((10 - m):flat(), {9, 8, 7, 6, 5, 4}, 0), "number - t")
  ok(close_tables((m * m):flat(), {1, 4, 9, 16, 25, 36}, 0), "t * t elementwise")
  ok(close_tables((m / 2):flat(), {0.5, 1, 1.5, 2, 2.5, 3}, 0), "t / number")
  ok(close_tables((-m):flat(), {-1, -2, -3, -4, -5, -6}, 0), "unary minus")
  ok(close_tables((m - m:mean(1)):flat(), {-1.5, -1.5, -1.5, 1.5, 1.5, 1.5}, 1e-6),
     "broadcast a 1 x cols row over the rows")
  ok(close_tables((m * tensor.from({2, 3}, 2, 1)):flat(), {2, 4, 6, 12, 15, 18}, 0),
     "broadcast a rows x 1 column over the columns")
  throws(function() return m + tensor.ones(3, 3) end, "shapes 2x3 and 3x3 do not match",
         "mismatched shapes are an error")
  throws(function() return m + "x" end, "number or tensor expected, got string",
         "arithmetic with a string is an error")

  local p = m:matmul(m:transpose())
  ok(close_tables(p:flat(), {14, 32, 32, 77}, 1e-5), "matmul")
  throws(function() m:matmul(m) end, "bad argument #1 to 'matmul' (matmul of 2x3 by 2x3",
         "matmul with mismatched inner sizes")
  ok(close_tables(m:transpose():flat(), {1, 4, 2, 5, 3, 6}, 0), "transpose")
  is(m:sum(), 21.0, "sum")
  is(m:mean(), 3.5, "mean")
  ok(close_tables(m:sum(1):flat(), {5, 7, 9}, 0), "sum(1) down the rows")
  ok(close_tables(m:sum(2):flat(), {6, 15}, 0), "sum(2) across the columns")
  ok(close_tables(m:mean(2):flat(), {2, 5}, 1e-6), "mean(2)")
  near(m:norm(), math.sqrt(91), 1e-5, "norm is Frobenius")
  ok(close_tables(m:rownorms():flat(), {math.sqrt(14), math.sqrt(77)}, 1e-5), "rownorms")
  ok(close_tables(m:normalize_rows():rownorms():flat(), {1, 1}, 1e-6), "normalize_rows gives unit rows")
  ok(m:max() == 6 and m:min() == 1, "max and min")
  local vs = tensor.vstack{m, tensor.ones(1, 3)}
  ok(vs:rows() == 3 and vs:get(3, 2) == 1, "vstack")
  local hs = tensor.hstack{m, tensor.zeros(2, 1)}
  ok(hs:cols() == 4 and hs:get(2, 3) == 6 and hs:get(2, 4) == 0, "hstack")
  throws(function() tensor.vstack{m, tensor.ones(1, 2)} end, "cols must all be 3", "vstack checks widths")
  ok(tensor.is(m) and not tensor.is({}), "tensor.is")
  like(tostring(m), "tensor 2x3 {{1, 2, 3}, {4, 5, 6}}", "small tensors print their values")
  is(tostring(tensor.new(100, 3)), "tensor 100x3", "large tensors print their shape")

  -- randn: reproducible, standard normal moments (4 standard errors)
  local a, b = tensor.randn(100, 100, 7), tensor.randn(100, 100, 7)
  ok(a == b, "randn with the same seed gives the same values")
  ok(a ~= tensor.randn(100, 100, 8), "another seed gives other values")
  local n = 10000
  near(a:mean(), 0, 4 / math.sqrt(n), "randn mean is 0 within 4 SE")
  near((a * a):mean(), 1, 4 * math.sqrt(2 / n), "randn variance is 1 within 4 SE")
  ok(tensor.randn(2, 2, cwb.rng.new(3)) == tensor.randn(2, 2, cwb.rng.new(3)), "randn takes an rng")
  ok(tensor.randn(2, 2) ~= tensor.randn(2, 2), "without an rng the session's stream advances")

  -- argument errors read like Lua's own
  throws(function() tensor.new("a", 2) end, "bad argument #1 to 'new' (number expected, got string)",
         "new checks rows")
  throws(function() tensor.new(2) end, "bad argument #2 to 'new' (number expected, got no value)",
         "new needs cols")
  throws(function() tensor.new(0, 2) end, "bad argument #1 to 'new' (rows must be positive, got 0)",
         "new rejects empty shapes")
  throws(function() tensor.new(2.5, 2) end, "number has no integer representation",
         "new rejects fractional sizes")
  throws(function() m:get(3, 1) end, "bad argument #1 to 'get' (row 3 out of range 1..2)",
         "get checks the row")
  throws(function() m:get(1, 4) end, "bad argument #2 to 'get' (column 4 out of range 1..3)",
         "get checks the column")
  throws(function() m:set(1, 1, "x") end, "bad argument #3 to 'set' (number expected, got string)",
         "set checks the value")
  throws(function() m.get(5, 1, 1) end, "cwb.tensor expected, got number",
         "methods check self")
  throws(function() tensor.from{{1, 2}, {3}} end, "row 2 has 1 values, row 1 has 2",
         "from rejects ragged rows")
  throws(function() tensor.from({1, 2, 3}, 2, 2) end, "3 values do not fill a 2x2 tensor",
         "from checks the shape")
  throws(function() tensor.from{{1, "x"}} end, "element [1][2]: number expected, got string",
         "from checks the elements")
  throws(function() m:slice(2, 1) end, "last row 1 is before first row 2", "slice checks order")
  throws(function() m:gather{1, 3} end, "idx[2] = 3 is out of range 1..2", "gather checks indices")
  throws(function() tensor.randn(2, 2, "seed") end, "cwb.rng or integer seed expected, got string",
         "randn checks its rng")

  -- CSV, written atomically
  local dir = tmpdir()
  local path = dir .. "/m.csv"
  m:save_csv(path, {"x", "y", "z"})
  local fh = assert(io.open(path))
  local text = fh:read("a")
  fh:close()
  is(text, "x,y,z\n1,2,3\n4,5,6\n", "save_csv with a header table")
  m:save_csv(path)
  fh = assert(io.open(path))
  is(fh:read("a"), "1,2,3\n4,5,6\n", "save_csv without a header overwrites")
  fh:close()
  m:save_csv(path, "# a comment")
  fh = assert(io.open(path))
  is(fh:read("l"), "# a comment", "save_csv with a header string")
  fh:close()
  is(#listdir(dir), 1, "no temporary files are left beside the CSV")
  throws(function() m:save_csv(path, {"x"}) end, "1 column names for 3 columns", "header width checked")
  throws(function() m:save_csv(dir .. "/no/such/dir/m.csv") end, "No such file or directory",
         "an unwritable path is an error naming the cause")
  os.execute("rm -rf '" .. dir .. "'")
end

-- ------------------------------------------------------------------- rng ----
do
  local r1, r2 = cwb.rng.new(5), cwb.rng.new(5)
  local same = true
  for _ = 1, 10 do same = same and r1:uniform() == r2:uniform() end
  ok(same, "same seed, same stream: same numbers")
  ok(cwb.rng.new(5, 1):uniform() ~= cwb.rng.new(5, 2):uniform(), "streams differ")
  local r = cwb.rng.new(11)
  local inrange, n, s, s2 = true, 20000, 0, 0
  for _ = 1, n do
    local u = r:uniform()
    inrange = inrange and u >= 0 and u < 1
    s = s + u
  end
  ok(inrange, "uniform() in [0, 1)")
  near(s / n, 0.5, 4 * math.sqrt(1 / 12 / n), "uniform mean 1/2 within 4 SE")
  local u = r:uniform(-2, 3)
  ok(u >= -2 and u < 3, "uniform(a, b) in [a, b)")
  s = 0
  for _ = 1, n do
    local x = r:normal(2, 3)
    s, s2 = s + x, s2 + x * x
  end
  near(s / n, 2, 4 * 3 / math.sqrt(n), "normal(2, 3) mean")
  near(s2 / n - (s / n) ^ 2, 9, 4 * 9 * math.sqrt(2 / n), "normal(2, 3) variance")
  s, s2 = 0, 0
  for _ = 1, n do
    local x = r:gamma(3, 2)
    s, s2 = s + x, s2 + x * x
  end
  near(s / n, 1.5, 4 * math.sqrt(0.75 / n), "gamma(3, 2) mean shape/rate")
  near(s2 / n - (s / n) ^ 2, 0.75, 0.05, "gamma(3, 2) variance shape/rate^2")
  local okint = true
  for _ = 1, 1000 do
    local k = r:int(6)
    okint = okint and k >= 1 and k <= 6 and math.type(k) == "integer"
  end
  ok(okint, "int(6) in 1..6")
  local k = r:int(-3, -1)
  ok(k >= -3 and k <= -1, "int(a, b) in a..b")
  local p = r:permutation(50)
  table.sort(p)
  local isperm = #p == 50
  for i = 1, 50 do isperm = isperm and p[i] == i end
  ok(isperm, "permutation(n) is a permutation of 1..n")
  local t = r:randn(3, 4)
  ok(tensor.is(t) and t:rows() == 3 and t:cols() == 4, "randn(rows, cols) gives a tensor")
  local c = r:clone()
  is(c:uniform(), r:uniform(), "clone continues the same sequence")
  throws(function() cwb.rng.new("x") end, "bad argument #1 to 'new' (number expected, got string)",
         "rng.new checks the seed")
  throws(function() r:gamma(-1) end, "bad argument #1 to 'gamma' (shape must be positive and finite)",
         "gamma checks the shape")
  throws(function() r:int(0) end, "interval is empty", "int(0) is an error")
  like(tostring(r), "cwb.rng", "rng prints as cwb.rng")
end

-- ------------------------------------------------------------------ data ----
do
  local ds = cwb.data.synth{n = 300, clusters = 5, latent_dim = 4, dim = 12, seed = 3}
  is(ds:size(), 300, "synth n")
  is(#ds, 300, "#ds")
  ok(ds:dim() == 12 and ds:clusters() == 5, "synth dim, clusters")
  local x = ds:x()
  ok(x:rows() == 300 and x:cols() == 12, "x() is n x dim")
  ok(ds:z():cols() == 4, "z() is n x latent_dim")
  local labels = ds:labels()
  local lo, hi = math.huge, -math.huge
  for _, l in ipairs(labels) do lo, hi = math.min(lo, l), math.max(hi, l) end
  ok(#labels == 300 and lo == 1 and hi == 5, "labels are 1..clusters")
  ok(cwb.data.synth{n = 50, dim = 8, seed = 3}:x() == cwb.data.synth{n = 50, dim = 8, seed = 3}:x(),
     "synth is reproducible from its seed")
  ok(cwb.data.synth{n = 50, dim = 8, seed = 3}:x() ~= cwb.data.synth{n = 50, dim = 8, seed = 4}:x(),
     "another seed, other data")
  like(tostring(ds), "dataset n=300 dim=12 clusters=5", "dataset prints its size")
  throws(function() cwb.data.synth{n = "many"} end,
         "bad argument #1 to 'synth' (option 'n': number expected, got string)", "synth checks option types")
  throws(function() cwb.data.synth{bogus = 1} end, "unknown option 'bogus' (known: n, clusters",
         "synth rejects unknown options")
  throws(function() cwb.data.synth{spread = -1} end, "synth: spread = -1, must be finite and >= 0",
         "engine errors are raised with the Lua name")
  throws(function() cwb.data.synth{nonlinear = 1} end, "option 'nonlinear': boolean expected, got number",
         "booleans must be booleans")
  throws(function() cwb.data.synth(5) end, "bad argument #1 to 'synth' (table expected, got number)",
         "synth wants a table")

  local xb = x:slice(1, 16)
  local same = cwb.data.augment(xb, {jitter = 0, mask = 0, flip = 0, scale = 0}, 1)
  ok(same == xb, "augment with every strength 0 is the identity")
  local aug = cwb.data.augment(xb, {jitter = 0.5}, 1)
  ok(aug:rows() == 16 and aug:cols() == 12 and aug ~= xb, "augment changes the rows, keeps the shape")
  ok(aug == cwb.data.augment(xb, {jitter = 0.5}, 1), "augment is reproducible from its seed")
  ok(cwb.data.augment(xb) ~= cwb.data.augment(xb), "augment without an rng draws fresh views")
  local masked = cwb.data.augment(xb, {jitter = 0, mask = 1, flip = 0, scale = 0}, 1)
  is(masked:norm(), 0.0, "mask = 1 zeroes every coordinate")
  throws(function() cwb.data.augment(xb, {mask = 2}) end, "augment: mask = 2, must be in [0, 1]",
         "augment range errors")
  throws(function() cwb.data.augment(xb, {blur = 1}) end, "unknown option 'blur'", "augment options checked")

  local s = cwb.data.sampler(ds, {batch = 20, seed = 2})
  local idx, pos, w = s:next()
  ok(#idx == 20 and #pos == 20 and #w == 20, "sampler:next() returns batch-sized tables")
  local seen, distinct, inrange = {}, true, true
  for i, v in ipairs(idx) do
    distinct = distinct and not seen[v]
    seen[v] = true
    inrange = inrange and v >= 1 and v <= 300 and pos[i] == v
  end
  ok(distinct and inrange, "indices are distinct, 1-based, positives equal anchors without pair noise")
  is(s:batch(), 20, "sampler:batch()")
  -- noise = 1: every batch from one cluster
  local sk = cwb.data.sampler(ds, {batch = 10, noise = 1, seed = 1})
  local one = true
  for _ = 1, 5 do
    local ii = sk:next()
    for j = 2, #ii do one = one and labels[ii[j]] == labels[ii[1]] end
  end
  ok(one, "noise = 1 fills each batch from one cluster")
  throws(function() cwb.data.sampler(ds, {batch = 301}) end, "must be in [1, N = 300]",
         "sampler batch larger than the data set")
  throws(function() cwb.data.sampler(x, {}) end, "bad argument #1 to 'sampler' (cwb.dataset expected, got cwb.tensor)",
         "sampler wants a data set")
end

-- -------------------------------------------------------------------- nn ----
do
  local m = cwb.nn.mlp{dims = {5, 7, 3}, act = "tanh", l2norm = false, seed = 2, max_batch = 8}
  is(m:params(), 5 * 7 + 7 + 7 * 3 + 3, "mlp parameter count")
  ok(close_tables(m:dims(), {5, 7, 3}, 0), "mlp:dims()")
  like(tostring(m), "mlp 5-7-3 tanh", "mlp prints its shape")
  local x = tensor.randn(4, 5, 9)
  local y = m:forward(x)
  ok(y:rows() == 4 and y:cols() == 3, "forward gives B x out")
  -- dL/dx for L = sum(y .* R), checked by central differences
  local R = tensor.randn(4, 3, 10)
  m:zero_grad()
  m:forward(x)
  local dx = m:backward(R)
  ok(dx:rows() == 4 and dx:cols() == 5, "backward gives dL/dx, B x in")
  local worst = 0
  for _, ij in ipairs{{1, 1}, {2, 3}, {4, 5}, {3, 2}} do
    local i, j = ij[1], ij[2]
    local h = 1e-2
    local xp, xm = x:copy(), x:copy()
    xp:set(i, j, x:get(i, j) + h)
    xm:set(i, j, x:get(i, j) - h)
    local fd = ((m:forward(xp) * R):sum() - (m:forward(xm) * R):sum()) / (2 * h)
    worst = math.max(worst, math.abs(fd - dx:get(i, j)) / math.max(1, math.abs(fd)))
  end
  ok(worst < 1e-2, "mlp backward matches central differences (worst rel. error " .. worst .. ")")
  -- parameter gradient: one weight, by central differences
  m:zero_grad()
  m:forward(x)
  m:backward(R)
  local gr, w = m:grads(), m:weights()
  ok(gr:norm() > 0, "backward accumulates parameter gradients")
  local h, k = 1e-2, 3
  local wp, wm = w:copy(), w:copy()
  wp:set(k, w:get(k) + h)
  wm:set(k, w:get(k) - h)
  local fp = (m:set_weights(wp):forward(x) * R):sum()
  local fm = (m:set_weights(wm):forward(x) * R):sum()
  m:set_weights(w)
  near(gr:get(k), (fp - fm) / (2 * h), 1e-2 * math.max(1, math.abs(gr:get(k))), "dL/dW matches central differences")
  m:zero_grad()
  is(m:grads():norm(), 0.0, "zero_grad clears the gradients")
  local l2 = cwb.nn.mlp{dims = {5, 4}, seed = 1}
  ok(close_tables(l2:forward(x):rownorms():flat(), {1, 1, 1, 1}, 1e-5), "l2norm=true gives unit rows")
  throws(function() m:forward(tensor.ones(9, 5)) end, "9 rows > max_batch 8", "forward checks max_batch")
  throws(function() m:forward(tensor.ones(2, 4)) end, "input has 4 columns, the mlp takes 5",
         "forward checks the width")
  throws(function() cwb.nn.mlp{dims = {4, 4}}:backward(tensor.ones(2, 4)) end,
         "no forward pass", "backward before forward")
  throws(function() cwb.nn.mlp{dims = {4}} end, "option 'dims': 1 sizes given", "mlp needs 2+ sizes")
  throws(function() cwb.nn.mlp{act = "swish"} end, "option 'act': unknown activation 'swish'",
         "unknown activation")
  throws(function() cwb.nn.mlp{dims = {4, 0}} end, "entry 2 must be a positive integer", "dims checked")

  -- optimisers: one SGD step is p - lr g exactly
  local o = cwb.nn.optim{kind = "sgd", lr = 0.5, momentum = 0}
  local p, g = tensor.from{1, 2}, tensor.from{0.2, 0.4}
  o:step(p, g)
  ok(close_tables(p:flat(), {0.9, 1.8}, 1e-6), "sgd step on a tensor: p - lr g")
  o:step(p, g, 1.0)
  ok(close_tables(p:flat(), {0.7, 1.4}, 1e-6), "step with an explicit lr")
  is(o:lr(), 0.5, "optim:lr()")
  throws(function() o:step(tensor.ones(1, 3), tensor.ones(1, 3)) end,
         "optimiser is bound to 2 parameters, got 3", "an optimiser keeps its parameter count")
  local am = cwb.nn.optim{kind = "adamw", lr = 0.1, weight_decay = 0}
  local q = tensor.from{1, -1}
  am:step(q, tensor.from{3, -0.001})
  -- Adam's first step moves each parameter by lr * sign(g) (bias-corrected)
  ok(close_tables(q:flat(), {0.9, -0.9}, 1e-3), "adamw first step moves by lr * sign(g)")
  local mo = cwb.nn.mlp{dims = {5, 3}, seed = 1}
  local before = mo:weights()
  mo:forward(x)
  mo:backward(tensor.ones(4, 3))
  cwb.nn.optim{kind = "sgd", lr = 0.1}:step(mo)
  ok(mo:weights() ~= before, "optim:step(mlp) updates the mlp")
  throws(function() cwb.nn.optim{kind = "rmsprop"} end, "unknown optimiser 'rmsprop' (sgd, adamw)",
         "unknown optimiser")
  throws(function() cwb.nn.optim{lr = -1} end, "optim: lr=-1 must be finite and >= 0", "engine validates lr")
  throws(function() cwb.nn.optim{lr = "fast"} end, "option 'lr': number expected, got string",
         "optim checks types")
  throws(function() o:step("x") end, "bad argument #1 to 'step' (cwb.mlp or cwb.tensor expected, got string)",
         "optim:step checks its argument")

  local cs = cwb.nn.schedule{kind = "cosine", warmup = 10, total = 110, min_frac = 0.1}
  near(cs:factor(5), 0.5, 1e-6, "cosine warm-up is linear")
  near(cs(10), 1, 1e-6, "schedule is callable; full lr after warm-up")
  near(cs:factor(110), 0.1, 1e-6, "cosine ends at min_frac")
  near(cs:factor(60), 0.55, 1e-6, "cosine halfway is (1 + min_frac) / 2")
  is(cwb.nn.schedule{}:factor(1000), 1.0, "constant schedule")
  throws(function() cwb.nn.schedule{kind = "step"} end, "unknown schedule 'step'", "unknown schedule")
  throws(function() cwb.nn.schedule{min_frac = 2} end, "schedule: min_frac = 2, must be in [0, 1]",
         "min_frac range (the engine's check)")
  throws(function() cwb.nn.schedule{kind = "cosine", warmup = 10} end,
         "schedule: a cosine schedule needs total > warmup", "cosine needs its end")
end

-- ------------------------------------------------------------------ loss ----
do
  -- reference values in plain Lua (double precision)
  local function rows(t) return t:normalize_rows():totable() end
  local function dot(u, v)
    local s = 0
    for i = 1, #u do s = s + u[i] * v[i] end
    return s
  end
  local function lse(xs)
    local m = -math.huge
    for _, x in ipairs(xs) do m = math.max(m, x) end
    local s = 0
    for _, x in ipairs(xs) do s = s + math.exp(x - m) end
    return m + math.log(s)
  end
  -- one direction; c scales the negatives; with_pos = false gives DCL
  local function ref(a, b, tau, c, with_pos)
    local A, B = rows(a), rows(b)
    local total = 0
    for i = 1, #A do
      local terms = {}
      for j = 1, #B do
        local s = dot(A[i], B[j]) / tau
        if j == i then
          if with_pos then terms[#terms + 1] = s end
        else
          terms[#terms + 1] = s + math.log(c)
        end
      end
      total = total + (-dot(A[i], B[i]) / tau + lse(terms))
    end
    return total / #A
  end

  local a, b = tensor.randn(8, 5, 1), tensor.randn(8, 5, 2)
  local l, ga, gb, dtau, sur = cwb.loss.infonce(a, b, {tau = 0.2})
  near(l, ref(a, b, 0.2, 1, true), 1e-5, "infonce value matches a Lua reference")
  is(l, sur, "infonce surrogate equals its value")
  ok(ga:rows() == 8 and gb:cols() == 5, "gradients have the inputs' shapes")
  near(cwb.loss.infonce(a, b, {tau = 0.2, symmetric = true}),
       (ref(a, b, 0.2, 1, true) + ref(b, a, 0.2, 1, true)) / 2, 1e-5, "symmetric is the mean of both directions")
  near(cwb.loss.infonce(a, b, {tau = 0.2, n_total = 64}), ref(a, b, 0.2, 63 / 7, true), 1e-5,
       "n_total = N scales the negatives by (N-1)/(B-1)")
  near(cwb.loss.dcl(a, b, {tau = 0.2}), ref(a, b, 0.2, 1, false), 1e-5, "dcl leaves the positive out")
  -- NT-Xent: the 16 rows of a and b as anchors against the 15 others (normalised inside)
  local function ntxent_ref(a, b, tau, with_pos)
    local z = rows(tensor.vstack{a, b})
    local n, total = #z / 2, 0
    for r = 1, #z do
      local p = r <= n and r + n or r - n
      local terms = {}
      for q = 1, #z do
        if q ~= r and (with_pos or q ~= p) then terms[#terms + 1] = dot(z[r], z[q]) / tau end
      end
      total = total + (-dot(z[r], z[p]) / tau + lse(terms))
    end
    return total / #z
  end
  near(cwb.loss.ntxent(a, b, {tau = 0.5}), ntxent_ref(a, b, 0.5, true), 1e-5,
       "ntxent: 2B anchors against the other 2B-1 rows")
  near(cwb.loss.dcl(a, b, {tau = 0.5, both_views = true}), ntxent_ref(a, b, 0.5, false), 1e-5,
       "dcl both_views: 2B anchors against both views' 2B-2 negatives")
  local NX = cwb.loss.new{kind = "ntxent", tau = 0.5}
  near(NX:eval(a, b), ntxent_ref(a, b, 0.5, true), 1e-5, "cwb.loss.new{kind = \"ntxent\"}")
  ok(NX:config().kind == "ntxent" and cwb.loss.new{kind = "dcl", both_views = true}:config().both_views,
     "config reports the kind and both_views")
  throws(function() cwb.loss.infonce(a, b, {both_views = true}) end, "both_views is an option of dcl",
         "both_views only for dcl")
  throws(function() cwb.loss.ntxent(a, b, {symmetric = true}) end, "already an anchor",
         "ntxent takes no symmetric")
  -- gradients through the normalisation, by central differences on raw a
  local worst = 0
  for _, ij in ipairs{{1, 1}, {3, 2}, {8, 5}} do
    local i, j = ij[1], ij[2]
    local h = 1e-3
    local ap, am = a:copy(), a:copy()
    ap:set(i, j, a:get(i, j) + h)
    am:set(i, j, a:get(i, j) - h)
    local fd = (ref(ap, b, 0.2, 1, true) - ref(am, b, 0.2, 1, true)) / (2 * h)
    worst = math.max(worst, math.abs(fd - ga:get(i, j)))
  end
  ok(worst < 1e-4, "grad_a (back through the L2 norm) matches central differences, err " .. worst)
  local h = 1e-4
  local fd_tau = (ref(a, b, 0.2 + h, 1, true) - ref(a, b, 0.2 - h, 1, true)) / (2 * h)
  near(dtau, fd_tau, 1e-3 * math.max(1, math.abs(fd_tau)), "dloss_dtau matches central differences")
  local bworst = 0
  for _, ij in ipairs{{2, 2}, {5, 4}} do
    local i, j = ij[1], ij[2]
    local bp, bm = b:copy(), b:copy()
    bp:set(i, j, b:get(i, j) + 1e-3)
    bm:set(i, j, b:get(i, j) - 1e-3)
    local fd = (ref(a, bp, 0.2, 1, true) - ref(a, bm, 0.2, 1, true)) / 2e-3
    bworst = math.max(bworst, math.abs(fd - gb:get(i, j)))
  end
  ok(bworst < 1e-4, "grad_b matches central differences, err " .. bworst)
  -- normalize = false: the engine's raw form on rows already normalised
  local an, bn = a:normalize_rows(), b:normalize_rows()
  near(cwb.loss.infonce(an, bn, {tau = 0.2, normalize = false}), l, 1e-5,
       "normalize=false on unit rows gives the same value")
  -- the stateful losses on a fresh state: zhat = Zbatch, so the reported
  -- decomposable value is the conventional estimate
  local conv = cwb.loss.infonce(a, b, {tau = 0.2, n_total = 32})
  local idx = {1, 2, 3, 4, 5, 6, 7, 8}
  near(cwb.loss.decomposable(a, b, {tau = 0.2, n_total = 32, idx = idx}), conv, 1e-5,
       "decomposable on a fresh state reports -s_ii + log Zbatch_i")
  local sl, sga, _, _, ssur = cwb.loss.sogclr(a, b, {tau = 0.2, n_total = 32})
  near(sl, conv, 1e-5, "sogclr on a fresh state reports the same estimate")
  ok(sga:norm() > 0 and ssur ~= sl, "sogclr returns a gradient and its surrogate")
  local w1 = cwb.loss.infonce(a, b, {tau = 0.2, weights = {1, 1, 1, 1, 1, 1, 1, 1}})
  near(w1, l, 1e-6, "unit importance weights change nothing")
  ok(cwb.loss.infonce(a, b, {tau = 0.2, weights = tensor.new(1, 8, 2)}) > l,
     "weights (a tensor) scale the negatives")
  -- the loss object keeps its state between calls
  local L = cwb.loss.new{kind = "decomposable", tau = 0.2, n_total = 32, seed = 4}
  local v1 = L:eval(a, b, idx)
  near(v1, conv, 1e-5, "loss object: first eval is the fresh-state value")
  local a2 = tensor.randn(8, 5, 5)
  L:eval(a2, b, idx)
  local v3 = L:eval(a, b, idx)
  ok(math.abs(v3 - v1) > 1e-6, "the running estimate zhat changes what is reported")
  L:reset()
  near(L:eval(a, b, idx), v1, 1e-6, "reset forgets zhat")
  is(L:config().kind, "decomposable", "config() names the kind")
  is(L:config().gamma, 0.02, "decomposable default gamma 0.02")
  like(tostring(L), "loss decomposable", "loss object prints its kind")
  is(L:config().estep_first, false, "estep_first is off by default")
  is(L:config().jensen, false, "jensen is off by default")
  do
    -- every option reads back under its own name, as the run records it
    local C = cwb.loss.new{kind = "decomposable", tau = 0.5, symmetric = true, normalize = false,
                           chunk = 3, n_total = 40, alpha = 2.5, gamma = 0.25, noise = 0.125,
                           estep_first = true, jensen = true}:config()
    ok(C.kind == "decomposable" and C.tau == 0.5 and C.symmetric == true and C.normalize == false
         and C.chunk == 3 and C.n_total == 40 and C.alpha == 2.5 and C.gamma == 0.25
         and C.noise == 0.125 and C.estep_first == true and C.jensen == true and C.both_views == false,
       "config() returns every option given to cwb.loss.new")
    local n = 0
    for _ in pairs(C) do n = n + 1 end
    is(n, 12, "config() has the 12 keys of the loss options")
  end
  do
    local J = cwb.loss.new{kind = "sogclr", n_total = 32, estep_first = true, jensen = true}
    ok(J:config().estep_first and J:config().jensen, "estep_first and jensen reach the loss object")
    -- same first visit in every order (no earlier zhat); then the orders differ
    local P = cwb.loss.new{kind = "sogclr", n_total = 32}
    near(J:eval(a, b, idx), P:eval(a, b, idx), 1e-9, "first visit: the same value in every order")
    local _, _, _, _, sj = J:eval(a2, b, idx)
    local _, _, _, _, sp = P:eval(a2, b, idx)
    ok(math.abs(sj - sp) > 1e-6, "second visit: E-step first changes the surrogate")
  end
  throws(function() cwb.loss.new{kind = "decomposable", n_total = 8, jensen = "yes"} end,
         "option 'jensen': boolean expected, got string", "jensen checks its type")
  throws(function() cwb.loss.sogclr(a, b, {estep_first = 1}) end,
         "option 'estep_first': boolean expected, got number", "estep_first checks its type")

  throws(function() cwb.loss.infonce(a, "x") end,
         "bad argument #2 to 'infonce' (cwb.tensor expected, got string)", "infonce checks b")
  throws(function() cwb.loss.infonce(a, b, {tau = "x"}) end,
         "bad argument #3 to 'infonce' (option 'tau': number expected, got string)", "infonce checks tau's type")
  throws(function() cwb.loss.infonce(a, b, {temperature = 1}) end, "unknown option 'temperature'",
         "infonce rejects unknown options")
  throws(function() cwb.loss.infonce(a, b, {tau = 0}) end, "option 'tau'", "tau must be positive")
  throws(function() cwb.loss.infonce(a, tensor.ones(8, 4)) end, "b is 8x4, a is 8x5", "shapes must agree")
  throws(function() cwb.loss.infonce(tensor.ones(1, 4), tensor.ones(1, 4)) end, "need >= 2",
         "a batch needs two rows")
  throws(function() cwb.loss.decomposable(a, b, {idx = {1, 2}}) end, "option 'idx': 8 indices expected, got 2",
         "idx must cover the batch")
  throws(function() cwb.loss.dcl(a, b, {weights = "heavy"}) end, "option 'weights': table or tensor expected",
         "weights checked")
  throws(function() cwb.loss.new{kind = "sogclr"} end, "option 'n_total'", "stateful losses need n_total")
  throws(function() cwb.loss.new{kind = "triplet"} end, "unknown loss 'triplet'", "unknown loss kind")
  throws(function() L:eval(a, b, {1, 2, 3, 4, 5, 6, 7, 99}) end,
         "bad argument #3 to 'eval' (idx[8] = 99 is out of range 1..32)", "eval checks idx against n_total")
end

-- --------------------------------------------------------------- metrics ----
do
  local a = tensor.randn(40, 6, 21):normalize_rows()
  local b = tensor.randn(40, 6, 22):normalize_rows()
  is(cwb.metrics.alignment(a, a), 0.0, "alignment of identical views is 0")
  local d = a - b
  near(cwb.metrics.alignment(a, b), (d * d):sum(2):mean(), 1e-5, "alignment = mean squared distance")
  local dist = 0
  for _, v in ipairs((d * d):sum(2):flat()) do dist = dist + math.sqrt(v) end
  near(cwb.metrics.gap_paired(a, b), dist / 40, 1e-5, "gap_paired = mean distance")
  near(cwb.metrics.gap_centroid(a, b), (a:mean(1) - b:mean(1)):norm(), 1e-5, "gap_centroid")
  is(cwb.metrics.top1(a, a), 1.0, "top1 of identical views is 1")
  local r = cwb.metrics.recall(a, b, {1, 40})
  ok(r[40] == 1 and r[1] >= 0 and r[1] <= 1, "recall table indexed by K; R@n = 1")
  near(cwb.metrics.recall(a, b)[1], cwb.metrics.top1(a, b), 1e-12, "recall@1 is top1")
  -- uniformity against a direct double loop
  local A = a:totable()
  local s, n = 0, 0
  for i = 1, 40 do
    for j = i + 1, 40 do
      local q = 0
      for k = 1, 6 do q = q + (A[i][k] - A[j][k]) ^ 2 end
      s, n = s + math.exp(-2 * q), n + 1
    end
  end
  near(cwb.metrics.uniformity(a), math.log(s / n), 1e-4, "uniformity = log mean exp(-2 d^2)")
  ok(cwb.metrics.collapse_std(tensor.ones(10, 4)) < 1e-6, "collapse_std of a collapsed set is 0")
  local L0, d1, d2 = cwb.metrics.population_loss(a, b, 5)
  local Lp = cwb.metrics.population_loss(a, b, 5 + 1e-3)
  local Lm = cwb.metrics.population_loss(a, b, 5 - 1e-3)
  near(d1, (Lp - Lm) / 2e-3, 1e-4, "population_loss d1 matches central differences")
  ok(d2 >= 0, "population loss is convex in the scale")
  near(L0, cwb.loss.infonce(a, b, {tau = 1 / 5}), 1e-4, "population loss at batch = N is in-batch InfoNCE")
  -- PCA: points on a line explain everything on the first axis
  local line = tensor.new(20, 3)
  for i = 1, 20 do line:set(i, 1, i); line:set(i, 2, 2 * i); line:set(i, 3, -i) end
  local p, e = cwb.pca(line)
  ok(p:rows() == 20 and p:cols() == 2, "pca gives n x 2")
  near(e[1], 1, 1e-4, "a line is explained by one axis")
  near(p:col(1):mean(), 0, 1e-4, "projections are centred")
  throws(function() cwb.metrics.alignment(a, tensor.ones(3, 6)) end, "bad argument #2 to 'alignment' (b is 3x6, a is 40x6)",
         "metrics check shapes")
  throws(function() cwb.metrics.recall(a, b, {0}) end, "K[1] must be a positive integer", "recall checks K")
  throws(function() cwb.pca("x") end, "bad argument #1 to 'pca' (cwb.tensor expected, got string)", "pca checks x")
end

-- ------------------------------------------------------------------ tsne ----
do
  -- cwb.tsne is cwb.metrics.tsne lifted to the top level (as cwb.pca is)
  local tsne = cwb.tsne
  is(cwb.tsne, cwb.metrics.tsne, "cwb.tsne is cwb.metrics.tsne")
  like(cwb.doc(cwb.tsne), "cwb.tsne(x [, {perplexity=", "tsne has a doc string")
  -- three far-apart clusters of 20 points in 6-D, labels interleaved
  local n, d = 60, 6
  local x, noise = tensor.new(n, d), tensor.randn(n, d, 11)
  for i = 1, n do
    local c = (i - 1) % 3
    for j = 1, d do x:set(i, j, (j == c + 1 and 20 or 0) + noise:get(i, j)) end
  end
  local y, kl = tsne(x, {perplexity = 10})
  ok(y:rows() == n and y:cols() == 2, "tsne gives n x 2")
  ok(type(kl) == "number" and kl > 0 and kl < 2, "tsne returns the final KL (" .. tostring(kl) .. ")")
  -- every point's nearest neighbour in the plane is in its own cluster
  local good = 0
  for i = 1, n do
    local best, bd = nil, math.huge
    for j = 1, n do
      if j ~= i then
        local dd = (y:get(i, 1) - y:get(j, 1)) ^ 2 + (y:get(i, 2) - y:get(j, 2)) ^ 2
        if dd < bd then best, bd = j, dd end
      end
    end
    if (best - i) % 3 == 0 then good = good + 1 end
  end
  is(good, n, "tsne keeps the clusters apart (1-NN in the plane)")
  local y2, kl2 = tsne(x, {perplexity = 10})
  ok((y2 - y):norm() == 0 and kl2 == kl, "tsne is deterministic without a seed")
  local y3, kl3 = tsne(x, {perplexity = 10, init = y, iterations = 50, lr = 20})
  ok(kl3 <= kl + 1e-6 and (y3 - y):norm() < 0.1 * y:norm(), "init continues from a previous layout")
  throws(function() tsne(tensor.ones(3, 2)) end, "bad argument #1 to 'tsne' (need at least 4 rows)",
         "tsne needs 4 points")
  throws(function() tsne(x, {perplexty = 5}) end, "bad argument #2 to 'tsne' (unknown option 'perplexty'",
         "tsne rejects unknown options")
  throws(function() tsne(x, {perplexity = 0}) end, "option 'perplexity': 0.000000 must be positive",
         "tsne checks the perplexity")
  throws(function() tsne(x, {iterations = 0}) end, "option 'iterations': 0 is out of range",
         "tsne checks the iterations")
  throws(function() tsne(x, {lr = -1}) end, "option 'lr'", "tsne checks the learning rate")
  throws(function() tsne(x, {init = tensor.new(5, 2)}) end, "option 'init': 5x2, need 60x2",
         "tsne checks the initial layout's shape")
  throws(function() tsne(x, {init = "pca"}) end, "option 'init': cwb.tensor expected, got string",
         "tsne checks the initial layout's type")
  local bad = tensor.ones(6, 2)
  bad:set(2, 2, 0 / 0)
  throws(function() tsne(bad) end, "tsne: the input holds a NaN or Inf", "tsne passes on the engine's NaN check")
end

-- -------------------------------------------------------------- scalefit ----
do
  local a, b, labels = cwb.scalefit.pairs{n = 128, k = 8, clusters = 4, seed = 3}
  ok(a:rows() == 128 and b:cols() == 8 and #labels == 128, "pairs: a, b, labels")
  ok(close_tables(a:rownorms():flat(), (tensor.ones(128, 1)):flat(), 1e-5), "pairs are unit vectors")
  local ts = cwb.scalefit.optimum(a, b)
  local _, d1 = cwb.metrics.population_loss(a, b, ts)
  ok(ts > 0 and math.abs(d1) < 1e-6, "optimum: the population loss is flat at theta*")
  local s = cwb.scalefit.new(a, b, {loss = "infonce", batch = 16, lr = 0.5, theta0 = ts, seed = 1, labels = labels,
                                    name = "api-scalefit"})
  local th, l = s:step()
  ok(th > 0 and l > 0 and s:steps() == 1 and s:theta() == th, "step returns theta and loss")
  local h = s:run{steps = 50, log_every = 10, record = false, history = true}.history
  ok(#h.step == 6 and h.step[1] == 10 and h.step[5] == 50 and h.step[6] == 51 and #h.theta == 6 and #h.loss == 6,
     "history every log_every trainer steps (10 .. 50) and the last (51)")
  local r2 = s:run{steps = 7, log_every = 3, history = true}
  ok(#r2.history.step == 3 and r2.history.step[3] == 58 and r2.history.theta[3] == s:theta(),
     "the last step is kept (54, 57, 58), its theta the current one")
  local rec = math.type(r2.run) == "integer" and cwb.runs.show(r2.run)
  ok(rec and rec.name == "api-scalefit" and rec.metrics.theta.count == 3,
     "run returns its store id (the recorded run, 3 theta values)")
  ok(s:run{steps = 2, record = false}.run == nil, "no id when not recorded")
  local s2 = cwb.scalefit.new{a = a, b = b, loss = "decomposable", batch = 8, lr = 0.5, theta0 = ts}
  ok(s2:step() > 0, "the table form new{a=, b=, ...}")
  throws(function() cwb.scalefit.new(a, b, {loss = "hinge"}) end, "unknown loss 'hinge'", "scalefit loss name")
  throws(function() cwb.scalefit.new(a, b, {loss = "decomposable", unscaled = true}) end,
         "unscaled applies to infonce and dcl", "engine checks unscaled")
  throws(function() cwb.scalefit.new(a, b, {lr = "x"}) end, "option 'lr': number expected, got string",
         "scalefit checks types")
  throws(function() cwb.scalefit.new{a = a} end, "option 'b': cwb.tensor expected, got nil",
         "table form needs b")
  throws(function() cwb.scalefit.pairs{n = 1} end, "option 'n'", "pairs needs n >= 2")
  throws(function() s:run{log_every = 2} end, "option 'steps': required", "run needs steps")
  throws(function() s:run(7, 3) end, "table expected, got number", "run takes a table, as every trainer's")
end

-- ------------------------------------------------------------------ help ----
do
  local missing = {}
  local function check_table(name, t)
    for k, v in pairs(t) do
      if type(v) == "function" and not cwb.doc(v) then missing[#missing + 1] = name .. "." .. k end
    end
  end
  check_table("cwb", cwb)
  for _, area in ipairs{"tensor", "rng", "data", "nn", "loss", "metrics", "trainer", "scalefit", "runs", "plot"} do
    ok(type(cwb[area]) == "table" and cwb.doc(cwb[area]) ~= nil, "cwb." .. area .. " exists and has a doc")
  end
  local areas = {}
  for name, v in pairs(cwb) do
    if type(v) == "table" then
      areas[#areas + 1] = name
      check_table("cwb." .. name, v)
      if not cwb.doc(v) then missing[#missing + 1] = "cwb." .. name .. " (the table)" end
      like(cwb.helptext(), "\ncwb." .. name, "help() lists cwb." .. name)
    end
  end
  -- every class's methods
  local ds = cwb.data.synth{n = 20, dim = 4}
  local objects = {
    tensor = tensor.ones(1, 1), rng = cwb.rng.new(1), dataset = ds,
    sampler = cwb.data.sampler(ds, {batch = 4}), mlp = cwb.nn.mlp{dims = {2, 2}},
    optim = cwb.nn.optim{}, schedule = cwb.nn.schedule{}, loss = cwb.loss.new{},
    scalefit = cwb.scalefit.new(tensor.randn(4, 2, 1), tensor.randn(4, 2, 2), {batch = 2}),
  }
  for name, obj in pairs(objects) do
    local methods = getmetatable(obj).__index
    ok(type(methods) == "table" and cwb.doc(obj) ~= nil, name .. " objects have documented methods")
    check_table(name, methods)
  end
  is(table.concat(missing, ", "), "", "every public function has a doc string")
  like(cwb.doc(cwb.loss.infonce), "infonce(a, b [, opts])", "doc strings start with the call")
  local all = cwb.helptext()
  like(all, "cwb.tensor", "help() lists the areas")
  like(all, "tensor methods", "help() lists the methods")
  like(all, "cwb.trainer.new{", "help() lists the trainer")
  like(cwb.helptext(cwb.loss.infonce), "loss, grad_a, grad_b", "help(f) shows f's doc")
  like(cwb.helptext(cwb.loss), "cwb.loss.decomposable", "help(table) lists its members")
  like(cwb.helptext(tensor.ones(1, 1)), "t:matmul(u)", "help(object) lists its methods")
  like(cwb.helptext("gamma"), "r:gamma", "help(\"word\") searches")
  like(cwb.helptext("zzzz"), "nothing matches 'zzzz'", "a search without matches says so")
  like(cwb.helptext(function() end), "no documentation for this function", "unknown functions say so")
  -- a misspelt name: help(nil) reads the name back from this line of the file
  local nwe = cwb.helptext(cwb.trainer.nwe)
  like(nwe, "no such function or table 'cwb.trainer.nwe'; did you mean cwb.trainer.new?",
       "help(misspelt.name) says no such function and suggests the nearest name")
  ok(not nwe:find("cwb.tensor"), "help(nil) does not print the whole API")
  local t1 = tensor.ones(1, 1)
  like(cwb.helptext(t1.matmull), "did you mean t1:matmul?", "a misspelt method of a local object")
  like(cwb.helptext("trainer.nwe"), "no such function or table 'trainer.nwe'; did you mean cwb.trainer.new?",
       "help \"dotted.name\" that does not exist suggests too")
  like(cwb.helptext("infonse"), "nothing matches 'infonse'; did you mean cwb.loss.infonce?",
       "a word that matches nothing suggests near names")
  like(cwb.helptext("string.format"), "no documentation for this function",
       "help \"dotted.name\" that no doc mentions looks the name up")
  local x
  like(cwb.helptext(x), "no such function or table 'x'", "a nil local is named")
  like(load("return cwb.helptext(nil)")(), "the argument is nil", "help(nil) itself says what it got")
  like(cwb.helptext(), "cwb.tensor", "help() without an argument still lists the API")
  -- an object whose engine side was freed (__gc run early) says so when printed
  do
    local function freed(x) getmetatable(x).__gc(x); return tostring(x) end
    is(freed(tensor.zeros(2, 2)), "tensor (freed)", "a freed tensor prints as freed")
    is(freed(cwb.data.synth{n = 64, clusters = 4}), "dataset (freed)", "a freed dataset prints as freed")
    is(freed(cwb.nn.mlp{dims = {4, 8, 2}}), "mlp (freed)", "a freed mlp prints as freed")
    local pa, pb = cwb.scalefit.pairs{n = 64, k = 4, clusters = 4, seed = 1}
    is(freed(cwb.scalefit.new{a = pa, b = pb, batch = 8}), "scalefit (freed)",
       "a freed scale fit prints as freed")
  end
  is(cwb.doc(print), nil, "doc(x) is nil for undocumented values")
end

T.done()
