-- cwb.lesson: the lessons' runner (docs/lessons.md): finding lessons, the
-- learner's progress, a step's text, its question, its run and its reveal.
--
-- A lesson is a plain Lua file returning a table (docs/lessons.md has the
-- format with a complete example); the files are found in the folders of
-- $CWB_LESSONS (separated by ':', a teacher's own), then in every
-- cwb/lessons/ folder on package.path (cwb's own, lua/cwb/lessons/), in
-- file-name order, so adding a lesson is adding one file.
--
-- Progress is kept per user in STATE/lessons.txt, STATE = $CWB_STATE, else
-- $XDG_STATE_HOME/cwb, else ~/.local/state/cwb: the step each lesson is at,
-- whether it was finished, and the answers given.  A lesson resumes at its
-- saved step.
--
-- A step runs when it is shown.  With a question (ask), it stops there:
-- the learner answers at the prompt (a letter, or a number), the answer is
-- kept, then the step's run starts and its reveal says what the run
-- measured.  The workbench and the plain REPL hand such a line to
-- M.on_line (package.loaded["cwb.ui"].on_line) before Lua sees it.
local W = require "cwb.workbench"
local presets = require "cwb.presets"
local M = {}

local lua_next = next   -- the global next() becomes the lesson's, which keeps this one

-- ---- where lessons and progress live ------------------------------------------------------

function M.state_dir()
  local d = os.getenv("CWB_STATE")
  if d and d ~= "" then return d end
  local x = os.getenv("XDG_STATE_HOME")
  if x and x ~= "" then return x .. "/cwb" end
  return (os.getenv("HOME") or ".") .. "/.local/state/cwb"
end

function M.progress_file() return M.state_dir() .. "/lessons.txt" end

function M.dirs()
  local out, seen = {}, {}
  local function add(d)
    if d ~= "" and not seen[d] then
      seen[d] = true
      out[#out + 1] = d
    end
  end
  for d in (os.getenv("CWB_LESSONS") or ""):gmatch("[^:]+") do add(d) end
  for tmpl in package.path:gmatch("[^;]+") do
    local dir = tmpl:match("^(.*)/%?%.lua$")
    if dir then add(dir .. "/cwb/lessons") end
  end
  return out
end

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

-- The checks a lesson file must pass: each problem is one line naming the
-- file and the step.
local function check(L, file)
  local function bad(fmt, ...) fail("%s: " .. fmt, file, ...) end
  if type(L) ~= "table" then bad("a lesson returns a table (got %s)", type(L)) end
  if type(L.name) ~= "string" or not L.name:match("^[%w_%-]+$") then
    bad("name must be one word (letters, digits, - or _), got %s", tostring(L.name))
  end
  if type(L.title) ~= "string" then bad("title (a string) is missing") end
  if type(L.steps) ~= "table" or #L.steps == 0 then bad("steps must be a non-empty list") end
  for i, st in ipairs(L.steps) do
    if type(st) ~= "table" then bad("step %d is not a table", i) end
    if type(st.text) ~= "string" then bad("step %d: text (a string) is missing", i) end
    for _, f in ipairs{"setup", "run", "reveal"} do
      if st[f] ~= nil and type(st[f]) ~= "function" then bad("step %d: %s must be a function", i, f) end
    end
    if st.try ~= nil and type(st.try) ~= "string" then bad("step %d: try must be a string", i) end
    local a = st.ask
    if a ~= nil then
      if type(a) ~= "table" or type(a[1]) ~= "string" then bad("step %d: ask = {\"question\", ...}", i) end
      if a.choices ~= nil then
        if type(a.choices) ~= "table" or #a.choices < 2 or #a.choices > 6 then
          bad("step %d: ask.choices must list 2 to 6 answers", i)
        end
      elseif not a.number then
        bad("step %d: ask needs choices = {...} or number = true", i)
      end
    end
  end
  return L
end

-- Every lesson, in order: {name, title, summary, minutes, steps, file, index}.
function M.all()
  local out, byname = {}, {}
  for _, dir in ipairs(M.dirs()) do
    for _, f in ipairs(cwb.dir(dir) or {}) do
      if f:match("%.lua$") then
        local file = dir .. "/" .. f
        local chunk, err = loadfile(file)
        if not chunk then fail("%s", err) end
        local L = check(chunk(), file)
        if not byname[L.name] then
          L.file = file
          byname[L.name] = L
          out[#out + 1] = L
        end
      end
    end
  end
  for i, L in ipairs(out) do L.index = i end
  return out, byname
end

-- ---- progress -------------------------------------------------------------------------------

-- {[name] = {step = n, steps = m, done = bool, answers = {[step] = "b"}}}
function M.load_progress()
  local p = {}
  local f = io.open(M.progress_file())
  if not f then return p end
  for line in f:lines() do
    local kind, name, a, b, c = line:match("^(%w+)\t([^\t]+)\t([^\t]*)\t?([^\t]*)\t?([^\t]*)$")
    if kind == "lesson" then
      p[name] = p[name] or {answers = {}}
      p[name].step, p[name].steps, p[name].done = tonumber(a), tonumber(b), c == "done"
    elseif kind == "answer" then
      p[name] = p[name] or {answers = {}}
      p[name].answers[tonumber(a)] = b
    end
  end
  f:close()
  return p
end

function M.save_progress(p)
  local lines = {"# cwb lessons: the step each lesson is at and the answers given (lesson() reads it)"}
  local names = {}
  for name in pairs(p) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local e = p[name]
    lines[#lines + 1] = string.format("lesson\t%s\t%d\t%d\t%s", name, e.step or 1, e.steps or 0,
                                      e.done and "done" or "")
    local steps = {}
    for s in pairs(e.answers or {}) do steps[#steps + 1] = s end
    table.sort(steps)
    for _, s in ipairs(steps) do
      lines[#lines + 1] = string.format("answer\t%s\t%d\t%s", name, s, tostring(e.answers[s]))
    end
  end
  local ok, err = pcall(function()
    cwb.mkdir(M.state_dir())
    cwb.write_file(M.progress_file(), table.concat(lines, "\n") .. "\n")
  end)
  if not ok then print("lesson: progress not saved: " .. tostring(err)) end
end

-- ---- text -------------------------------------------------------------------------------------

-- Text as written in a [[long string]]: the first newline and the common
-- indentation go; **term** is highlighted the way the front end can.
function M.render(text)
  text = text:gsub("^\n", ""):gsub("%s+$", "")
  local indent
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    if line:match("%S") then
      local n = #line:match("^( *)")
      if not indent or n < indent then indent = n end
    end
  end
  if indent and indent > 0 then
    local out = {}
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = line:sub(indent + 1) end
    text = table.concat(out, "\n")
  end
  return (text:gsub("%*%*(.-)%*%*", function(term) return W.mark(term) end))
end

local function say(text) print(M.render(text)) end

-- ---- the current lesson ---------------------------------------------------------------------------

M.cur = nil   -- {lesson, i, pending (the step asking), state (the lesson's own table)}

local function ui() return W.ui() end

local function status()
  local c = M.cur
  local u = ui()
  if u.status then
    u.status(c and string.format("lesson %d %s: step %d/%d%s", c.lesson.index, c.lesson.name, c.i,
                                 #c.lesson.steps, c.pending and ", your answer?" or "") or nil)
  end
end

-- The final value of a metric of a run: the evaluation's, the last step's,
-- or (for what a recipe logged itself, such as theta_ratio) the mean of the
-- last fifth of its stored values.
local function final(res, name)
  if type(res) ~= "table" then return nil end
  if res.eval and res.eval[name] then return res.eval[name] end
  if res.run then
    local _, vals = cwb.runs.metrics(res.run, name)
    if vals and #vals > 0 then
      local from, s = math.max(1, #vals - #vals // 5), 0
      for i = from, #vals do s = s + vals[i] end
      return s / (#vals - from + 1)
    end
  end
  if res.last and res.last[name] then return res.last[name] end
end

-- What a step's functions receive.
local function context(answer)
  local c = M.cur
  local ctx = {answer = answer, state = c.state, fmt = W.fmt, mark = W.mark, final = final,
               lesson = c.lesson, step = c.i, knob = W.knob}
  -- a preset's run, with the panes live in the workbench
  function ctx.preset(name, changes, over) return presets.run(name, changes, over) end
  -- a preset's trainer and run options, to run it yourself (ctx.run)
  function ctx.build(name, changes) return presets.build(name, changes) end
  function ctx.run(tr, opts) return tr:run(opts) end
  -- overlay runs in the curve pane and say what differs (results or ids)
  function ctx.compare(list)
    local ids = {}
    for _, r in ipairs(list) do ids[#ids + 1] = type(r) == "table" and r.run or r end
    if #ids > 0 then W.compare(ids) end
  end
  function ctx.show(metric) W.show(metric) end
  -- ctx.state[key], made by fn() when an earlier step did not (a lesson
  -- resumed at a later step, a session restored): a step stands on its own
  function ctx.once(key, fn)
    if c.state[key] == nil then c.state[key] = fn() end
    return c.state[key]
  end
  -- a workbench command if there is one here (projection, colour_by, ...), else nothing
  function ctx.ui(cmd, ...)
    local f = ui().kind == "workbench" and rawget(_G, cmd)
    if f then return f(...) end
  end
  return ctx
end

local function footer()
  local c = M.cur
  if c.pending then return end
  if c.i < #c.lesson.steps then
    print("next() goes on, back() goes back, again() repeats this step, where() says where you are")
  else
    print(string.format("that was the last step of lesson %d (%s); lesson() lists them all",
                        c.lesson.index, c.lesson.name))
  end
end

local function run_step(st, answer)
  local ctx = context(answer)
  local res
  if st.run then
    local ok, r = pcall(st.run, ctx)
    if not ok then
      print("the run did not finish: again() runs this step again")
      error(r, 0)
    end
    res = r
  end
  if st.reveal then say(st.reveal(ctx, res, answer)) end
  if st.try then say("try: " .. st.try) end
end

local function ask(st)
  local a = st.ask
  say(a[1])
  if a.choices then
    for i, choice in ipairs(a.choices) do say(string.format("  %s) %s", string.char(96 + i), choice)) end
    print(string.format("type your answer at the prompt: a letter, a to %s", string.char(96 + #a.choices)))
  else
    print("type your answer at the prompt: a number")
  end
  M.cur.pending = st
  ui().on_line = M.on_line
end

-- Show step i of the current lesson (and run it, unless it asks first).
function M.enter(i)
  local c = M.cur
  local L = c.lesson
  c.i, c.pending = i, nil
  local p = M.load_progress()
  local e = p[L.name] or {answers = {}}
  e.step, e.steps = i, #L.steps
  if i == #L.steps then e.done = true end
  p[L.name] = e
  M.save_progress(p)
  status()
  local st = L.steps[i]
  print(W.mark(string.format("-- lesson %d, %s: step %d of %d%s --", L.index, L.title, i, #L.steps,
                             st.title and (": " .. st.title) or "")))
  say(st.text)
  if st.setup then st.setup(context(nil)) end
  if st.ask then
    ask(st)
    status()
    return
  end
  run_step(st, nil)
  footer()
end

-- An answer typed at the prompt, when a question waits: a letter among the
-- choices, or a number.  false: not an answer (the line runs as Lua).
function M.on_line(line)
  local c = M.cur
  local st = c and c.pending
  if not st then return false end
  local s = line:match("^%s*(.-)%s*$")
  local value
  if st.ask.choices then
    local letter = s:lower():match("^%(?(%a)%)?$")
    if letter then
      local k = letter:byte() - 96
      if k >= 1 and k <= #st.ask.choices then value = letter end
    end
  else
    value = tonumber(s)
  end
  if value == nil then return false end
  c.pending = nil
  local p = M.load_progress()
  local e = p[c.lesson.name] or {answers = {}, step = c.i, steps = #c.lesson.steps}
  e.answers = e.answers or {}
  e.answers[c.i] = value
  p[c.lesson.name] = e
  M.save_progress(p)
  print("your answer: " .. tostring(value))
  status()
  run_step(st, value)
  footer()
  return true
end

-- ---- the commands ----------------------------------------------------------------------------------

local function find(which)
  local all, byname = M.all()
  if math.type(which) == "integer" then
    if not all[which] then fail("lesson: no lesson %d (there are %d: lesson() lists them)", which, #all) end
    return all[which]
  end
  if byname[which] then return byname[which] end
  local names = {}
  for i, L in ipairs(all) do names[i] = L.name end
  fail("lesson: no lesson '%s' (%s)", tostring(which), table.concat(names, ", "))
end

-- lesson(): the list; lesson(n) or lesson "name": start or resume
function M.lesson(which, step)
  if which == nil then
    local all = M.all()
    local p = M.load_progress()
    print("lessons (lesson(n) or lesson \"name\" starts one; progress is kept in " .. M.progress_file() .. ")")
    for i, L in ipairs(all) do
      local e = p[L.name]
      local where = not e and "new" or (e.step or 1) >= #L.steps and "done" or
                    string.format("at step %d/%d", e.step or 1, #L.steps)
      print(string.format("  %d %-16s %-12s %s%s", i, L.name, where, L.summary or L.title,
                          L.minutes and string.format(" (%d min)", L.minutes) or ""))
    end
    return
  end
  local L = find(which)
  local p = M.load_progress()
  local e = p[L.name]
  -- resume where it was left; a lesson left at its last step starts over
  local i = step or (e and e.step and e.step < #L.steps and e.step) or 1
  if i < 1 or i > #L.steps then fail("lesson: %s has steps 1 to %d", L.name, #L.steps) end
  M.cur = {lesson = L, i = i, state = {}}
  ui().on_line = M.on_line
  if i > 1 and not step then print(string.format("resuming %s at step %d (lesson(\"%s\", 1) starts over)", L.name, i, L.name)) end
  M.enter(i)
end

local function need()
  if not M.cur then fail("no lesson going on: lesson() lists them, lesson(1) starts the first") end
  return M.cur
end

-- next(): the lesson's next step; next(t [, k]) is still Lua's next
function M.next(t, k)
  if t ~= nil then return lua_next(t, k) end
  local c = need()
  if c.pending then
    print("a question waits for your answer (a " .. (c.pending.ask.choices and "letter" or "number") ..
          "); next() again skips it")
    c.pending = nil
    status()
    return
  end
  if c.i >= #c.lesson.steps then
    print(string.format("lesson %s is done: lesson() lists the others", c.lesson.name))
    return
  end
  M.enter(c.i + 1)
end

function M.back()
  local c = need()
  if c.i <= 1 then
    print("this is the first step")
    return
  end
  M.enter(c.i - 1)
end

function M.again() M.enter(need().i) end

function M.where()
  local c = M.cur
  if not c then
    print("no lesson going on: lesson() lists them")
    return
  end
  local e = M.load_progress()[c.lesson.name] or {answers = {}}
  local ans = {}
  for s, v in pairs(e.answers or {}) do ans[#ans + 1] = string.format("step %d: %s", s, tostring(v)) end
  table.sort(ans)
  print(string.format("lesson %d (%s), step %d of %d%s%s", c.lesson.index, c.lesson.name, c.i, #c.lesson.steps,
                      c.pending and "; a question waits for your answer" or "",
                      #ans > 0 and ("; your answers: " .. table.concat(ans, ", ")) or ""))
end

return M
