-- cwb.test: a small TAP producer for Lua tests run by `cwb run`.
--
--   local T = require "cwb.test"
--   T.ok(x > 0, "x is positive")
--   T.is(#t, 3, "three rows")
--   T.near(v, 0.5, 1e-6, "value")
--   T.like(msg, "bad argument #2", "message names the argument")
--   T.throws(function() f("x") end, "number expected", "f rejects a string")
--   T.skip("numpy not available", 3)
--   T.done()       -- prints the plan; exits 1 if anything failed
--
-- Automake's TAP driver reads the output; a failing test prints what it got.
local T = {}

local n, failed = 0, 0

local function emit(pass, name, why)
  n = n + 1
  if not pass then failed = failed + 1 end
  io.write(pass and "ok " or "not ok ", n, " - ", (name or ""):gsub("\n", " "), "\n")
  if not pass and why then
    for line in tostring(why):gmatch("[^\n]+") do io.write("#   ", line, "\n") end
  end
  io.flush()
  return pass
end

function T.diag(msg)
  for line in tostring(msg):gmatch("[^\n]+") do io.write("# ", line, "\n") end
end

function T.ok(cond, name)
  return emit(cond and true or false, name, "condition was " .. tostring(cond))
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

function T.is(got, expected, name)
  return emit(got == expected, name,
              "got:      " .. show(got) .. "\nexpected: " .. show(expected))
end

function T.isnt(got, unexpected, name)
  return emit(got ~= unexpected, name, "got the value it should not be: " .. show(got))
end

-- |got - expected| <= tol (absolute), NaN never passes.
function T.near(got, expected, tol, name)
  local pass = type(got) == "number" and math.abs(got - expected) <= tol
  return emit(pass, name, string.format("got %s, expected %s within %s",
                                         show(got), show(expected), show(tol)))
end

-- Plain substring match unless the pattern is given as {pattern}.
local function matches(s, pat)
  if type(pat) == "table" then return s:find(pat[1]) ~= nil end
  return s:find(pat, 1, true) ~= nil
end

function T.like(s, pat, name)
  local pass = type(s) == "string" and matches(s, pat)
  return emit(pass, name, "got:  " .. show(s) .. "\nwant: " ..
              show(type(pat) == "table" and pat[1] or pat))
end

-- fn must raise an error whose message contains pat (plain text, or {lua_pattern}).
function T.throws(fn, pat, name)
  local okc, err = pcall(fn)
  if okc then return emit(false, name, "no error was raised") end
  local msg = tostring(err)
  if pat == nil or matches(msg, pat) then return emit(true, name) end
  return emit(false, name, "error: " .. msg .. "\nwant:  " ..
              show(type(pat) == "table" and pat[1] or pat))
end

-- Collect what print() prints from now on (the global print is replaced):
-- returns said(), which gives the text so far and starts afresh, and
-- release(), which puts print back.
function T.capture()
  local out, real = {}, print
  print = function(...)
    local t = table.pack(...)
    for i = 1, t.n do t[i] = tostring(t[i]) end
    out[#out + 1] = table.concat(t, "\t")
  end
  local function said()
    local s = table.concat(out, "\n")
    out = {}
    return s
  end
  return said, function() print = real end
end

-- fn must run without error; returns its results.
function T.lives(fn, name)
  local r = table.pack(pcall(fn))
  emit(r[1], name, r[1] and nil or ("error: " .. tostring(r[2])))
  return table.unpack(r, 2, r.n)
end

function T.skip(reason, count)
  for _ = 1, count or 1 do
    n = n + 1
    io.write("ok ", n, " # SKIP ", reason, "\n")
  end
  io.flush()
end

function T.done()
  io.write("1..", n, "\n")
  io.flush()
  if failed > 0 then
    io.stderr:write(string.format("%d of %d tests failed\n", failed, n))
    os.exit(1, true)  -- close the state: the run store flushes
  end
end

function T.counts() return n, failed end

return T
