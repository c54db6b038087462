#!/bin/sh
# tui_lessons.sh - teaching in the workbench, driven through tmux (TAP): the
# knob line and its keys during a run (the marker on the curve pane, the
# event in the store), then lessons 1 and 3 walked from lesson() to their
# last step as a student would (typing answers, next()), the screen checked
# at each step, surviving a resize and Ctrl-C mid-lesson; progress kept; a
# session saved and restored with cwb --session.  Every wait polls the
# screen with a timeout (tests/ui/tmux_lib.sh).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ui/tmux_lib.sh"
RECIPE=$(tmux_abs "$top_srcdir/tests/ui/tui_recipe.lua")
start() { # start NAME COLS ROWS [ARGS]: cwb with its own lesson state
    name=$1 cols=$2 rows=$3
    shift 3
    T kill-session -t "$name" >/dev/null 2>&1
    rm -f "$TMP/exit.$name"
    # a new session may find the tmux server of the last one still going away: try again
    i=0
    until T new-session -d -s "$name" -x "$cols" -y "$rows" \
        "cd '$TMP' && env TERM=screen LC_ALL=$UTF8 CWB_HISTORY='$TMP/history' CWB_DB='$TMP/runs.db' \
         CWB_STATE='$TMP/state' OPENBLAS_NUM_THREADS=1 '$CWB' $*; echo EXIT=\$? > '$TMP/exit.$name'; sleep 30" \
        2>/dev/null || [ $i -ge 25 ]; do
        sleep 0.2
        i=$((i + 1))
    done
    S "$name"
    wait_for '^cwb>' 10
}
# the last line of the screen that matches, for messages that repeat
last() { grep -- "$1" "$TMP/screen" | tail -1; }

start cwb 120 40

# ---- the knob line and its keys ------------------------------------------------------
line "run(\"$RECIPE\", 10000000)"
wait_for ' RUN tui-infonce' 10 && wait_for '^ τ 0\.20 *lr 0\.050 *B 64 *σ 0 ' 5
ok $? "a knob line under the status line shows the run's knobs (τ 0.20  lr 0.050  B 64  σ 0)"
ESC=$(printf '\033')
cap -e | grep ' RUN tui' -A1 | tail -1 | grep -q "^ τ 0\.20 $ESC\[0m"
ok $? "the chosen knob (τ) is drawn in reverse video, as the status line over it, and only it"
keys ']'
wait_for 'tau = 0\.30 from step [0-9]* (marked on the curves)' 5 && wait_for '^ τ 0\.30 ' 5
ok $? "] on an empty prompt turns τ one step up the ladder (0.2 -> 0.3)"
wait_for 'tau=0\.3' 5
ok $? "the curve pane marks the change (tau=0.3 at its step)"
keys Right Right '['
wait_for 'batch = 32 from step' 5 && wait_for ' B 32 ' 5
ok $? "-> chooses the batch size and [ halves it (64 -> 32)"
keys -l 't[1'
keys ']'
wait_for '^cwb> t\[1\]' 3
ok $? "on a line being typed [ and ] are characters, as ever"
keys C-u
line 'knob("lr", 0.2)'
wait_for 'lr = 0\.20 from step' 5 && wait_for ' lr 0\.20 ' 5
ok $? "knob(\"lr\", 0.2) turns the learning rate while the run trains"
line 'stop()'
wait_for 'tui-infonce #1 stopped' 10
line 'for _, e in ipairs(cwb.runs.show(1).events) do print("event", e.name, e.value, e.step) end'
wait_for '^event *lr *0\.2' 5 && grep -q '^event *tau *0\.3' "$TMP/screen" && grep -q '^event *batch *32' "$TMP/screen"
ok $? "the three changes are events of run 1 in the store"
line 'print(cwb.runs.plot(1, "loss"))'
wait_for 'lr=0\.2' 10
ok $? "a replot of the stored run shows the markers"
keys ']'
wait_for '\[ and \] turn a knob while a run trains' 5
ok $? "with nothing running, the keys say what they are for"
line 'local h = cwb.helptext(); print("help:", h:find("workbench commands", 1, true) ~= nil, h:find("workbench keys", 1, true) ~= nil, h:find("lesson(): the lessons", 1, true) ~= nil)'
wait_for '^help: *true *true *true' 5 &&
    line 'print("search:", cwb.helptext("knob"):find("knob(name, value): turn a live knob", 1, true) ~= nil)' &&
    wait_for '^search: *true' 5
