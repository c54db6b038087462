#!/bin/sh
# lua_module.sh - `require "cwb"` from the stock lua5.4 interpreter, through
# the C module src/cwb.so: the module loads, the API works and gives the same
# numbers as the cwb program, misuse reads as Lua's own errors, the pure-Lua
# helpers (cwb.util) load beside it, and runs are recorded in the store.
# Prints TAP; skips when lua5.4 is not installed.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
LUA=${LUA:-lua5.4}
SO_DIR=$(tap_abs "$top_builddir/src")
LUA_DIR=$(tap_abs "$top_srcdir/lua")

if ! command -v "$LUA" >/dev/null 2>&1; then
    echo "1..0 # SKIP $LUA not installed (Debian package lua5.4)"
    exit 0
fi
tap_tmpdir luamod
cd "$tmp" || exit 1

# A sanitizer build (./configure CFLAGS=-fsanitize=...) links the module
# against the sanitizer runtimes, which must be loaded before anything else:
# preload them into the uninstrumented interpreter.
PRELOAD=$(ldd "$SO_DIR/cwb.so" 2>/dev/null | awk '/lib(asan|ubsan)\.so/ { printf "%s%s", sep, $3; sep = ":" }')

# lua CHUNK: the stock interpreter with only the build tree's module on cpath
lua() {
    LD_PRELOAD="${PRELOAD:-$LD_PRELOAD}" LUA_CPATH="$SO_DIR/?.so" LUA_PATH="$LUA_DIR/?.lua;;" \
        "$LUA" -e "$1" >out 2>err
    st=$?
}

[ -f "$SO_DIR/cwb.so" ]; ok $? "src/cwb.so was built"

lua 'local cwb = require "cwb"; print(cwb.version, type(cwb.loss.infonce))'
[ $st -eq 0 ] && grep -q '^[0-9][0-9.]*	function$' out
ok $? "require \"cwb\" loads the module and its API"

# The same loss value from the module and from the program (one engine).
chunk='local cwb = require "cwb"
local r = cwb.rng.new(7)
local a, b = r:randn(6, 4), r:randn(6, 4)
local l, ga = cwb.loss.infonce(a, b, {tau = 0.2, symmetric = true})
print(string.format("%.9g %d %d", l, ga:shape()))'
lua "$chunk"
from_lua=$(cat out)
[ $st -eq 0 ] && [ -n "$from_lua" ]; ok $? "a loss evaluates through the module ($from_lua)"
printf '%s\n' "$chunk" >same.lua
prog=$("$CWB" run --quiet --db p.db same.lua 2>&1)
[ "$prog" = "$from_lua" ]; ok $? "the module and the cwb program give the same number ($prog)"

lua 'local cwb = require "cwb"; cwb.loss.infonce(cwb.tensor.zeros(4, 3), "x")'
[ $st -ne 0 ] && grep -q "bad argument #2 to 'infonce' (cwb.tensor expected, got string)" err
ok $? "a wrong argument type is Lua's own 'bad argument' error"

lua 'local cwb = require "cwb"; local ok, e = pcall(cwb.loss.infonce, cwb.tensor.zeros(1, 3), cwb.tensor.zeros(1, 3)); print(ok, e)'
[ $st -eq 0 ] && grep -q '^false	' out; ok $? "an engine error (batch of 1) is a catchable Lua error"

lua 'local cwb = require "cwb"; local U = require "cwb.util"; print(type(U.args), cwb.doc(cwb.loss.infonce) ~= nil)'
[ $st -eq 0 ] && [ "$(cat out)" = "function	true" ]
ok $? "cwb.util loads beside the module; doc strings are there"

# Runs are recorded as the program records them ($CWB_DB, else ./cwb-runs.db).
CWB_DB=$tmp/mod.db lua 'local cwb = require "cwb"
local tr = cwb.trainer.new{data = {n = 64, dim = 8}, batch = 8, encoder = {dims = {8, 16, 4}},
                           name = "from-lua5.4"}
local s = tr:run{steps = 20, progress = false}
print(s.status, s.steps, s.run)'
[ $st -eq 0 ] && [ "$(cat out)" = "done	20	1" ]; ok $? "a trainer run through the module ($(tr '\t' ' ' <out))"
if command -v sqlite3 >/dev/null 2>&1; then
    got=$(sqlite3 "$tmp/mod.db" "SELECT name, status FROM runs WHERE id = 1; PRAGMA integrity_check")
    [ "$got" = "from-lua5.4|done
ok" ]; ok $? "the run is in the store, done, and the file is intact"
else
    skip "sqlite3 not available"
fi

echo "1..$n"
[ $failed -eq 0 ]
