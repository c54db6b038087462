#!/bin/sh
# cli_analyze.sh - `cwb analyze A.npy B.npy [--labels Y.npy] [--out DIR]` on
# .npy files this test makes with NumPy: report.csv against NumPy's own
# computation of every metric on the normalised rows, the Projector TSV
# files, the figures, the normalisation note, cwb.analyze from a recipe,
# and one clear line for each kind of bad input.  Skipped without
# /usr/bin/python3 and numpy.  TAP.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
PY=/usr/bin/python3
tap_tmpdir analyze
cd "$tmp" || exit 1

if ! "$PY" -c 'import numpy' 2>/dev/null; then
    echo "1..0 # SKIP $PY cannot import numpy (Debian: python3-numpy)"
    exit 0
fi

cat > make.py <<'EOF'
import numpy as np
r = np.random.default_rng(7)
n, k = 120, 12
y = r.integers(3, 8, n)                      # labels 3..7: mapped to classes in order
c = 2.0 * r.standard_normal((8, k))
a = c[y] + r.standard_normal((n, k))
b = 0.6 * a + 0.9 * r.standard_normal((n, k)) + 1.2
np.save("A.npy", a.astype(np.float32))
np.save("B.npy", b.astype(np.float64))       # float64 is read too
np.save("Y.npy", y)                          # int64, NumPy's default
an = a.astype(np.float32).astype(np.float64); an /= np.linalg.norm(an, axis=1, keepdims=True)
bn = b.astype(np.float32).astype(np.float64); bn /= np.linalg.norm(bn, axis=1, keepdims=True)
np.save("An.npy", an.astype(np.float32))     # already unit rows
def unif(x):
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    iu = np.triu_indices(len(x), 1)
    return np.log(np.mean(np.exp(-2 * d[iu])))
def recall(p, q, K):
    s = p @ q.T
    pos = np.diag(s)[:, None]
    rank = (s > pos).sum(1) + ((s == pos).sum(1) - 1)   # ties count against the query
    return np.mean(rank < K)
def knn(tr, ytr, te, loo, kk=20, T=0.07):
    s = te @ tr.T
    if loo: np.fill_diagonal(s, -np.inf)
    pred = []
    for i in range(len(te)):
        nb = np.argsort(-s[i], kind="stable")[:kk]
        score = {}
        for j in nb: score[ytr[j]] = score.get(ytr[j], 0) + np.exp(s[i, j] / T)
        pred.append(max(sorted(score), key=lambda c: score[c]))
    return np.array(pred)
m = {
    "n": n, "dim": k, "a_normalised": 1, "b_normalised": 1,
    "gap_centroid": np.linalg.norm(an.mean(0) - bn.mean(0)),
    "gap_paired": np.linalg.norm(an - bn, axis=1).mean(),
    "alignment": (np.linalg.norm(an - bn, axis=1) ** 2).mean(),
    "uniformity": (unif(an) + unif(bn)) / 2, "uniformity_a": unif(an), "uniformity_b": unif(bn),
}
for K in (1, 5, 10):
    m["r%d_a2b" % K] = recall(an, bn, K)
    m["r%d_b2a" % K] = recall(bn, an, K)
m["classes"] = len(set(y))
m["knn_k"] = 20
m["knn_acc"] = np.mean(knn(an, y, an, True) == y)
m["knn_acc_b"] = np.mean(knn(bn, y, bn, True) == y)
m["knn_acc_b2a"] = np.mean(knn(an, y, bn, False) == y)
with open("expected.csv", "w") as f:
    for key, v in m.items(): f.write("%s,%.10g\n" % (key, v))
