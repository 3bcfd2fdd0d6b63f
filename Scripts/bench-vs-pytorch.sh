#!/usr/bin/env bash
# Issue #17's PyTorch comparisons in one run, ours and PyTorch in turn (A B A B …, ROUNDS pairs per
# case, default 3): the default model (batch 16×64) on one process and on 4 (dp=4 / gloo DDP)
# with Dion ρ = 1/4 and AdamW, and one FSDP Dion step on 2048×2048 over 4 ranks at ρ = 1/4 and
# 1/16 against the Dion reference's own distributed Dion over gloo. Prints each pair's ratio, then
# min / median / max per case against the goals (docs/benchmarks.md, "Against PyTorch").
#
# Needs PyTorch for this python3 (CPU wheel; not installed by Scripts/setup.sh) and a checkout of
# the Dion reference (the microsoft/dion repository) in DION_REFERENCE (default /tmp/msdion); the
# reference is imported from there at run time, never copied here. A timing benchmark: not part
# of Scripts/test.sh or CI. Takes about 7–12 minutes on 2 cores with 3 rounds (the reference
# compiles its kernels with torch.compile at the start of every PyTorch run, longer the first time
# while Inductor's cache is cold; those steps are not timed).
#
#   bash Scripts/bench-vs-pytorch.sh                       # everything, 3 rounds
#   ROUNDS=5 bash Scripts/bench-vs-pytorch.sh --cases fsdp # extra arguments go to Scripts/bench/vs_pytorch.py
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${CI:-}" = "true" ]; then
  echo "bench-vs-pytorch.sh: a timing benchmark that needs PyTorch; not run in CI" >&2
  exit 0
fi
if ! python3 -c "import torch" 2>/dev/null; then
  echo "bench-vs-pytorch.sh: PyTorch is not installed for $(command -v python3) ($(python3 --version 2>&1))." >&2
  echo "  Install the CPU build (e.g. the wheel torch==2.13.0+cpu from PyTorch's CPU wheel index, with" >&2
  echo "  its dependencies filelock, typing-extensions, sympy, networkx, jinja2, fsspec), then re-run." >&2
  exit 1
fi
reference="${DION_REFERENCE:-/tmp/msdion}"
if ! [ -f "$reference/dion/__init__.py" ]; then
  echo "bench-vs-pytorch.sh: no Dion reference at $reference (expected $reference/dion/__init__.py)." >&2
  echo "  Put a checkout of the microsoft/dion repository there, or set DION_REFERENCE to one." >&2
  exit 1
fi
if ! (cd /tmp && PYTHONPATH="$reference" python3 -c "from dion import Dion") 2>/dev/null; then
  echo "bench-vs-pytorch.sh: cannot import the Dion reference from $reference with this PyTorch:" >&2
  (cd /tmp && PYTHONPATH="$reference" python3 -c "from dion import Dion") 2>&1 | tail -3 >&2
  exit 1
fi

bash Scripts/setup.sh >/dev/null
bash Scripts/fetch-data.sh >/dev/null
swift build -c release --product dion 2>&1 | tail -1
# shellcheck source=Scripts/mpi-env.sh
source Scripts/mpi-env.sh            # mpirun as root, 4 ranks on 2 cores, one BLAS thread per rank
export OMP_NUM_THREADS=1              # PyTorch: one thread per process (the scripts also set it)

echo "machine: $(getconf _NPROCESSORS_ONLN) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(uptime)"
echo "torch $(python3 -c 'import torch; print(torch.__version__)'), reference $reference" \
     "($(git -C "$reference" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout'))"
python3 Scripts/bench/vs_pytorch.py --rounds "${ROUNDS:-3}" --reference "$reference" "$@"
echo "after: $(uptime)"
