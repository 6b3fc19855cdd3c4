#!/usr/bin/env bash
# Runs the benchmarks of issue 4 and prints one Markdown report.
#
#   test/bench/run.sh [build-dir]        (default: build-bench in the repo)
#
# Builds the library, alt_bench, accept_bench, tail_bench and request_bench
# in Release if
# needed, installs nginx-light, HAProxy and valgrind from Debian if they are
# missing (and, for part 7, Node.js and the test cluster's npm packages with
# test/deps.sh), starts them on 127.0.0.x with generated configurations in a
# temporary directory (servers pinned to the second CPU, the client pins
# itself to the first), runs the parts and stops every server it started,
# by PID, also on error or Ctrl-C.
#
# Environment: BENCH_PORT_BASE (default: random in 10000..29999),
# BENCH_REQUESTS (20000), BENCH_REPS (3), BENCH_PARTS ("1 2 2b 3 5 6 7 8 8i"),
# BENCH_OUT (also write the report to this file), BENCH_SERVE=1 (only start
# the servers of part 2 and wait, for profiling alt_bench by hand),
# BENCH_BIN (run this alt_bench instead of building one; accept_bench,
# tail_bench and request_bench are taken from its directory), BENCH_TAIL_ARGS (extra
# arguments for tail_bench, e.g. "req=health requests=5000").
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:-$repo/build-bench}
requests=${BENCH_REQUESTS:-20000}
reps=${BENCH_REPS:-3}
parts=${BENCH_PARTS:-"1 2 2b 3 5 6 7 8 8i"}
base=${BENCH_PORT_BASE:-$((10000 + RANDOM % 20000))} # below the ephemeral ports
ncpu=$(nproc)
server_cpu=$((ncpu > 1 ? 1 : 0))

log() { echo "run.sh: $*" >&2; }

# --- servers: install if missing ---------------------------------------------
if [ ! -x /usr/sbin/nginx ] || [ ! -x /usr/sbin/haproxy ] || ! command -v valgrind >/dev/null; then
    log "installing nginx-light, haproxy and valgrind"
    apt-get update && apt-get install -y nginx-light haproxy valgrind
fi
# Parts 7 and 8 run the local Alternator stand-in (test/cluster): Node.js
# and its npm packages.
if [[ " $parts " == *" 7 "* || " $parts " == *" 8 "* ]] &&
    { ! command -v node >/dev/null || [ ! -d "$repo/test/cluster/node_modules" ]; }; then
    log "installing Node.js and the test cluster's packages (test/deps.sh)"
    "$repo/test/deps.sh"
fi

# --- build ---------------------------------------------------------------------
if grep -q 'add_subdirectory(test/bench)' "$repo/CMakeLists.txt"; then
    src=$repo; exe=test/bench/alt_bench; opts=(-DALT_BUILD_BENCH=ON)
else
    # The top CMakeLists.txt does not add test/bench: build it alone (it
    # builds the library from this source tree itself).
    src=$here; exe=alt_bench; opts=()
fi
# A build directory of another source tree, a sanitizer build (its numbers
# mean nothing) or an unoptimised one is left alone: nest a Release build in it.
cache=$build/CMakeCache.txt
if [ -f "$cache" ] && { ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$src" "$cache" ||
        grep -q '^ALT_SANITIZE:BOOL=ON' "$cache" ||
        ! grep -qE '^CMAKE_BUILD_TYPE:STRING=(Release|RelWithDebInfo)$' "$cache"; }; then
    build=$build/bench-release
    cache=$build/CMakeCache.txt
fi
[ -f "$cache" ] || opts+=(-DCMAKE_BUILD_TYPE=Release)
if [ -n "${BENCH_BIN:-}" ]; then
    bench=$BENCH_BIN # e.g. built against a patched library, for an A/B run
else
    cmake -S "$src" -B "$build" "${opts[@]}" >/dev/null
    cmake --build "$build" --target alt_bench accept_bench tail_bench request_bench \
        -j"$ncpu" >/dev/null
    bench=$build/$exe
