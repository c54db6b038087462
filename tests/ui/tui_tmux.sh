#!/bin/sh
# tui_tmux.sh - the workbench end to end, driven through tmux (TAP).
#
# cwb runs in a detached tmux pane of 120x40 with its own history file and
# run store in a temporary folder; keys go in with send-keys and the screen
# comes back with capture-pane.  Every wait polls with a timeout, so the test
# is quick when cwb is and fails (rather than hangs) when it is not.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ui/tmux_lib.sh"
RECIPE=$(tmux_abs "$top_srcdir/tests/ui/tui_recipe.lua")
# the curve pane (left of the junction) and the geometry pane (right), rows 2-28
panes() {
    cap | sed -n '2,28p' > "$TMP/p"
    sed 's/││.*//' "$TMP/p" > "$1.plot"
    sed 's/.*││//' "$TMP/p" > "$1.geom"
}

echo "1..28"
tmux_start cwb 120 40

wait_for '^cwb>[ ]*$' 10
ok $? "the workbench starts with a prompt on the last line"
grep -q 'loss' "$TMP/screen" && grep -q 'geometry' "$TMP/screen" && grep -q 'idle' "$TMP/screen"
ok $? "curve pane, geometry pane and status line are drawn"

line '6*7'
wait_for '^42$'
ok $? "a bare expression prints its value"

line 'help(pause)'
wait_for 'hold the current run'
ok $? "help(x) shows the doc string"

line 'error("boom")'
wait_for 'boom' && wait_for '^cwb>[ ]*$'
ok $? "a failing chunk shows its error and the prompt comes back"

keys -l 'cwb.trai'
keys Tab
wait_for '^cwb> cwb\.trainer\.[ ]*$'
ok $? "Tab completes cwb. fields (cwb.trai -> cwb.trainer.)"
keys C-u

line 'for i = 1, 2 do'
wait_for '^>>[ ]*$'
line 'print("line " .. i * 10)'
line 'end'
wait_for '^line 20$' && grep -q '^line 10$' "$TMP/screen"
ok $? "an incomplete chunk continues on the next line"

line "run(\"$RECIPE\", 10000000)"
wait_for ' RUN tui-infonce' 10 && wait_for 'geometry (PCA), step' 10
ok $? "run \"recipe.lua\" starts a run followed by the status line and the geometry pane"

panes "$TMP/a"
changed=1
i=0
while [ $i -lt 100 ]; do
    sleep 0.1
    panes "$TMP/b"
    if ! cmp -s "$TMP/a.plot" "$TMP/b.plot" && ! cmp -s "$TMP/a.geom" "$TMP/b.geom"; then
        changed=0
        break
    fi
    i=$((i + 1))
done
ok $changed "the curve pane and the geometry pane change as training goes on"
grep -q 'align .* unif .* gap' "$TMP/b.geom"
ok $? "the geometry caption shows alignment, uniformity and gap"

line 'projection("tsne")'
wait_for 'geometry (t-SNE, perplexity 30), step' 10 && wait_for 'gap [0-9.]*  KL [0-9]' 5
ok $? "projection(\"tsne\") switches the geometry pane to t-SNE during the run"
line 'projection("umap")'
wait_for "unknown projection 'umap' (pca, tsne)"
ok $? "projection() rejects an unknown name"
line 'projection("pca")'
wait_for 'geometry (PCA), step' 10
ok $? "projection(\"pca\") switches back"

line '1+1'
wait_for '^2$' && grep -q ' RUN tui-infonce' "$TMP/screen"
ok $? "the prompt answers while the run keeps going"

line 'pause()'
wait_for ' PAUSED tui-infonce'
st1=$(grep -o 'step [0-9]*' "$TMP/screen" | tail -1)
sleep 0.6
cap > "$TMP/screen"
st2=$(grep -o 'step [0-9]*' "$TMP/screen" | tail -1)
[ -n "$st1" ] && [ "$st1" = "$st2" ]
ok $? "pause() holds the run ($st1 = $st2)"
line 'resume()'
wait_for ' RUN tui-infonce'
ok $? "resume() goes on"

keys C-c
wait_for 'tui-infonce #[0-9]* interrupted' && wait_for '^cwb>[ ]*$'
ok $? "Ctrl-C interrupts the run and returns to the prompt"
line '6*7+1'
wait_for '^43$'
ok $? "the prompt answers after Ctrl-C, state intact"
keys C-c
keys C-c
# Ctrl-C clears the line being typed: let both arrive before typing on
sleep 0.5
line 'print("still" .. " here")'
wait_for '^still here$'
ok $? "Ctrl-C at an idle prompt is harmless"

line "run(\"$RECIPE\", 10000000)"
wait_for ' RUN tui-infonce' 10
line 'stop()'
wait_for 'tui-infonce #[0-9]* stopped' && wait_for '^cwb>[ ]*$'
ok $? "stop() ends the run early and the recipe finishes"

if command -v gnuplot >/dev/null 2>&1 || [ -n "$CWB_GNUPLOT" ]; then
    line "png(\"$TMP/curves.png\")"
    wait_for 'saved the loss curves'
    head -c 8 "$TMP/curves.png" 2>/dev/null | od -c | grep -q 'P   N   G'
    ok $? "png(file) saves the curves as a PNG"
else
    ok 0 "png(file) saves the curves as a PNG # SKIP gnuplot not installed"
fi

T resize-window -t cwb -x 30 -y 8
wait_for 'too small'
ok $? "a too-small terminal shows a message"
T resize-window -t cwb -x 80 -y 24
wait_for '┐┌' && ! grep -q 'too small' "$TMP/screen" && [ "$(wc -l < "$TMP/screen")" -le 24 ]
ok $? "resizing to 80x24 lays the panes out again"

keys C-d
wait_exit cwb
grep -q '^EXIT=0$' "$TMP/exit.cwb" 2>/dev/null
ok $? "Ctrl-D on an empty line exits with status 0 ($(cat "$TMP/exit.cwb" 2>/dev/null))"
i=0
while [ ! -s "$TMP/stty.cwb" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
grep -q ' icanon' "$TMP/stty.cwb" && grep -q ' echo ' "$TMP/stty.cwb"
ok $? "the terminal is restored (icanon, echo)"
grep -q '^6\*7$' "$TMP/history" && grep -q 'resume()' "$TMP/history"
ok $? "the lines typed are saved in CWB_HISTORY"

# quit() after an error, in a fresh session; then the plain REPL on the same terminal
tmux_start cwb2 100 30
line 'nil + 1'
line 'quit()'
wait_exit cwb2
grep -q '^EXIT=0$' "$TMP/exit.cwb2" 2>/dev/null
ok $? "quit() after an error exits with status 0 ($(cat "$TMP/exit.cwb2" 2>/dev/null))"

tmux_start cwb3 100 30 --plain
line '6*9'
wait_for '^54$' && ! grep -q 'geometry' "$TMP/screen"
ok $? "cwb --plain on a terminal is the plain line REPL, without panes"

[ $failed -eq 0 ]
