#!/bin/sh
# cli_run.sh - the cwb command line, as a user meets it: usage and exit
# statuses, recipe errors with file:line and a traceback, -e, recipe
# arguments, --out/--seed/--db/--quiet, the plain REPL through a pipe,
# package.path, and Ctrl-C marking a run interrupted.  Prints TAP.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"

tap_tmpdir cli
cd "$tmp" || exit 1


# ---- usage -------------------------------------------------------------------
run --help
[ $st -eq 0 ] && has "usage: cwb" out && has "cwb run RECIPE.lua" out; ok $? "--help prints usage, exit 0"
run -h
[ $st -eq 0 ] && has "usage: cwb" out; ok $? "-h is --help"
run --version
[ $st -eq 0 ] && grep -q '^cwb [0-9][0-9.]* (Lua 5\.4.*, OpenBLAS [A-Za-z0-9]* kernel)$' out; ok $? "--version prints the version and the BLAS kernel, exit 0"
run --bogus
[ $st -eq 2 ] && has "cwb: unknown option '--bogus'" err; ok $? "an unknown option exits 2"
run frobnicate
[ $st -eq 2 ] && has "unknown command 'frobnicate'" err; ok $? "an unknown command exits 2"
run run
[ $st -eq 2 ] && has "run needs a recipe file" err; ok $? "run without a recipe exits 2"
run run missing.lua
[ $st -eq 2 ] && [ "$(cat err)" = "cwb: cannot open recipe 'missing.lua': No such file or directory" ]
ok $? "a missing recipe exits 2 with the file and the reason"
run --seed abc -e 'print(1)'
[ $st -eq 2 ] && has "--seed expects a non-negative integer, got 'abc'" err; ok $? "a bad --seed exits 2"
run --threads 0 -e 'print(1)'
[ $st -eq 2 ] && has "--threads expects a number from 1 to 256, got '0'" err; ok $? "a bad --threads exits 2"
run --threads 2 -e 'print(1)'
[ $st -eq 0 ] && [ "$(cat out)" = 1 ]; ok $? "--threads 2 runs"
echo 'print("hi")' > hi.lua
run run hi.lua --frob
[ $st -eq 2 ] && has "unknown option '--frob'" err; ok $? "options after the recipe are checked too"
run -e
[ $st -eq 2 ]; ok $? "-e without a chunk exits 2"

# ---- recipe errors -------------------------------------------------------------
printf 'local x = 1\nx = = 2\n' > syntax.lua
run run syntax.lua
[ $st -eq 1 ] && head -1 err | grep -q '^syntax\.lua:2: ' ; ok $? "a syntax error exits 1 and starts with file:line"
printf 'local function f()\n  error("boom")\nend\n\nf()\n' > boom.lua
run run boom.lua
[ $st -eq 1 ] && head -1 err | grep -q '^boom\.lua:2: boom$' && has "stack traceback:" err &&
    has "boom.lua:5: in main chunk" err
ok $? "a runtime error exits 1 with file:line: message and a traceback"
printf 'error({code = 1})\n' > tbl.lua
run run tbl.lua
[ $st -eq 1 ] && has "(error object is a table value)" err; ok $? "a non-string error object is described"
printf 'cwb.tensor.new("x", 2)\n' > argerr.lua
run run argerr.lua
[ $st -eq 1 ] && has "argerr.lua:1: bad argument #1 to 'new' (number expected, got string)" err
ok $? "a binding's argument error names the argument and the recipe line"
hi_out=$("$CWB" hi.lua 2>/dev/null)
[ "$hi_out" = "hi" ]; ok $? "cwb RECIPE.lua is short for cwb run RECIPE.lua"

