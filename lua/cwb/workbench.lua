-- cwb.workbench: the commands both REPLs give that are written in Lua --
-- knob, rerun, compare, presets, preset, the lessons (lesson, next, back,
-- again, where) and the sessions (save_session, load_session) -- installed
-- as documented globals by the REPLs at start (W.install).
--
-- What the front end offers comes from package.loaded["cwb.ui"], set by
-- the workbench (src/ui/tui_knobs.c: kind = "workbench", highlight,
-- status, state, overlay) or the plain REPL (kind = "plain", tty); the
-- missing parts get plain defaults here, so every command works in both,
-- and from a recipe (`require "cwb.workbench"`) too.
local W = {}

local function ui()
  local u = package.loaded["cwb.ui"]
  if type(u) ~= "table" then
    u = {kind = "headless"}
    package.loaded["cwb.ui"] = u
  end
  return u
end
W.ui = ui

-- ---- small helpers ---------------------------------------------------------------

-- A value as the knob line writes it: two significant digits ("0.10"),
-- whole numbers as such.
function W.fmt(v)
  if type(v) ~= "number" then return tostring(v) end
  if v == math.floor(v) and math.abs(v) < 1e6 then return string.format("%d", v) end
  if math.abs(v) >= 1 then return string.format("%.3g", v) end
  if math.abs(v) < 1e-3 then return string.format("%.2g", v) end
  -- 1e-6 above: a float 0.01 reads 0.0099999998, which is still "0.010"
  local dec = math.max(2, math.min(6, 1 - math.floor(math.log(math.abs(v) * (1 + 1e-6), 10))))
  return string.format("%." .. dec .. "f", v)
end

-- "term" highlighted the way this front end can show it.
function W.mark(s)
  local u = ui()
  if u.highlight then return u.highlight(s) end
  if u.tty then return "\27[1;33m" .. s .. "\27[0m" end
  return "*" .. s .. "*"
end

local function copy(t, seen)
  if type(t) ~= "table" then return t end
  seen = seen or {}
  if seen[t] then return seen[t] end
  local c = {}
  seen[t] = c
  for k, v in pairs(t) do c[copy(k, seen)] = copy(v, seen) end
  return c
end
W.copy = copy

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end

-- "tau=0.5 lr=0.05": a table of changes as one label, keys sorted.
function W.change_label(changes)
  local parts = {}
  for _, k in ipairs(sorted_keys(changes)) do
    local v = changes[k]
    parts[#parts + 1] = k .. "=" .. (type(v) == "table" and "{...}" or
                                     type(v) == "number" and string.format("%g", v) or tostring(v))
  end
  return table.concat(parts, " ")
end

local function fail(level, fmt, ...) error(string.format(fmt, ...), level + 1) end

