#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the demo need, if any is missing (Debian 12).
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libhdf5-dev hdf5-plugin-lzf liblzf-dev libxxhash-dev libcmocka-dev
  libjansson-dev libmicrohttpd-dev libdeflate-dev libzstd-dev libsqlite3-dev
  python3-anndata python3-h5py python3-scipy python3-numpy python3-pytest
  python3-flatbuffers flatbuffers-compiler wrk python3-mpmath
  nodejs npm chromium
)
missing=()
for p in "${PKGS[@]}"; do
  # a Node.js from outside Debian (e.g. NodeSource, which bundles npm and conflicts with Debian's npm) will do
  case $p in nodejs|npm) command -v "${p/nodejs/node}" >/dev/null && continue ;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing missing packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
