#!/usr/bin/env bash
# Build mlp as a debug build (Cython's boundscheck, wraparound and initializedcheck on, -O0)
# with AddressSanitizer, in a fresh virtual environment, and run the whole test suite under
# it. Any out-of-bounds access, use-after-free or similar in the kernels aborts the run with
# a report; exit status 0 means zero errors. Linux with gcc (or clang) only.
#
#   bash scripts/sanitize.sh            # from the repository root
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
# shellcheck disable=SC1091
. "$scratch/venv/bin/activate"
python -m pip install --quiet --upgrade pip
MLP_DEBUG=1 MLP_SANITIZE=address pip install --quiet ".[test]"
libasan=$(${CC:-gcc} -print-file-name=libasan.so)
libstdcxx=$(${CC:-gcc} -print-file-name=libstdc++.so)
if [ ! -e "$libasan" ]; then echo "no libasan.so found (apt-get install gcc)"; exit 2; fi
# Python itself is not instrumented: preload the runtime (with libstdc++, so that C++
# extensions such as matplotlib's can throw under its interceptors), and don't report leaks
# (CPython keeps objects alive at exit by design). MLP_SANITIZED tells the tests that
# measure resident memory to skip: the sanitizer's quarantine holds freed memory.
export LD_PRELOAD="$libasan $libstdcxx"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:strict_string_checks=1"
export MLP_SANITIZED=1
python -c "import mlp._core" # fails loudly if the sanitized build does not load
pytest -p no:cacheprovider "$@"
