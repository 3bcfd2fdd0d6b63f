#!/usr/bin/env bash
# Installs the system packages dion-swift needs (Open MPI, OpenBLAS + LAPACKE, pkg-config),
# with apt-get, only when they are missing. Idempotent: a second run installs nothing.
set -euo pipefail

# iproute2, util-linux, procps: the emulated cluster (ip netns, tc, unshare, sysctl).
packages=(libopenmpi-dev openmpi-bin libopenblas-dev liblapacke-dev pkg-config iproute2 util-linux procps)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all system packages present (${packages[*]})"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: installed ${missing[*]}"
