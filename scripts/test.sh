#!/usr/bin/env bash
# Runs every test of the workspace: unit, router, doc and end-to-end tests.
# Usage: ./scripts/test.sh [extra cargo test arguments]
#
# The end-to-end tests (tests/) put real nginx, Apache (mod_xsendfile) and
# lighttpd in front of the demo; they fail, never skip, when one is missing.
# On Debian/Ubuntu this script installs them first when any is missing, and
# moto (an S3-compatible server, from PyPI) for the object-store tests.
#
# The static-files interop test (tests/tests/django_manifest.rs) runs real
# Django: this script creates target/django-venv with Django (and WhiteNoise,
# for scripts/bench.sh) from PyPI when it is missing, and points the test at
# it with AXUM_DOWNLOAD_DJANGO_PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

if ! have nginx || ! have apache2 || ! have lighttpd \
    || [ ! -f /usr/lib/apache2/modules/mod_xsendfile.so ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
    echo "test.sh: installing the reverse proxies the end-to-end tests need" >&2
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y nginx apache2 libapache2-mod-xsendfile lighttpd
fi

# The archive tests check every zip with `unzip -t` (and Python's zipfile).
if ! have unzip || ! have python3; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
    echo "test.sh: installing the zip readers the archive tests need" >&2
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y unzip python3
fi
# --all-features builds the native-tls feature: OpenSSL's headers.
./scripts/install-openssl-dev.sh
# shellcheck source=scripts/django-venv.sh
. scripts/django-venv.sh
export AXUM_DOWNLOAD_DJANGO_PYTHON
AXUM_DOWNLOAD_DJANGO_PYTHON=$(django_venv)
# The object-store tests (tests/tests/object_store.rs) run moto's
# S3-compatible server, installed from PyPI under target/.
./scripts/install-moto.sh >/dev/null

cargo test --workspace --all-features "$@"
