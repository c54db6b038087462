#!/bin/sh
# cli_data.sh - real data from the command line: cwb.data.fashion_mnist on a
# folder of IDX files the test writes (found through dir=, --data-dir and
# CWB_DATA), the one-line message when the files are missing, cwb.data.idx
# on good and bad files, a Fashion-MNIST data set in the trainer; and the
# real data set's sizes when dataset-fashion-mnist is installed.  TAP.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
AUG=$(tap_abs "$top_srcdir/examples/augmentations.lua")
tap_tmpdir data
cd "$tmp" || exit 1

# A fake data set: 12 train and 3 test images of 28 x 28, uncompressed.
cat > mk.lua <<'EOF'
local dir = ...
local function be32(v) return string.pack(">I4", v) end
local function split(pre, n)
  local px = {}
  for i = 0, n * 784 - 1 do px[#px + 1] = string.char((i * 7) % 256) end
  cwb.write_file(dir .. "/" .. pre .. "-images-idx3-ubyte",
                 "\0\0\8\3" .. be32(n) .. be32(28) .. be32(28) .. table.concat(px))
  local lb = {}
  for i = 0, n - 1 do lb[#lb + 1] = string.char(i % 10) end
  cwb.write_file(dir .. "/" .. pre .. "-labels-idx1-ubyte", "\0\0\8\1" .. be32(n) .. table.concat(lb))
end
split("train", 12)
split("t10k", 3)
cwb.write_file(dir .. "/bad.idx", "\0\0\8\2" .. be32(2) .. be32(3) .. "abc")
EOF
mkdir -p fake/fashion-mnist empty
run run --quiet mk.lua -- "$tmp/fake/fashion-mnist"
ok $st "the test writes a fake Fashion-MNIST folder"

run --quiet --data-dir "$tmp/fake" -e 'local d = cwb.data.fashion_mnist{split = "test"}; print(#d, d:dim(), d:labels()[3])'
[ $st -eq 0 ] && [ "$(cat out)" = "$(printf '3\t784\t3')" ]
ok $? "--data-dir DIR: the test split found in DIR/fashion-mnist (3 rows of 784, labels 1-based)"
run --quiet --data-dir "$tmp/fake" -e 'local d = cwb.data.fashion_mnist{split = "test"}; print(d:z(), tostring(d))'
[ $st -eq 0 ] && [ "$(cat out)" = "$(printf 'nil\tdataset n=3 dim=784 (28x28 images) classes=10')" ]
ok $? "real data: ds:z() is nil (no latent points), tostring names the image shape"
CWB_DATA=$tmp/fake/fashion-mnist run --quiet -e 'print(#cwb.data.fashion_mnist{})'
[ $st -eq 0 ] && [ "$(cat out)" = 12 ]
ok $? "CWB_DATA=DIR: the train split found in DIR itself"
CWB_DATA=$tmp/empty run --quiet -e "print(#cwb.data.fashion_mnist{dir = '$tmp/fake', n = 5})"
[ $st -eq 0 ] && [ "$(cat out)" = 5 ]
ok $? "dir= wins over CWB_DATA; n = 5 keeps five rows"

run --quiet --data-dir "$tmp/empty" -e 'cwb.data.fashion_mnist{}'
[ $st -eq 1 ] && head -1 err | grep -q "no train-images-idx3-ubyte.gz in $tmp/empty" &&
    head -1 err | grep -q "install the Debian package dataset-fashion-mnist" &&
    head -1 err | grep -q -- "--data-dir DIR or CWB_DATA"
ok $? "missing files: exit 1, one line naming the file, the Debian package, --data-dir and CWB_DATA"
run --data-dir
[ $st -eq 2 ] && grep -q -- "--data-dir needs a folder" err
ok $? "--data-dir without a folder is a usage error (exit 2)"
run --help
grep -q -- "--data-dir DIR" out && grep -q "CWB_DATA" out
ok $? "cwb --help lists --data-dir and CWB_DATA"

run --quiet -e "local x, info = cwb.data.idx('$tmp/fake/fashion-mnist/t10k-labels-idx1-ubyte')
print(x:rows(), x:cols(), info.type, #info.dims, info.dims[1], table.concat(info.labels, ','))"
[ $st -eq 0 ] && [ "$(cat out)" = "$(printf '3\t1\tubyte\t1\t3\t0,1,2')" ]
ok $? "cwb.data.idx: a label file as a 3 x 1 tensor, its type, sizes and stored labels"
run --quiet -e "cwb.data.idx('$tmp/fake/fashion-mnist/bad.idx')"
[ $st -eq 1 ] && head -1 err | grep -q "bad.idx: truncated data: the file ends at byte 15, 6 ubyte values need bytes 12-17"
ok $? "cwb.data.idx on a truncated file: one line saying what and where"

run --quiet --data-dir "$tmp/fake" -e '
local ds = cwb.data.fashion_mnist{}
local tr = cwb.trainer.new{data = ds, batch = 4, encoder = {dims = {784, 16, 8}}}
local r = tr:run{steps = 3, record = false}
print(r.steps, ds:image_size())'
[ $st -eq 0 ] && [ "$(cat out)" = "$(printf '3\t28\t28')" ]
ok $? "a Fashion-MNIST data set trains in cwb.trainer.new{data = ds} (3 steps)"

run --quiet --data-dir "$tmp/fake" -e '
local tr = cwb.trainer.new{data = cwb.data.fashion_mnist{}, batch = 4, aug = {crop_pad = 2, crop_scale = 0, flip = 0.5},
  encoder = {dims = {784, 16, 8}, head = {8, 4}}, loss = {kind = "ntxent"},
  eval = {test = cwb.data.fashion_mnist{split = "test"}, knn = 5, val_frac = 0.25, l2 = {1e-2}}}
local p = tr:params()
local r = tr:run{steps = 6, record = false}
local a = tr:embed()
print(r.steps, p:match([["shuffle":(%a+)]]), p:match([["crop_pad":(%d+)]]), p:match([=["head":%[([%d,]+)%]]=]),
      p:match([["test_rows":(%d+)]]), a:rows(), a:cols(),
      r.eval.knn_acc >= 0 and r.eval.knn_acc <= 1, r.eval.linear_l2, r.eval.linear_seconds >= 0, r.eval.top1)'
[ $st -eq 0 ] && [ "$(cat out)" = "$(printf '6	true	2	8,8,4	3	3	4	true	0.01	true	nil')" ]
ok $? "cwb.trainer.new on images: image aug options, a head, epoch order, eval = {test = ...}: knn_acc, linear_* in r.eval ($(tr '\n' ' ' < out; head -1 err))"
for case in "aug = {jitter = 0.1}|option 'aug.jitter'" \
            "encoder = {dims = {784, 16, 8}, head = {}}|option 'encoder.head': 0 sizes given, need 1..8" \
            "encoder = {dims = {784, 16, 8}, head = {4}, shared = false}|encoder head needs the shared tower" \
            "eval = {test = 3}|option 'eval.test': dataset expected, got number" \
            "eval = {knn = -1}|option 'eval.knn': -1 is out of range" \
            "eval = {val_frac = 1}|linear probe: val_frac = 1 outside (0, 1)" \
            "eval = {l2 = {-1}}|option 'eval.l2': entry 1 must be a number >= 0" \
            "shuffle = true, batch_noise = 0.5|shuffle takes every image once an epoch"; do
    opts=${case%%|*}
    want=${case#*|}
    run --quiet --data-dir "$tmp/fake" -e "cwb.trainer.new{data = cwb.data.fashion_mnist{}, batch = 4, $opts}"
    [ $st -eq 1 ] && head -1 err | grep -qF -- "$want"
    ok $? "cwb.trainer.new{$opts} is refused in one line: $(head -1 err)"
done

run run --quiet --data-dir "$tmp/fake" --out fig "$AUG" -- --n 3 --erase 1
if "$CWB" -e 'os.exit(cwb.plot.available() and 0 or 1)' 2>/dev/null; then
    [ $st -eq 0 ] && [ "$(head -c 4 fig/augmentations.png | od -An -c | tr -d ' ')" = '211PNG' ]
    ok $? "examples/augmentations.lua draws fig/augmentations.png (3 images, two views)"
else
    [ $st -eq 0 ] && grep -q "no figure" out
    ok $? "examples/augmentations.lua runs without gnuplot and says there is no figure"
fi
run run --quiet --data-dir "$tmp/fake" --out fig "$AUG" -- --sharpen 1
[ $st -eq 1 ] && grep -q "unknown argument '--sharpen'" err && [ "$(wc -l < err)" -eq 1 ]
ok $? "examples/augmentations.lua refuses an unknown option"

if [ -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
    run --quiet -e 'local d = cwb.data.fashion_mnist{split = "test"}
local c = {}
for _, y in ipairs(d:labels()) do c[y] = (c[y] or 0) + 1 end
print(#d, c[1], c[10], d:class_names()[10])'
    [ $st -eq 0 ] && [ "$(cat out)" = "$(printf '10000\t1000\t1000\tAnkle boot')" ]
    ok $? "the installed test split: 10000 images, 1000 per class, class names"
else
    skip "dataset-fashion-mnist is not installed"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
