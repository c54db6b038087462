#!/bin/sh
# layering.sh - the shape of the source tree (docs/architecture.md): a file
# under src/ includes headers of its own layer or of lower layers only.
#
#   util < engine/core < engine/{nn,loss,data} < engine/eval < engine/train
#        < store < plot < lua < ui < app
#
# engine/nn, engine/loss and engine/data are siblings: none includes
# another.  An include is resolved against src/ first and then against the
# including file's folder (so a tree that still uses bare names is judged
# too, as is src/engine/ for a tree built with -Isrc/engine); one that
# resolves to no layer is a failure as well.
#   tests/layering.sh [SRCDIR]     (default: $top_srcdir/src)
. "${top_srcdir:-$(dirname "$0")/..}/tests/tap.sh"
src=${1:-$top_srcdir/src}

rank() { # rank PATH-UNDER-SRC: the layer's rank, or nothing
    case $1 in
    util/*) echo 0 ;;
    engine/core/*) echo 1 ;;
    engine/nn/*|engine/loss/*|engine/data/*) echo 2 ;;
    engine/eval/*) echo 3 ;;
    engine/train/*) echo 4 ;;
    engine/*) echo 2 ;;   # a flat engine folder: one layer above util
    store/*) echo 5 ;;
    plot/*) echo 6 ;;
    lua/*) echo 7 ;;
    ui/*) echo 8 ;;
    app/*|main.c) echo 9 ;;
    esac
}
group() { # the folder that names a layer (siblings differ in it)
    case $1 in engine/*/*) echo "${1%/*}" ;; *) echo "${1%%/*}" ;; esac
}

files=$(cd "$src" && find . -name '*.[ch]' | sed 's|^\./||' | sort)
[ -n "$files" ] || { echo "not ok 1 - no sources under $src"; echo "1..1"; exit 1; }
for f in $files; do
    fr=$(rank "$f")
    bad=""
    if [ -z "$fr" ]; then
        bad="$f is in no layer"
    else
        for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$src/$f"); do
            [ "$inc" = config.h ] && continue
            if [ -f "$src/$inc" ]; then p=$inc
            else
                d=$(dirname "$f")
                if [ -f "$src/$d/$inc" ]; then p="$d/$inc"
                elif [ -f "$src/engine/$inc" ]; then p="engine/$inc"   # an old -Isrc/engine
                else bad="$bad; $inc not found"; continue
                fi
            fi
            ir=$(rank "$p")
            if [ -z "$ir" ]; then bad="$bad; $inc is in no layer"
            elif [ "$ir" -gt "$fr" ]; then bad="$bad; includes $p from a higher layer"
            elif [ "$ir" -eq "$fr" ] && [ "$fr" -eq 2 ] && [ "$(group "$p")" != "$(group "$f")" ]; then
                bad="$bad; includes its sibling $p"
            fi
        done
    fi
    if [ -z "$bad" ]; then ok 0 "$f"
    else ok 1 "$f: ${bad#; }"
    fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
