#!/usr/bin/env bash
# The project's test command (README): installs the system packages, builds, runs `swift test`
# (unit tests in one process, and multi-rank tests that launch the release `dion` and
# `_MPITestRunner` under mpirun -np 1, 2, 4; DION_BUILD_DIR picks them), and
# finally runs the collectives benchmark, byte-checked optimizer steps and a short training run on
# the Shakespeare corpus under mpirun -np 4 with the release build, the claims study's 3-step smoke run
# (Scripts/claims.sh), and the examples package (Scripts/test-examples.sh). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
source Scripts/mpi-env.sh
# The emulated-cluster tests remove their namespaces themselves; this catches a crashed test run.
if [ "$(id -u)" -eq 0 ]; then trap 'bash Scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT; fi

echo "== swift build (debug, with tests)"
swift build --build-tests
echo "== release build of the executables the multi-rank tests launch (dion, _MPITestRunner)"
swift build -c release --product dion
swift build -c release --product _MPITestRunner
echo "== swift test (the multi-rank tests launch the release executables: what users run, and 25× faster)"
# A hung test must fail the run with a picture of what hung, not run into CI's 90-minute limit:
# past SWIFT_TEST_LIMIT seconds (40 min; the whole run takes ≈ 5), the processes still running are
# listed with what the kernel has them wait on, and swift test is stopped.
DION_BUILD_DIR="$PWD/.build/release" swift test --skip-build &
test_pid=$!
(
  sleep "${SWIFT_TEST_LIMIT:-2400}" </dev/null >/dev/null 2>&1
  echo "== swift test ran past ${SWIFT_TEST_LIMIT:-2400} s; what still runs:"
  ps -eo pid,ppid,stat,etime,wchan:32,args --forest
  kill -TERM "$test_pid"; sleep 10; kill -KILL "$test_pid" 2>/dev/null || true
) &
watchdog=$!
test_status=0
wait "$test_pid" || test_status=$?
kill "$watchdog" 2>/dev/null || true
[ "$test_status" -eq 0 ] || { echo "== swift test failed (exit $test_status)"; exit "$test_status"; }
echo "== a 4-rank smoke run of the collectives benchmark"
timeout 300 mpirun -np 4 .build/release/dion bench collectives --max-bytes 65536 --seconds-per-point 0.01 --repeats 1
echo "== distributed optimizer steps: measured bytes must equal the formulas"
for mesh in dp=4 fsdp=4 dp=2,fsdp=2 tp=4 fsdp=2,tp=2 dp=2,tp=2; do
  timeout 300 mpirun -np 4 .build/release/dion bench comm --mesh "$mesh" --shapes 130x70,70x130,3x5 --steps 1 --check
done
timeout 300 mpirun -np 4 .build/release/dion bench comm --mesh fsdp=2,tp=2 --layout row --shapes 130x70,70x130 --steps 1 --check
echo "== Dion2, NorDion2, NorMuon: measured bytes must equal the plan of each step (exact and global selection)"
for mesh in dp=4 fsdp=4 tp=4 dp=2,fsdp=2 fsdp=2,tp=2; do
  for selection in exact global; do
    timeout 300 mpirun -np 4 .build/release/dion bench comm --mesh "$mesh" --selection "$selection" --shapes 130x70,70x130,3x5 \
      --optimizers dion2:0.25,nordion2:0.25,normuon --steps 2 --check
  done
done
timeout 300 mpirun -np 4 .build/release/dion bench comm --mesh fsdp=2,tp=2 --model dion-train --optimizers dion2:0.25,nordion2:0.25,normuon \
  --steps 1 --check
echo "== --wire bf16: Muon, Dion2, NorDion2, NorMuon send 2 bytes per element; measured bytes must equal the plan"
for mesh in dp=4 fsdp=4 tp=4 fsdp=2,tp=2; do
  timeout 300 mpirun -np 4 .build/release/dion bench comm --mesh "$mesh" --wire bf16 --shapes 130x70,70x130,3x5 \
    --optimizers muon,dion2:0.25,nordion2:0.25,normuon --steps 2 --check
done
echo "== a whole model's matrices in one batched Dion step: measured bytes must equal the plan"
for mesh in dp=4 dp=2,fsdp=2 fsdp=2,tp=2; do
  timeout 300 mpirun -np 4 .build/release/dion bench comm --mesh "$mesh" --model dion-train --optimizers dion:0.25,dion:1/16,adamw \
    --steps 1 --check
done
echo "== a short real training run on the Shakespeare corpus (mpirun -np 4, FSDP × TP)"
bash Scripts/fetch-data.sh
timeout 600 mpirun -np 4 .build/release/dion train --mesh fsdp=2,tp=2 --steps 20 --log-every 5 --eval-every 10
CLAIMS_SMOKE=1 timeout 300 bash Scripts/claims.sh  # the claims study (docs/claims.md): smallest configuration, 3 steps
echo "== the main job across the emulated cluster (2 hosts × 2 ranks, 1 Gbit/s links, dp across hosts)"
if [ "$(id -u)" -eq 0 ]; then
  CLUSTER=1 NP=4 timeout 600 bash Scripts/run.sh --mesh dp=2,tp=2 --steps 10 --log-every 5 --eval-every 10
else
  echo "(skipped: the emulated cluster needs root)"
fi
echo "== the examples as an outside package: clean build, mlp-dion on 1, 2, 4 ranks, collectives, simulate-my-model"
bash Scripts/test-examples.sh
echo "== all tests passed"
