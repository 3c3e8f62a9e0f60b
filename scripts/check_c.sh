#!/bin/sh
# The kernels' C headers with every C compiler at hand, without Python: each must accept them
# as pedantic C99 and build tests/c/test_kernels.c (the C kernel test), which then passes at
# every kernel level the machine has. gcc, clang and musl-gcc (Debian's musl-tools; linked
# -static, as on Alpine) are used where installed; scripts/c-kernel-tests.sh runs the same
# test cross-built for aarch64 under qemu. MSVC cannot run here, so its branches of _platform.h are
# compiled by gcc with __GNUC__ undefined, _MSC_VER defined and every GCC extension
# poisoned after the system headers, and so is the branch for an unknown compiler.
# A binary must carry no IRELATIVE relocation (ifuncs, which musl's loader refuses).
#
#   sh scripts/check_c.sh
set -eu
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
strict="-std=c99 -pedantic -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -Isrc/mlp"
build="-O3 -fno-math-errno -fno-trapping-math -Wall -Wextra -Werror -Isrc/mlp"

run_levels() {   # $1: the binary
    for level in $("$1" --levels); do
        "$1" "$level" | tail -n 1
    done
    if readelf -r "$1" | grep -q IRELATIV; then
        echo "$1: IRELATIVE relocations (ifuncs)"
        exit 1
    fi
}

# What an MSVC or unknown-compiler build sees: $1 is the preamble's defines.
simulated() {
    {
        for h in float math stddef stdint stdio stdlib string pthread; do
            echo "#include <$h.h>"
        done
        echo "#undef __GNUC__"
        printf '%b\n' "$1"
        echo "#pragma GCC poison __attribute__ __builtin_cpu_supports __builtin_cpu_init" \
             "__builtin_prefetch typeof __typeof__ asm __asm__ __extension__"
        echo "#include \"test_kernels.c\""
    } > "$work/simulated.c"
    gcc -std=c99 -pedantic-errors -Wall -Wextra -Wno-unused-function \
        -D_POSIX_C_SOURCE=200809L -Isrc/mlp -Itests/c -O2 "$work/simulated.c" \
        -o "$work/simulated" -lm 2>&1 | grep -v "poisoning existing macro\|undefining" |
        grep -E "error|warning" && exit 1
    run_levels "$work/simulated"
}

for cc in gcc clang musl-gcc; do
    if ! command -v "$cc" > /dev/null; then
        echo "== $cc: not installed, skipped"
        continue
    fi
    echo "== $cc"
    static=""
    [ "$cc" = musl-gcc ] && static="-static"
    "$cc" $strict -fsyntax-only tests/c/test_kernels.c
    "$cc" $build $static tests/c/test_kernels.c -o "$work/check" -lm
    run_levels "$work/check"
done
echo "== gcc as MSVC (_MSC_VER, no GCC extensions)"
simulated "#define _MSC_VER 1930\n#define __forceinline inline\n#define __restrict restrict"
echo "== gcc as an unknown C99 compiler (no GCC extensions)"
simulated ""
echo "all C checks passed"