np.savetxt("an.txt", np.vstack([an, bn]), fmt="%.9g", delimiter="\t")
# bad inputs
np.save("A99.npy", a[:99].astype(np.float32))
bad = a.astype(np.float32).copy(); bad[3, 2] = np.nan; np.save("Anan.npy", bad)
zero = a.astype(np.float32).copy(); zero[5] = 0; np.save("Azero.npy", zero)
np.save("Acomplex.npy", a.astype(np.complex64))
np.save("Awide.npy", np.hstack([a, a]).astype(np.float32))
np.save("Yfloat.npy", y + 0.5)
np.save("Yshort.npy", y[:100])
np.save("Y2d.npy", np.stack([y, y], 1))
EOF
"$PY" make.py >out 2>err
ok $? "NumPy wrote the inputs and computed the expected report"

run --quiet analyze A.npy B.npy --labels Y.npy --out res --tsne-max 100
ok $st "cwb analyze A.npy B.npy --labels Y.npy --out res exits 0"
grep -q "note: A.npy: rows were not unit length (norms .* to .*); normalised" out &&
    grep -q "note: B.npy: rows were not unit length" out
ok $? "the output says that both sets were normalised"
grep -q "note: t-SNE on 50 of the 120 pairs (a seeded subset; tsne_max = 100 points)" out
ok $? "the output says t-SNE ran on a seeded subset"
[ "$(head -1 res/report.csv)" = "metric,value" ]
ok $? "report.csv starts with the header metric,value"
missing=""
for m in gap_centroid gap_paired alignment uniformity r1_a2b r1_b2a r5_a2b r5_b2a r10_a2b r10_b2a knn_acc; do
    grep -q "^$m," res/report.csv || missing="$missing $m"
done
[ -z "$missing" ]; ok $? "report.csv has the required rows${missing:+ (missing:$missing)}"
# every expected metric within 2e-5 (float32 against NumPy's float64)
awk -F, 'NR == FNR { want[$1] = $2; next }
         FNR > 1 { got[$1] = $2 }
         END { bad = 0
               for (k in want) {
                   d = got[k] - want[k]; if (d < 0) d = -d
                   if (!(k in got) || d > 2e-5 * (1 + (want[k] < 0 ? -want[k] : want[k]))) {
                       printf "#   %s: cwb %s, numpy %s\n", k, got[k], want[k]; bad = 1 } }
               exit bad }' expected.csv res/report.csv
ok $? "every value of report.csv matches NumPy's computation on the normalised rows"

# TensorBoard Projector files
lines=$(wc -l < res/vectors.tsv)
cols=$(awk -F'\t' '{ print NF }' res/vectors.tsv | sort -u)
[ "$lines" -eq 240 ] && [ "$cols" = 12 ]
ok $? "vectors.tsv: one tab-separated vector of 12 values per line, A's 120 then B's 120, no header"
awk -F'\t' 'NR == FNR { for (j = 1; j <= NF; j++) v[FNR, j] = $j; next }
            { for (j = 1; j <= NF; j++) { d = $j - v[FNR, j]; if (d < 0) d = -d; if (d > 1e-6) bad = 1 } }
            END { exit bad }' an.txt res/vectors.tsv
ok $? "vectors.tsv holds the normalised rows"
[ "$(head -1 res/metadata.tsv)" = "$(printf 'set\tindex\tlabel')" ] &&
    [ "$(wc -l < res/metadata.tsv)" -eq 241 ] &&
    [ "$(sed -n 2p res/metadata.tsv | cut -f1,2)" = "$(printf 'A\t0')" ] &&
    [ "$(sed -n 122p res/metadata.tsv | cut -f1,2)" = "$(printf 'B\t0')" ]
ok $? "metadata.tsv: a header row, then set, index and label for each vector"
"$PY" -c "
import numpy as np
y = np.load('Y.npy'); lab = [int(l.split('\t')[2]) for l in open('res/metadata.tsv').read().split('\n')[1:] if l]
assert lab == list(y) + list(y)" 2>err
ok $? "metadata.tsv's labels are the values of Y.npy"
if "$CWB" -e 'os.exit(cwb.plot.available() and 0 or 1)' 2>/dev/null; then
    [ "$(head -c 4 res/pca.png | od -An -c | tr -d ' ')" = '211PNG' ] &&
        [ "$(head -c 4 res/tsne.png | od -An -c | tr -d ' ')" = '211PNG' ]
    ok $? "pca.png and tsne.png are written"
