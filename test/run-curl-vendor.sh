#!/usr/bin/env bash
# The test suite against the newest libcurl instead of the system's (run by
# .ci/run after test/run.sh, when the vendored tarball is there):
#
#   test/run-curl-vendor.sh [CURL_TARBALL]
#
# CURL_TARBALL (or $ALT_CURL_TARBALL) defaults to
# ../shared/vendor/curl-8.21.0.tar.xz next to the repository. It builds a
# minimal shared libcurl from it into build-curl821/prefix (kept, and reused
# while the tarball and the build options stay the same), then builds this
# project against that prefix in build-curl821/suite (-Werror,
# RelWithDebInfo, no benchmarks), checks with ldd that every binary there
# resolves libcurl to the prefix, and runs ctest with ALT_EXPECT_CURL set to
# the tarball's version, so that the curl_version test fails unless the tests
# really load it.
#
# CMake finds the prefix through CMAKE_PREFIX_PATH: FindCURL first looks for
# curl's own CURLConfig.cmake there, and the imported CURL::libcurl target
# gives every binary in the build tree a RUNPATH to prefix/lib.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

tarball=${1:-${ALT_CURL_TARBALL:-$top/../shared/vendor/curl-8.21.0.tar.xz}}
[ -f "$tarball" ] || { echo "run-curl-vendor: no curl tarball at $tarball" >&2; exit 1; }
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")
# The version the tests must load: from the tarball's name unless given.
expect=${ALT_EXPECT_CURL:-}
if [ -z "$expect" ]; then
    [[ $(basename "$tarball") =~ ^curl-([0-9]+\.[0-9]+\.[0-9]+)\.tar ]] \
        || { echo "run-curl-vendor: cannot tell the version of $tarball; set ALT_EXPECT_CURL" >&2; exit 1; }
    expect=${BASH_REMATCH[1]}
fi

work=$top/build-curl821
prefix=$work/prefix
suite=$work/suite
jobs=$(nproc)

# What building needs: the project's dependencies, and OpenSSL and zlib
# headers for libcurl.
"$top/test/deps.sh"
missing=()
for p in libssl-dev zlib1g-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "run-curl-vendor: installing ${missing[*]}"
    SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# A minimal shared libcurl (see ../shared/vendor/README.md): HTTP(S) with
# OpenSSL and zlib, nothing the tests do not use.
curl_opts=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON
    -DBUILD_STATIC_LIBS=OFF -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF
    -DBUILD_EXAMPLES=OFF -DCURL_USE_LIBPSL=OFF -DUSE_LIBIDN2=OFF
    -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF -DUSE_NGHTTP2=OFF -DCURL_USE_LIBSSH2=OFF
    -DENABLE_CURL_MANUAL=OFF -DBUILD_LIBCURL_DOCS=OFF -DBUILD_MISC_DOCS=OFF
    -DCURL_DISABLE_LDAP=ON -DUSE_LIBRTMP=OFF -DCURL_USE_GSSAPI=OFF
    -DCURL_USE_OPENSSL=ON -DCMAKE_INSTALL_LIBDIR=lib)
stamp="$(sha256sum "$tarball" | cut -d' ' -f1) ${curl_opts[*]}"

if [ -f "$prefix/.alt-curl-stamp" ] && [ "$(cat "$prefix/.alt-curl-stamp")" = "$stamp" ] \
        && [ -e "$prefix/lib/libcurl.so" ]; then
    echo "== libcurl: reusing $prefix (built from the same tarball)"
else
    echo "== libcurl: building $(basename "$tarball") into $prefix"
    # The suite too: nothing built against another libcurl may survive.
    rm -rf "$work/curl-src" "$work/curl-build" "$prefix" "$suite"
    mkdir -p "$work/curl-src"
    tar --no-same-owner -xJf "$tarball" -C "$work/curl-src" --strip-components=1
    start=$SECONDS
    cmake -S "$work/curl-src" -B "$work/curl-build" "${curl_opts[@]}" \
        -DCMAKE_INSTALL_PREFIX="$prefix" >"$work/curl-configure.log" 2>&1 \
        || { tail -50 "$work/curl-configure.log"; exit 1; }
    cmake --build "$work/curl-build" -j"$jobs" >"$work/curl-build.log" 2>&1 \
        || { tail -50 "$work/curl-build.log"; exit 1; }
    cmake --install "$work/curl-build" >/dev/null
    echo "$stamp" >"$prefix/.alt-curl-stamp"
    # The sources and objects are not needed any more; the prefix is kept.
    rm -rf "$work/curl-src" "$work/curl-build"
    echo "libcurl built in $((SECONDS - start)) s"
fi
[ -f "$prefix/lib/cmake/CURL/CURLConfig.cmake" ] \
    || { echo "run-curl-vendor: no CURLConfig.cmake in $prefix" >&2; exit 1; }

echo "== build against libcurl $expect"
cmake -S "$top" -B "$suite" -DCMAKE_COMPILE_WARNING_AS_ERROR=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALT_BUILD_BENCH=OFF \
    -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
found=$(sed -n 's/^CURL_DIR:[A-Z]*=//p' "$suite/CMakeCache.txt")
[ "$found" = "$prefix/lib/cmake/CURL" ] \
    || { echo "run-curl-vendor: CMake took libcurl from '$found', not $prefix" >&2; exit 1; }
cmake --build "$suite" -j"$jobs"

# Every binary (test, example, the library) must resolve libcurl to the
# prefix: the build tree's RUNPATH, not the system's library.
echo "== check that every binary loads $prefix/lib/libcurl"
checked=0 bad=0
while IFS= read -r -d '' f; do
    [ "$(head -c4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
    so=$(ldd "$f" 2>/dev/null | awk '$1 ~ /^libcurl\.so/ {print $3; exit}' || true)
    [ -n "$so" ] || continue
    checked=$((checked + 1))
    case $(realpath -m "$so") in
        "$(realpath -m "$prefix/lib")"/*) ;;
        *) echo "  ${f#"$suite"/} loads libcurl from $so" >&2; bad=$((bad + 1)) ;;
    esac
done < <(find "$suite" \( -name CMakeFiles -prune \) -o -type f \( -perm -u+x -o -name '*.so*' \) -print0)
((checked > 0)) || { echo "run-curl-vendor: found no binary linked to libcurl" >&2; exit 1; }
((bad == 0)) || { echo "run-curl-vendor: $bad of $checked binaries do not load $prefix/lib/libcurl" >&2; exit 1; }
echo "$checked binaries resolve libcurl to $prefix/lib"

echo "== test against libcurl $expect"
# CMAKE_PREFIX_PATH in the environment too: the install test's consumer
# project must find the same libcurl as the library it consumes.
cd "$suite"
ALT_EXPECT_CURL=$expect CMAKE_PREFIX_PATH=$prefix${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH} \
    ctest -j2 --output-on-failure
