# Sourced by test.sh and bench.sh: `django_venv` makes sure a virtual
# environment with Django, WhiteNoise and brotli (for WhiteNoise's
# compressed storage) exists at target/django-venv, and prints its python.

# shellcheck source=scripts/python-venv.sh
. "$(dirname "${BASH_SOURCE[0]}")/python-venv.sh"

django_venv() {
    python_venv django-venv 'import django, whitenoise, brotli' Django whitenoise brotli
}