-- A run's name with changes: the words "key=..." of the changed keys go,
-- the changes are added ("temperature tau=1" with {tau = 0.05} is
-- "temperature tau=0.05").
function W.rename(name, changes)
  local words = {}
  for w in name:gmatch("%S+") do
    local k = w:match("^([^=]+)=")
    if not (k and changes[k] ~= nil) then words[#words + 1] = w end
  end
  local label = W.change_label(changes)
  if label ~= "" then words[#words + 1] = label end
  return table.concat(words, " ")
end

-- The metric the curve pane shows (the workbench), or that compare draws
-- (the plain REPL), without show()'s check that some run has it already.
function W.show(metric)
  local u = ui()
  if u.show then u.show(metric) else u.metric = metric end
end

-- ---- knob -------------------------------------------------------------------------

-- knob(name, value) / knob(name) / knob(): cwb.knob with a word of what it did
function W.knob(name, value)
  if name == nil then
    local ks, live = cwb.knobs()
    if #ks == 0 then
      print("no knobs yet: they belong to a run (start one; knob(\"tau\", 0.2) sets one for the next)")
      return
    end
    local parts = {}
    for _, k in ipairs(ks) do parts[#parts + 1] = k.name .. " " .. W.fmt(k.value) end
    print((live and "knobs of the run going on: " or "knobs of the last run: ") .. table.concat(parts, "  "))
    return
  end
  if value == nil then return cwb.knob(name) end
  local v, live, step = cwb.knob(name, value)
  if live then
    print(string.format("%s = %s from step %d (marked on the curves)", name, W.fmt(v), step + 1))
  else
    print(string.format("%s = %s for the next run", name, W.fmt(v)))
  end
end

-- ---- rebuilding a run with a change ---------------------------------------------------

-- t[path] = v for a dotted path ("optim.lr"), creating the tables on the way;
-- a table value merges into a table already there.
local function set_path(t, path, v)
  local head, rest = path:match("^([^.]+)%.(.+)$")
  if head then
    if type(t[head]) ~= "table" then t[head] = {} end
    return set_path(t[head], rest, v)
  end
  if type(v) == "table" and type(t[path]) == "table" then
    for k, x in pairs(v) do set_path(t[path], k, x) end
  else
    t[path] = v
  end
end

-- A new trainer built as tr was, with changes: a knob's name ("tau", "lr",
-- "alpha") goes where that knob starts from ("optim.lr", "loss.alpha"),
-- anything else is an option path of the constructor ("data.n", "encoder").
function W.rebuild(tr, changes)
  local ctor, args = tr:origin()
  local where = {}
  for _, k in ipairs(tr:knobs()) do where[k.name] = k.option end
  local oi
  for i = args.n, 1, -1 do
    if type(args[i]) == "table" then oi = i break end
  end
  if not oi then
    oi = args.n + 1
    args[oi], args.n = {}, oi
  end
  for _, k in ipairs(sorted_keys(changes)) do set_path(args[oi], where[k] or k, changes[k]) end
  return ctor(table.unpack(args, 1, args.n))
end

-- rerun{tau = 0.5}: the last run again with one change, named by it and
-- overlaid on the original.
function W.rerun(changes)
  if changes ~= nil and type(changes) ~= "table" then
    fail(2, "rerun: a table of changes, e.g. rerun{tau = 0.5} (got %s)", type(changes))
  end
  changes = changes or {}
  local last = cwb.last_run()
  if not last then fail(2, "rerun: no run yet (run a recipe, a preset or a lesson first)") end
  local ok, tr = pcall(W.rebuild, last.trainer, changes)
  if not ok then fail(2, "rerun: %s", tostring(tr):gsub("^[^:]*:%d+: ", "")) end
  local opts = copy(last.options)
  opts.name = W.rename(last.name, changes)
  local u = ui()
  if u.overlay and last.run then u.overlay({last.run, opts.name}) end
  local res = tr:run(opts)
  if last.run and res.run then
    print(W.summary(last.run) .. "\n" .. W.summary(res.run))
    if u.kind ~= "workbench" then W.compare(last.run, res.run) end
  end
end

-- "#12 tui-infonce: loss 1.159, top1 0.617 (done)": a stored run in a line,
-- with its last loss and its last score.
function W.summary(id)
  local r = cwb.runs.show(id)
  if not r then return "#" .. id .. ": not in the store" end
  local parts = {}
  for _, name in ipairs{"loss", "top1", "theta_ratio", "theta", "zero_shot", "gap_centroid"} do
    local m = r.metrics[name]
    if m and m.last == m.last then parts[#parts + 1] = string.format("%s %.4g", name, m.last) end
  end
  return string.format("#%d %s: %s (%s)", id, r.name, table.concat(parts, ", "), r.status)
end

-- ---- compare ---------------------------------------------------------------------------

-- The value of parameter key in a run's flat parameters: "tau" matches "tau"
-- or any "x.tau" (one of them).
local function param_of(flat, key)
  if flat[key] ~= nil then return flat[key], key end
  for k, v in pairs(flat) do
    if k:sub(-#key - 1) == "." .. key then return v, k end
  end
end

local function same(a, b)
  if type(a) == "number" and type(b) == "number" then
    return math.abs(a - b) <= 1e-6 * math.max(1, math.abs(a), math.abs(b))
  end
  return a == b
end

-- The stored runs that differ in parameter `key` alone (same recipe, every
-- other parameter equal) from a reference run: this session's last run if
-- it has the parameter, else the latest stored run that has it.  Oldest
-- first, the reference among them.
function W.differing(key)
  local runs = cwb.runs.list() or {}
  local ref, refp, refkey
  local last = cwb.last_run()
  if last and last.run then
    local p = cwb.runs.params(last.run)
    local v, k = param_of(p or {}, key)
    if v ~= nil then
      for _, r in ipairs(runs) do
        if r.id == last.run then ref, refp, refkey = r, p, k end
      end
    end
  end
  for i = #runs, 1, -1 do
    if ref then break end
    local p = cwb.runs.params(runs[i].id)
    local v, k = param_of(p or {}, key)
    if v ~= nil then ref, refp, refkey = runs[i], p, k break end
  end
  if not ref then return {} end
  local out = {}
  for _, r in ipairs(runs) do
    if r.recipe == ref.recipe then
      local p = cwb.runs.params(r.id) or {}
      local alike = p[refkey] ~= nil
      for k, v in pairs(refp) do
        if k ~= refkey and k ~= "name" and not same(p[k], v) then alike = false break end
      end
      for k in pairs(p) do
        if alike and refp[k] == nil and k ~= "name" then alike = false end
      end
      if alike then out[#out + 1] = r.id end
    end
  end
  return out, refkey
end

-- "tau: 0.1 (#12), 0.5 (#14)": what differs among the runs.
local function differences(ids)
  local flats = {}
  for i, id in ipairs(ids) do flats[i] = cwb.runs.params(id) or {} end
  local keys = {}
  for _, f in ipairs(flats) do
    for k in pairs(f) do keys[k] = true end
  end
  local out = {}
  for _, k in ipairs(sorted_keys(keys)) do
    local differ = false
    for i = 2, #flats do
      if not same(flats[i][k], flats[1][k]) then differ = true end
    end
    if differ and k ~= "name" then
      local vals = {}
      for i, id in ipairs(ids) do vals[i] = W.fmt(flats[i][k]) .. " (#" .. id .. ")" end
      out[#out + 1] = k .. ": " .. table.concat(vals, ", ")
    end
  end
  return out
end

-- compare(id1, id2, ...) or compare "tau"
function W.compare(...)
  local n = select("#", ...)
  local ids = {}
  if n == 1 and type((...)) == "string" then
    local key = ...
    local found, full = W.differing(key)
    if #found == 0 then fail(2, "compare: no stored run has a parameter '%s'", key) end
    if #found == 1 then
      fail(2, "compare: run #%d is the only one with these parameters; rerun{%s = ...} makes another",
           found[1], key)
    end
    ids = found
    print(string.format("runs that differ in %s alone: #%s", full, table.concat(ids, ", #")))
  else
    local list = n == 1 and type((...)) == "table" and ... or {...}
    for i, id in ipairs(list) do
      if math.type(id) ~= "integer" or id < 1 then fail(2, "compare: argument %d is not a run id", i) end
      ids[#ids + 1] = id
    end
    if #ids < 1 then fail(2, "compare: run ids (compare(12, 14)) or a parameter (compare \"tau\")") end
  end
  for _, id in ipairs(ids) do
    if not cwb.runs.show(id) then fail(2, "compare: no run #%d in the store", id) end
  end
  local d = differences(ids)
  print(#d > 0 and ("they differ in " .. table.concat(d, "; ")) or "they do not differ in any parameter")
  local u = ui()
  if u.overlay then
    u.overlay(ids)
  else
    local metric = u.metric or "loss"
    local text, err = cwb.runs.plot(ids, metric)
    print(text or err)
  end
  return ids
end

-- ---- presets -----------------------------------------------------------------------------

-- The metric a preset's concept shows in (the curve pane is set to it).
local PRESET_METRIC = {["positives"] = "loss", ["temperature"] = "top1", ["batch size"] = "theta_ratio",
                       ["decomposable"] = "theta_ratio", ["modality gap"] = "gap_centroid",
                       ["information gap"] = "linear_probe"}
W.preset_metric = PRESET_METRIC

function W.presets()
  local P = require "cwb.presets"
  print("presets (preset(\"name\" [, {changes}]) runs one; rerun{...} changes it; docs/lessons.md):")
  for _, p in ipairs(P.list()) do
    print(string.format("  %-16s %s", p.name, p.summary))
    print(string.format("  %-16s look at %s", "", p.look))
  end
end

-- What the session would run again (save_session): the last preset or recipe.
W.setup = nil

function W.preset(name, changes)
  if type(name) ~= "string" then fail(2, "preset: a preset's name (presets() lists them)") end
  if changes ~= nil and type(changes) ~= "table" then fail(2, "preset: changes are a table, e.g. {tau = 0.5}") end
  local P = require "cwb.presets"
  local ok, tr, opts = pcall(P.build, name, changes)
  if not ok then fail(2, "%s", tostring(tr)) end
  W.setup = {preset = name, changes = copy(changes or {})}
  if PRESET_METRIC[name] then W.show(PRESET_METRIC[name]) end
  local res = tr:run(opts)
  W.setup.run_id = res.run
  if res.run then print(W.summary(res.run)) end
end

-- ---- sessions ------------------------------------------------------------------------------

-- What a session file holds: a Lua table, written with cwb.pretty, read back
-- in an empty environment (a session file cannot call anything).
function W.session_state()
  local u = ui()
  local st = u.state and u.state() or {}
  local s = {version = 1, metric = st.metric, projection = st.projection, perplexity = st.perplexity,
             colour_by = st.colour_by, knob_line = st.knob_line, hide = st.hide, recipe = copy(W.setup)}
  -- the knobs of the recipe's own last run (not of whatever ran after it)
  local last = cwb.last_run()
  local ks = W.setup and last and last.run and last.run == W.setup.run_id and cwb.knobs() or {}
  if s.recipe then s.recipe.run_id = nil end
  if #ks > 0 then
    s.knobs = {}
    -- as they read (a float knob 0.05 is 0.0499999983 inside): 6 digits, whole numbers whole
    for _, k in ipairs(ks) do
      local v = tonumber(string.format("%.6g", k.value))
      s.knobs[k.name] = math.tointeger(v) or v
    end
  end
  local L = package.loaded["cwb.lesson"]
  if L and L.cur then s.lesson = {name = L.cur.lesson.name, step = L.cur.i} end
  return s
end

function W.save_session(path)
  if type(path) ~= "string" or path == "" then fail(2, "save_session: a file name, e.g. \"class1.cwb\"") end
  local s = W.session_state()
  local text = "-- cwb session: load_session(\"" .. path .. "\") or cwb --session " .. path ..
               " restores it (docs/lessons.md, \"Sessions\")\nreturn " ..
               cwb.pretty(s, {depth = 4, items = 100}) .. "\n"
  cwb.write_file(path, text)
  print(string.format("saved the session to %s (%s)", path,
                      s.lesson and ("lesson " .. s.lesson.name .. ", step " .. s.lesson.step) or
                      s.recipe and (s.recipe.preset and ("preset " .. s.recipe.preset) or ("recipe " .. s.recipe.run)) or
                      "settings"))
end

function W.read_session(path)
  local f, err = io.open(path)
  if not f then fail(3, "load_session: %s", err) end
  local text = f:read("a")
  f:close()
  local chunk, perr = load(text, "@" .. path, "t", {})
  if not chunk then fail(3, "load_session: %s", perr) end
  local ok, s = pcall(chunk)
  if not ok or type(s) ~= "table" then fail(3, "load_session: %s: not a cwb session (%s)", path, ok and type(s) or s) end
  return s
end

function W.load_session(path)
  if type(path) ~= "string" or path == "" then fail(2, "load_session: a file name, e.g. \"class1.cwb\"") end
  local s = W.read_session(path)
  local u = ui()
  if u.kind == "workbench" then
    if s.metric then u.show(s.metric) end
    if s.projection then projection(s.projection, s.projection == "tsne" and s.perplexity or nil) end
    if s.colour_by then colour_by(s.colour_by) end
    if s.hide or s.knob_line ~= nil then knob_line{hide = s.hide or {}} end
    if s.knob_line == false then knob_line(false) end
  elseif s.metric then
    W.show(s.metric)
  end
  print("session " .. path .. " loaded")
  if s.lesson then
    require("cwb.lesson").lesson(s.lesson.name, s.lesson.step)
    return
  end
  for k, v in pairs(s.knobs or {}) do cwb.knob(k, v) end
  if s.recipe and s.recipe.preset then
    W.preset(s.recipe.preset, s.recipe.changes)
  elseif s.recipe and s.recipe.run then
    W.setup = copy(s.recipe)
    local run = rawget(_G, "run")
    run(s.recipe.run, table.unpack(s.recipe.args or {}))
  end
end

-- ---- installing the globals -------------------------------------------------------------

local DOCS = {
  knob = "knob(name, value): turn a live knob of the run going on from its next step (tau, lr, " ..
         "batch, noise, alpha, gamma, w_sep, w_bridge, w_gc, w_itm), recorded in the store and " ..
         "marked on the curve pane; with nothing running, the next run starts with it; " ..
         "knob(name): its value; knob(): the knobs now. Keys: [ ] turn, <- -> pick (empty prompt)",
  rerun = "rerun{tau = 0.5}: run the last run again with changes (knob names or option paths such " ..
          "as \"data.n\"), named after them (\"name tau=0.5\") and overlaid on the original",
  compare = "compare(id1, id2, ...) or compare \"tau\": overlay stored runs in the curve pane and say " ..
            "what differs between them; with a parameter, the runs that differ from the last run in it alone",
  presets = "presets(): the small data sets and models where each concept's effect shows within " ..
            "seconds (temperature, batch size, modality gap, ...), with what to look for",
  preset = "preset(\"name\" [, {changes}]): run a preset with the panes live, e.g. preset(\"temperature\", " ..
           "{tau = 0.05}); changes are knob names or option paths",
  lesson = "lesson(): the lessons and your progress; lesson(n) or lesson \"name\": start one, or resume " ..
           "it where you left it (lesson(n, step): that step)",
  next = "next(): the lesson's next step (next(t [, k]) is still Lua's next)",
  back = "back(): the lesson's previous step",
  again = "again(): the lesson's current step again (its run too)",
  where = "where(): which lesson and step you are at, and your answers",
  save_session = "save_session(\"class1.cwb\"): write the workbench's state (the preset or recipe, the knob " ..
                 "values, the metric shown, the projection, hidden knobs, the lesson step) to a small text file",
  load_session = "load_session(\"class1.cwb\"): restore a saved session (as cwb --session class1.cwb does) " ..
                 "and start its lesson step or its run",
}

-- The globals, each with its doc string (help(rerun), and help() lists them).
function W.install()
  local L = require "cwb.lesson"
  local cmds = {knob = W.knob, rerun = W.rerun, compare = W.compare, presets = W.presets,
                preset = W.preset, lesson = L.lesson, next = L.next, back = L.back, again = L.again,
                where = L.where, save_session = W.save_session, load_session = W.load_session}
  for name, f in pairs(cmds) do
    cwb.setdoc(f, DOCS[name])
    _G[name] = f
  end
  -- run(...) as the REPL has it, remembering the recipe for save_session
  local run = rawget(_G, "run")
  if type(run) == "function" and not W.wrapped_run then
    local doc = cwb.doc(run)
    W.wrapped_run = function(path, ...)
      local setup = {run = path, args = {...}}
      W.setup = setup
      local res = table.pack(run(path, ...))
      local last = cwb.last_run()
      setup.run_id = last and last.run
      return table.unpack(res, 1, res.n)
    end
    if doc then cwb.setdoc(W.wrapped_run, doc) end
    _G.run = W.wrapped_run
  end
  return W
end

return W
