#!/usr/bin/env bash
# Runs every test of the workspace: unit, router, doc and end-to-end tests.
# Usage: ./scripts/test.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --all-features "$@"
