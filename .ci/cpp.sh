#!/usr/bin/env bash
# C++ core checks, run from the repository root:
#   (a) Release build with the unit tests and examples, ctest, install into a temporary prefix;
#   (b) the example as a standalone project found through find_package(pinnbilo), built and run;
#   (a') the unit tests on a -march=native build (this CPU's widest kernels);
#   (c) the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Set PINNBILO_CI_KEEP=1 to keep the scratch directory.
set -euo pipefail

root=$(pwd)
if [[ ! -f "$root/CMakeLists.txt" || ! -d "$root/cpp/include/pinnbilo" ]]; then
  echo "run this script from the repository root" >&2
  exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pinnbilo-cpp.XXXXXX")
if [[ "${PINNBILO_CI_KEEP:-0}" == 1 ]]; then
  echo "scratch directory: $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi

generator=()
if command -v ninja > /dev/null 2>&1; then
  generator=(-G Ninja)
fi
jobs=2

section() { printf '\n==== %s ====\n' "$*"; }

# (a) ------------------------------------------------------------------------------------------
section "Release build, unit tests, install"
cmake -S "$root" -B "$tmp/build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DPINNBILO_BUILD_TESTS=ON -DPINNBILO_BUILD_EXAMPLES=ON
cmake --build "$tmp/build" --parallel "$jobs"
ctest --test-dir "$tmp/build" --output-on-failure --parallel "$jobs"
cmake --install "$tmp/build" --component cpp --prefix "$tmp/prefix"

config=$(find "$tmp/prefix" -path '*/cmake/pinnbilo/pinnbiloConfig.cmake' | head -n 1)
library=$(find "$tmp/prefix" -name 'libpinnbilo.a' | head -n 1)
for f in "$tmp/prefix/include/pinnbilo/trainer.hpp" "$config" "$library"; do
  if [[ -z "$f" || ! -f "$f" ]]; then
    echo "install is missing a file (headers, pinnbiloConfig.cmake or libpinnbilo.a)" >&2
    exit 1
  fi
done
echo "installed: $(cd "$tmp/prefix" && find . -type f | sort | tr '\n' ' ')"

# (b) ------------------------------------------------------------------------------------------
section "Standalone example against the installed package"
cmake -S "$root/cpp/examples" -B "$tmp/example" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$tmp/prefix"
cmake --build "$tmp/example" --parallel "$jobs"
"$tmp/example/bilo_exponential"

# (b') -----------------------------------------------------------------------------------------
if command -v pkg-config > /dev/null 2>&1; then
  section "The example built through pkg-config"
  pc_dir=$(dirname "$(find "$tmp/prefix" -name pinnbilo.pc | head -n 1)")
  # shellcheck disable=SC2046
  c++ -O2 "$root/cpp/examples/bilo_exponential.cpp" -o "$tmp/bilo_pkgconfig" \
    $(PKG_CONFIG_PATH="$pc_dir" pkg-config --define-variable=prefix="$tmp/prefix" --cflags --libs pinnbilo) -pthread
  "$tmp/bilo_pkgconfig" > /dev/null
fi

# (a') -----------------------------------------------------------------------------------------
# The portable build above uses the baseline kernels; the widest ones this CPU runs (AVX-512's
# taller, wider register tiles) are chosen by -march and need their own run.
section "Unit tests on a -march=native build"
cmake -S "$root" -B "$tmp/native" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DPINNBILO_BUILD_TESTS=ON -DPINNBILO_BUILD_PYTHON=OFF -DPINNBILO_NATIVE=ON
cmake --build "$tmp/native" --parallel "$jobs"
ctest --test-dir "$tmp/native" --output-on-failure --parallel "$jobs"

# (c) ------------------------------------------------------------------------------------------
section "Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S "$root" -B "$tmp/sanitize" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Debug -DPINNBILO_BUILD_TESTS=ON -DPINNBILO_SANITIZE=ON
cmake --build "$tmp/sanitize" --parallel "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir "$tmp/sanitize" --output-on-failure --parallel "$jobs"

section "C++ checks passed"
