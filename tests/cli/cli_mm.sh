#!/bin/sh
# cli_mm.sh - experiment 3's recipe (examples/modality_structures.lua) in
# --quick mode, as a user runs it: exit status, summary.csv with the
# required header and one row per method and gap, the runs in the store,
# the figures (when gnuplot is there), the theorem's direction at gap 1;
# and cwb.mm's errors as a recipe sees them.  Prints TAP.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
RECIPE=$top_srcdir/examples/modality_structures.lua
case $RECIPE in /*) ;; *) RECIPE=$(pwd)/$RECIPE ;; esac

tap_tmpdir mm
cd "$tmp" || exit 1

# field FILE METHOD GAP COLUMN: one value of summary.csv
field() {
    awk -F, -v m="$2" -v g="$3" -v c="$4" '
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        $1 == m && $2 + 0 == g + 0 { print $(col[c]) }' "$1"
}
# lt A B: A < B as numbers
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

# ---- the recipe, quick mode -------------------------------------------------------
# gnuplot through a wrapper that keeps the scripts it is sent, so that what
# the figures draw can be read back (gp.log)
if "$CWB" -e 'assert(cwb.plot.available())' >/dev/null 2>&1; then
    have_gnuplot=1
    GNUPLOT=$(command -v "${CWB_GNUPLOT:-gnuplot}")
    printf '#!/bin/sh\ntee -a "%s/gp.log" | exec "%s" "$@"\n' "$tmp" "$GNUPLOT" > gp.sh
    chmod +x gp.sh
    CWB_GNUPLOT=$tmp/gp.sh
    export CWB_GNUPLOT
fi
run run --quiet --db runs.db --out res "$RECIPE" -- --quick
unset CWB_GNUPLOT
[ $st -eq 0 ]; ok $? "the recipe runs in --quick mode (exit 0)"
[ -s res/summary.csv ]; ok $? "summary.csv is written"
head -1 res/summary.csv | grep -q '^method,info_gap,zero_shot_acc,fewshot_acc,r1_v2t,r1_t2v,gap_centroid,gap_paired\(,\|$\)'
ok $? "summary.csv starts with the required header"
rows=$(awk 'END { print NR - 1 }' res/summary.csv)
[ "$rows" -eq 12 ]; ok $? "one row per method and gap: 6 methods x 2 gaps = $rows rows"
missing=0
for m in unimodal clip clip+sep clip+bridge clip+gc clip+all; do
    for g in 0 1; do
        [ -n "$(field res/summary.csv "$m" $g fewshot_acc)" ] || missing=$((missing + 1))
    done
done
[ $missing -eq 0 ]; ok $? "every method has a row at gaps 0 and 1"
[ "$(field res/summary.csv unimodal 0 zero_shot_acc)" = nan ] &&
    [ "$(field res/summary.csv unimodal 0 r1_v2t)" = nan ]
ok $? "the unimodal model has no zero-shot or retrieval (nan)"
bad=$(awk -F, 'NR > 1 { for (i = 3; i <= 8; i++) if ($i != "nan" && ($i < 0 || $i > 2)) n++ } END { print n + 0 }' res/summary.csv)
[ "$bad" -eq 0 ]; ok $? "accuracies, recalls and gaps are numbers in range"
zs0=$(field res/summary.csv clip 0 zero_shot_acc)
lt 0.3 "$zs0"; ok $? "gap 0: CLIP's zero-shot accuracy $zs0 is well above chance (0.1)"
d1=$(field res/summary.csv clip 1 delta_nats)
lt 1 "$d1"; ok $? "gap 1: the estimated information gap is large ($d1 nats)"
# The theorem's direction, at gap 1 where the text knows nothing about the label.
uni=$(field res/summary.csv unimodal 1 linear_probe_acc)
clip=$(field res/summary.csv clip 1 linear_probe_acc)
sep=$(field res/summary.csv clip+sep 1 linear_probe_acc)
lt "$clip" "$uni"; ok $? "gap 1: plain CLIP's linear probe ($clip) is below the unimodal model's ($uni)"
lt "$clip" "$sep"; ok $? "gap 1: deep feature separation recovers part of it ($sep > $clip)"
[ "$(awk 'END { print NR - 1 }' res/runs.csv)" -eq 12 ]; ok $? "runs.csv has one row per run"
run --db runs.db runs list
[ $st -eq 0 ] && [ "$(grep -c ' done ' out)" -eq 12 ] && has "clip+sep gap=1.00 seed=1" out
ok $? "the 12 runs are recorded in the store"
if [ -n "$have_gnuplot" ]; then
    [ -s res/accuracy_vs_gap.png ] && [ -s res/pca.png ]; ok $? "figures: accuracy_vs_gap.png and pca.png"
    # the two Bayes reference lines: each in the legend, in styles of their own
    styles=$(grep "title 'Bayes" gp.log | sed 's/.* with lines//; s/ title .*//' | sort -u | wc -l)
    [ "$(grep -c "title 'Bayes" gp.log)" -eq 2 ] && [ "$styles" -eq 2 ]
    ok $? "accuracy_vs_gap.png: the two Bayes lines are in the legend with distinct styles ($styles)"
    # pca.png: points coloured by class (ten classes), not by modality
    colours=$(sed -n '/set output .*pca\.png/,$p' gp.log | grep 'with points' |
              grep -o "lc rgb '#[0-9a-f]*'" | sort -u | wc -l)
    [ "$colours" -ge 10 ]; ok $? "pca.png: points coloured by class ($colours colours)"
else
    skip "gnuplot not available: no figures"
    skip "gnuplot not available: no figures"
    skip "gnuplot not available: no figures"
fi
[ -s res/pca_clip_sep.csv ] && head -1 res/pca_clip_sep.csv | grep -q '^pc1,pc2,modality,label,pair$'
ok $? "PCA coordinates per method (pca_clip_sep.csv)"
run run --quiet --db runs.db --out res2 "$RECIPE" -- --fast
[ $st -eq 1 ] && has "unknown argument '--fast'" err && [ "$(wc -l <err)" -eq 1 ]
ok $? "an unknown recipe argument exits 1 and says so in one line"

# ---- the recipe's options ------------------------------------------------------------
run run --db runs.db --out res3 "$RECIPE" -- --help
tr -s ' \n' '  ' <out >help.txt    # help lines wrap at 79 columns
[ $st -eq 0 ] && has "--gaps X,Y,... information-gap levels, each in [0, 1] (default 0,0.25,0.5,0.75,1)" help.txt &&
    has "--steps INT training steps per run (default 1000)" help.txt && has "--seeds INT" help.txt &&
    has "--w-sep NUMBER" help.txt && has "--methods STRING" help.txt && [ ! -e res3/summary.csv ]
ok $? "-- --help lists gaps, steps, seeds, weights and methods with the full run's defaults"
# Options given with --quick win over its presets: one gap, two methods, two
# seeds, 40 steps; the PCA falls back to the only gap.
run run --quiet --db opts.db --out res4 "$RECIPE" -- --quick --gaps 0.5 --methods clip,clip+sep --seeds 2 --steps 40
[ $st -eq 0 ]; ok $? "--quick --gaps 0.5 --methods clip,clip+sep --seeds 2 --steps 40 runs"
rows=$(awk -F, 'NR > 1 { printf "%s@%s/%s ", $1, $2, $NF }' res4/summary.csv)
[ "$rows" = "clip@0.5000/2 clip+sep@0.5000/2 " ]
ok $? "summary.csv: one row per chosen method at the chosen gap, 2 seeds each ($rows)"
[ "$(awk 'END { print NR - 1 }' res4/runs.csv)" -eq 4 ] && [ -s res4/pca_clip_sep.csv ] &&
    [ ! -e res4/pca_unimodal.csv ]
ok $? "runs.csv has the 4 runs; PCA only of the chosen methods"
if command -v sqlite3 >/dev/null 2>&1; then
    got=$(sqlite3 opts.db "SELECT group_concat(name || ':' || (SELECT max(step) FROM metrics m WHERE m.run = r.id), ' ') FROM runs r")
    [ "$got" = "clip gap=0.50 seed=1:40 clip+sep gap=0.50 seed=1:40 clip gap=0.50 seed=2:40 clip+sep gap=0.50 seed=2:40" ]
    ok $? "the store holds those runs, each trained for 40 steps ($got)"
else
    skip "sqlite3 not available"
fi
run run --quiet --db opts.db --out res5 "$RECIPE" -- --quick --pca-gap 0.5
[ $st -eq 1 ] && [ "$(wc -l <err)" -eq 1 ] && has "--pca-gap 0.5: must be one of --gaps" err && [ ! -e res5/runs.csv ]
ok $? "a --pca-gap outside --gaps is refused in one line before any training"

# ---- cwb.mm errors as a recipe sees them -------------------------------------------------
run --quiet -e 'cwb.mm.data{gap = 2}'
[ $st -eq 1 ] && has "mm.data: gap = 2, must be in [0, 1]" err; ok $? "a gap of 2 is refused with the reason"
run --quiet -e 'cwb.mm.data{gpa = 0.5}'
[ $st -eq 1 ] && has "unknown option 'gpa'" err; ok $? "an unknown option is named"
run --quiet -e 'cwb.mm.unimodal{w_sep = 1}'
[ $st -eq 1 ] && has "only for the two-tower" err; ok $? "unimodal refuses a regulariser weight"
run --quiet -e 'cwb.mm.trainer{data = {n_train = 50, n_test = 10, knn_k = 0}, batch = 64}'
[ $st -eq 1 ] && has "batch = 64 exceeds n_train = 50" err; ok $? "a batch larger than the training split is refused"
run --quiet -e 'cwb.mm.retrieval(cwb.tensor.ones(3, 2), "b")'
[ $st -eq 1 ] && has "bad argument #2 to 'retrieval' (cwb.tensor expected, got string)" err
ok $? "probe arguments are checked like Lua's own"

echo "1..$n"
[ $failed -eq 0 ]
