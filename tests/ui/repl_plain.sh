#!/bin/sh
# repl_plain.sh - the plain REPL (`cwb --plain`, or cwb on a pipe) as a new
# user meets it: the workbench's commands exist there with their headless
# meanings, run() writes where `cwb run` would, help() for a misspelt name
# is one line, and tables print readably (TAP; issue 9 items 1, 9, 13, 14).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
tap_tmpdir plain
cd "$tmp" || exit 1
cat > probe.lua <<'EOF'
-- where a recipe run from the REPL writes
print("outdir=" .. cwb.outdir() .. " outpath=" .. cwb.outpath("x.png") .. " recipe=" .. cwb.recipe()
      .. " arg1=" .. tostring(arg[1]))
if cwb.outdir() ~= "" then cwb.write_file(cwb.outpath("probe.txt"), "written\n") end
return 7
EOF
repl() { printf '%s\n' "$@" | "$CWB" --plain --db "$tmp/runs.db" >out 2>err; st=$?; }
repl_out() { printf '%s\n' "$@" | "$CWB" --plain --db "$tmp/runs.db" --out "$tmp/res" >out 2>err; st=$?; }

# item 13, 1: run() exists and keeps the session's output folder
repl_out 'run("probe.lua", "a")' 'print(cwb.recipe(), cwb.outdir())'
[ $st -eq 0 ] && has "outdir=$tmp/res outpath=$tmp/res/x.png recipe=probe.lua arg1=a" out &&
    has "7" out && [ -s "$tmp/res/probe.txt" ] && ! has "nil value" err
ok $? "run() in --plain runs the recipe in the --out folder"
has "(repl)	$tmp/res" out
ok $? "after run() the recipe name is the session's again and the folder unchanged"
repl 'run("probe.lua")'
has "outdir=. outpath=x.png" out && [ -s probe.txt ]
ok $? "without --out, run() writes in the current folder"

# item 13: every workbench command is there, with one clear line
for c in 'pause()' 'resume()' 'stop()'; do
    repl "$c"
    name=${c%%(*}
    [ $st -eq 0 ] && has "$name: nothing is running" err && ! has "nil value" err
    ok $? "$c in --plain says nothing is running"
done
for c in 'show("loss")' 'show()' 'png("x.png")' 'window(true)' 'projection("tsne")' 'colour_by("class")'; do
    repl "$c"
    name=${c%%(*}
    [ $st -eq 0 ] && has "$name: the " err && has "part of the workbench" err && ! has "nil value" err
    ok $? "$c in --plain says the pane is the workbench's"
done
repl 'clear()' 'print("after clear")'
[ $st -eq 0 ] && has "after clear" out && [ ! -s err ]
ok $? "clear() in --plain is harmless"
repl 'print("before")' 'quit()' 'print("after")'
[ $st -eq 0 ] && has "before" out && ! has "after" out
ok $? "quit() in --plain leaves with status 0 and runs no further line"
repl 'help(stop)'
has "nothing to stop in the plain REPL" out
ok $? "help() describes the plain REPL's meaning"

# item 9: a misspelt name is one line with the nearest names
repl 'help(cwb.trainer.nwe)'
[ "$(wc -l < out)" -eq 1 ] && has "no such function or table 'cwb.trainer.nwe'; did you mean cwb.trainer.new?" out
ok $? "help(cwb.trainer.nwe) says no such function and suggests cwb.trainer.new, in one line"
repl 'help "trainer.nwe"'
has "did you mean cwb.trainer.new?" out
ok $? "help \"trainer.nwe\" suggests cwb.trainer.new"

# item 14: tables print readably, a trainer's summary too
repl '{b = 1, a = {2, 3}, [1] = "x"}'
has '{"x", a = {2, 3}, b = 1}' out && ! has "table: 0x" out
ok $? "a table result prints as a sorted constructor"
repl 'cwb.trainer.new{seed = 1, data = {n = 64, dim = 4}, batch = 16, encoder = {dims = {4, 4}}}:run{steps = 5, progress = false, record = false}'
has "status = \"done\"" out && has "steps = 5," out && grep -q '^  eval = {$' out && ! has "table: 0x" out
ok $? "the summary a trainer run returns prints with its keys and nested tables"

echo "1..$n"
[ $failed -eq 0 ]