else
    skip "gnuplot not installed: no figures"
fi

run --quiet analyze An.npy B.npy --out res2 --tsne-max 0
[ $st -eq 0 ] && ! grep -q "note: An.npy" out && grep -q '^a_normalised,0$' res2/report.csv &&
    grep -q '^b_normalised,1$' res2/report.csv && ! grep -q knn_acc res2/report.csv && [ ! -e res2/tsne.png ]
ok $? "unit rows are used as they are (a_normalised 0); without labels no kNN; --tsne-max 0: no t-SNE"
grep '^gap_centroid,' res2/report.csv > g2
grep '^gap_centroid,' res/report.csv > g1
awk -F, 'NR == FNR { a = $2; next } { d = a - $2; exit !(d < 1e-6 && d > -1e-6) }' g1 g2
ok $? "normalising by hand first gives the same gap"

cat > lua_analyze.lua <<'EOF'
local a = cwb.tensor.load_npy("A.npy")
local r = cwb.analyze{a = a, b = "B.npy", labels = "Y.npy", out = "res3", tsne_max = 0}
local want = {}
for line in io.lines("res/report.csv") do
  local k, v = line:match("^([%w_]+),(.+)$")
  if k and k ~= "metric" then want[k] = tonumber(v) end
end
local bad = 0
for k, v in pairs(want) do
  if math.abs(r.metrics[k] - v) > 1e-7 * (1 + math.abs(v)) then bad = bad + 1; print(k, r.metrics[k], v) end
end
print(bad == 0 and "same" or "different", #r.notes)
EOF
mkdir res3
run run --quiet lua_analyze.lua
[ $st -eq 0 ] && grep -q "^same" out
ok $? "cwb.analyze{a = tensor, b = path, labels = path} from a recipe gives the same report"

# one clear line for each kind of bad input (exit 1), usage errors (exit 2)
bad() { # bad STATUS PATTERN DESCRIPTION ARGS...
    want=$1 pat=$2 what=$3
    shift 3
    run --quiet analyze "$@" --out badout --tsne-max 0
    [ $st -eq "$want" ] && [ "$(wc -l < err)" -eq 1 ] && grep -q -- "$pat" err
    ok $? "$what: exit $want, one line ($(head -1 err))"
}
bad 1 "A99.npy has 99 rows, B.npy has 120: row i of one must pair with row i of the other" \
    "mismatched rows" A99.npy B.npy
bad 1 "Awide.npy has 24 columns, B.npy has 12" "mismatched widths" Awide.npy B.npy
bad 1 "Anan.npy: row 3 (from 0) is not finite (NaN or Inf)" "a NaN row" Anan.npy B.npy
bad 1 "Azero.npy: row 5 (from 0) is all zeros" "an all-zero row" Azero.npy B.npy
bad 1 "Acomplex.npy: unsupported dtype '<c8'" "a complex dtype" Acomplex.npy B.npy
bad 1 "Yfloat.npy: label 0 (from 0) is .*, not an integer" "float labels" A.npy B.npy --labels Yfloat.npy
bad 1 "Yshort.npy: 100 labels for 120 rows" "too few labels" A.npy B.npy --labels Yshort.npy
bad 1 "Y2d.npy: labels must be one column" "2-D labels" A.npy B.npy --labels Y2d.npy
bad 1 "nothere.npy: No such file or directory" "a missing file" nothere.npy B.npy
bad 2 "two .npy files expected, got 1" "one file" A.npy
bad 2 "unknown option '--lables'" "a misspelt option" A.npy B.npy --lables Y.npy
bad 2 "--tsne-max expects a number of points" "a bad --tsne-max" A.npy B.npy --tsne-max x
run analyze -e 'print(1)' A.npy B.npy
[ $st -eq 2 ]; ok $? "analyze with -e is a usage error"

echo "1..$n"
[ "$failed" -eq 0 ]