ok $? "help() lists the workbench's commands and keys; help(\"knob\") finds knob"
line 'clear()'

# ---- lesson 1, as a student ---------------------------------------------------------
line 'lesson()'
wait_for '^  1 positives  *new ' 5 && grep -q '^  6 information-gap  *new ' "$TMP/screen"
ok $? "lesson() lists the six lessons, all new"
line 'lesson(1)'
wait_for 'lesson 1, Positives and negatives: step 1 of 5: two views, many negatives' 5 &&
    wait_for 'L_i = −log( e^{s_ii/τ} / Σ_j e^{s_ij/τ} )' 5 && wait_for 'lesson 1 positives: step 1/5' 5
ok $? "lesson(1): step 1, the InfoNCE formula, the step on the knob line"
cap -e | grep -q "$ESC\[1m$ESC\[33mviews$ESC\[0m"
ok $? "the terms under discussion are highlighted (bold yellow)"
line 'next()'
wait_for 'At step 0: alignment 0\.32, uniformity -1\.39' 10 && wait_for 'geometry (PCA), step 0' 5
ok $? "step 2: the encoder before training, its numbers, the geometry pane at step 0"
line 'next()'
wait_for 'What will alignment do as training starts?' 5 && wait_for 'lesson 1 positives: step 3/5, your answer?' 5
ok $? "step 3 asks first; the knob line says an answer is awaited"
line 'b'
wait_for 'your answer: b' 5 && wait_for ' RUN positives ' 10
ok $? "the typed answer is taken and the step's run starts"
sleep 1
keys C-c
wait_for 'the run did not finish: again() runs this step again' 10 && wait_for 'interrupted' 5 &&
    wait_for '^cwb>[ ]*$' 5
ok $? "Ctrl-C mid-run stops the run and says how to go on"
line 'where()'
wait_for 'lesson 1 (positives), step 3 of 5; your answers: step 3: b' 5
ok $? "where(): still at step 3, the answer kept"
line 'again()'
wait_for 'What will alignment do as training starts?' 5
line 'b'
wait_for ' RUN positives ' 10
T resize-window -t cwb -x 80 -y 24
sleep 0.5
wait_for 'you said b; what happened is b' 90
ok $? "again(): the step runs again; a resize mid-run does not stop it (the reveal has the numbers)"
cap > "$TMP/screen"
grep -q '┐┌' "$TMP/screen" && [ "$(wc -l < "$TMP/screen")" -le 24 ] && grep -q 'lesson 1 positives: step 3/5' "$TMP/screen"
ok $? "at 80x24 the panes, the status and the knob line are laid out again"
T resize-window -t cwb -x 120 -y 40
line 'next()'
wait_for 'With τ = 1, will the points end up spread more evenly' 5
line 'b'
wait_for 'Uniformity -2\.4[0-9] at τ = 1 against -2\.9[0-9] at τ = 0\.2' 90 && wait_for 'they differ in' 5
ok $? "step 4: the answer, two runs, the reveal with both runs' numbers, the runs compared"
line 'next()'
wait_for 'that was the last step of lesson 1 (positives)' 5
ok $? "step 5 is the last, and says so"
line 'lesson()'
wait_for '^  1 positives  *done ' 5
ok $? "lesson() shows lesson 1 done"

