# Sourced by django-venv.sh and bench-venv.sh: `python_venv NAME CHECK
# PACKAGE...` makes sure a virtual environment exists at target/NAME in
# which `python -c CHECK` succeeds, creating or completing it with the
# PACKAGEs from PyPI (and python3-venv from apt when missing), and prints
# its python.

python_venv() {
    local name=$1 check=$2
    shift 2
    local venv=target/$name
    local python=$venv/bin/python
    if [ -x "$python" ] && "$python" -c "$check" 2>/dev/null; then
        echo "$PWD/$python"
        return
    fi
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        local sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
        echo "$name: installing python3-venv" >&2
        $sudo apt-get update >&2
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv python3-pip >&2
    fi
    echo "$name: creating $venv with $* from PyPI" >&2
    mkdir -p target
    python3 -m venv "$venv" >&2
    "$python" -m pip install --quiet "$@" >&2
    echo "$PWD/$python"
}
