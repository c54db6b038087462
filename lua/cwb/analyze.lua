-- cwb.analyze: bring your own embeddings (docs/real-data.md, "Analyze").
--
--   local A = require "cwb.analyze"
--   local report = A.run{a = "img.npy", b = "txt.npy", labels = "y.npy", out = "dir"}
--   A.command("img.npy", "txt.npy", "--labels", "y.npy")   -- `cwb analyze ...`
--
-- Two sets of paired embeddings (row i of A goes with row i of B: an image
-- and its caption) are L2-normalised (when they are not already unit rows;
-- the report says so) and measured on the normalised rows
-- (methods.md, "Metrics"):
--   gap_centroid   ||mean_i a_i - mean_i b_i||              [GAP]
--   gap_paired     mean_i ||a_i - b_i||                     [P2]
--   alignment      mean_i ||a_i - b_i||^2                   [AU]
--   uniformity     (U(A) + U(B)) / 2, U(X) = log mean_{i<j} exp(-2 ||x_i - x_j||^2)
--                  (uniformity_a, uniformity_b: each set)
--   r1/r5/r10_a2b  recall@K of a_i's partner b_i among all of B (ties count
--   r1/r5/r10_b2a  against the query), and the other way
--   knn_acc        with labels: leave-one-out weighted kNN on A (k = 20, or
--                  n - 1 when fewer rows; cosine; votes exp(s/0.07), InstDisc);
--                  knn_acc_b the same on B, knn_acc_b2a each b_i classified
--                  by A's rows and labels
-- and written into `out`: report.csv (metric,value), vectors.tsv and
-- metadata.tsv (TensorBoard Projector: one normalised vector per line,
-- tab-separated, A's rows then B's; metadata with a header row set, index
-- [, label]), pca.png and tsne.png (both sets, coloured by set, with the gap
-- vector from A's centroid to B's; t-SNE on at most tsne_max points, a
-- seeded subset of the pairs beyond that).  Errors are one line naming the
-- file and the problem: mismatched rows or widths, a non-finite or all-zero
-- row, labels that are not integers, a dtype .npy loading refuses.
local A = {}

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

-- A tensor from a tensor or a .npy path; `name` for messages.
local function load(x, name)
  if cwb.tensor.is(x) then return x, name end
  if type(x) ~= "string" then fail("%s: a tensor or a .npy file name expected, got %s", name, type(x)) end
  local okc, t = pcall(cwb.tensor.load_npy, x)
  if not okc then error(tostring(t):gsub("^[^:]*%.lua:%d+: ", ""), 0) end
  return t, x
end

-- The first row (0-based, as NumPy counts) that is not finite or is zero.
local function check_rows(t, name)
  local norms = t:rownorms()
  for i = 1, t:rows() do
    local v = norms:get(i)
    if v ~= v or v == math.huge then fail("%s: row %d (from 0) is not finite (NaN or Inf)", name, i - 1) end
    if v == 0 then fail("%s: row %d (from 0) is all zeros: it cannot be L2-normalised", name, i - 1) end
  end
  return norms
end

-- Normalise unless every row is a unit vector within 1e-3; returns the rows
-- and a note (nil when nothing was done).
local function unit_rows(t, norms, name)
  local lo, hi = math.huge, 0
  for i = 1, t:rows() do
    local v = norms:get(i)
    lo, hi = math.min(lo, v), math.max(hi, v)
  end
  if lo > 1 - 1e-3 and hi < 1 + 1e-3 then return t, nil end
  return t:copy():normalize_rows(),
         string.format("%s: rows were not unit length (norms %.4g to %.4g); normalised", name, lo, hi)
end

