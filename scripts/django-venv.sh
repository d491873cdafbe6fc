# Sourced by test.sh and bench.sh: `django_venv` makes sure a virtual
# environment with Django, WhiteNoise and brotli (for WhiteNoise's
# compressed storage) exists at target/django-venv, creating or completing
# it from PyPI, and prints its python.

django_venv() {
    local venv=target/django-venv
    local python=$venv/bin/python
    if [ -x "$python" ] && "$python" -c 'import django, whitenoise, brotli' 2>/dev/null; then
        echo "$PWD/$python"
        return
    fi
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        local sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
        echo "django-venv: installing python3-venv" >&2
        $sudo apt-get update >&2
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv python3-pip >&2
    fi
    echo "django-venv: creating $venv with Django and WhiteNoise from PyPI" >&2
    mkdir -p target
    python3 -m venv "$venv" >&2
    "$python" -m pip install --quiet Django whitenoise brotli >&2
    echo "$PWD/$python"
}
