#!/bin/sh
# cli_fashion_mnist.sh - examples/fashion_mnist.lua as a user runs it, on
# the installed Fashion-MNIST (skipped without dataset-fashion-mnist): the
# batch-size study in --quick mode (summary.csv's header and one row per
# run, accuracies that parse and beat chance, the raw-pixel baselines, the
# smallest batch per loss, the figure), one --best run with the PyTorch
# reference beside it (skipped without python3-torch), and the recipe's
# arguments checked.  Prints TAP.
tap_out_lines="tail -8" tap_err_lines="tail -8"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
EX=$(tap_abs "$top_srcdir/examples/fashion_mnist.lua")
REF=$(tap_abs "$top_srcdir/scripts/ref_fashion_mnist.py")
tap_tmpdir fmnist
cd "$tmp" || exit 1
png() { [ -s "$1" ] && [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = 89504e470d0a1a0a ]; }

run run --quiet "$EX" -- --help
[ $st -eq 0 ] && grep -q -- '--batches' out && grep -q -- '--quick' out && grep -q -- '--reference' out
ok $? "fashion_mnist.lua -- --help lists its options"
run run --quiet "$EX" -- --batches 16,1
[ $st -eq 1 ] && [ "$(wc -l < err)" -eq 1 ] && grep -q "batches: 1 is too small" err
ok $? "a batch of 1 is refused in one line: $(cat err)"
run run --quiet "$EX" -- --losses infonce,clip
[ $st -eq 1 ] && [ "$(wc -l < err)" -eq 1 ] && grep -q "unknown loss 'clip'" err
ok $? "an unknown loss is refused in one line: $(cat err)"
run run --quiet "$EX" -- --reference
[ $st -eq 1 ] && [ "$(wc -l < err)" -eq 1 ] && grep -q "reference needs --best" err
ok $? "--reference without --best is refused in one line"

if [ ! -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
    skip "dataset-fashion-mnist is not installed: the study is not run"
    echo "1..$n"
    [ "$failed" -eq 0 ]
    exit
fi

run run --db runs.db --out q "$EX" -- --quick
[ $st -eq 0 ]; ok $? "fashion_mnist.lua --quick exits 0"
[ "$(head -1 q/summary.csv)" = "loss,batch,seed,epochs,knn_acc,linear_acc,seconds,train_seconds,eval_seconds,steps,final_loss,linear_l2,train,test" ]
ok $? "summary.csv has the header loss,batch,seed,epochs,knn_acc,linear_acc,seconds,..."
counts=$(awk -F, 'NR > 1 { c[$1 ":" $2]++ } END { printf "%d %d %d %d %d %d %d %d %d", c["infonce:16"], c["infonce:64"], c["ntxent:16"], c["ntxent:64"], c["decomposable:16"], c["decomposable:64"], c["sogclr:16"], c["sogclr:64"], NR - 1 }' q/summary.csv)
[ "$counts" = "1 1 1 1 1 1 1 1 8" ]
ok $? "one run per loss and batch (4 losses x batches 16, 64: $counts)"
bad=$(awk -F, 'NR > 1 {
        if (!($5 + 0 > 0.3 && $5 + 0 <= 1) || !($6 + 0 > 0.3 && $6 + 0 <= 1)) n++   # above chance (0.1)
        if (!($7 + 0 > 0) || $4 != 1 || $10 != int(2000 / $2) || $13 != 2000 || $14 != 500) n++
      } END { print n + 0 }' q/summary.csv)
[ "$bad" -eq 0 ]
ok $? "accuracies well above chance, positive seconds, 1 epoch = 2000/B steps on 2000 images, 500 test"
[ "$(head -1 q/baselines.csv)" = "method,train,test,accuracy,seconds" ] && [ "$(wc -l < q/baselines.csv)" -eq 3 ]
ok $? "baselines.csv: kNN and the linear probe on raw pixels of the same images"
[ "$(head -1 q/smallest_batch.csv)" = "loss,best_batch,best_linear_acc,smallest_batch_99,acc_at_smallest" ] &&
    [ "$(awk -F, 'NR > 1 && ($4 == 16 || $4 == 64) && $4 <= $2' q/smallest_batch.csv | wc -l)" -eq 4 ]
ok $? "smallest_batch.csv: per loss a smallest batch within 99% of its best, never above the best's batch"
grep -q '^smallest batch at which' out && grep -q 'raw pixels: kNN' out && grep -q '^best run: ' out
ok $? "the output states the baselines, the smallest batches and the best run"
if "$CWB" -e 'assert(cwb.plot.available())' >/dev/null 2>&1; then
    png q/fashion_mnist.png; ok $? "fashion_mnist.png is a PNG"
else
    grep -q 'figure skipped' out; ok $? "without gnuplot the recipe says the figure is skipped"
fi
[ "$("$CWB" runs list --db runs.db 2>/dev/null | grep -c 'fmnist-')" -eq 8 ]
ok $? "the 8 runs are in the run store"

if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    run run --quiet --out b "$EX" -- --best --reference --train 1000 --test 300 --epochs 1 --best-batch 50 --no-baseline
    [ $st -eq 0 ] && grep -q '^cwb: *linear probe 0\.[0-9]*, training' out && grep -q '^PyTorch: linear probe 0\.[0-9]*, training' out &&
        grep -q "^difference .* points; cwb's training time is" out
    ok $? "--best --reference: cwb and the PyTorch reference in one run, both accuracies and times printed"
    [ "$(awk -F, 'NR > 1' b/summary.csv | wc -l)" -eq 1 ] && grep -q '^ntxent,50,1,1,' b/summary.csv
    ok $? "--best: one run, ntxent at the batch asked for"
    /usr/bin/python3 "$REF" --train 400 --test 200 --epochs 1 --batch 40 --loss infonce > out 2> err
    st=$?
    [ $st -eq 0 ] && grep -q '^linear_acc 0\.' out && grep -q '^train_seconds ' out && grep -q '^threads 1$' out
    ok $? "ref_fashion_mnist.py alone, symmetric InfoNCE: linear_acc, train_seconds, threads 1"
else
    skip "python3-torch is not installed: no PyTorch reference (scripts/install-deps --bench)"
fi
echo "1..$n"
[ "$failed" -eq 0 ]
