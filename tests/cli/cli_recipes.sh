#!/bin/sh
# cli_recipes.sh - the main job's recipes (examples/gradient_bias.lua and
# examples/gradient_bias_sweep.lua) in --quick mode, as a user runs them:
# exit status, summary.csv's exact header and one row per run, finite
# numbers, representation.csv, the PNG figures (when gnuplot is there), the
# runs in the store; the claim's direction at the quick budget; recipe
# arguments checked.  Prints TAP.
tap_out_lines="tail -8" tap_err_lines="tail -8"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
EX=$top_srcdir/examples
case $EX in /*) ;; *) EX=$(pwd)/$EX ;; esac
MAIN=$EX/gradient_bias.lua
SWEEP=$EX/gradient_bias_sweep.lua

tap_tmpdir recipes
cd "$tmp" || exit 1

# png FILE: exists and starts with the PNG signature \211 P N G \r \n \032 \n
png() { [ -s "$1" ] && [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = 89504e470d0a1a0a ]; }
# median FILE LOSS: median final_score of one loss in summary.csv
median() {
    awk -F, -v l="$2" 'NR > 1 && $1 == l { print $5 }' "$1" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }
plot_ok() { "$CWB" -e 'assert(cwb.plot.available())' >/dev/null 2>&1; }

# ---- examples/gradient_bias.lua --quick ---------------------------------------------
run run --quiet --db runs.db --out res --seed 3 "$MAIN" -- --quick
[ $st -eq 0 ]; ok $? "gradient_bias.lua --quick exits 0"
[ "$(head -1 res/summary.csv)" = "loss,seed,noise,batch,final_score" ]
ok $? "summary.csv has the exact header loss,seed,noise,batch,final_score"
counts=$(awk -F, 'NR > 1 { c[$1]++ } END { printf "%d %d %d %d %d", c["infonce"], c["decomposable"], c["standard"], c["decomposable_corrected"], NR - 1 }' res/summary.csv)
[ "$counts" = "10 10 10 10 40" ]
ok $? "10 runs per loss, nothing else (infonce decomposable standard decomposable_corrected total: $counts)"
bad=$(awk -F, 'NR > 1 {
        if ($5 !~ /^[0-9.eE+-]+$/ || !($5 + 0 > 0) || $5 + 0 > 1e6) n++      # finite, positive
        if ($3 != "0.5" || $4 != "8") n++                                    # the defaults
      } END { print n + 0 }' res/summary.csv)
[ "$bad" -eq 0 ]; ok $? "final scores parse as finite positive numbers; noise 0.5, batch 8"
seeds=$(awk -F, 'NR > 1 && $1 == "infonce" { print $2 }' res/summary.csv | sort -n | tr '\n' ' ')
[ "$seeds" = "3 4 5 6 7 8 9 10 11 12 " ]; ok $? "runs use seeds seed .. seed+9 (--seed 3: $seeds)"
# The claim's direction, at the quick budget: the conventional loss settles far
# above theta*, the decomposable and standard losses near it.
conv=$(median res/summary.csv infonce)
dec=$(median res/summary.csv decomposable)
cor=$(median res/summary.csv decomposable_corrected)
lt 1.5 "$conv" && lt "$dec" 1.3 && lt 0.7 "$dec"
ok $? "conventional median $conv > 1.5; decomposable median $dec within 0.7..1.3"
lt "$cor" 1.3 && lt 0.7 "$cor"; ok $? "decomposable, E-step first + Jensen: median $cor within 0.7..1.3"
[ -s res/representation.csv ] &&
    head -1 res/representation.csv | grep -q '^loss,seed,batch,steps,top1,pop_loss,pop_gap,'
ok $? "representation.csv is written with its header"
rk=$(awk -F, 'NR > 1 { printf "%s ", $1 } ' res/representation.csv)
[ "$rk" = "full_batch infonce decomposable sogclr dcl " ]; ok $? "representation.csv: reference and 4 losses ($rk)"
bad=$(awk -F, 'NR > 1 && !($5 >= 0 && $5 <= 1 && $6 ~ /^[0-9.eE+-]+$/) { n++ } END { print n + 0 }' res/representation.csv)
[ "$bad" -eq 0 ]; ok $? "representation.csv: top-1 in [0, 1], population losses are numbers"
if plot_ok; then
    png res/gradient_bias.png; ok $? "gradient_bias.png is a PNG"
else
    skip "gnuplot not available: no figure"
fi
! has "decomposable  median" out && ! has "decomposable  median" err
ok $? "--quiet silences the printed summary"
nruns=$(sqlite3 runs.db "SELECT count(*) FROM runs WHERE status = 'done' AND name LIKE 'gradient_bias %'" 2>/dev/null)
if [ -n "$nruns" ]; then
    [ "$nruns" -eq 45 ]; ok $? "the store holds 40 scalefit + 5 trainer runs, all done ($nruns)"
    fs=$(sqlite3 runs.db "SELECT count(*) FROM metrics WHERE name = 'final_score'")
    tr=$(sqlite3 runs.db "SELECT count(DISTINCT run) FROM metrics WHERE name = 'theta_ratio'")
    [ "$fs" -eq 40 ] && [ "$tr" -eq 40 ]; ok $? "each scalefit run has theta_ratio and final_score ($tr, $fs)"
else
    run --db runs.db runs list
    [ $st -eq 0 ] && [ "$(grep -c 'gradient_bias' out)" -eq 45 ]
    ok $? "the store holds 40 scalefit + 5 trainer runs (cwb runs list)"
    skip "sqlite3 not available: metrics not checked"
fi

# ---- the same with the arguments --------------------------------------------------------
run run --quiet --db runs.db --out res2 "$MAIN" -- --quick --runs 4 --noise 1 --batch 16 --steps 3000 --no-corrected
[ $st -eq 0 ] && [ "$(awk 'END { print NR - 1 }' res2/summary.csv)" -eq 12 ] &&
    [ "$(awk -F, 'NR > 1 && ($3 != "1" || $4 != "16") { n++ } END { print n + 0 }' res2/summary.csv)" -eq 0 ]
ok $? "--runs 4 --noise 1 --batch 16 --no-corrected: 12 rows with noise 1, batch 16"
run run --quiet --db runs.db --out res3 "$MAIN" -- --quick --stpes 10
[ $st -eq 1 ] && has "unknown argument '--stpes'" err; ok $? "an unknown argument exits 1 and names it"
run run --quiet --db runs.db --out res3 "$MAIN" -- --noise x
[ $st -eq 1 ] && has "argument '--noise': 'x' is not a number" err; ok $? "a malformed value is refused"
run run --db runs.db --out res3 "$MAIN" -- --help
[ $st -eq 0 ] && has "--batch-noise" out && [ ! -e res3/summary.csv ]
ok $? "--help lists the arguments and runs nothing"

# ---- every example: -- --help, and a bad argument is one line --------------------------
# A recipe-argument error exits 1 (a recipe error: cwb's own usage errors are
# 2) with one line on stderr naming the recipe and the argument, and no
# traceback.  The options a recipe declares are the {"name", "kind", ...}
# entries of its U.args spec; --help must list each of them.
for ex in "$EX"/*.lua; do
    b=$(basename "$ex")
    rm -rf help-out
    run run --db help.db --out help-out "$ex" -- --help
    [ $st -eq 0 ] && has "recipe arguments (after --):" out && has "--help" out && [ ! -s err ]
    ok $? "$b -- --help exits 0 and prints the usage on stdout"
    opts=$(sed -n 's/^ *{"\([a-z_0-9]*\)", "\(int\|number\|numbers\|string\|flag\)",.*/\1/p' "$ex" | tr _ -)
    missing=""
    for o in $opts; do grep -q -e "^  --$o\( \|\$\)" out || missing="$missing --$o"; done
    [ -n "$opts" ] && [ -z "$missing" ]
    ok $? "$b -- --help lists every option it declares ($(echo $opts | wc -w) found${missing:+; missing$missing})"
    [ ! -e help.db ] && [ -z "$(ls -A help-out 2>/dev/null)" ]
    ok $? "$b -- --help runs nothing (no run recorded, no output file)"
    run run --db help.db --out help-out "$ex" -- --no-such-option 3
    [ $st -eq 1 ] && [ "$(wc -l <err)" -eq 1 ] && has "$b: unknown argument '--no-such-option'" err &&
        ! has "traceback" err
    ok $? "$b: an unknown argument is one line naming it, no traceback, exit 1"
    first=$(sed -n 's/^ *{"\([a-z_0-9]*\)", "\(int\|number\)",.*/\1/p' "$ex" | head -1 | tr _ -)
    run run --db help.db --out help-out "$ex" -- "--$first" x
    [ $st -eq 1 ] && [ "$(wc -l <err)" -eq 1 ] && has "argument '--$first': 'x' is not" err &&
        ! has "traceback" err
    ok $? "$b: a malformed value (--$first x) is one line, exit 1"
