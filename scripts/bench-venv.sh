# Sourced by bench.sh: `bench_venv` makes sure a virtual environment with
# matplotlib (for the plots of the sweep scenarios) exists at
# target/bench-venv, and prints its python.

# shellcheck source=scripts/python-venv.sh
. "$(dirname "${BASH_SOURCE[0]}")/python-venv.sh"

bench_venv() {
    python_venv bench-venv 'import matplotlib' matplotlib
}
