#!/usr/bin/env bash
# Build the C-level kernel test (tests/c/test_kernels.c: every kernel of src/mlp's headers
# against a plain reference) with several compilers and C libraries, and run it at every
# kernel level each build and CPU can run (one process per level):
#
#   gcc       native, glibc
#   clang     native, glibc
#   musl      musl-gcc -static (Debian's musl-tools): the C library of Alpine and musllinux
#   aarch64   aarch64-linux-gnu-gcc -static, run under qemu-aarch64-static (64-bit ARM)
#
#   bash scripts/c-kernel-tests.sh [BUILD...]     # from anywhere; default: all four
#
# Each build is -O3 -fno-math-errno -fno-trapping-math (the extension's flags) -Wall
# -Wextra -Werror -std=c99. Every build runs even if one fails; the
# exit status is 1 if any failed to build or to pass. Missing Debian packages are installed
# (as root, with apt-get), as ../shared/tools/arm64-suite.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."
builds=("$@")
[ ${#builds[@]} -gt 0 ] || builds=(gcc clang musl aarch64)

packages=()
for build in "${builds[@]}"; do
    case "$build" in
        gcc) packages+=(gcc) ;;
        clang) packages+=(clang) ;;
        musl) packages+=(musl-tools) ;;
        aarch64) packages+=(gcc-aarch64-linux-gnu qemu-user-static) ;;
        *) echo "unknown build '$build' (gcc, clang, musl, aarch64)"; exit 2 ;;
    esac
done
# shellcheck source=scripts/_lib.sh
. scripts/_lib.sh
need_packages "${packages[@]}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# the extension's own optimisation flags (setup.py), so that the loops tested are those it runs
flags=(-O3 -fno-math-errno -fno-trapping-math -Wall -Wextra -std=c99 -Isrc/mlp -Itests/c)
failed=()
for build in "${builds[@]}"; do
    werror=(-Werror) run=()
    case "$build" in
        gcc) cc=(gcc) ;;
        clang) cc=(clang) ;;
        musl) cc=(musl-gcc -static) ;;
        aarch64) cc=(aarch64-linux-gnu-gcc -static) run=(qemu-aarch64-static) ;;
    esac
    exe="$scratch/test_kernels-$build"
    start=$SECONDS
    command=("${cc[@]}" "${flags[@]}" "${werror[@]}" tests/c/test_kernels.c -o "$exe" -lm)
    echo "== $build: ${command[*]}"
    if ! "${command[@]}"; then
        echo "== $build: FAILED to build"; failed+=("$build"); continue
    fi
    if ! levels=$("${run[@]}" "$exe" --levels); then
        echo "== $build: FAILED: the test program does not run"; failed+=("$build"); continue
    fi
    ok=1
    for level in $levels; do
        "${run[@]}" "$exe" "$level" || { echo "== $build: FAILED at level $level"; ok=0; }
    done
    if [ "$ok" = 0 ]; then
        failed+=("$build")
        # target_clones makes ifuncs: a static binary needs its C library to apply their
        # IRELATIVE relocations at startup, which glibc does and musl does not
        irelative=$(readelf -r "$exe" 2>/dev/null | grep -c IRELATIV || true)
        [ "$irelative" = 0 ] || echo "== $build: the binary has $irelative IRELATIVE" \
            "relocations (ifuncs, from target_clones), which musl never applies: the calls" \
            "to the cloned kernels go to unrelocated PLT slots and crash"
    else
        echo "== $build: passed at every level it runs (${levels//$'\n'/, })" \
            "in $((SECONDS - start)) s"
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "== C kernel tests FAILED: ${failed[*]}"; exit 1
fi
echo "== C kernel tests passed: ${builds[*]}"
