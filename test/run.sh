#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds
# warning-free (-Werror), runs every test, then builds again with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs every test again.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/test/deps.sh"

run_suite() { # build-dir, extra cmake args...
    local dir=$1; shift
    cmake -S "$top" -B "$dir" -DCMAKE_COMPILE_WARNING_AS_ERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$(nproc)"
    (cd "$dir" && ctest --output-on-failure -j2)
}

echo "== build and test"
run_suite "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== build and test with AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite "$top/build-asan" -DCMAKE_BUILD_TYPE=Debug -DALT_SANITIZE=ON
