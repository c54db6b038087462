# tmux_lib.sh - what the workbench's tmux tests share; sourced after
# tests/tap.sh, never run.
#
# Skips the whole test (exit 0) when tmux or the program is missing.  Sets
# CWB (absolute), UTF8 (a UTF-8 locale, so that box-drawing characters come
# back from capture-pane as UTF-8), TMP (a fresh folder, removed at exit
# with the tmux server) and the helpers:
#   tmux_start NAME COLS ROWS [ARGS]  cwb ARGS in a detached pane of that size,
#                                     cwd $TMP, its own history and run store;
#                                     its exit status lands in $TMP/exit.NAME
#   S NAME                            the session the helpers below talk to
#   cap [-e]                          the screen, as text (-e: with colours)
#   wait_for REGEX [SECONDS]          poll the screen (into $TMP/screen) until
#                                     a line matches; 1 (and the screen as
#                                     TAP comments) on timeout
#   keys KEY...   line TEXT           send keys / type a line and Enter
#   wait_exit NAME [SECONDS]          poll for the session's exit status
# Every wait polls with a timeout, so a test is quick when cwb is and fails
# (rather than hangs) when it is not.  tmux_abs PATH makes a path absolute.
if ! command -v tmux >/dev/null 2>&1; then
    echo "1..0 # SKIP tmux not installed"
    exit 0
fi
tmux_abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
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

SESSION=cwb
S() { SESSION=$1; }
tmux_start() {
    name=$1 cols=$2 rows=$3
    shift 3
    rm -f "$TMP/exit.$name"
    T new-session -d -s "$name" -x "$cols" -y "$rows" \
        "cd '$TMP' && env TERM=screen LC_ALL=$UTF8 CWB_HISTORY='$TMP/history' CWB_DB='$TMP/runs.db' '$CWB' $*; \
         echo EXIT=\$? > '$TMP/exit.$name'; stty -a > '$TMP/stty.$name' 2>&1; sleep 30"
    SESSION=$name
}
cap() { T capture-pane -p "$@" -t "$SESSION" 2>/dev/null; }
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
keys() { T send-keys -t "$SESSION" "$@"; }
line() { T send-keys -t "$SESSION" -l "$1"; T send-keys -t "$SESSION" Enter; }
wait_exit() {
    limit=$(( ${2:-8} * 10 ))
    i=0
    while [ ! -s "$TMP/exit.$1" ] && [ $i -lt $limit ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$TMP/exit.$1" ]
}
