#!/bin/sh
# tui_fmnist.sh - a run on images in the workbench, driven through tmux
# (TAP): the geometry pane colours the test split's embeddings by class
# with a legend of the class names, and the status line shows the kNN
# accuracy of each evaluation while the run goes on.  A fake Fashion-MNIST
# folder (IDX files the test writes: four patterns, ten labels) stands in
# for the real data set.  Every wait polls the screen with a timeout
# (tests/ui/tmux_lib.sh).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ui/tmux_lib.sh"
mkdir -p "$TMP/fm"
cat > "$TMP/mk.lua" <<'LUA'
local dir = ...
local function be32(v) return string.pack(">I4", v) end
-- image i of label i % 10: a bright band whose place the label sets
local function split(pre, n)
  local px, lb = {}, {}
  for i = 0, n - 1 do
    local y = i % 10
    for r = 0, 27 do
      for c = 0, 27 do
        local on = (y < 5 and r // 5 == y) or (y >= 5 and c // 5 == y - 5)
        px[#px + 1] = string.char(on and 200 + (i * 7 + c) % 50 or (i * 13 + r * c) % 40)
      end
    end
    lb[#lb + 1] = string.char(y)
  end
  cwb.write_file(dir .. "/" .. pre .. "-images-idx3-ubyte",
                 "\0\0\8\3" .. be32(n) .. be32(28) .. be32(28) .. table.concat(px))
  cwb.write_file(dir .. "/" .. pre .. "-labels-idx1-ubyte", "\0\0\8\1" .. be32(n) .. table.concat(lb))
end
split("train", 200)
split("t10k", 100)
LUA
"$CWB" run --quiet "$TMP/mk.lua" -- "$TMP/fm" >/dev/null 2>&1
ok $? "the test writes a fake Fashion-MNIST folder"

tmux_start cwb 120 40
wait_for '^cwb>[ ]*$' 10
# a long run (stopped below), evaluated every 25 steps: kNN only, it is cheap
line "tr = cwb.trainer.new{data = cwb.data.fashion_mnist{dir = '$TMP/fm'}, batch = 32, encoder = {dims = {784, 32, 16}, head = {8}}, loss = {kind = 'ntxent'}, eval = {test = cwb.data.fashion_mnist{dir = '$TMP/fm', split = 'test'}, linear = false}, name = 'fm-tui'}"
line "r = tr:run{steps = 1000000, eval_every = 25}"
wait_for 'RUN fm-tui.*| kNN [01]' 20
ok $? "while the run goes on the status line shows the kNN accuracy of its evaluation"
wait_for 'by class (10)' 20
ok $? "the geometry pane colours the test embeddings by class (10 classes)"
wait_for 'T-shirt/top  Trouser' 10 && grep -q 'Ankle boot' "$TMP/screen"
ok $? "and shows a legend of the class names, T-shirt/top to Ankle boot"
# each name in its own colour: the legend's line has several colour codes
cap -e | grep 'Trouser' | grep -o "$(printf '\033')\[[0-9;]*m" | sort -u > "$TMP/colours"
[ "$(wc -l < "$TMP/colours")" -ge 4 ]
ok $? "the legend's names are in their classes' colours ($(wc -l < "$TMP/colours") codes)"
first=$(grep -o 'kNN [0-9.]*' "$TMP/screen" | head -1)
line 'stop()'
wait_for 'run fm-tui #[0-9]* stopped' 10
ok $? "stop() ends the run"
line 'print(string.format("status %s knn %.4f", r.status, r.eval.knn_acc))'
wait_for '^status stopped knn [01]\.' 10
ok $? "the run's result has its last evaluation ($(grep -o '^status.*' "$TMP/screen" | head -1); the status line showed $first)"
line 'os.exit(0)'
echo "1..$n"
[ "$failed" -eq 0 ]
