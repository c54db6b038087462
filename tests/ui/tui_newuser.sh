#!/bin/sh
# tui_newuser.sh - the workbench as a new user meets it, on the classic
# 80x24 terminal, driven through tmux (TAP; issue 9, items 1, 9, 10, 11, 12,
# 14, 17, 18, 19; tests/ui/tui_tmux.sh covers the rest of the workbench).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ui/tmux_lib.sh"

# a recipe that says where it writes (item 1)
cat > "$TMP/probe.lua" <<'EOF'
print("outdir=" .. cwb.outdir() .. " outpath=" .. cwb.outpath("x.png"))
if cwb.outdir() ~= "" then cwb.write_file(cwb.outpath("probe.txt"), "written\n") end
EOF
# trainer runs on clustered data (8 classes); `hold` pauses the run from its
# on_step after step 19 (it holds at the next tick, after step 20), so the
# screen can be read mid-run however fast the machine (items 11, 12, 19)
cat > "$TMP/train.lua" <<'EOF'
local steps, hold = tonumber(arg[1]) or 200, arg[2] == "hold"
local tr = cwb.trainer.new{seed = 3, data = {n = 256, clusters = 8, latent_dim = 8, dim = 16},
                           batch = 32, encoder = {dims = {16, 32, 16}}, tau = 0.2, name = "nu-run"}
return tr:run{steps = steps, log_every = 5, on_step = function(i)
  if hold and i.step == 19 then pause() end
end}
EOF
ESC=$(printf '\033')
# the distinct foreground colours of the points in the geometry pane
geom_colours() {
    T capture-pane -e -p -t "$SESSION" | sed -n '2,14p' | sed 's/.*││//' |
        grep -o "$ESC\[3[0-7]m" | sort -u | wc -l
}

tmux_start nu 80 24 --out "$TMP/res"
wait_for '^cwb>[ ]*$' 10
ok $? "the workbench starts at 80x24"

# item 18: laid out for 80x24
cap > "$TMP/s0"
grep -q '^cwb 0\.[0-9.]*, the contrastive-learning workbench (Lua 5\.4\.[0-9]*)\.$' "$TMP/s0" &&
    grep -q '^run "recipe.lua" trains with live panes; pause() resume() stop() show() png()$' "$TMP/s0" &&
    grep -q '^help() lists the API; Ctrl-C interrupts, Ctrl-D quits\.$' "$TMP/s0" &&
    grep -q '^lesson() lists six guided lessons; presets() quick experiments\.$' "$TMP/s0"
ok $? "80x24: each welcome line fits whole on its screen line"
grep -q 'no runs yet: run "recipe.lua" or a trainer.s run{}' "$TMP/s0" &&
    grep -q 'embeddings appear here' "$TMP/s0" && grep -q 'during a trainer run' "$TMP/s0"
ok $? "80x24: the panes' placeholders are whole (wrapped at spaces, not cut)"
bottom=$(grep -n '^└' "$TMP/s0" | head -1 | cut -d: -f1)
status=$(grep -n ' idle: no run yet' "$TMP/s0" | cut -d: -f1)
[ -n "$bottom" ] && [ -n "$status" ] && [ $((status - bottom - 1)) -ge 7 ]
ok $? "80x24: the output area has at least 7 lines ($((status - bottom - 1)))"

# item 1: a recipe run from the workbench writes to --out
line "run(\"$TMP/probe.lua\")"
wait_for "^outdir=$TMP/res outpath=$TMP/res/x.png"
ok $? "inside run(), cwb.outdir() and cwb.outpath() are the --out folder"
[ -s "$TMP/res/probe.txt" ]
ok $? "the recipe's file lands in --out"

# item 9: a misspelt name
line 'help(cwb.trainer.nwe)'
wait_for "no such function or table 'cwb.trainer.nwe'; did you mean cwb.trainer.new?" &&
    ! grep -q 'cwb.tensor' "$TMP/screen"
ok $? "help(cwb.trainer.nwe): no such function, the nearest name, not the whole API"

# item 14: tables readable; item 11: steps per second in a short run;
# item 12: re-projected while paused
line "s = run(\"$TMP/train.lua\", 200, \"hold\")"
wait_for ' PAUSED nu-run' 10
ok $? "a run pauses itself from on_step"
grep -q ' PAUSED nu-run.* | [1-9][0-9]* st/s' "$TMP/screen"
ok $? "a run too short for a rate sample shows its steps per second, not 0 ($(grep -o '[0-9]* st/s' "$TMP/screen"))"
at=$(grep -o ' PAUSED nu-run #[0-9]* | step [0-9]*' "$TMP/screen" | sed 's/.* //')
wait_for "PCA, step $at, class"
ok $? "the geometry title shows the step the run paused at ($at)"
line 'projection("tsne")'
wait_for "t-SNE, step $at, class" 5 && grep -q " PAUSED nu-run.* | step $at/" "$TMP/screen"
ok $? "projection(\"tsne\") re-projects at once while paused"
line 'resume()'
wait_for 'nu-run #[0-9]* done' 10
ok $? "the run goes on and ends"
line 'projection("pca")'
wait_for 'PCA, step 200' 5
ok $? "after the run, projection() re-projects the last embeddings at once"

# item 19: coloured by class, or by view
wait_for 'step 200, class'
ok $? "the geometry title says the points are coloured by class"
nc=$(geom_colours)
[ "$nc" -ge 5 ]
ok $? "by class, the geometry pane shows the classes' colours ($nc colours)"
line 'colour_by("view")'
wait_for 'step 200, view'
nv=$(geom_colours)
[ "$nv" -le 3 ]
ok $? "colour_by(\"view\"): view a, view b and both ($nv colours)"
line 'colour_by()'
wait_for '^view  *view$'
ok $? "colour_by() says the setting and what is shown"
line 'colour_by("nonsense")'
wait_for "invalid option 'nonsense'"
ok $? "colour_by() refuses an unknown name"
line 'colour_by("auto")'

# item 14: the summary prints readably
line 's'
wait_for '^  status = "done",$' && ! grep -q 'table: 0x' "$TMP/screen"
ok $? "a trainer run's summary prints with its keys, not as table: 0x..."

# item 10: an unknown metric says which there are
line 'show "nonsense"'
wait_for "show: no run has a metric 'nonsense'; they have: loss"
ok $? "show \"nonsense\" says which metrics the runs have"
line 'show "loss"'

# item 17: Ctrl-D while a run goes on asks first
line "run(\"$TMP/train.lua\", 100000000)"
wait_for ' RUN nu-run' 10
keys C-d
wait_for 'Ctrl-D again quits' && sleep 0.3 && [ ! -s "$TMP/exit.nu" ] && wait_for ' RUN nu-run'
ok $? "Ctrl-D during a run asks, and the run goes on"
keys C-d
wait_exit nu
grep -q '^EXIT=0$' "$TMP/exit.nu" 2>/dev/null
ok $? "a second Ctrl-D quits with status 0 ($(cat "$TMP/exit.nu" 2>/dev/null))"

echo "1..$n"
[ $failed -eq 0 ]
