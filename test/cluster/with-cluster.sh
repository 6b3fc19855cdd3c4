#!/usr/bin/env bash
# Usage: test/cluster/with-cluster.sh [cluster options] -- COMMAND ARGS...
#
# Starts the local Alternator stand-in cluster (alternator-cluster.js), waits
# for READY, exports ALT_CLUSTER_PORT and ALT_CLUSTER_CONTROL, runs COMMAND
# with every "{PORT}" in its arguments replaced by the port, stops the
# cluster by PID and exits with COMMAND's exit status.
#
# The cluster reads its stdin from a FIFO whose only writer is this script:
# if this script dies (even by kill -9) the cluster sees EOF and exits; it
# also exits when its parent (this script) disappears.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

cluster_args=()
while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then shift; break; fi
    cluster_args+=("$1"); shift
done
if [ $# -eq 0 ]; then
    echo "usage: $0 [cluster options] -- COMMAND ARGS..." >&2
    exit 2
fi

if [ ! -d "$here/node_modules/dynalite" ]; then
    (cd "$here" && npm ci --no-audit --no-fund >&2) || { echo "with-cluster: npm ci failed" >&2; exit 1; }
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/alt-cluster.XXXXXX") || exit 1
fifo="$tmp/stdin"
out="$tmp/stdout"
mkfifo "$fifo" || exit 1
: > "$out"

cluster_pid=""
cmd_pid=""
cleanup() {
    trap - EXIT INT TERM HUP
    if [ -n "$cmd_pid" ] && kill -0 "$cmd_pid" 2>/dev/null; then
        kill -TERM "$cmd_pid" 2>/dev/null
        wait "$cmd_pid" 2>/dev/null
    fi
    if [ -n "$cluster_pid" ]; then
        exec 3>&-                       # EOF on the cluster's stdin
        kill -TERM "$cluster_pid" 2>/dev/null
        for _ in $(seq 50); do
            kill -0 "$cluster_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$cluster_pid" 2>/dev/null
        wait "$cluster_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP

node "$here/alternator-cluster.js" "${cluster_args[@]}" < "$fifo" > "$out" &
cluster_pid=$!
exec 3> "$fifo"     # the only writer: unblocks the child's open of the FIFO

ready=""
for _ in $(seq 300); do           # 15 s
    ready=$(grep -m1 '^READY ' "$out" 2>/dev/null || true)
    [ -n "$ready" ] && break
    kill -0 "$cluster_pid" 2>/dev/null || break
    sleep 0.05
done
if [ -z "$ready" ]; then
    echo "with-cluster: cluster did not become ready" >&2
    exit 1
fi

port=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' <<< "$ready")
control=$(sed -n 's/.* control=\([0-9]*\).*/\1/p' <<< "$ready")
export ALT_CLUSTER_PORT="$port" ALT_CLUSTER_CONTROL="$control"

args=()
for a in "$@"; do args+=("${a//\{PORT\}/$port}"); done

# The command must not inherit the FIFO's write end (fd 3); run it in the
# background (with our stdin) so that signals to this script act at once.
"${args[@]}" 3>&- <&0 &
cmd_pid=$!
wait "$cmd_pid"
rc=$?
cmd_pid=""
exit "$rc"
