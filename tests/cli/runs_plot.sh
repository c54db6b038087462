#!/bin/sh
# runs_plot.sh - figures of several recorded runs and reference lines (TAP):
# `cwb runs plot 1 2 top1`, `cwb runs plot 1,2 top1`, cwb.runs.plot({1, 2},
# ...), legends that say what differs between the runs, a colour per run,
# and the reference lines recorded with cwb.runs.ref.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
if [ ! -x "$CWB" ]; then
    echo "1..0 # SKIP $CWB is not built"
    exit 0
fi
tap_tmpdir runs-plot "INT TERM"
cd "$tmp" || exit 1
CWB_DB="$tmp/runs.db"
export CWB_DB
unset CWB_GNUPLOT

# Two runs of the same name that differ only in tau, a third without top1.
run -e '
for _, tau in ipairs{0.1, 0.5} do
  local id = cwb.runs.begin("infonce-B256-seed1", {batch = 256, seed = 1,
                            loss = {kind = "infonce", tau = tau}})
  for s = 1, 60 do
    cwb.runs.log(id, s, "top1", 1 - math.exp(-s / (40 * tau)))
    cwb.runs.log(id, s, "theta_ratio", 1 + tau * math.exp(-s / 10))
  end
  assert(cwb.runs.ref(id, "theta_ratio", 1, "optimum theta*"))
  cwb.runs.finish(id)
end
local c = cwb.runs.begin("other", {})
cwb.runs.log(c, 1, "loss", 1)
cwb.runs.finish(c)
print(select(2, cwb.runs.ref(99, "loss", 1)))
print(select(2, pcall(cwb.runs.ref, 1, "loss", 0 / 0)))'
ok $st "a chunk records three runs and two reference lines"
grep -q "no run 99" out
ok $? "cwb.runs.ref of an unknown run: false, $(head -1 out)"
grep -q "finite" out
ok $? "cwb.runs.ref of NaN raises: $(sed -n 2p out)"

if ! command -v gnuplot >/dev/null 2>&1; then
    for i in 1 2 3 4 5 6 7 8 9 10; do skip "gnuplot not installed"; done
    echo "1..$n"
    [ $failed -eq 0 ]
    exit
fi

COLUMNS=100 run runs plot 1 2 top1
ok $st "cwb runs plot 1 2 top1 draws two runs in one figure"
has "tau=0.1" out && has "tau=0.5" out && ! has "infonce-B256-seed1" out
ok $? "the legend says what differs (tau=0.1, tau=0.5), not the shared name"
COLUMNS=100 run runs plot 1,2 top1
ok $st "cwb runs plot 1,2 top1 takes a comma-separated list"
has "runs 1, 2" out
ok $? "whose title names both runs"
run runs plot 1, top1
[ "$st" -eq 2 ] && has "bad run id '1,'" err
ok $? "a list ending in a comma is bad usage: $(cat err)"
run runs plot 1 3 top1
[ "$st" -eq 1 ] && has "run 3 has no metric 'top1' (it has: loss)" err
ok $? "a run without the metric is named: $(cat err)"

run runs plot 1 2 top1 --svg "$tmp/two.svg"
[ "$st" -eq 0 ] && has "<svg" two.svg && has "tau=0.1" two.svg && has "tau=0.5" two.svg
ok $? "--svg writes one SVG with both legend entries"
colours=$(grep -o "stroke='rgb([0-9, ]*)'\|stroke=\"rgb([0-9, ]*)\"" two.svg | sort -u | wc -l)
[ "$colours" -ge 3 ]
ok $? "each run has its own colour ($colours stroke colours with the frame's)"

COLUMNS=100 run runs plot 1 theta_ratio
has "optimum theta*" out
ok $? "the recorded reference line is drawn with its label"

run -e '
local t = assert(cwb.runs.plot({1, 2}, "top1"))
assert(t:find("tau=0.1", 1, true) and t:find("tau=0.5", 1, true), t)
assert(cwb.runs.plot({1, 2}, "theta_ratio", "'"$tmp"'/ref.png") == "'"$tmp"'/ref.png")
local r, m = cwb.runs.plot({1, "x"}, "top1")
print("ok")'
[ "$st" -eq 1 ] && has "run ids start at 1 (item 2)" err && [ "$(head -c 4 ref.png | tail -c 3)" = "PNG" ]
ok $? "cwb.runs.plot takes a list of ids (text and PNG); a bad item is named"
echo "1..$n"
[ $failed -eq 0 ]
