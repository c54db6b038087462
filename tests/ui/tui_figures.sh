#!/bin/sh
# tui_figures.sh - the curve pane's figures, driven through tmux (TAP):
# legends that say what differs and never overwrite a curve, a colour per
# run and none black or white, metrics a recipe records itself with their
# reference lines, how many runs are shown and which (show, only, hide,
# clear_runs), and png()/svg() of both panes, named after the run, to PNG
# or SVG without overwriting.
# Every wait polls the screen with a timeout (tests/ui/tmux_lib.sh).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ui/tmux_lib.sh"
RECIPE=$(tmux_abs "$top_srcdir/tests/ui/tui_figures_recipe.lua")
if ! command -v gnuplot >/dev/null 2>&1 && [ -z "$CWB_GNUPLOT" ]; then
    echo "1..0 # SKIP gnuplot not installed (the pane's figures are gnuplot's)"
    exit 0
fi
# the curve pane: below its top border, above its bottom one, left of the
# junction of the two panes' frames
plot_pane() { cap "$@" | sed -n '2,/^└/p' | sed '$d' | sed 's/││.*//'; }
start() { # start COLS ROWS
    T kill-session -t cwb >/dev/null 2>&1
    rm -f "$TMP"/runs.db*
    # killing the last session ends the tmux server: a new session may find it
    # still going away, so try again for a few seconds
    i=0
    until T new-session -d -s cwb -x "$1" -y "$2" \
        "cd '$TMP' && env TERM=screen LC_ALL=$UTF8 CWB_HISTORY='$TMP/history' CWB_DB='$TMP/runs.db' '$CWB'; sleep 30" \
        2>/dev/null || [ $i -ge 25 ]; do
        sleep 0.2
        i=$((i + 1))
    done
    wait_for '^cwb>[ ]*$' 10
}

# ---- 80x24: two runs of one name that differ only in tau ---------------------------
start 80 24
line "run(\"$RECIPE\", 300, 2)"
wait_for '^tui_figures: 2 runs' 20 && wait_for '2 runs ┐' 5
ok $? "two runs of the recipe finish and the pane counts them"
# the pane redraws at most 4 times a second: wait for the figure of both
wait_for 'tau=0\.5 ' 10
plot_pane > "$TMP/p"
grep -q 'tau=0\.1 ' "$TMP/p" && grep -q 'tau=0\.5 ' "$TMP/p" && ! grep -q 'tui-standard' "$TMP/p"
ok $? "80x24: the legend says what differs (tau=0.1, tau=0.5), not the shared name"
grep -q 'tau=0\.1 +---+' "$TMP/p" && grep -q 'tau=0\.5 +---+' "$TMP/p"
ok $? "80x24: no curve runs over the legend (each entry and its sample intact)"
plot_pane -e | grep -o "$(printf '\033')\[[0-9;]*m" | grep -o '3[0-9]' | sort -u > "$TMP/colours"
! grep -q '^3[07]$' "$TMP/colours" && [ "$(grep -c '^3[1-6]$' "$TMP/colours")" -ge 2 ]
ok $? "the two runs have two colours, neither black nor white ($(tr '\n' ' ' < "$TMP/colours"))"

line 'show "theta_ratio"'
wait_for '┌ theta_ratio ' 5 && wait_for 'theta\* (optimum)' 5
ok $? "show \"theta_ratio\": a metric the recipe logged itself, with its reference line"
! grep -q "no 'theta_ratio' values" "$TMP/screen"
ok $? "and no 'no values yet'"
line 'print(show())'
wait_for 'metrics: .*loss' 5 && tr -d '\n' < "$TMP/screen" | grep -q 'theta_r *atio'
ok $? "show() lists the stored metrics too"
line 'show "nonsense"'
wait_for "no run has a metric 'nonsense'" 5
ok $? "show \"nonsense\" says so and what there is"
line 'local st = cwb.runs.open(cwb.runs.path()); st:log(1, 10, "extra", 2); st:log(1, 20, "extra", 3); st:close()'
line 'show "extra"'
wait_for '┌ extra ' 5 && wait_for '1 run ┐' 5
ok $? "show reads a metric the workbench never saw from the run store"

