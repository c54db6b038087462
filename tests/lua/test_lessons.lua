-- test_lessons.lua - the six lessons end to end through the lesson runner
-- (lua/cwb/lesson.lua), as a learner would take them: each from lesson(n)
-- to its last step, every question answered, every run made; each reveal
-- quotes numbers; each run finishes in under 20 seconds (the times are
-- printed as TAP comments: the closing note states them); progress is kept
-- and a lesson resumes where it was left; a broken lesson file is refused
-- with one line naming it and the step.
local T = require "cwb.test"
local L = require "cwb.lesson"

local state = os.tmpname()
os.remove(state)
local function cleanup() os.execute("rm -rf '" .. state .. "'") end
-- the lessons read CWB_STATE through os.getenv: give the runner its own folder
local getenv = os.getenv
os.getenv = function(k) if k == "CWB_STATE" then return state end return getenv(k) end

-- what the lessons print
local said, release = T.capture()

local all = L.all()
T.is(#all, 6, "six lessons are found in lua/cwb/lessons/")
local names = {}
for i, l in ipairs(all) do names[i] = l.name end
T.is(table.concat(names, " "), "positives temperature batch decomposable modality-gap information-gap",
     "in file order")

local answers = {}   -- a plausible answer to each question: "a", or a number
local function answer_for(st) return st.ask.choices and "b" or "1.5" end

-- the claim is for a normal (optimised) build; a sanitizer build runs several
-- times slower and is only checked to finish
local limit = cwb.sanitized and 600 or 20
if cwb.sanitized then T.diag("a sanitizer build: runs allowed " .. limit .. " s") end
local slowest = {}
for n, lesson in ipairs(all) do
  said()
  local t0 = cwb.runs.list() and #cwb.runs.list() or 0
  local ok, err = pcall(function()
    L.lesson(n)
    local guard = 0
    while true do
      guard = guard + 1
      if guard > 40 then error("the lesson does not end") end
      if L.cur.pending then
        local a = answer_for(L.cur.pending)
        assert(L.on_line(a), "the answer " .. a .. " was not taken")
      end
      if L.cur.i == #lesson.steps and not L.cur.pending then break end
      L.next()
    end
  end)
  T.ok(ok, string.format("lesson %d (%s): from lesson(%d) to its last step, %d steps", n, lesson.name, n,
                         #lesson.steps) .. (ok and "" or (": " .. tostring(err))))
  local text = said()
  local asks, reveals = 0, 0
  for _, st in ipairs(lesson.steps) do
    if st.ask then asks = asks + 1 end
    if st.reveal then reveals = reveals + 1 end
  end
  local answered = select(2, text:gsub("your answer: ", ""))
  T.is(answered, asks, string.format("lesson %d: every question answered and the answer repeated (%d)", n, asks))
  local numbers = select(2, text:gsub("%d%.%d%d", ""))
  T.ok(numbers >= reveals, string.format("lesson %d: the reveals quote the runs' numbers (%d numbers, %d reveals)",
                                         n, numbers, reveals))
  T.like(text, "that was the last step of lesson " .. n, "lesson " .. n .. ": the end is said")
  -- the runs it made, and how long each took
  local runs = cwb.runs.list() or {}
  local longest, count = 0, 0
  for i = t0 + 1, #runs do   -- this test's runs (the Lua tests share a store and run side by side)
    if runs[i].recipe == cwb.recipe() then
      count = count + 1
      if runs[i].duration > longest then longest = runs[i].duration end
    end
  end
  slowest[n] = longest
  T.diag(string.format("lesson %d (%s): %d runs, the longest %.1f s", n, lesson.name, count, longest))
  T.ok(count >= 1 and longest < limit, string.format("lesson %d: %d runs, each under %d s (longest %.1f s)",
                                                     n, count, limit, longest))
end

-- progress: kept, and a lesson resumes where it was left
local p = L.load_progress()
T.ok(p.positives and p.positives.done and p.positives.answers[3] == "b",
     "progress: lesson 1 done, the answer of step 3 kept")
local f = io.open(L.progress_file())
T.ok(f ~= nil, "progress is a file under CWB_STATE: " .. L.progress_file())
if f then f:close() end
said()
L.lesson("temperature", 1)
L.next()     -- step 2 asks: leave it unanswered
T.ok(L.cur.pending ~= nil, "a question waits")
T.ok(not L.on_line("print(1)") and not L.on_line("z"), "a line that is not an answer is left to Lua")
L.cur = nil
said()
L.lesson(2)
local resumed = said()
T.like(resumed, "resuming temperature at step 2", "lesson(2) resumes at the saved step")
T.like(resumed, "Which temperature will retrieve best", "and shows its question again")
L.lesson(2, 1)
T.is(L.cur.i, 1, "lesson(n, 1) starts over")

-- where(), next() as Lua's next, errors
said()
L.where()
T.like(said(), "lesson 2 (temperature), step 1 of", "where() says where you are")
T.is(L.next({10}), 1, "next(t) is still Lua's next")
T.throws(function() L.lesson(99) end, "no lesson 99 (there are 6", "lesson(99) says how many there are")
T.throws(function() L.lesson("nope") end, "no lesson 'nope' (positives, temperature", "a wrong name lists the names")

-- a teacher's lesson in $CWB_LESSONS: one file is enough; a broken one is refused
local dir = state .. "/mine"
cwb.mkdir(dir)
cwb.write_file(dir .. "/00_hello.lua", [[
return {name = "hello", title = "Hello", summary = "a teacher's lesson", steps = {
  {text = "one **word**", ask = {"how many?", number = true},
   reveal = function(ctx, res, a) return "you said " .. a end},
}}]])
os.getenv = function(k)
  if k == "CWB_STATE" then return state end
  if k == "CWB_LESSONS" then return dir end
  return getenv(k)
end
local all2 = L.all()
T.is(all2[1].name, "hello", "a lesson file in $CWB_LESSONS comes first")
said()
L.lesson("hello")
T.ok(L.on_line(" 3 "), "a number answer is taken")
T.like(said(), "you said 3", "its reveal sees the answer")
cwb.write_file(dir .. "/01_broken.lua", [[return {name = "broken", title = "B", steps = {{text = "x", ask = {"q?"}}}}]])
T.throws(function() L.all() end, "01_broken.lua: step 1: ask needs choices = {...} or number = true",
         "a broken lesson is one line naming the file and the step")

release()
os.getenv = getenv
cleanup()
T.done()
