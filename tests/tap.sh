# tap.sh - the preamble the shell tests share; sourced, never run.
#
# Sets top_srcdir and top_builddir (to "." when run by hand from the
# source tree), CWB as an absolute path (so a test may cd), and the TAP
# helpers: ok STATUS DESCRIPTION, skip REASON, run ARGS (cwb into ./out and
# ./err, status in $st), has STRING FILE.  tap_tmpdir NAME makes $tmp,
# removed at exit; tap_lua_blocks DOC DIR extracts a document's ```lua
# examples.  A test prints "1..$n" at its end and fails when $failed is not
# 0.
: "${top_srcdir:=.}" "${top_builddir:=.}"

# tap_abs PATH: PATH, made absolute against the current directory
tap_abs() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$(pwd)" "$1" ;; esac; }
CWB=$(tap_abs "${CWB:-$top_builddir/src/cwb}")

# tap_tmpdir NAME [SIGNALS]: a fresh $tmp, removed on EXIT (and SIGNALS)
tap_tmpdir() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/cwb-$1.XXXXXX") || exit 1
    trap 'rm -rf "$tmp"' EXIT $2
}

# What a failing ok shows of ./out and ./err: a test may set these to "tail -8"
tap_out_lines=${tap_out_lines:-"head -5"}
tap_err_lines=${tap_err_lines:-"head -8"}

n=0
failed=0
ok() { # ok STATUS DESCRIPTION
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failed=$((failed + 1))
        echo "#   status: $st"
        sed 's/^/#   out: /' out 2>/dev/null | $tap_out_lines
        sed 's/^/#   err: /' err 2>/dev/null | $tap_err_lines
    fi
}
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
# tap_lua_blocks DOC DIR: each ```lua ... ``` block of DOC into
# DIR/block_<line>.lua (those of an earlier DOC removed), so that a test can
# run a document's examples as recipes.
tap_lua_blocks() {
    rm -f "$2"/block_*.lua
    awk -v dir="$2" '
        /^```lua[ \t]*$/ { inblock = 1; name = sprintf("%s/block_%04d.lua", dir, NR); next }
        /^```/ && inblock { inblock = 0; close(name); next }
        inblock { print > name }
    ' "$1"
}
run() { "$CWB" "$@" >out 2>err; st=$?; }
has() { grep -F -q -e "$1" "$2"; }
