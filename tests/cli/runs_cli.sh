#!/bin/sh
# runs_cli.sh - the run store end to end through the cwb program (TAP).
#
# A recipe chunk records runs (cwb -e, store chosen by CWB_DB); `cwb runs`
# lists, shows, exports and plots them; the example queries of
# docs/store.md run under sqlite3; Ctrl-C on a recording cwb marks its run
# "interrupted" and keeps its metrics; kill -9 leaves a file that passes
# PRAGMA integrity_check.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
if [ ! -x "$CWB" ]; then
    echo "1..0 # SKIP $CWB is not built"
    exit 0
fi

# Wait (up to 20 s) until the store $1 holds metrics of run 1.
wait_metrics() {
    i=0
    while [ $i -lt 100 ]; do
        "$CWB" runs --db "$1" show 1 2>/dev/null | grep -q "^  loss " && return 0
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}

tmp=$(mktemp -d /tmp/cwb-runs-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
CWB_DB="$tmp/runs.db"
export CWB_DB
unset CWB_GNUPLOT

# ---- usage ------------------------------------------------------------------
"$CWB" runs --help >"$tmp/out" 2>"$tmp/err"
ok $? "cwb runs --help exits 0"
grep -q "usage: cwb runs" "$tmp/out"
ok $? "and prints the usage on stdout"
"$CWB" runs >"$tmp/out" 2>"$tmp/err"
ok $(($? != 2)) "cwb runs without a command exits 2"
[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "^cwb runs: " "$tmp/err"
ok $? "with one line on stderr starting 'cwb runs: '"
"$CWB" runs list >"$tmp/out" 2>"$tmp/err"
ok $(($? != 1)) "list without a store exits 1"
[ ! -e "$CWB_DB" ]
ok $? "and does not create one"

# ---- recording from Lua -------------------------------------------------------
"$CWB" -e '
local id = cwb.runs.begin("conventional", {batch = 8, noise = 0.5}, 11)
for step = 0, 999 do
  cwb.runs.log(id, step, "loss", 2 / (step + 1))
  if step % 100 == 0 then cwb.runs.log(id, step, "theta_ratio", 2.6 + 1 / (step + 1)) end
end
cwb.runs.finish(id, "done")
local b = cwb.runs.begin("decomposable", {batch = 8, noise = 0.5}, 12)
cwb.runs.log(b, 0, "loss", 1.5)
cwb.runs.finish(b, "failed")
' >"$tmp/out" 2>"$tmp/err"
ok $? "a chunk records two runs"
"$CWB" runs list >"$tmp/out" 2>"$tmp/err"
ok $? "cwb runs list exits 0"
grep -q "conventional" "$tmp/out" && grep -q "decomposable" "$tmp/out" &&
    grep -q "loss=0.002" "$tmp/out" && grep -q "failed" "$tmp/out"
ok $? "list shows both runs, a status and the last loss"
"$CWB" runs show 1 >"$tmp/out" 2>"$tmp/err"
ok $? "cwb runs show 1 exits 0"
grep -q '"batch":8' "$tmp/out" && grep -q "theta_ratio" "$tmp/out"
ok $? "show prints the params and every metric"
# ---- list: whole names, the parameters that tell runs apart; show without float noise ----
L="$tmp/list.db"
mkdir -p "$tmp/recipes/examples"
cat >"$tmp/recipes/examples/bias.lua" <<'LUA'
-- two scalefit runs whose names share their first 40 characters, and two
-- trainer runs that differ only in tau (floats in the engine)
local a, b = cwb.scalefit.pairs{n = 32, k = 4, clusters = 2}
for _, t0 in ipairs{2.5, 2.50001} do
  cwb.scalefit.new(a, b, {loss = "decomposable", theta0 = t0, alpha = 10,
                          name = string.format("gradient_bias decomposable B=8 sigma=0.5 start=%g", t0)})
    :run{steps = 3, progress = false}
end
for _, tau in ipairs{0.2, 0.5} do
  cwb.trainer.new{data = {n = 64, dim = 8}, batch = 8, encoder = {dims = {8, 16, 8}}, tau = tau,
                  aug = {jitter = 0.3}, name = "infonce tau=" .. tau}:run{steps = 3, progress = false}
end
LUA
cp "$tmp/recipes/examples/bias.lua" "$tmp/recipes/examples/other.lua"
"$CWB" run --quiet --db "$L" "$tmp/recipes/examples/bias.lua" >"$tmp/out" 2>"$tmp/err" &&
    "$CWB" -e 'cwb.runs.finish(cwb.runs.begin("one more", {batch = 8}))' --db "$L" >"$tmp/out" 2>"$tmp/err" &&
    "$CWB" runs --db "$L" list >"$tmp/list" 2>"$tmp/err"
ok $? "list of a store with scalefit, trainer and chunk runs"
grep -q "gradient_bias decomposable B=8 sigma=0.5 start=2.5 " "$tmp/list" &&
    grep -q "gradient_bias decomposable B=8 sigma=0.5 start=2.50001 " "$tmp/list" &&
    grep -q " infonce tau=0.2 " "$tmp/list" && ! grep -q "~" "$tmp/list"
ok $? "list shows every name whole, never cut"
grep -q "theta0=2.5$" "$tmp/list" && grep -q "theta0=2.50001$" "$tmp/list"
ok $? "the params column tells apart values that differ in the 6th digit (theta0=2.5, 2.50001)"
grep -q " tau=0.2$" "$tmp/list" && grep -q " tau=0.5$" "$tmp/list" &&
    [ "$(grep -c 'aug.jitter' "$tmp/list")" -eq 0 ] && [ "$(grep -c 'batch=' "$tmp/list")" -eq 0 ]
ok $? "it shows the parameters that differ (tau) and not those the runs share (jitter, batch)"
grep -q "^ *1  .*/examples/bias.lua  " "$tmp/list" && grep -q "(command line)" "$tmp/list"
ok $? "recipes are listed with their paths (no common folder to drop here)"
"$CWB" run --quiet --db "$tmp/two.db" "$tmp/recipes/examples/bias.lua" >"$tmp/out" 2>"$tmp/err" &&
    "$CWB" run --quiet --db "$tmp/two.db" "$tmp/recipes/examples/other.lua" >"$tmp/out" 2>"$tmp/err" &&
    "$CWB" runs --db "$tmp/two.db" list >"$tmp/list2" 2>"$tmp/err"
grep -q "^ *1  \.\.\./bias\.lua   " "$tmp/list2" && grep -q "^ *5  \.\.\./other\.lua  " "$tmp/list2"
ok $? "the folders every recipe shares are dropped, marked .../ ($(sed -n 2p "$tmp/list2" | cut -c1-30))"
"$CWB" runs --db "$L" show 3 >"$tmp/out" 2>"$tmp/err"
grep -q '"tau":0.2,' "$tmp/out" && grep -q '"jitter":0.3,' "$tmp/out" && grep -q '"lr":0.1,' "$tmp/out" &&
    ! grep -q '0\.20000\|0\.30000\|0\.10000\|e+0' "$tmp/out"
ok $? "show prints the params as given: tau 0.2, jitter 0.3, lr 0.1, no float noise"
"$CWB" runs --db "$L" show 1 >"$tmp/out" 2>"$tmp/err"
grep -q '"alpha":10,' "$tmp/out" && grep -q '"theta0":2.5,' "$tmp/out"
ok $? "whole numbers without an exponent (alpha 10, not 1e+01)"
if command -v script >/dev/null 2>&1; then
    COLUMNS=70 script -qec "\"$CWB\" runs --db \"$L\" list" /dev/null | tr -d '\r' >"$tmp/narrow"
    long=$(awk 'length($0) > 70' "$tmp/narrow" | wc -l)
    [ "$long" -eq 0 ] && grep -q "^ *2  done " "$tmp/narrow" &&
        grep -q "^      .*gradient_bias decomposable" "$tmp/narrow" &&
        grep -q "^      theta0=2.50001$" "$tmp/narrow"
    ok $? "on a 70-column terminal each run is stacked, no line longer than 70 ($long)"
    COLUMNS=200 script -qec "\"$CWB\" runs --db \"$L\" list" /dev/null | tr -d '\r' >"$tmp/wide"
    cmp -s "$tmp/wide" "$tmp/list"
    ok $? "on a 200-column terminal the list is the one a pipe gets"
else
    skip "script (util-linux) not installed"; skip "script (util-linux) not installed"
fi
env -u CWB_DB "$CWB" runs list --db "$CWB_DB" >"$tmp/out" 2>"$tmp/err" &&
    grep -q "conventional" "$tmp/out"
ok $? "--db after the command is accepted"
"$CWB" runs list --db >"$tmp/out" 2>"$tmp/err"
ok $(($? != 2)) "--db without a path after the command exits 2"
"$CWB" runs show 7 >"$tmp/out" 2>"$tmp/err"
ok $(($? != 1)) "show of an unknown id exits 1"
grep -q "^cwb runs: no run 7" "$tmp/err"
ok $? "saying so: $(cat "$tmp/err")"
"$CWB" runs show seven >"$tmp/out" 2>"$tmp/err"
ok $(($? != 2)) "show of a non-number exits 2"
"$CWB" runs export 1 --csv >"$tmp/out" 2>"$tmp/err"
ok $? "export to stdout"
[ "$(head -1 "$tmp/out")" = "step,name,value" ] && [ "$(wc -l <"$tmp/out")" -eq 1011 ]
ok $? "long CSV: header and 1010 rows"
"$CWB" runs export 1 --csv "$tmp/wide.csv" --wide >"$tmp/out" 2>"$tmp/err"
ok $? "export --wide into a file"
[ "$(head -1 "$tmp/wide.csv")" = "step,loss,theta_ratio" ] && [ "$(wc -l <"$tmp/wide.csv")" -eq 1001 ]
ok $? "wide CSV: one column per metric, one row per step"

if command -v gnuplot >/dev/null 2>&1; then
    "$CWB" runs plot 1 loss >"$tmp/out" 2>"$tmp/err"
    ok $? "plot as text exits 0"
    grep -q "run 1: .* / conventional" "$tmp/out"
    ok $? "the text figure carries the run in its title"
    "$CWB" runs plot 1 loss --png "$tmp/loss.png" >"$tmp/out" 2>"$tmp/err"
    [ $? -eq 0 ] && [ "$(head -c 4 "$tmp/loss.png" | tail -c 3)" = "PNG" ]
    ok $? "plot --png writes a PNG"
else
    skip "gnuplot not installed"; skip "gnuplot not installed"; skip "gnuplot not installed"
fi
CWB_GNUPLOT=/nonexistent "$CWB" runs plot 1 loss >"$tmp/out" 2>"$tmp/err"
ok $(($? != 1)) "plot without gnuplot exits 1"
grep -q "gnuplot not found" "$tmp/err"
ok $? "saying: $(cat "$tmp/err")"

# ---- docs/store.md queries ------------------------------------------------------
if command -v sqlite3 >/dev/null 2>&1; then
    out=$(sqlite3 "$CWB_DB" "SELECT id, name, status FROM runs ORDER BY id;")
    [ "$out" = "1|conventional|done
2|decomposable|failed" ]
    ok $? "sqlite3: runs table as documented"
    out=$(sqlite3 "$CWB_DB" "SELECT step, value FROM metrics WHERE run = 1 AND name = 'theta_ratio' ORDER BY step LIMIT 2;")
    [ "$out" = "0|3.6
100|2.60990099009901" ]
    ok $? "sqlite3: one metric of one run, in step order"
    out=$(sqlite3 "$CWB_DB" "SELECT r.name, m.value FROM runs r JOIN metrics m ON m.run = r.id WHERE m.name = 'loss' AND m.step = (SELECT max(step) FROM metrics WHERE run = r.id AND name = 'loss') ORDER BY r.id;")
    [ "$out" = "conventional|0.002
decomposable|1.5" ]
    ok $? "sqlite3: last loss of every run"
    out=$(sqlite3 "$CWB_DB" "SELECT json_extract(params, '\$.batch') FROM runs WHERE id = 1;")
    [ "$out" = "8" ]
    ok $? "sqlite3: a parameter through json_extract"
else
    skip "sqlite3 not installed"; skip "sqlite3 not installed"
    skip "sqlite3 not installed"; skip "sqlite3 not installed"
fi

# ---- the Lua examples of docs/store.md and docs/plot.md run as recipes ------------
for doc in store plot; do
    tap_lua_blocks "$top_srcdir/docs/$doc.md" "$tmp"
    found=0
    for f in "$tmp"/block_*.lua; do
        [ -e "$f" ] || continue
        found=1
        line=$(basename "$f" .lua | sed 's/^block_0*//')
        "$CWB" run --quiet --db "$tmp/docs-$doc.db" --out "$tmp/out-$doc" "$f" \
            >"$tmp/out" 2>"$tmp/err"
        ok $? "docs/$doc.md: the Lua example at line $line runs"
        [ $? -eq 0 ] || sed 's/^/#   /' "$tmp/err" | head -10
    done
    ok $((found == 0)) "docs/$doc.md has a Lua example"
done
if command -v gnuplot >/dev/null 2>&1; then
    [ "$(head -c 4 "$tmp/out-plot/bias.png" | tail -c 3)" = "PNG" ]
    ok $? "the docs/plot.md example wrote its PNG"
else
    skip "gnuplot not installed"
fi

# ---- Ctrl-C and kill -9 while recording -------------------------------------------
forever='
local id = cwb.runs.begin("forever", {})
local step = 0
while true do
  cwb.runs.log(id, step, "loss", 1 / (step + 1))
  step = step + 1
end'
CWB_DB="$tmp/int.db" "$CWB" -e "$forever" >"$tmp/out" 2>"$tmp/err" &
pid=$!
wait_metrics "$tmp/int.db"
ok $? "a recording cwb has written metrics"
kill -INT $pid
wait $pid
status=$?
ok $(( status == 0 )) "cwb stopped by Ctrl-C exits non-zero ($status)"
st=$(CWB_DB="$tmp/int.db" "$CWB" runs show 1 2>&1 | sed -n 's/^  status *//p')
[ "$st" = "interrupted" ]
ok $? "Ctrl-C marks the run interrupted ($st)"
if command -v sqlite3 >/dev/null 2>&1; then
    rows=$(sqlite3 "$tmp/int.db" "SELECT count(*) FROM metrics WHERE run = 1;")
    [ "$rows" -gt 0 ]
    ok $? "and keeps its metrics ($rows rows)"
else
    skip "sqlite3 not installed"
fi

CWB_DB="$tmp/kill.db" "$CWB" -e "$forever" >"$tmp/out" 2>"$tmp/err" &
pid=$!
wait_metrics "$tmp/kill.db"
sleep 0.3
kill -KILL $pid
wait $pid 2>/dev/null
if command -v sqlite3 >/dev/null 2>&1; then
    out=$(sqlite3 "$tmp/kill.db" "PRAGMA integrity_check;")
    [ "$out" = "ok" ]
    ok $? "kill -9 of a recording cwb: integrity_check says $out"
    rows=$(sqlite3 "$tmp/kill.db" "SELECT count(*) FROM metrics;")
    [ "$rows" -gt 0 ]
    ok $? "the batches written before the kill are readable ($rows rows)"
else
    skip "sqlite3 not installed"; skip "sqlite3 not installed"
fi
"$CWB" runs --db "$tmp/kill.db" list >"$tmp/out" 2>"$tmp/err"
ok $? "cwb runs reads the killed store"
grep -q "running" "$tmp/out"
ok $? "where the killed run still says running"

echo "1..$n"
[ $failed -eq 0 ]
