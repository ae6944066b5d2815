#!/usr/bin/env bash
# The web client's node:test unit tests (web/test), including decoding real responses of $CELLGATE.
set -euo pipefail
src=${CG_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$src/web"
[ -d node_modules ] || npm ci --no-audit --no-fund
CG_TEST_BUNDLE=${CG_TEST_BUNDLE:-$src/data/pbmc68k_reduced.h5ad} XDG_CACHE_HOME=${CG_TMPDIR:-/tmp}/xdg npm test --silent
