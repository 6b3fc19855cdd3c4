#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds
# warning-free (-Werror), runs every test, then builds again with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs every test again,
# then with ThreadSanitizer for the tests that run threads or refreshes
# concurrently with requests.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/test/deps.sh"

run_suite() { # build-dir, ctest regex ('' = all), extra cmake args...
    local dir=$1 only=$2; shift 2
    cmake -S "$top" -B "$dir" -DCMAKE_COMPILE_WARNING_AS_ERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$(nproc)"
    (cd "$dir" && ctest --output-on-failure -j2 ${only:+-R "$only"})
}

echo "== build and test"
run_suite "$top/build" '' -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== build and test with AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite "$top/build-asan" '' -DCMAKE_BUILD_TYPE=Debug -DALT_SANITIZE=ON
echo "== build and test with ThreadSanitizer"
TSAN_OPTIONS=halt_on_error=1 \
    run_suite "$top/build-tsan" \
    '^(threads|multi|failover|socket_epoll|loops|citizen|lifetime|replay|blame|health|request)$' \
    -DCMAKE_BUILD_TYPE=Debug -DALT_TSAN=ON -DALT_BUILD_EXAMPLES=OFF \
    -DALT_BUILD_BENCH=OFF
