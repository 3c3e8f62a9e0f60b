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
# shellcheck source=scripts/_lib.sh
. scripts/_lib.sh
need_packages clang libomp-dev
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fresh_venv "$scratch/venv"
copy_tree "$scratch/src"
export CC=clang CXX=clang++
pip install --quiet "$scratch/src[test]"
core=$(installed_core "$scratch/venv")
comment=$(readelf -p .comment "$core")
if ! grep -q "clang version" <<< "$comment"; then
    echo "$core was not compiled by Clang:"; echo "$comment"; exit 2
fi
echo "testing $core ($(clang --version | head -1)), kernel level" \
    "$(cd "$scratch" && python -c 'import mlp; print(mlp.kernel_level())')"
pytest -p no:cacheprovider "$@"
