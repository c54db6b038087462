#!/bin/sh
# cli_loss_torch.sh - value and gradient parity of cwb's losses with PyTorch
# re-implementations of the peers' conventions (tests/cli/ref_losses.py):
# ntxent = lightly's NTXentLoss, dcl both_views = the DCL authors' loss (half
# their two-way sum), infonce symmetric = CLIP; and lightly's released
# DCLLoss shown to be another number.  The references write fixed inputs and
# their autograd gradients as .npy; a recipe compares cwb.loss on the same
# inputs.  Skipped when /usr/bin/python3 (or $PYTHON_TORCH) cannot import
# torch and numpy.  TAP.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
REF=$(tap_abs "$top_srcdir/tests/cli/ref_losses.py")
PY=${PYTHON_TORCH:-/usr/bin/python3}
tap_tmpdir losstorch
cd "$tmp" || exit 1

if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
    echo "1..0 # SKIP $PY cannot import torch and numpy (Debian: python3-torch)"
    exit 0
fi
"$PY" "$REF" "$tmp" >out 2>err
ok $? "the PyTorch references ran ($(cat out))"

cat > cmp.lua <<'EOF'
local T = require "cwb.test"
local dir = ...
local function load(name) return cwb.tensor.load_npy(dir .. "/" .. name .. ".npy") end
-- max |x - y| / max |y|: a factor or a sign error shows as >= 1
local function relerr(x, y)
  local d, m = 0, 0
  for i = 1, x:rows() do
    for j = 1, x:cols() do
      d = math.max(d, math.abs(x:get(i, j) - y:get(i, j)))
      m = math.max(m, math.abs(y:get(i, j)))
    end
  end
  return d / m
end
local cases = {"b8", "b64", "b33"}
local losses = {
  {"ntxent", "ntxent", function(a, b, tau) return cwb.loss.ntxent(a, b, {tau = tau}) end, 1},
  {"dcl both_views", "dcl_authors",
   function(a, b, tau) return cwb.loss.dcl(a, b, {tau = tau, both_views = true}) end, 2},
  {"infonce symmetric", "clip",
   function(a, b, tau) return cwb.loss.infonce(a, b, {tau = tau, symmetric = true}) end, 1},
}
for _, c in ipairs(cases) do
  local a, b, tau = load("a_" .. c), load("b_" .. c), load("tau_" .. c):get(1, 1)
  for _, l in ipairs(losses) do
    local label, ref, fn, factor = l[1], l[2], l[3], l[4]
    local v, ga, gb = fn(a, b, tau)
    local rv = load(ref .. "_" .. c .. "_value"):get(1, 1) / factor
    local rga, rgb = load(ref .. "_" .. c .. "_ga") * (1 / factor), load(ref .. "_" .. c .. "_gb") * (1 / factor)
    T.ok(math.abs(v - rv) <= 2e-5 * math.abs(rv) + 1e-6,
         string.format("%s %s (B=%d, tau=%g): value %.7f vs torch %.7f%s", label, c, a:rows(), tau,
                       v, rv, factor ~= 1 and " (half the authors' two-way sum)" or ""))
    local ea, eb = relerr(ga, rga), relerr(gb, rgb)
    T.ok(ea < 2e-4 and eb < 2e-4,
         string.format("%s %s: dL/da, dL/db vs torch autograd (rel err %.1e, %.1e)", label, c, ea, eb))
  end
  local v = cwb.loss.dcl(a, b, {tau = tau, both_views = true})
  local lv = load("dcl_lightly_" .. c .. "_value"):get(1, 1)
  T.ok(math.abs(v - lv) > 0.1,
       string.format("lightly's released DCLLoss (two log-sums) is another loss: %.4f vs cwb %.4f", lv, v))
end
T.done()
EOF
run run --quiet cmp.lua -- "$tmp"
sed -n '/^\(not \)\{0,1\}ok /p' out | while IFS= read -r line; do
    case $line in
        ok*) echo "ok $((n + 1)) - ${line#ok * - }" ;;
        *) echo "not ok $((n + 1)) - ${line#not ok * - }" ;;
    esac
    n=$((n + 1))
done > tap.out
cat tap.out
n=$((n + $(wc -l < tap.out)))
failed=$((failed + $(grep -c '^not ok' tap.out)))
[ $st -eq 0 ]; ok $? "the comparison recipe exits 0"
echo "1..$n"
[ "$failed" -eq 0 ]
