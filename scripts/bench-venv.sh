# Sourced by bench.sh: `bench_venv` makes sure a virtual environment with
# matplotlib (for the plots of the sweep scenarios) exists at
# target/bench-venv, creating or completing it from PyPI, and prints its
# python.

bench_venv() {
    local venv=target/bench-venv
    local python=$venv/bin/python
    if [ -x "$python" ] && "$python" -c 'import matplotlib' 2>/dev/null; then
        echo "$PWD/$python"
        return
    fi
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        local sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
        echo "bench-venv: installing python3-venv" >&2
        $sudo apt-get update >&2
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv python3-pip >&2
    fi
    echo "bench-venv: creating $venv with matplotlib from PyPI" >&2
    mkdir -p target
    python3 -m venv "$venv" >&2
    "$python" -m pip install --quiet matplotlib >&2
    echo "$PWD/$python"
}
