#!/bin/sh
# lessons_plain.sh - a lesson through the plain REPL (TAP): the complete
# example of docs/lessons.md, written to a teacher's folder ($CWB_LESSONS),
# taken as a student would, with the answer typed as a line; then lesson 4
# of cwb's own, its answers typed too; the progress file; cwb --session.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
tap_tmpdir lessons
mkdir -p "$tmp/mine"
tap_lua_blocks "$top_srcdir/docs/lessons.md" "$tmp"
cd "$tmp" || exit 1   # ./out and ./err (tap.sh) live there, not in the build tree
set -- "$tmp"/block_*.lua
[ -e "$1" ] && cp "$1" "$tmp/mine/01_hello.lua"
ok $? "docs/lessons.md has its complete example"
plain() { # plain INPUT: the plain REPL in $tmp, with its own lessons and state
    printf "$1" | env CWB_LESSONS="$tmp/mine" CWB_STATE="$tmp/state" CWB_DB="$tmp/runs.db" \
        OPENBLAS_NUM_THREADS=1 "$CWB" --plain $2 >out 2>err
    st=$?
}

plain 'lesson()\nlesson "hello"\nnext()\n2\nwhere()\n'
has '  1 hello            new' out && has '  2 positives' out
ok $? "lesson() lists the teacher's lesson first, then cwb's six"
has 'How big should the batch be?: step 1 of 2: the question' out && has 'The *scale fit* learns one number' out
ok $? "lesson \"hello\" shows step 1, the term marked (*scale fit* in a pipe)"
has 'Where will θ/θ* settle? Type a number (1 = the optimum).' out && has 'your answer: 2' out
ok $? "step 2 asks; the number typed as a line is the answer"
grep -q 'θ/θ\* settled at 1\.[0-9][0-9]; you guessed 2\.' out
ok $? "the reveal quotes the run (B = 32 settles near 1.4)"
has 'try: rerun{batch = 128}' out && has 'lesson 1 (hello), step 2 of 2; your answers: step 2: 2' out
ok $? "then the thing to try; where() has the answer"
grep -q '^answer	hello	2	2$' "$tmp/state/lessons.txt"
ok $? "the answer is kept in CWB_STATE/lessons.txt"

plain 'lesson "modality-gap"\nnext()\nnext()\nb\nnext()\nwhere()\nsave_session("s.cwb")\n'
grep -q 'The gap went from 1\.06 to 0\.1' out && has 'your answer: b' out
ok $? "cwb's lesson 5 (modality-gap, the 6th here) runs; the letter b typed is the answer"
has 'a) τ = 0.01' out && has 'lesson 6 (modality-gap), step 4 of 5; a question waits for your answer' out
ok $? "where() says a question waits"
grep -q 'name = "modality-gap", step = 4' "$tmp/s.cwb"
ok $? "save_session keeps the lesson step"
plain 'a\n' "--session s.cwb"
has 'session s.cwb loaded' out && has 'At which temperature will the most gap be left?' out &&
    grep -q 'gap: 0\.2[0-9] at τ = 0\.01, 0\.1[0-9] at τ = 0\.1, 0\.0[0-9] at τ = 1 (you said a)' out
ok $? "cwb --session s.cwb goes back to that step; the answer typed then is taken"

run --session "$tmp/nope.cwb"
[ $st -eq 2 ] && has "cwb: cannot open session" err
ok $? "cwb --session of a missing file: exit 2, one line"
run --session "$tmp/s.cwb" -e 'print(1)'
[ $st -eq 2 ] && has "--session is for the interactive session" err
ok $? "cwb --session with -e: exit 2 (it is the REPL's)"

echo "1..$n"
[ $failed -eq 0 ]
