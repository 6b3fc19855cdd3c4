#!/usr/bin/env bash
# Installed-package test (run by ctest, see test/extra.cmake):
#
#   run.sh CMAKE CC BUILD_DIR CONFIG VERSION
#
# installs BUILD_DIR into a temporary prefix, then builds test/install/consumer
# twice against that prefix only - with find_package(AlternatorLB) and with
# pkg-config - runs both and checks that they print VERSION and load the
# installed library. Extra compiler/linker flags (a sanitizer build) come in
# $ALT_CONSUMER_FLAGS.
set -u
cmake_bin=$1 cc=$2 build=$3 config=$4 version=$5
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
flags=${ALT_CONSUMER_FLAGS:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/alt-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "install test: FAILED: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "install into $prefix"
"$cmake_bin" --install "$build" --prefix "$prefix" ${config:+--config "$config"} \
    || fail "cmake --install"
find "$prefix" -type f -o -type l | sed "s|^$prefix/||" | sort
libdir=$(dirname "$(find "$prefix" -name 'libalternator_lb.so*' -o -name 'libalternator_lb.a' | head -1)")
[ -d "$libdir" ] || fail "no libalternator_lb installed"
[ -f "$prefix/include/alternator_lb.h" ] || fail "alternator_lb.h not installed"
[ -f "$prefix/include/alternator_lb_version.h" ] || fail "alternator_lb_version.h not installed"

# The program must run with the installed library, not the build tree's.
check_run() {            # check_run NAME BINARY [ENV=VALUE...]
    local name=$1 bin=$2 out
    shift 2
    out=$(env "$@" "$bin") || fail "$name: exit status $?: $out"
    echo "$out"
    grep -qx "alt_version() $version ALT_VERSION_STR $version" <<<"$out" \
        || fail "$name: does not print version $version"
    if ls "$libdir"/libalternator_lb.so* >/dev/null 2>&1; then
        local so
        so=$(env "$@" ldd "$bin" | awk '/libalternator_lb/ {print $3}')
        echo "$name loads $so"
        case $so in
            "$libdir"/*) ;;
            *) fail "$name loads '$so', not the installed library in $libdir" ;;
        esac
    fi
}

step "find_package(AlternatorLB) consumer"
"$cmake_bin" -S "$here/consumer" -B "$tmp/cmake-consumer" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
    || fail "configuring the CMake consumer"
"$cmake_bin" --build "$tmp/cmake-consumer" || fail "building the CMake consumer"
# No LD_LIBRARY_PATH: CMake's imported target gives the build an RPATH.
check_run "CMake consumer" "$tmp/cmake-consumer/consumer"

step "pkg-config consumer"
pcdir=$libdir/pkgconfig
[ -f "$pcdir/alternator_lb.pc" ] || fail "no alternator_lb.pc in $pcdir"
cat "$pcdir/alternator_lb.pc"
# A static-only install needs the private dependencies too (--static).
static=
ls "$libdir"/libalternator_lb.so* >/dev/null 2>&1 || static=--static
pc=$(PKG_CONFIG_PATH="$pcdir" pkg-config $static --cflags --libs alternator_lb) \
    || fail "pkg-config $static --cflags --libs alternator_lb"
echo "pkg-config: $pc"
# The .pc file must describe where it was installed, not the configure-time
# CMAKE_INSTALL_PREFIX (else the flags point at some other copy, or nowhere).
pcinc=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=includedir alternator_lb)
[ "$(realpath -m "$pcinc")" = "$(realpath -m "$prefix/include")" ] \
    || fail "alternator_lb.pc says includedir=$pcinc, installed in $prefix/include"
# shellcheck disable=SC2086
"$cc" $flags -o "$tmp/pc-consumer" "$here/consumer/main.c" $pc \
    || fail "compiling main.c with the pkg-config flags"
check_run "pkg-config consumer" "$tmp/pc-consumer" LD_LIBRARY_PATH="$libdir"

echo "install test: ok"
