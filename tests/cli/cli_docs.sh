#!/bin/sh
# cli_docs.sh - every ```lua block of docs/lua-api.md is a complete recipe:
# run each with `cwb run` (its own --out folder, a scratch run store) and
# expect exit 0.  Prints TAP, one test per block, named by its line.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
DOC=${DOC:-$top_srcdir/docs/lua-api.md}
case $DOC in /*) ;; *) DOC=$(pwd)/$DOC ;; esac

tap_tmpdir docs

if [ ! -r "$DOC" ]; then
    echo "1..0 # SKIP $DOC not found"
    exit 0
fi

# block_<line>.lua for each ```lua ... ``` fence
awk -v dir="$tmp" '
    /^```lua[ \t]*$/ { inblock = 1; name = sprintf("%s/block_%04d.lua", dir, NR); next }
    /^```/ && inblock { inblock = 0; close(name); next }
    inblock { print > name }
' "$DOC"

n=0
failed=0
for f in "$tmp"/block_*.lua; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    line=$(basename "$f" .lua | sed 's/^block_0*//')
    out="$tmp/out_$line"
    if (cd "$tmp" && "$CWB" run --quiet --db "$tmp/docs.db" --out "$out" "$f") >"$tmp/stdout" 2>"$tmp/stderr"; then
        echo "ok $n - docs/lua-api.md example at line $line runs"
    else
        failed=$((failed + 1))
        echo "not ok $n - docs/lua-api.md example at line $line runs"
        sed 's/^/#   /' "$tmp/stderr" | head -20
    fi
done
if [ $n -eq 0 ]; then
    echo "not ok 1 - docs/lua-api.md has lua examples"
    n=1
    failed=1
fi
echo "1..$n"
[ $failed -eq 0 ]
