#!/usr/bin/env bash
# Installs what the `native-tls` feature of axum-download needs to build on
# Debian/Ubuntu (OpenSSL's headers and pkg-config, for openssl-sys), unless
# pkg-config finds OpenSSL already. Used by .ci/run and scripts/test.sh,
# which build with --all-features; the default `rustls` feature needs
# neither.
set -euo pipefail

if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openssl; then
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
echo "install-openssl-dev.sh: installing libssl-dev and pkg-config (feature native-tls)" >&2
$sudo apt-get update >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y libssl-dev pkg-config >&2
