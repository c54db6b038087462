#!/bin/sh
# cli_docs.sh - every ```lua block of docs/lua-api.md and docs/methods.md is
# a complete recipe: run each with `cwb run` (its own --out folder, a
# scratch run store) and expect exit 0.  Prints TAP, one test per block,
# named by its document and line.  DOCS="a.md b.md" checks other files.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"
DOCS=${DOCS:-"$top_srcdir/docs/lua-api.md $top_srcdir/docs/methods.md"}

tap_tmpdir docs

n=0
failed=0
for DOC in $DOCS; do
    case $DOC in /*) ;; *) DOC=$(pwd)/$DOC ;; esac
    name=docs/$(basename "$DOC")
    if [ ! -r "$DOC" ]; then
        n=$((n + 1))
        failed=$((failed + 1))
        echo "not ok $n - $name is readable"
        continue
    fi
    tap_lua_blocks "$DOC" "$tmp"
    found=0
    for f in "$tmp"/block_*.lua; do
        [ -e "$f" ] || continue
        found=1
        n=$((n + 1))
        line=$(basename "$f" .lua | sed 's/^block_0*//')
        out="$tmp/out_$(basename "$DOC" .md)_$line"
        if (cd "$tmp" && "$CWB" run --quiet --db "$tmp/docs.db" --out "$out" "$f") >"$tmp/stdout" 2>"$tmp/stderr"; then
            echo "ok $n - $name example at line $line runs"
        else
            failed=$((failed + 1))
            echo "not ok $n - $name example at line $line runs"
            sed 's/^/#   /' "$tmp/stderr" | head -20
        fi
    done
    if [ $found -eq 0 ]; then
        n=$((n + 1))
        failed=$((failed + 1))
        echo "not ok $n - $name has lua examples"
    fi
done
echo "1..$n"
[ $failed -eq 0 ]