done
run run --db help.db --out help-out "$MAIN" -- --batch 1
[ $st -eq 1 ] && [ "$(wc -l <err)" -eq 1 ] && has "--batch 1: must be in [2, 256]" err
ok $? "gradient_bias.lua: an out-of-range value is refused before any run, in one line"

# ---- examples/gradient_bias_sweep.lua --quick ---------------------------------------------
run run --quiet --db runs.db --out sweep "$SWEEP" -- --quick
[ $st -eq 0 ]; ok $? "gradient_bias_sweep.lua --quick exits 0"
[ "$(head -1 sweep/sweep.csv)" = "part,loss,batch,noise,alpha,gamma,seed,steps,final_score" ]
ok $? "sweep.csv has its header"
# quick grid: 2 batches x 2 noises x 4 losses + 2 alphas x 2 gammas + 2 gammas
# E-step first, without and with the Jensen correction
rows=$(awk -F, 'NR > 1 { c[$1]++ } END { printf "%d %d %d %d", c["batch_noise"], c["alpha_gamma"], c["estep_first"], c["estep_jensen"] }' sweep/sweep.csv)
[ "$rows" = "16 4 2 2" ]; ok $? "sweep.csv: 16 batch/noise, 4 alpha/gamma, 2 estep_first and 2 estep_jensen rows ($rows)"
bad=$(awk -F, 'NR > 1 && !($9 ~ /^[0-9.eE+-]+$/ && $9 + 0 > 0) { n++ } END { print n + 0 }' sweep/sweep.csv)
[ "$bad" -eq 0 ]; ok $? "sweep.csv: every final score is a finite positive number"
# the batch-size effect on the conventional loss, even at the quick budget
c8=$(awk -F, '$1 == "batch_noise" && $2 == "infonce" && $3 == 8 && $4 == 0 { print $9 }' sweep/sweep.csv)
c64=$(awk -F, '$1 == "batch_noise" && $2 == "infonce" && $3 == 64 && $4 == 0 { print $9 }' sweep/sweep.csv)
lt "$c64" "$c8"; ok $? "conventional loss: the bias shrinks with the batch (B = 64: $c64 < B = 8: $c8)"
if plot_ok; then
    png sweep/gradient_bias_sweep.png; ok $? "gradient_bias_sweep.png is a PNG"
else
    skip "gnuplot not available: no figure"
fi
nsw=$(sqlite3 runs.db "SELECT count(*) FROM runs WHERE name LIKE 'sweep %' AND status = 'done'" 2>/dev/null)
if [ -n "$nsw" ]; then
    [ "$nsw" -eq 24 ]; ok $? "the 24 sweep runs are in the store ($nsw)"
else
    skip "sqlite3 not available"
fi

# ---- without gnuplot: the CSVs are still written ----------------------------------------
CWB_GNUPLOT=/nonexistent/gnuplot "$CWB" run --db runs.db --out nogp "$MAIN" -- --quick --runs 2 >out 2>err
st=$?
[ $st -eq 0 ] && [ -s nogp/summary.csv ] && [ -s nogp/representation.csv ] &&
    [ ! -e nogp/gradient_bias.png ] && has "figure skipped" out
ok $? "without gnuplot the recipe says so, skips the figure and writes the CSVs"

echo "1..$n"
[ $failed -eq 0 ]