# ---- lesson 3, as a student -----------------------------------------------------------
line 'clear()'
line 'lesson(3)'
wait_for 'lesson 3, Why small batches bias the gradient: step 1 of 5' 5 && wait_for 'log of a mean' 5
ok $? "lesson(3): step 1 on the log of a mean"
line 'next()'
wait_for 'How does E\[log Ẑ\] − log Z depend on the batch size B?' 5
line 'a'
wait_for 'B = 256 *E\[log Ẑ\] − log Z = *-0\.0' 90 && grep -q 'B = 8 *E\[log Ẑ\] − log Z = *-0\.[45]' "$TMP/screen"
ok $? "step 2: the answer, then the log-of-a-mean table (B = 8 far below 0, B = 256 close)"
line 'next()'
wait_for 'Where will θ/θ\* settle with B = 8?' 5 && wait_for '┌ theta_ratio ' 5
ok $? "step 3 asks for a number; the curve pane shows theta_ratio"
line 'x'
wait_for '^x$\|nil' 3
line '2'
wait_for 'It settled at θ/θ\* = 2\.[56]' 90 && grep -q 'you guessed 2' "$TMP/screen"
ok $? "a number is the answer (a word was left to Lua); the reveal says where θ settled"
line 'next()'
wait_for 'Where will θ/θ\* settle with B = 256?' 5
line '1.2'
wait_for 'θ/θ\* = 1\.0[0-9] with B = 256 (you guessed 1.2)' 120
ok $? "step 4: B = 256 settles near 1"
line 'next()'
wait_for 'θ/θ\* was 2\.[0-9]* before the change and 1\.[01]' 120
ok $? "step 5: one run whose batch the lesson turns from 8 to 256"
plot=$(cap | sed -n '2,30p' | sed 's/││.*//')
echo "$plot" | grep -q 'batch=256'
ok $? "the curve pane marks the change (batch=256)"
wait_for 'that was the last step of lesson 3' 5
ok $? "lesson 3 ends"

# ---- sessions ------------------------------------------------------------------------------
line 'back()'
wait_for 'Where will θ/θ\* settle with B = 256?' 5
line "save_session(\"$TMP/class1.cwb\")"
wait_for 'saved the session to .*class1.cwb (lesson batch, step 4)' 5 && grep -q 'step = 4' "$TMP/class1.cwb" &&
    grep -q 'metric = "theta_ratio"' "$TMP/class1.cwb"
ok $? "save_session writes the lesson step and the metric shown"
keys C-d
wait_exit cwb 10
start cwb2 120 40 --session "$TMP/class1.cwb"
wait_for 'session .*class1.cwb loaded' 10 && wait_for 'Where will θ/θ\* settle with B = 256?' 10 &&
    wait_for '┌ theta_ratio ' 5
ok $? "cwb --session restores it: lesson 3 at step 4, its question, the metric"
line 'knob_line{hide = {"lr", "batch"}}'
line "preset(\"temperature\", {tau = 0.5})"
wait_for '#[0-9]* temperature tau=0\.5: ' 90
cap > "$TMP/screen"
grep -q '^ τ 0\.50 ' "$TMP/screen" && ! grep -q ' lr 0\.050 ' "$TMP/screen" && grep -q ' σ 0 ' "$TMP/screen"
ok $? "knob_line{hide = ...} leaves knobs off the line"
line "save_session(\"$TMP/class2.cwb\")"
wait_for 'class2.cwb' 5
grep -q '"lr"' "$TMP/class2.cwb" && grep -q 'preset = "temperature"' "$TMP/class2.cwb" &&
    grep -q 'tau = 0.5' "$TMP/class2.cwb"
ok $? "a session keeps the preset, its changes, the knobs and those hidden"
keys C-d
wait_exit cwb2 10
grep -q '^EXIT=0$' "$TMP/exit.cwb2"
ok $? "the workbench leaves with status 0"

echo "1..$n"
[ $failed -eq 0 ]
