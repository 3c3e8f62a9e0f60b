# Shell helpers shared by .ci/run and the scripts beside this file (sourced, not run):
#   need_packages PKG...   install the Debian packages not yet installed (apt-get, as root)
#   fresh_venv DIR         create a virtual environment in DIR and activate it, with no
#                          PYTHONPATH (the tests must import what it installs)
#   copy_tree DEST         copy the working tree into DEST without its build outputs, so that
#                          pip builds afresh (an earlier build's objects would be reused)
#   installed_core VENV    the path of the mlp._core that the active venv VENV imports
#                          (from VENV's parent folder); exits 2 unless it lies in VENV
#                          (the build under test, not a source tree's)

need_packages() {
    local need=() pkg
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
    done
    [ ${#need[@]} -gt 0 ] || return 0
    echo "installing: ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
}

fresh_venv() {
    python3 -m venv "$1"
    # shellcheck disable=SC1091
    . "$1/bin/activate"
    unset PYTHONPATH
    python -m pip install --quiet --upgrade pip
}

copy_tree() {
    mkdir -p "$1"
    tar --exclude=./.git --exclude=./build --exclude='./*.egg-info' --exclude='*.so' \
        --exclude=./src/mlp/_core.c --exclude=./.venv --exclude=./venv -cf - . |
        tar -xf - -C "$1"
}

installed_core() {
    local core
    core=$(cd "$1/.." && python -c "import mlp._core as c; print(c.__file__)")
    case "$core" in
        "$1"/*) echo "$core" ;;
        *) echo "the tests would import $core, not the build under test" >&2; exit 2 ;;
    esac
}
