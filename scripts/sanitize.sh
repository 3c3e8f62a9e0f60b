#!/usr/bin/env bash
# Build mlp as a debug build (Cython's boundscheck, wraparound and initializedcheck on, -O0)
# with AddressSanitizer and UndefinedBehaviorSanitizer (MLP_SANITIZE=address,undefined), in
# a fresh virtual environment, and run the whole test suite under both. Any out-of-bounds
# access, use-after-free or similar, and any undefined behaviour (a misaligned load or store,
# an invalid shift, a null or overflowing pointer offset, ...) in the kernels aborts the run
# with a report; exit status 0 means zero errors. Linux with gcc (or clang) only.
#
#   bash scripts/sanitize.sh            # from the repository root; arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_lib.sh
. scripts/_lib.sh
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fresh_venv "$scratch/venv"
copy_tree "$scratch/src"
MLP_DEBUG=1 MLP_SANITIZE=address,undefined pip install --quiet "$scratch/src[test]"
libasan=$(${CC:-gcc} -print-file-name=libasan.so)
libubsan=$(${CC:-gcc} -print-file-name=libubsan.so)
libstdcxx=$(${CC:-gcc} -print-file-name=libstdc++.so)
for lib in "$libasan" "$libubsan"; do
    if [ ! -e "$lib" ]; then echo "no $(basename "$lib") found (apt-get install gcc)"; exit 2; fi
done
# Python itself is not instrumented: preload the runtimes (ASan's first, then UBSan's, with
# libstdc++ so that C++ extensions such as matplotlib's can throw under ASan's
# interceptors), and don't report leaks (CPython keeps objects alive at exit by design).
# UBSan: the build has -fno-sanitize-recover=undefined, so the first report aborts; the
# options print where it came from. MLP_SANITIZED tells the tests that measure resident
# memory to skip: ASan's quarantine holds freed memory.
export LD_PRELOAD="$libasan $libubsan $libstdcxx"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export MLP_SANITIZED=1
# fails loudly if the sanitized build does not load, or is not the one the tests import
core=$(installed_core "$scratch/venv")
symbols=$(nm -D "$core")
for symbol in __asan_init __ubsan_handle_type_mismatch; do
    if ! grep -q "$symbol" <<< "$symbols"; then
        echo "$core is not instrumented ($symbol missing)"; exit 2
    fi
done
pytest -p no:cacheprovider "$@"