# ---- png: SVG by extension, numbered files, the geometry pane ----------------------
line 'show "loss"'
wait_for '┌ loss ' 5
mkdir -p "$TMP/x"
line "png(\"$TMP/x/slide.svg\")"
wait_for 'saved the loss curves' 10
grep -q '<svg' "$TMP/x/slide.svg" 2>/dev/null
ok $? "png(\"slide.svg\") writes an SVG"
line 'png()'
wait_for 'tui-standard-loss.png' 10 && wait_for 'tui-standard-geometry.png' 10
[ "$(head -c 4 "$TMP/tui-standard-loss.png" | tail -c 3)" = PNG ] &&
    [ "$(head -c 4 "$TMP/tui-standard-geometry.png" | tail -c 3)" = PNG ]
ok $? "png() saves both panes, named after the run"
keys F2
wait_for 'tui-standard-loss-2.png' 10
[ "$(head -c 4 "$TMP/tui-standard-loss-2.png" | tail -c 3)" = PNG ] && [ -s "$TMP/tui-standard-geometry-2.png" ]
ok $? "F2 does the same and numbers the files instead of overwriting them"
line 'png(nil, "geometry")'
wait_for 'tui-standard-geometry-3.png' 10
[ "$(head -c 4 "$TMP/tui-standard-geometry-3.png" | tail -c 3)" = PNG ] && [ ! -e "$TMP/tui-standard-loss-3.png" ]
ok $? "png(nil, \"geometry\") exports the geometry pane alone"
line 'svg()'
wait_for 'tui-standard-geometry.svg' 10
grep -q '<svg' "$TMP/tui-standard-loss.svg" 2>/dev/null && grep -q '<svg' "$TMP/tui-standard-geometry.svg" 2>/dev/null
ok $? "svg() saves both panes as SVG"
line "svg(\"$TMP/x/talk\")"
wait_for 'talk.svg' 10
grep -q '<svg' "$TMP/x/talk.svg" 2>/dev/null
ok $? "svg(\"talk\") writes talk.svg"

# ---- 140x45: ten runs --------------------------------------------------------------
start 140 45
line "run(\"$RECIPE\", 200, 10)"
wait_for '^tui_figures: 10 runs' 40 && wait_for 'showing 8 of 10 runs' 5
ok $? "ten runs: the pane shows the 8 most recent and says so"
wait_for 'tau=0\.35 ' 10
plot_pane > "$TMP/p"
k=0
for tau in 0.2 0.3 0.05 0.7 0.9 0.15 0.25 0.35; do grep -q "tau=$tau +---+" "$TMP/p" && k=$((k + 1)); done
[ $k -eq 8 ] && ! grep -q 'tau=0\.1 ' "$TMP/p"
ok $? "140x45: eight legend entries, all intact ($k), the oldest runs left out"
line 'only("tau=0.5", 1)'
wait_for 'showing 2 of 10 runs' 5 && wait_for 'tau=0\.1 ' 10 && plot_pane > "$TMP/p"
grep -q 'tau=0\.5 ' "$TMP/p" && grep -q 'tau=0\.1 ' "$TMP/p" && ! grep -q 'tau=0\.9 ' "$TMP/p"
ok $? "only(\"tau=0.5\", 1) shows those two runs"
line 'only("tau=7")'
wait_for "only: no run matches 'tau=7'" 5
ok $? "only() of nothing says so"
line 'only()'
line 'hide("tau=0.9", "tau=0.7")'
wait_for 'showing 8 of 10 runs' 5 && wait_for 'tau=0\.5 ' 10 && plot_pane > "$TMP/p" &&
    ! grep -q 'tau=0\.9 ' "$TMP/p" && ! grep -q 'tau=0\.7 ' "$TMP/p"
ok $? "hide() leaves runs out and the next most recent come in"
line 'show("loss", 3)'
wait_for 'showing 3 of 10 runs' 5 && line 'show("loss", 10)' && wait_for '10 runs ┐' 5
ok $? "show(metric, n) shows the n most recent runs"
line 'clear_runs()'
wait_for 'forgot 10 finished runs' 5 && wait_for 'no runs yet' 5
ok $? "clear_runs() forgets the finished runs"

echo "1..$n"
[ $failed -eq 0 ]
