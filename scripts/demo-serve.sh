#!/usr/bin/env bash
# Serves the demo bundle in the Explorer on 127.0.0.1:PORT once the explorer subcommand exists.
set -euo pipefail
bundle=$1 port=${2:-8080}
if ./build/cellgate --help | grep -qE '^  explorer '; then
  echo "serving $bundle on http://127.0.0.1:$port/ (Ctrl-C stops)"
  exec ./build/cellgate explorer "$bundle" --host 127.0.0.1 --port "$port"
fi
echo "demo bundle ready: $bundle"
echo "(the Explorer server — 'cellgate explorer' — is not part of this build yet; see the open issues)"
