#!/usr/bin/env bash
# The Python extension itself under AddressSanitizer + UndefinedBehaviorSanitizer: one (generic)
# copy of the core built with the sanitizers, loaded by the installed package's Python files from a
# scratch copy, and the tests that drive models from several threads, hostile checkpoints, bad
# input of every kind and the gradients run against it. Run from the repository root.
set -euo pipefail

root=$(pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pinnbilo-asan.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

python -m pip install --quiet "pybind11>=2.12"
generator=()
if command -v ninja > /dev/null 2>&1; then
  generator=(-G Ninja)
fi
cmake -S "$root" -B "$tmp/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPINNBILO_BUILD_PYTHON=ON -DPINNBILO_PYTHON_ISA_LEVELS=generic -DPINNBILO_SANITIZE=ON \
  -Dpybind11_DIR="$(python -m pybind11 --cmakedir)" > /dev/null
cmake --build "$tmp/build" --parallel 2

mkdir -p "$tmp/site"
cp -r "$root/python/pinnbilo" "$tmp/site/"
find "$tmp/site" \( -name '*.so' -o -name __pycache__ \) -prune -exec rm -rf {} +
cp "$tmp/build"/_core_generic*.so "$tmp/site/pinnbilo/"

# Python itself is not built with the sanitizers: the runtime is preloaded, and leak checking is
# off (the interpreter keeps its allocations until exit by design).
PYTHONPATH="$tmp/site" PINNBILO_ISA=generic \
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  python -m pytest -q -p no:cacheprovider tests/test_robustness.py tests/test_threads.py \
    tests/test_checkpoint.py tests/test_errors.py tests/test_properties_files.py tests/test_systems.py \
    tests/test_gradients.py tests/test_training_control.py tests/test_steady_gradients.py \
    tests/test_properties_steady.py tests/test_properties.py
