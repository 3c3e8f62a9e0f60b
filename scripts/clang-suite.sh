#!/usr/bin/env bash
# Build mlp with Clang (CC=clang, an optimised build as users get it) in a fresh virtual
# environment and run the whole test suite against that build, so that CI tests the
# Clang-built extension as well as the GCC-built one (.ci/run). The extension is checked to
# be Clang's (its .comment section) and to be the one the tests import. The embedding
# example (tests/test_embed.py) is then built with Clang too; its OpenMP needs Clang's
# runtime (Debian's libomp-dev), installed here (as root, with apt-get) if missing.
#
#   bash scripts/clang-suite.sh            # from the repository root; arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v clang >/dev/null || need+=(clang)
dpkg -s libomp-dev >/dev/null 2>&1 || need+=(libomp-dev)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}" >&2
    apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
# shellcheck disable=SC1091
. "$scratch/venv/bin/activate"
unset PYTHONPATH   # the tests must import the Clang build, not a source tree's
python -m pip install --quiet --upgrade pip
# Build from a copy of the working tree without its build outputs (an earlier GCC build's
# objects would otherwise be reused).
mkdir "$scratch/src"
tar --exclude=./.git --exclude=./build --exclude='./*.egg-info' --exclude='*.so' \
    --exclude=./src/mlp/_core.c --exclude=./.venv --exclude=./venv -cf - . |
    tar -xf - -C "$scratch/src"
export CC=clang CXX=clang++
pip install --quiet "$scratch/src[test]"
core=$(cd "$scratch" && python -c "import mlp._core as c; print(c.__file__)")
case "$core" in
    "$scratch"/venv/*) ;;
    *) echo "the tests would import $core, not the Clang build"; exit 2 ;;
esac
if ! readelf -p .comment "$core" | grep -q "clang version"; then
    echo "$core was not compiled by Clang:"; readelf -p .comment "$core"; exit 2
fi
echo "testing $core ($(clang --version | head -1)), kernel level" \
    "$(cd "$scratch" && python -c 'import mlp; print(mlp.kernel_level())')"
pytest -p no:cacheprovider "$@"
