# tmux_lib.sh - what the workbench's tmux tests share; sourced after
# tests/tap.sh, never run.
#
# Skips the test (TAP plan 0) without tmux or a built cwb.  Sets CWB (the
# program, absolute), UTF8 (a UTF-8 locale: box-drawing characters come
# back from capture-pane as UTF-8 only in one), TMP (a fresh folder,
# removed at exit with the tmux server) and the helpers:
#   T ARGS            tmux on the test's own server
#   cap               the screen of window "cwb" (cap -e: with colours)
#   wait_for RE [S]   poll the screen (into $TMP/screen) until a line matches,
#                     S seconds at most (default 8); show the screen if not
#   keys K...         send keys;  line TEXT: type TEXT and Enter
if ! command -v tmux >/dev/null 2>&1; then
    echo "1..0 # SKIP tmux not installed"
    exit 0
fi
tmux_abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
CWB=$(tmux_abs "$top_builddir/src/cwb")
if [ ! -x "$CWB" ]; then
    echo "1..0 # SKIP $CWB not built"
    exit 0
fi
UTF8=$(locale -a 2>/dev/null | grep -i -m1 '^c\.utf-\{0,1\}8$')
UTF8=${UTF8:-C.UTF-8}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cwb-tui.XXXXXX") || exit 1
SOCK="$TMP/tmux.sock"
T() { tmux -u -S "$SOCK" -f /dev/null "$@"; }
# cwb may still close its store as the server goes: try the removal again
tmux_cleanup() {
    T kill-server >/dev/null 2>&1
    rm -rf "$TMP" 2>/dev/null || { sleep 0.5; rm -rf "$TMP"; }
}
trap tmux_cleanup EXIT INT TERM

cap() { T capture-pane -p "$@" -t cwb 2>/dev/null; }
wait_for() {
    limit=$(( ${2:-8} * 10 ))
    i=0
    while [ $i -lt $limit ]; do
        cap > "$TMP/screen" && grep -q -- "$1" "$TMP/screen" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    echo "# waited for '$1'; the screen was:"
    sed 's/^/#   /' "$TMP/screen"
    return 1
}
keys() { T send-keys -t cwb "$@"; }
line() { T send-keys -t cwb -l "$1"; T send-keys -t cwb Enter; }