# ---- -e and arguments ------------------------------------------------------------
run -e 'print(1+1)'
[ $st -eq 0 ] && [ "$(cat out)" = "2" ]; ok $? "-e runs a chunk"
run -e 'x = 20' -e 'print(x + 1)'
[ $st -eq 0 ] && [ "$(cat out)" = "21" ]; ok $? "several -e run in order"
run -e 'error("nope")'
[ $st -eq 1 ] && has "(command line):1: nope" err; ok $? "-e errors exit 1 with a position"
run -e 'x = = 1'
[ $st -eq 1 ] && has "(command line):1:" err; ok $? "-e syntax errors exit 1"
printf 'print(arg[0], select("#", ...), arg[1], arg[2], #arg)\n' > args.lua
run run args.lua -- a --b
[ $st -eq 0 ] && [ "$(cat out)" = "$(printf 'args.lua\t2\ta\t--b\t2')" ]; ok $? "recipe args after -- reach arg and ..."
run run args.lua x y
[ $st -eq 0 ] && [ "$(cat out)" = "$(printf 'args.lua\t2\tx\ty\t2')" ]; ok $? "words after the recipe are recipe args"
run --seed 42 -e 'print(cwb.seed(), cwb.data.synth{n = 8, dim = 2}:x() == cwb.data.synth{n = 8, dim = 2, seed = 42}:x())'
[ $st -eq 0 ] && [ "$(cat out)" = "$(printf '42\ttrue')" ]; ok $? "--seed sets cwb.seed() and the default seeds"

a1=$("$CWB" --seed 5 -e 'print(cwb.tensor.randn(1, 3))' 2>&1)
a2=$("$CWB" --seed 5 -e 'print(cwb.tensor.randn(1, 3))' 2>&1)
a3=$("$CWB" --seed 6 -e 'print(cwb.tensor.randn(1, 3))' 2>&1)
st=0
[ "$a1" = "$a2" ] && [ "$a1" != "$a3" ]; ok $? "the session's default stream follows --seed"

# ---- --out ------------------------------------------------------------------------
printf 'print(cwb.outdir())\ncwb.tensor.ones(2, 2):save_csv(cwb.outpath("o.csv"))\n' > out.lua
run run --out "$tmp/made/deep" out.lua
[ $st -eq 0 ] && [ -d made/deep ] && [ -f made/deep/o.csv ] && [ "$(cat out)" = "$tmp/made/deep" ]
ok $? "--out is created and reaches the recipe"
touch afile
run run --out afile/sub out.lua
[ $st -eq 2 ] && has "cannot create --out folder" err; ok $? "an --out that cannot be created exits 2"

# ---- the plain REPL -------------------------------------------------------------------
printf '1+1\n' | "$CWB" --plain >out 2>err; st=$?
[ $st -eq 0 ] && [ "$(cat out)" = "2" ]; ok $? "1+1 piped into cwb --plain prints 2"
printf 'x = 1\nfor i = 1, 3 do\n  x = x + i\nend\nx\nerror("bad")\nprint("after")\nlocal t = {}\n' |
    "$CWB" --plain >out 2>err; st=$?
[ $st -eq 0 ] && [ "$(cat out)" = "$(printf '7\nafter')" ] && has "stdin:1: bad" err
ok $? "multi-line chunks continue, errors are reported and the REPL goes on"
printf 'for i = 1, 2 do\n' | "$CWB" --plain >out 2>err; st=$?
[ $st -eq 0 ] && has "'end' expected" err; ok $? "an unfinished chunk at end of input is reported, exit 0"
printf 'cwb.tensor.ones(1, 2), "two"\n' | "$CWB" >out 2>err; st=$?
[ $st -eq 0 ] && [ "$(cat out)" = "$(printf 'tensor 1x2 {{1, 1}}\ttwo')" ]; ok $? "cwb reading a pipe is the plain REPL; values print"
printf 'help(cwb.loss.infonce)\n' | "$CWB" --plain >out 2>err; st=$?
[ $st -eq 0 ] && has "cwb.loss.infonce(a, b [, opts])" out; ok $? "help() in the REPL"
"$CWB" --plain </dev/null >out 2>err; st=$?
[ $st -eq 0 ] && [ ! -s out ]; ok $? "empty input exits 0 quietly"

