-- cwb.util: small helpers that recipes share.
--
--   local U = require "cwb.util"
--   local P = U.args(arg, {                 -- recipe arguments (after `--`)
--     {"steps", "int", 200000, "SGD steps per run"},
--     {"noise", "number", 0, "sigma of the lognormal noise"},
--     {"quick", "flag", false, "tiny budget, for tests"},
--   }, "gradient_bias.lua: the article's figure")
--   if not P then return end                -- --help was given: usage printed
--   U.loguniform(0.25, 4, 10)               -- 0.25 ... 4, equal ratios
--   U.stats{3, 1, 2}                        -- {n, mean, sd, median, min, max}
--   U.tail_mean(values, 0.05)               -- mean of the last 5%
--   U.write_csv(cwb.outpath("x.csv"), {"a", "b"}, {{1, "x"}, {2, "y"}})
--
-- Nothing here touches the engine: plain Lua 5.4 plus cwb.write_file, usable
-- from any chunk (and from stock lua5.4 with cwb.so).
local U = {}

-- ---- recipe arguments ------------------------------------------------------------

local CONVERT = {
  int = function(s)
    local v = math.tointeger(tonumber(s))
    return v, "an integer"
  end,
  number = function(s)
    local inf = {inf = math.huge, infinity = math.huge, ["+inf"] = math.huge,
                 ["-inf"] = -math.huge, ["-infinity"] = -math.huge}
    local v = inf[s:lower()] or tonumber(s)
    if v and v ~= v then v = nil end      -- "nan" is not a usable setting
    return v, "a number"
  end,
  string = function(s) return s, "a string" end,
}
-- A comma-separated list of numbers ("0,0.5,1"), as a Lua list.
CONVERT.numbers = function(s)
  local out = {}
  for item in (s .. ","):gmatch("([^,]*),") do
    local v = CONVERT.number(item:match("^%s*(.-)%s*$"))
    if v == nil then return nil, "a comma-separated list of numbers" end
    out[#out + 1] = v
  end
  return out, "a comma-separated list of numbers"
end

local function show_default(kind, v)
  if kind == "numbers" and type(v) == "table" then
    local t = {}
    for i, x in ipairs(v) do t[i] = tostring(x) end
    return table.concat(t, ",")
  end
  return tostring(v)
end

-- Append `text` to lines, wrapped at 79 columns, continuation lines indented
-- by `indent` spaces; the first line starts after `head`.
local function wrap(lines, head, text, indent)
  local line, fresh = head, true
  for word in text:gmatch("%S+") do
    if not fresh and #line + 1 + #word > 79 then
      lines[#lines + 1] = line
      line = string.rep(" ", indent) .. word
    else
      line = line .. (fresh and "" or " ") .. word
    end
    fresh = false
  end
  lines[#lines + 1] = line
end

-- The usage text for a spec (see U.args).
function U.usage(spec, title)
  local lines = {}
  if title then lines[1] = title end
  lines[#lines + 1] = "recipe arguments (after --):"
  for _, o in ipairs(spec) do
    local name, kind, default, help = o[1], o[2], o[3], o[4]
    local metavar = kind == "numbers" and "X,Y,..." or kind:upper()
    local flag = "--" .. name:gsub("_", "-") .. (kind == "flag" and "" or " " .. metavar)
    local dflt = (kind == "flag" or default == nil) and ""
                 or " (default " .. show_default(kind, default) .. ")"
    wrap(lines, string.format("  %-22s ", flag), (help or "") .. dflt, 25)
  end
  lines[#lines + 1] = "  --help                 this list"
  return table.concat(lines, "\n")
end

-- A bad recipe argument is the user's mistake, not the recipe's: the error
-- is an object whose text is one line, so `cwb run` (and the workbench's
-- run()) print that line without a traceback, as for cwb's own options.
local ARG_ERROR = {__tostring = function(e) return e.message end}

local function arg_error(argv, fmt, ...)
  local where = argv and argv[0] and tostring(argv[0]) .. ": " or ""
  error(setmetatable({message = where .. string.format(fmt, ...) .. " (see -- --help)"},
                     ARG_ERROR), 0)
end

-- Is err a recipe-argument error raised by U.args?
function U.is_arg_error(err) return getmetatable(err) == ARG_ERROR end

-- Parse recipe arguments: `argv` is the recipe's `arg` table, `spec` a list of
-- {name, kind, default, help} with kind "int", "number", "numbers" (a comma-
-- separated list, given as "0,0.5,1", returned as a Lua list), "string" or
-- "flag".  Accepts `--name value`, `--name=value` and, for flags, `--name`; an
-- underscore in a name may be written as a dash (--batch-noise).  Returns a
-- table name -> value (defaults filled in) and a second table name -> true
-- for the arguments actually given (so a preset such as --quick can yield to
-- them).  An unknown argument, a missing or malformed value is an error of
-- one line that names it and the recipe (arg[0]), without a traceback
-- (U.is_arg_error tells it apart); `--help` prints the usage and returns nil.
function U.args(argv, spec, title)
  local by_name, out, given = {}, {}, {}
  for _, o in ipairs(spec) do
    by_name[o[1]] = o
    out[o[1]] = o[3]
  end
  local i, n = 1, #(argv or {})
  while i <= n do
    local a = argv[i]
    if a == "--help" or a == "-h" then
      print(U.usage(spec, title))
      return nil
    end
    local name, value = tostring(a):match("^%-%-([%w_%-]+)=(.*)$")
    if not name then name = tostring(a):match("^%-%-([%w_%-]+)$") end
    local o = name and by_name[(name:gsub("%-", "_"))]
    if not o then
      local known = {}
      for _, s in ipairs(spec) do known[#known + 1] = "--" .. s[1]:gsub("_", "-") end
      arg_error(argv, "unknown argument '%s' (known: %s)", tostring(a), table.concat(known, " "))
    end
    if o[2] == "flag" then
      if value ~= nil then arg_error(argv, "argument '--%s' is a flag and takes no value", name) end
      out[o[1]] = true
    else
      if value == nil then
        i = i + 1
        value = argv[i]
        if value == nil then arg_error(argv, "argument '--%s' needs a value", name) end
      end
      local v, what = CONVERT[o[2]](tostring(value))
      if v == nil then arg_error(argv, "argument '--%s': '%s' is not %s", name, value, what) end
      out[o[1]] = v
    end
    given[o[1]] = true
    i = i + 1
  end
  return out, given
end

-- Raise a recipe-argument error (one line, no traceback) from a recipe's own
-- checks of its arguments: U.check(P.steps >= 20, "--steps must be >= 20").
function U.check(cond, fmt, ...)
  if not cond then arg_error(rawget(_G, "arg"), fmt, ...) end
  return cond
end

-- ---- grids and statistics ------------------------------------------------------

-- n values from lo to hi (both included) with equal ratios: a deterministic
-- log-uniform spread.  n = 1 gives the geometric mean.
function U.loguniform(lo, hi, n)
  assert(lo > 0 and hi > 0, "loguniform: bounds must be positive")
  assert(math.type(n) == "integer" and n >= 1, "loguniform: n must be a positive integer")
  if n == 1 then return {math.sqrt(lo * hi)} end
  local out, r = {}, hi / lo
  for k = 0, n - 1 do out[k + 1] = lo * r ^ (k / (n - 1)) end
  out[n] = hi
  return out
end

local function finite(v) return type(v) == "number" and v == v and v > -math.huge and v < math.huge end
U.finite = finite

-- q-quantile (0 <= q <= 1) of a list, linear between order statistics;
-- non-finite values are ignored; nil for an empty list.
function U.quantile(xs, q)
  local s = {}
  for _, v in ipairs(xs) do if finite(v) then s[#s + 1] = v end end
  if #s == 0 then return nil end
  table.sort(s)
  local h = (#s - 1) * q + 1
  local lo = math.floor(h)
  local hi = math.min(lo + 1, #s)
  return s[lo] + (h - lo) * (s[hi] - s[lo])
end

function U.median(xs) return U.quantile(xs, 0.5) end

-- {n, mean, sd, median, min, max} of the finite values of a list (sd with
-- n - 1; nil fields when there are too few values); `bad` counts the
-- non-finite ones left out.
function U.stats(xs)
  local n, s, bad, lo, hi = 0, 0, 0, math.huge, -math.huge
  for _, v in ipairs(xs) do
    if finite(v) then
      n, s = n + 1, s + v
      lo, hi = math.min(lo, v), math.max(hi, v)
    else
      bad = bad + 1
    end
  end
  local r = {n = n, bad = bad}
  if n == 0 then return r end
  r.mean, r.min, r.max, r.median = s / n, lo, hi, U.median(xs)
  if n > 1 then
    local ss = 0
    for _, v in ipairs(xs) do if finite(v) then ss = ss + (v - r.mean) ^ 2 end end
    r.sd = math.sqrt(ss / (n - 1))
  end
  return r
end

-- Mean of the last `frac` of a list (at least one value).
function U.tail_mean(xs, frac)
  local n = #xs
  assert(n > 0, "tail_mean: empty list")
  local k = math.max(1, math.ceil(n * frac))
  local s = 0
  for i = n - k + 1, n do s = s + xs[i] end
  return s / k
end

-- Elementwise mean of equal-length lists (curves over seeds).
function U.mean_curve(curves)
  local out = {}
  for i = 1, #curves[1] do
    local s = 0
    for _, c in ipairs(curves) do s = s + c[i] end
    out[i] = s / #curves
  end
  return out
end

-- ---- output ------------------------------------------------------------------------

-- A number as CSV/summary text: %.6g by default, "nan"/"inf"/"-inf" spelled
-- out; strings and integers pass through.
function U.fmt(v, spec)
  if type(v) ~= "number" then return tostring(v) end
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  if math.type(v) == "integer" then return tostring(v) end
  return string.format(spec or "%.6g", v)
end

local function csv_field(v)
  local s = U.fmt(v)
  if s:find('[,"\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

-- Write a CSV file atomically (cwb.write_file): `header` a list of column
-- names, `rows` a list of lists (numbers through U.fmt, text quoted where
-- needed).  Returns the path.
function U.write_csv(path, header, rows)
  local out = {}
  local function line(r)
    local t = {}
    for i = 1, #header do t[i] = csv_field(r[i] == nil and "" or r[i]) end
    out[#out + 1] = table.concat(t, ",") .. "\n"
  end
  line(header)
  for _, r in ipairs(rows) do line(r) end
  local ok, err = pcall(require("cwb").write_file, path, table.concat(out))
  if not ok then error("write_csv: " .. tostring(err), 2) end
  return path
end

-- print() unless cwb runs with --quiet.
function U.say(...)
  if not (cwb and cwb.quiet and cwb.quiet()) then print(...) end
end

return U