fi

# --- temp dir, cleanup -----------------------------------------------------------
tmp=$(mktemp -d /tmp/alt-bench.XXXXXX)
pids=()
stop_all() {
    local p
    for p in "${pids[@]:-}"; do
        [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${pids[@]:-}"; do
        [ -n "$p" ] && { wait "$p"; } 2>/dev/null || true
    done
    pids=()
}
cleanup() {
    stop_all
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

p3=$((base + 3)); p6=$((base + 6)); p16=$((base + 16))
pf=$((base + 30)); ph=$((base + 40))

# A /localnodes answer listing 127.0.0.1..n.
nodes_json() {
    local n=$1 i s=""
    for ((i = 1; i <= n; i++)); do s+="${s:+,}\"127.0.0.$i\""; done
    printf '%s' "$s"
}
# An nginx server block: n nodes on port, every node listing all n.
server_block() {
    local n=$1 port=$2 i
    echo "    server {"
    for ((i = 1; i <= n; i++)); do echo "        listen 127.0.0.$i:$port;"; done
    cat <<EOF
        location = /localnodes { return 200 '[$(nodes_json "$n")]'; }
        location = / {
            default_type application/x-amz-json-1.0;
            return 200 '{"TableNames":[]}';
        }
        location / { return 404; }
    }
EOF
}
nginx_conf() { # dir, extra directives, server blocks...
    local dir=$1 extra=$2; shift 2
    cat <<EOF
worker_processes 1;
worker_rlimit_nofile 16384;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
$extra
events { worker_connections 8192; }
http {
    default_type application/json;
    keepalive_requests 1000000000;
    keepalive_timeout 300s;
    client_body_temp_path $dir/body;
    # One line for the first request of each connection (counts the
    # connections accepted, per address) and one for every request that
    # carries X-Bench-Log (counts the spread); nothing else.
    log_format bench '\$server_addr \$server_port \$connection \$connection_requests \$request_method \$uri \$http_x_bench_log';
    map "\$connection_requests:\$http_x_bench_log" \$bench_log {
        "~^1:" 1;
        "~:1\$" 1;
        default 0;
    }
    access_log $dir/access.log bench if=\$bench_log;
$(for b in "$@"; do echo "$b"; done)
}
EOF
}
wait_http() { # url: until it answers HTTP 200 (bash's /dev/tcp, no curl CLI)
    local hostport=${1#http://} i
    local host=${hostport%%:*} rest=${hostport#*:}
    local port=${rest%%/*} path=/${rest#*/}
    for ((i = 0; i < 100; i++)); do
        if (exec 3<>"/dev/tcp/$host/$port" &&
            printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$host" >&3 &&
            head -c 12 <&3 | grep -q ' 200') 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    log "server at $1 did not come up:"
    cat "$tmp"/*.stderr "$tmp"/*/stderr "$tmp"/*/error.log 2>/dev/null | tail -20 >&2
    return 1
}
start_nginx() { # dir
    taskset -c "$server_cpu" /usr/sbin/nginx -p "$1" -c "$1/nginx.conf" -g 'daemon off;' \
        2>>"$1/stderr" &
    pids+=($!)
}

# Main nginx: 3, 6 and 16 node clusters on three ports, one worker.
mkdir -p "$tmp/main"
nginx_conf "$tmp/main" "" "$(server_block 3 $p3)" "$(server_block 6 $p6)" \
    "$(server_block 16 $p16)" >"$tmp/main/nginx.conf"

# HAProxy in front of the 6-node cluster.
cat >"$tmp/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4096
    pidfile $tmp/haproxy.pid
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend fe
    bind 127.0.0.1:$ph
    default_backend nodes
backend nodes
    balance roundrobin
$(for i in 1 2 3 4 5 6; do echo "    server n$i 127.0.0.$i:$p6"; done)
EOF

out() { if [ -n "${BENCH_OUT:-}" ]; then tee -a "$BENCH_OUT"; else cat; fi; }
[ -n "${BENCH_OUT:-}" ] && : >"$BENCH_OUT"

{
    echo "## alternator_lb benchmarks ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')
    if [ -n "$(git -C "$repo" status --porcelain -- lib include 2>/dev/null)" ]; then
        rev="$rev + uncommitted changes in lib/ or include/"
    fi
    echo "Library: $rev. Load average before: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"\
         "$(uname -r), libcurl $(curl-config --version 2>/dev/null | cut -d' ' -f2 || echo '?'),"\
         "$(/usr/sbin/nginx -v 2>&1 | cut -d' ' -f3), HAProxy $(/usr/sbin/haproxy -v | head -1 | cut -d' ' -f3)."
    echo
} | out

if [ -n "${BENCH_SERVE:-}" ]; then
    # For profiling by hand: the servers of part 2, until Ctrl-C.
    start_nginx "$tmp/main"
    taskset -c "$server_cpu" /usr/sbin/haproxy -f "$tmp/haproxy.cfg" -db 2>>"$tmp/haproxy.stderr" &
    pids+=($!)
    wait_http "http://127.0.0.1:$ph/localnodes"
    log "serving: nodes 127.0.0.1..16, 3 nodes on $p3, 6 on $p6, 16 on $p16; HAProxy on 127.0.0.1:$ph; log $tmp/main/access.log"
    log "e.g. $bench throughput port=$p6 proxy=$ph modes=b conc=8 reps=1"
    while true; do
        sleep 3600 &
        pids+=($!)
        wait $! || true
    done
fi

rc=0
for part in $parts; do
    case $part in
    1)
        log "part 1: alt_curl_prepare"
        "$bench" prepare | out || rc=1
        ;;
    7)
        # The cluster is a child of tail_bench, which pins both to one CPU
        # and stops the cluster when it ends (or dies).
        log "part 7: tail latency with one slow node (about 2 minutes)"
        # shellcheck disable=SC2086 # BENCH_TAIL_ARGS: words on purpose
        ALT_CLUSTER_DIR=$repo/test/cluster "$(dirname "$bench")/tail_bench" \
            cpu="$server_cpu" ${BENCH_TAIL_ARGS:-} | out || rc=1
        ;;
    8)
        # The request-aware path: prepare alone (no server), CPU per request
        # and compression against the main nginx (6 nodes), then bytes per
        # request against the local cluster, which request_bench starts and
        # stops itself (a child of it, like tail_bench's). About 80 s.
        rb=$(dirname "$bench")/request_bench
        log "part 8a: request-aware prepare (ns and allocations per call)"
        "$rb" micro | out || rc=1
        start_nginx "$tmp/main"
        wait_http "http://127.0.0.6:$p6/localnodes"
        srv=("${pids[@]}")
        for p in "${pids[@]}"; do # the nginx worker too
            srv+=($(cat "/proc/$p/task/$p/children" 2>/dev/null || true))
        done
        log "part 8b: client CPU per request, request-aware vs by hand"
        "$rb" cpu port=$p6 cpu=0 servers="$(IFS=,; echo "${srv[*]}")" | out || rc=1
        log "part 8b': the same with the keys spread evenly over the nodes"
        "$rb" cpu port=$p6 cpu=0 balanced=1 servers="$(IFS=,; echo "${srv[*]}")" | out || rc=1
        log "part 8b'': the same with every body scanned but none routed"
        "$rb" cpu port=$p6 cpu=0 unrouted=1 servers="$(IFS=,; echo "${srv[*]}")" | out || rc=1
        log "part 8b-tablelast: the same with TableName last in the bodies"
        "$rb" cpu port=$p6 cpu=0 tablelast=1 servers="$(IFS=,; echo "${srv[*]}")" | out || rc=1
        log "part 8b-sigv4: the same with SigV4 signing on both sides"
        "$rb" cpu port=$p6 cpu=0 sigv4=1 servers="$(IFS=,; echo "${srv[*]}")" | out || rc=1
        log "part 8c: compression"
        "$rb" zip port=$p6 cpu=0 servers="$(IFS=,; echo "${srv[*]}")" | out || rc=1
        stop_all
        log "part 8d: bytes per request (local cluster)"
        ALT_CLUSTER_DIR=$repo/test/cluster "$rb" bytes | out || rc=1
        ;;
    8i)
        # Part 8b's loop under callgrind, one side at a time: instructions
        # per request, free of the machine's noise (as part 2b).
        if ! command -v valgrind >/dev/null; then
            log "part 8i skipped: valgrind is not installed (apt-get install valgrind)"
            continue
        fi
        rb=$(dirname "$bench")/request_bench
        start_nginx "$tmp/main"
        wait_http "http://127.0.0.6:$p6/localnodes"
        log "part 8i: instructions per request (callgrind)"
        rinstr() { # requests args...
            local n=$1; shift
            valgrind --tool=callgrind --callgrind-out-file=/dev/null "$rb" instr \
                port=$p6 requests="$n" warmup=500 "$@" 2>&1 >/dev/null |
                sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
        }
        rper() { local lo hi; lo=$(rinstr 2000 "$@"); hi=$(rinstr 6000 "$@"); echo $(((hi - lo) / 4000)); }
        # The prepare alone (request_bench prep): deterministic.
        pinstr() { # calls args...
            local n=$1; shift
            valgrind --tool=callgrind --callgrind-out-file=/dev/null "$rb" prep \
                calls="$n" "$@" 2>&1 >/dev/null |
                sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
        }
        pper() { local lo hi; lo=$(pinstr 2000 "$@"); hi=$(pinstr 6000 "$@"); echo $(((hi - lo) / 4000)); }
        ih=$(rper how=hand); ir=$(rper how=request); in=$(rper how=request affinity=0)
        ph=$(pper how=hand); pr=$(pper how=request); pn=$(pper how=request affinity=0)
        {
            echo "### 8i. Client instructions per request (callgrind)"
            echo
            echo "The loop of 8b, one side at a time: (count for 6,000 requests - count for"
            echo "2,000) / 4,000. User-space instructions only (system calls are not counted)."
            echo "Not deterministic: how many polls and reads a request takes depends on"
            echo "timing, and the by-hand count moves by about 1,000 from run to run. The"
            echo "prepare alone (request_bench prep: 8a's loop, 1 KB PutItem, 8 handles, the"
            echo "same two counts) does not move."
            echo
            echo "| side | instructions/request (loop) | vs by hand | instructions/prepare | vs by hand |"
            echo "|---|---|---|---|---|"
            awk -v h="$ih" -v r="$ir" -v n="$in" -v ph="$ph" -v pr="$pr" -v pn="$pn" 'BEGIN {
                if (h <= 0 || ph <= 0) { print "| (a callgrind run counted nothing) | | | | |"; exit }
                printf "| by hand (alt_curl_prepare) | %d | 1.000 | %d | 1.00 |\n", h, ph
                printf "| request-aware, key-route affinity | %d | %.3f | %d | %.2f |\n", r, r / h, pr, pr / ph
                printf "| request-aware, affinity off | %d | %.3f | %d | %.2f |\n", n, n / h, pn, pn / ph }'
            echo
        } | out
        stop_all
        ;;
    6)
        log "part 6: accepting a large /localnodes answer"
        taskset -c 0 "$(dirname "$bench")/accept_bench" n=2048 runs=31 | out || rc=1
        echo | out
        ;;
    2)
        start_nginx "$tmp/main"
        taskset -c "$server_cpu" /usr/sbin/haproxy -f "$tmp/haproxy.cfg" -db 2>>"$tmp/haproxy.stderr" &
        pids+=($!)
        wait_http "http://127.0.0.6:$p6/localnodes"
        wait_http "http://127.0.0.1:$ph/localnodes"
        srv=("${pids[@]}")
        for p in "${pids[@]}"; do # the nginx workers too
            srv+=($(cat "/proc/$p/task/$p/children" 2>/dev/null || true))
        done
        log "part 2: throughput (a/b/c/b' x concurrency 1, 8, 64 x $reps)"
        "$bench" throughput port=$p6 proxy=$ph requests="$requests" reps="$reps" \
            cpu=0 servers="$(IFS=,; echo "${srv[*]}")" | out || rc=1
        stop_all
        ;;
    2b)
        # Client instructions per request, counted by callgrind: immune to
        # the noise of a shared machine. The marginal cost between two run
        # lengths, so set-up and warm-up cancel out.
        if ! command -v valgrind >/dev/null; then
            log "part 2b skipped: valgrind is not installed (apt-get install valgrind)"
            continue
        fi
        start_nginx "$tmp/main"
        taskset -c "$server_cpu" /usr/sbin/haproxy -f "$tmp/haproxy.cfg" -db 2>>"$tmp/haproxy.stderr" &
        pids+=($!)
        wait_http "http://127.0.0.1:$ph/localnodes"
        log "part 2b: instructions per request (callgrind, a few minutes)"
        instr() { # mode requests extra-args...
            local m=$1 n=$2; shift 2
            valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" throughput \
                port=$p6 proxy=$ph modes=$m conc=8 reps=1 requests="$n" warmup=500 \
                tries=1 refresh_ms=60000 "$@" 2>&1 >/dev/null |
                sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
        }
        per_request() { # mode extra-args...
            local lo hi
            lo=$(instr "$1" 2000 "${@:2}"); hi=$(instr "$1" 6000 "${@:2}")
            echo $(((hi - lo) / 4000))
        }
        ia=$(per_request a); ib=$(per_request b); ic=$(per_request c)
        ibs=$(per_request b fake=a.invalid)
        {
            echo "### 2b. Client instructions per request (callgrind)"
            echo
            echo "User-space instructions the client executes per request at concurrency 8:"
            echo "(count for 6,000 requests - count for 2,000) / 4,000, refresh interval 60 s."
            echo "Kernel work (system calls) is not counted; it is about half of the client CPU."
            echo
            echo "| configuration | instructions/request | vs (a) |"
            echo "|---|---|---|"
            for row in "(a) plain libcurl, one node:$ia" "(b) alternator_lb, 6 nodes:$ib" \
                       "(b) with fake domain a.invalid (9 characters, as 127.0.0.1):$ibs" \
                       "(c) HAProxy round-robin, 6 nodes:$ic"; do
                v=${row##*:}
                awk -v name="${row%:*}" -v v="$v" -v a="$ia" \
                    'BEGIN { printf "| %s | %d | %+.1f%% |\n", name, v, (v - a) * 100 / a }'
            done
            echo
        } | out
        stop_all
        ;;
    3 | 4)
        start_nginx "$tmp/main"
        wait_http "http://127.0.0.16:$p16/localnodes"
        log "parts 3 and 4: connections and spread"
        "$bench" conns ports=3:$p3,6:$p6,16:$p16 log="$tmp/main/access.log" \
            requests="$requests" | out || rc=1
        stop_all
        ;;
    5)
        header=1
        for mode in multi writes easy; do
            for i in 1 2 3; do
                mkdir -p "$tmp/f$i"
                # One process per node (no master) so that SIGKILL kills it.
                nginx_conf "$tmp/f$i" "master_process off;" \
                    "$(server_block 3 $pf | grep -v "listen 127.0.0.[^$i]:")" \
                    >"$tmp/f$i/nginx.conf"
            done
            fpids=()
            for i in 1 2 3; do start_nginx "$tmp/f$i"; fpids+=("${pids[-1]}"); done
            for i in 1 2 3; do wait_http "http://127.0.0.$i:$pf/localnodes"; done
            log "part 5: failover ($mode)"
            "$bench" failover port=$pf pids="$(IFS=,; echo "${fpids[*]}")" mode=$mode \
                header=$header | out || rc=1
            header=0
            stop_all
        done
        echo | out
        ;;
    esac
done
exit $rc
