#!/usr/bin/env bash
# Installs moto's S3-compatible server (moto[server], from PyPI) in a
# virtual environment at target/s3-venv, unless that exact version is there
# already. Used by scripts/test.sh (the object-store end-to-end tests) and
# scripts/bench.sh (the object-store scenarios).
#
# Why moto: it installs from PyPI as wheels in seconds (nothing to compile,
# unlike s3s-fs from crates.io), runs in memory on loopback, and answers
# HEAD, ranged GET and presigned URLs as S3 does.
#
# Prints the path of the moto_server program.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=target/s3-venv
VERSION=5.2.5

if "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$VERSION')" \
    >/dev/null 2>&1 && [ -x "$VENV/bin/moto_server" ]; then
    echo "$PWD/$VENV/bin/moto_server"
    exit 0
fi
echo "install-moto.sh: installing moto[server]==$VERSION in $VENV" >&2
if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
    $sudo apt-get update >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y python3 python3-venv >&2
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet "moto[server]==$VERSION" >&2
echo "$PWD/$VENV/bin/moto_server"