# ---- package.path ----------------------------------------------------------------------
run -e 'print(type(require("cwb.test").ok))'
[ $st -eq 0 ] && [ "$(cat out)" = "function" ]; ok $? "require 'cwb.test' finds cwb's own Lua modules"
mkdir -p mods && echo 'return 7' > mods/mymod.lua
CWB_LUA_PATH="$tmp/mods" "$CWB" -e 'print((require "mymod"))' >out 2>err; st=$?
[ $st -eq 0 ] && [ "$(cat out)" = "7" ]; ok $? "CWB_LUA_PATH adds folders to package.path"

# ---- runs, progress, failures ----------------------------------------------------------
cat > train.lua <<'EOF'
local tr = cwb.trainer.new{data = {n = 128, dim = 8}, batch = 16, encoder = {dims = {8, 16, 8}},
                           name = arg[1] or "cli"}
local r = tr:run{steps = 20}
print(r.status, r.steps)
EOF
run run --db "$tmp/r.db" train.lua cli-run
[ $st -eq 0 ] && [ "$(cat out)" = "$(printf 'done\t20')" ] && has "cli-run: step" err
ok $? "a run prints plain progress lines when stderr is not a terminal"
run run --quiet --db "$tmp/r.db" train.lua cli-quiet
[ $st -eq 0 ] && [ ! -s err ]; ok $? "--quiet prints no progress"
CWB_DB="$tmp/r.db" "$CWB" runs list >out 2>err; st=$?
[ $st -eq 0 ] && has "cli-run" out && has "cli-quiet" out; ok $? "cwb runs list reads the store (CWB_DB)"
run --db "$tmp/r.db" runs list
[ $st -eq 0 ] && has "cli-quiet" out; ok $? "cwb --db PATH runs list"
run --db /nonexistent/dir/x.db -e 'cwb.trainer.new{data = {n = 64, dim = 4}, batch = 8, encoder = {dims = {4, 4}}}:run{steps = 2, progress = false}; print("ran")'
[ $st -eq 0 ] && [ "$(cat out)" = "ran" ] && [ "$(grep -c 'warning' err)" -eq 1 ]
ok $? "an unusable store warns once and the run goes on"
cat > nan.lua <<'EOF'
local tr = cwb.trainer.new{data = {n = 64, dim = 8}, batch = 8, encoder = {dims = {8, 8}},
                           optim = {lr = 1e38}, name = "cli-nan"}
tr:run{steps = 10}
EOF
run run --quiet --db "$tmp/r.db" nan.lua
[ $st -eq 1 ] && grep -q '^nan\.lua:3: step [0-9]*: .*is not finite' err; ok $? "a NaN stops the recipe with the step and the quantity, exit 1"

# ---- Ctrl-C --------------------------------------------------------------------------
# SIGINT while the trainer loops in C (no Lua code runs): the loop polls
cat > long.lua <<'EOF'
local tr = cwb.trainer.new{data = {n = 256, dim = 8}, batch = 16, encoder = {dims = {8, 16, 8}},
                           name = "cli-interrupted"}
io.stderr:write("started\n")
tr:run{steps = 100000000, progress = false}
EOF
wait_started() {
    i=0
    while ! grep -q started "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    sleep 0.3
}
"$CWB" run --db "$tmp/i.db" long.lua >out 2>err &
pid=$!
wait_started err
kill -INT $pid
wait $pid; st=$?
[ $st -eq 130 ] && has "interrupted" err; ok $? "Ctrl-C during trainer:run exits 130"
"$CWB" --db "$tmp/i.db" -e 'local r = cwb.runs.list(); print(r[#r].name, r[#r].status)' >out 2>err
[ "$(cat out)" = "$(printf 'cli-interrupted\tinterrupted')" ]; ok $? "the run is marked interrupted in the store"
# SIGINT in plain Lua code: the hook raises "interrupted"
printf 'io.stderr:write("started\\n")\nlocal x = 0\nwhile true do x = x + 1 end\n' > spin.lua
"$CWB" run spin.lua >out 2>err &
pid=$!
wait_started err
kill -INT $pid
wait $pid; st=$?
[ $st -eq 130 ] && has "spin.lua:3: interrupted" err; ok $? "Ctrl-C in Lua code exits 130 with the line"

echo "1..$n"
[ $failed -eq 0 ]