-- Labels: distinct integer values -> classes 1..K (sorted), one per row.
local function class_labels(y, name, n)
  if y == nil then return nil end
  local t, nm = y, name
  if type(y) == "table" then
    t = cwb.tensor.new(#y, 1)
    for i, v in ipairs(y) do t:set(i, 1, v) end
  else
    t, nm = load(y, name)
  end
  if t:cols() ~= 1 then fail("%s: labels must be one column (a 1-D array), got %d columns", nm, t:cols()) end
  if t:rows() ~= n then fail("%s: %d labels for %d rows", nm, t:rows(), n) end
  local raw, seen, values = {}, {}, {}
  for i = 1, n do
    local v = t:get(i)
    if v ~= v or math.floor(v) ~= v then fail("%s: label %d (from 0) is %s, not an integer", nm, i - 1, tostring(v)) end
    raw[i] = math.tointeger(v)
    if not seen[raw[i]] then seen[raw[i]] = true; values[#values + 1] = raw[i] end
  end
  table.sort(values)
  local class = {}
  for k, v in ipairs(values) do class[v] = k end
  local out = {}
  for i = 1, n do out[i] = class[raw[i]] end
  return out, raw, #values
end

-- A seeded subset of m of the n pair indices, ascending.
local function subset(n, m, seed)
  if m >= n then
    local all = {}
    for i = 1, n do all[i] = i end
    return all
  end
  local p = cwb.rng.new(seed, 7):permutation(n)
  local s = {}
  for i = 1, m do s[i] = p[i] end
  table.sort(s)
  return s
end

-- 2-D points of both sets and the gap vector, as one PNG.
local function figure(xy, n, path, title, xlabel, ylabel)
  local ax, ay, bx, by = {}, {}, {}, {}
  local ca, cb = {0, 0}, {0, 0}
  for i = 1, n do
    ax[i], ay[i] = xy:get(i, 1), xy:get(i, 2)
    bx[i], by[i] = xy:get(n + i, 1), xy:get(n + i, 2)
    ca[1], ca[2], cb[1], cb[2] = ca[1] + ax[i], ca[2] + ay[i], cb[1] + bx[i], cb[2] + by[i]
  end
  for k = 1, 2 do ca[k], cb[k] = ca[k] / n, cb[k] / n end
  local fig = cwb.plot.figure{terminal = "pngcairo", output = path, width = 900, height = 720,
                              title = title}
  fig:panel{xlabel = xlabel, ylabel = ylabel, key = "below"}
  if n <= 200 then   -- pairs joined, while they can still be told apart
    local lx, ly = {}, {}
    for i = 1, n do
      lx[#lx + 1], ly[#ly + 1] = ax[i], ay[i]
      lx[#lx + 1], ly[#ly + 1] = bx[i], by[i]
      lx[#lx + 1], ly[#ly + 1] = 0 / 0, 0 / 0
    end
    fig:line(lx, ly, {color = "#c8c8c8", width = 0.5})
  end
  local size = n > 2000 and 0.3 or n > 300 and 0.5 or 0.8
  fig:points(ax, ay, {color = "#1f77b4", size = size, title = "A"})
  fig:points(bx, by, {color = "#d62728", size = size, title = "B"})
  fig:line({ca[1], cb[1]}, {ca[2], cb[2]}, {color = "black", width = 3, title = "gap: centroid A -> centroid B"})
  fig:points({cb[1]}, {cb[2]}, {color = "black", size = 2.5})
  local file, msg = fig:draw()
  fig:close()
  return file, msg
end

local function tsv_number(v) return string.format("%.7g", v) end

-- The analysis.  opts: a, b (tensors or .npy paths), labels (nil, table,
-- tensor or .npy path), out (an existing folder, default cwb.outdir(), which
-- cwb --out creates), tsne_max
-- (points, default 2000; 0 = no t-SNE), seed (default cwb.seed()), quiet.
-- Returns the report: {metrics = {name = value}, order = {names}, notes =
-- {...}, files = {...}}.
function A.run(opts)
  opts = opts or {}
  local known = {a = true, b = true, labels = true, out = true, tsne_max = true, seed = true, quiet = true}
  for k in pairs(opts) do
    if not known[k] then fail("analyze: unknown option '%s' (a, b, labels, out, tsne_max, seed, quiet)", tostring(k)) end
  end
  if opts.a == nil or opts.b == nil then fail("analyze: a= and b= (two sets of paired embeddings) are required") end
  local a, an = load(opts.a, "a")
  local b, bn = load(opts.b, "b")
  if a:rows() ~= b:rows() then
    fail("%s has %d rows, %s has %d: row i of one must pair with row i of the other", an, a:rows(), bn, b:rows())
  end
  if a:cols() ~= b:cols() then
    fail("%s has %d columns, %s has %d: both sets must live in one embedding space", an, a:cols(), bn, b:cols())
  end
  local n = a:rows()
  if n < 2 then fail("%s: %d row, need at least 2 pairs", an, n) end
  local notes = {}
  local na, nb = check_rows(a, an), check_rows(b, bn)
  local note
  a, note = unit_rows(a, na, an)
  notes[#notes + 1] = note
  local a_norm = note and 1 or 0
  b, note = unit_rows(b, nb, bn)
  notes[#notes + 1] = note
  local b_norm = note and 1 or 0
  local labels, raw, K = class_labels(opts.labels, "labels", n)

  local out = opts.out or cwb.outdir()
  local function path(name) return (out == "" or out == ".") and name or (out .. "/" .. name) end
  local m, order = {}, {}
  local function put(k, v) m[k] = v; order[#order + 1] = k end
  put("n", n)
  put("dim", a:cols())
  put("a_normalised", a_norm)
  put("b_normalised", b_norm)
  put("gap_centroid", cwb.metrics.gap_centroid(a, b))
  put("gap_paired", cwb.metrics.gap_paired(a, b))
  put("alignment", cwb.metrics.alignment(a, b))
  local ua, ub = cwb.metrics.uniformity(a), cwb.metrics.uniformity(b)
  put("uniformity", (ua + ub) / 2)
  put("uniformity_a", ua)
  put("uniformity_b", ub)
  local ab, ba = cwb.metrics.recall(a, b, {1, 5, 10}), cwb.metrics.recall(b, a, {1, 5, 10})
  for _, k in ipairs{1, 5, 10} do put("r" .. k .. "_a2b", ab[k]); put("r" .. k .. "_b2a", ba[k]) end
  if labels then
    local kk = math.min(20, n - 1)
    put("classes", K)
    put("knn_k", kk)
    put("knn_acc", (cwb.metrics.knn(a, labels, a, labels, {k = kk, leave_one_out = true})))
    put("knn_acc_b", (cwb.metrics.knn(b, labels, b, labels, {k = kk, leave_one_out = true})))
    put("knn_acc_b2a", (cwb.metrics.knn(a, labels, b, labels, {k = math.min(20, n)})))
  end

  local files = {}
  local rows = {"metric,value"}
  for _, k in ipairs(order) do rows[#rows + 1] = k .. "," .. string.format("%.10g", m[k]) end
  files[#files + 1] = cwb.write_file(path("report.csv"), table.concat(rows, "\n") .. "\n")

  -- TensorBoard Projector: vectors.tsv (no header), metadata.tsv (header)
  local vec, meta = {}, {labels and "set\tindex\tlabel" or "set\tindex"}
  for s, t in ipairs{a, b} do
    local tab = t:totable()
    for i = 1, n do
      local r = tab[i]
      for j = 1, #r do r[j] = tsv_number(r[j]) end
      vec[#vec + 1] = table.concat(r, "\t")
      meta[#meta + 1] = (s == 1 and "A" or "B") .. "\t" .. (i - 1) .. (labels and ("\t" .. raw[i]) or "")
    end
  end
  files[#files + 1] = cwb.write_file(path("vectors.tsv"), table.concat(vec, "\n") .. "\n")
  files[#files + 1] = cwb.write_file(path("metadata.tsv"), table.concat(meta, "\n") .. "\n")

  local both = cwb.tensor.vstack{a, b}
  local pxy, expl = cwb.pca(both)
  local f, msg = figure(pxy, n, path("pca.png"),
                        string.format("PCA of both sets (%d pairs): gap %.3f (centroids), %.3f (paired)",
                                      n, m.gap_centroid, m.gap_paired),
                        string.format("PC1 (%.1f%% of the variance)", 100 * expl[1]),
                        string.format("PC2 (%.1f%%)", 100 * expl[2]))
  if f then files[#files + 1] = f else notes[#notes + 1] = "no figures: " .. tostring(msg) end
  local tmax = opts.tsne_max or 2000
  if f and tmax >= 4 then
    local pick = subset(n, math.floor(tmax / 2), opts.seed or cwb.seed())
    local sa, sb = a:gather(pick), b:gather(pick)
    if #pick < n then
      notes[#notes + 1] = string.format("t-SNE on %d of the %d pairs (a seeded subset; tsne_max = %d points)",
                                        #pick, n, tmax)
    end
    local txy, kl = cwb.tsne(cwb.tensor.vstack{sa, sb}, {perplexity = math.min(30, (2 * #pick - 1) / 3)})
    local g = figure(txy, #pick, path("tsne.png"),
                     string.format("t-SNE of both sets (%d pairs, KL %.2f)", #pick, kl), "t-SNE 1", "t-SNE 2")
    if g then files[#files + 1] = g end
  end
  return {metrics = m, order = order, notes = notes, files = files}
end

local USAGE = "usage: cwb analyze A.npy B.npy [--labels Y.npy] [--tsne-max N] [--out DIR]"

-- `cwb analyze` (src/app/main.c): parse the words after the command, run,
-- print the report; returns the exit status (0, 1 on bad data, 2 on bad usage).
function A.command(...)
  local args, files, o = {...}, {}, {}
  local i = 1
  while i <= #args do
    local w = args[i]
    if w == "--labels" or w == "--tsne-max" then
      local v = args[i + 1]
      if v == nil then io.stderr:write("cwb analyze: ", w, " needs a value (", USAGE, ")\n"); return 2 end
      if w == "--labels" then o.labels = v
      else
        o.tsne_max = math.tointeger(tonumber(v))
        if not o.tsne_max or o.tsne_max < 0 then
          io.stderr:write("cwb analyze: --tsne-max expects a number of points >= 0, got '", v, "'\n"); return 2
        end
      end
      i = i + 2
    elseif w == "--help" or w == "-h" then
      print(USAGE)
      return 0
    elseif w:sub(1, 1) == "-" and #w > 1 then
      io.stderr:write("cwb analyze: unknown option '", w, "' (", USAGE, ")\n")
      return 2
    else
      files[#files + 1] = w
      i = i + 1
    end
  end
  if #files ~= 2 then
    io.stderr:write("cwb analyze: two .npy files expected, got ", #files, " (", USAGE, ")\n")
    return 2
  end
  o.a, o.b = files[1], files[2]
  local okc, r = pcall(A.run, o)
  if not okc then
    io.stderr:write("cwb analyze: ", (tostring(r):gsub("\n.*", "")), "\n")
    return 1
  end
  for _, note in ipairs(r.notes) do print("note: " .. note) end
  for _, k in ipairs(r.order) do print(string.format("%-14s %.6g", k, r.metrics[k])) end
  for _, f in ipairs(r.files) do print("wrote " .. f) end
  return 0
end

return A
