#!/usr/bin/env bash
# The installed client SDK works from another project: installs the `sdk` component of a build
# tree to a temporary prefix, then builds tests/install/consumer against that prefix twice, with
# CMake (find_package(latchkey)) and with plain `c++ $(pkg-config --cflags --libs latchkey-client)`,
# and runs both programs.
#
# usage: test_install.sh CMAKE BUILD_DIR CONSUMER_SOURCE_DIR CXX [CXXFLAGS [LDFLAGS]]
#   CXXFLAGS/LDFLAGS: the build tree's CMAKE_CXX_FLAGS and CMAKE_EXE_LINKER_FLAGS (sanitizer
#   builds: the consumer must be compiled and linked like the libraries it links).
set -euo pipefail

if [[ $# -lt 4 ]]; then
  echo "usage: $0 CMAKE BUILD_DIR CONSUMER_SOURCE_DIR CXX [CXXFLAGS [LDFLAGS]]" >&2
  exit 2
fi
cmake=$1
build=$(cd "$2" && pwd)
consumer=$(cd "$3" && pwd)
cxx=$4
read -r -a cxxflags <<<"${5:-}"
read -r -a ldflags <<<"${6:-}"

start=$SECONDS
step() { echo "== [$((SECONDS - start))s] $*"; }
fail() {
  echo "test_install: FAILED: $*" >&2
  exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
source_dir=$(cache_value latchkey_SOURCE_DIR)
libdir=$(cache_value CMAKE_INSTALL_LIBDIR)
[[ -n $source_dir && -n $libdir ]] || fail "$build/CMakeCache.txt names no latchkey_SOURCE_DIR or CMAKE_INSTALL_LIBDIR"

step "install $build (component sdk) to $prefix"
for lib in sdk/client/liblatchkey_client.a sdk/validator/liblatchkey_validator.a; do
  [[ -f $build/$lib ]] || fail "$build/$lib is not built (cmake --build $build first)"
done
"$cmake" --install "$build" --prefix "$prefix" --component sdk >"$tmp/install.log" ||
  { cat "$tmp/install.log"; fail "cmake --install"; }
(cd "$prefix" && find . -type f | sort | sed 's|^\./|  |')

expected=(
  include/latchkey/client/provider.hpp
  include/latchkey/client/curl_transport.hpp
  include/latchkey/validator/bearer.hpp
  include/latchkey/validator/validator.hpp
  "$libdir/cmake/latchkey/latchkeyConfig.cmake"
  "$libdir/cmake/latchkey/latchkeyConfigVersion.cmake"
  "$libdir/cmake/latchkey/latchkeyTargets.cmake"
  "$libdir/pkgconfig/latchkey-client.pc"
)
for lib in validator client jose crypto common; do expected+=("$libdir/liblatchkey_$lib.a"); done
for file in "${expected[@]}"; do
  [[ -f $prefix/$file ]] || fail "$file was not installed"
done
# Only the SDK: no server binary, no server headers.
[[ ! -e $prefix/bin ]] || fail "the sdk component installed bin/"
if find "$prefix/include" -name '*.hpp' | grep -v '^'"$prefix"'/include/latchkey/\(client\|validator\)/' >&2; then
  fail "headers outside include/latchkey/{client,validator} were installed"
fi
# The package must not point back into the source or build tree.
if grep -rn -F -e "$source_dir" -e "$build" "$prefix/$libdir/cmake" "$prefix/$libdir/pkgconfig" >&2; then
  fail "the installed package names the source or build tree"
fi
grep -q "^prefix=$prefix\$" "$prefix/$libdir/pkgconfig/latchkey-client.pc" ||
  fail "latchkey-client.pc does not name the install prefix"

generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi

step "configure the consumer with find_package(latchkey)"
"$cmake" -S "$consumer" -B "$tmp/consumer-build" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="${5:-}" -DCMAKE_EXE_LINKER_FLAGS="${6:-}" \
  >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; fail "configuring the consumer"; }
found=$(sed -n 's/^-- latchkey_DIR: //p' "$tmp/configure.log")
[[ $found == "$prefix/$libdir/cmake/latchkey" ]] ||
  { cat "$tmp/configure.log"; fail "find_package(latchkey) found '$found', not the installed package"; }

step "build the consumer with CMake"
"$cmake" --build "$tmp/consumer-build" -j2 >"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log"; fail "building the consumer with CMake"; }

step "run it"
output=$("$tmp/consumer-build/latchkey-consumer") || fail "the CMake-built consumer exited $?: $output"
[[ $output == "latchkey consumer: ok" ]] || fail "the CMake-built consumer printed: $output"
echo "$output"

step "build the consumer with pkg-config"
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pkg-config --exists --print-errors latchkey-client || fail "pkg-config does not find latchkey-client"
read -r -a pc_flags <<<"$(pkg-config --cflags --libs latchkey-client)"
echo "pkg-config --cflags --libs latchkey-client: ${pc_flags[*]}"
[[ " ${pc_flags[*]} " == *" -I$prefix/include "* ]] || fail "pkg-config --cflags does not give -I$prefix/include"
"$cxx" -std=c++20 "${cxxflags[@]}" "$consumer/main.cpp" -o "$tmp/consumer-pc" "${ldflags[@]}" "${pc_flags[@]}" ||
  fail "building the consumer with pkg-config"

step "run it"
output=$("$tmp/consumer-pc") || fail "the pkg-config-built consumer exited $?: $output"
[[ $output == "latchkey consumer: ok" ]] || fail "the pkg-config-built consumer printed: $output"
echo "$output"

step "test_install: ok"
