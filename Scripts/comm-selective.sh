#!/usr/bin/env bash
# The Dion2 / NorDion2 / NorMuon byte tables of docs/communication.md: dion bench comm (mpirun -np 4,
# --check) of Muon, Dion ρ=1/4, Dion2 and NorDion2 (α = 1/4; exact, global, local) and NorMuon on
# dp=4, fsdp=4, tp=4, dp=2×fsdp=2, fsdp=2×tp=2, with the optimizer collectives in fp32 and in bf16.
# Writes results/comm-selective/*.json and prints one Markdown table per wire format.
#
#   Scripts/comm-selective.sh          # SHAPES=1024x1024,512x2048 STEPS=3 DION=.build/release/dion
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/mpi-env.sh
dion=${DION:-.build/release/dion}
[ -n "${DION:-}" ] || swift build -c release --product dion 2>&1 | tail -1
shapes=${SHAPES:-1024x1024,512x2048}
steps=${STEPS:-3}
out=results/comm-selective
mkdir -p "$out"
for mesh in dp=4 fsdp=4 tp=4 dp=2,fsdp=2 fsdp=2,tp=2; do
  for wire in fp32 bf16; do
    tag="${mesh//[=,]/-}-$wire"
    mpirun -np 4 "$dion" bench comm --mesh "$mesh" --shapes "$shapes" --wire "$wire" --selection exact --steps "$steps" \
      --check --optimizers dion:0.25,muon,dion2:0.25,nordion2:0.25,normuon --json "$out/$tag-exact.json" > /dev/null
    for selection in global local; do
      # local is refused where the layout does not shard the selected dimension (replicated on dp).
      mpirun -np 4 "$dion" bench comm --mesh "$mesh" --shapes "$shapes" --wire "$wire" --selection "$selection" \
        --steps "$steps" --check --optimizers dion2:0.25 --json "$out/$tag-$selection.json" > /dev/null 2>&1 \
        || echo '[]' > "$out/$tag-$selection.json"
    done
  done
done
python3 - "$out" "$shapes" <<'PY'
import json, sys, glob, os
out, shapes = sys.argv[1], sys.argv[2].split(",")
meshes = ["dp=4", "fsdp=4", "tp=4", "dp=2,fsdp=2", "fsdp=2,tp=2"]
cols = [("muon", "exact", "Muon"), ("dion", "exact", "Dion ρ=¼"), ("dion2", "exact", "Dion2 exact"),
        ("dion2", "global", "Dion2 global"), ("dion2", "local", "Dion2 local"), ("nordion2", "exact", "NorDion2 exact"),
        ("normuon", "exact", "NorMuon")]
def cell(mesh, wire, optimizer, selection):
    recs = json.load(open(f"{out}/{mesh.replace('=', '-').replace(',', '-')}-{wire}-{selection}.json"))
    vals = [r for r in recs if r["optimizer"] == optimizer]
    if not vals:
        return "refused"
    return " / ".join(f"{next(r for r in vals if r['shape'] == s)['bytes_sent_per_rank']:,}".replace(",", " ") for s in shapes)
for wire in ["fp32", "bf16"]:
    print(f"\nwire {wire} ({' / '.join(shapes)}; bytes sent per rank per step, max over ranks)\n")
    print("| mesh | " + " | ".join(c[2] for c in cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for mesh in meshes:
        print(f"| {mesh.replace(',', '×')} | " + " | ".join(cell(mesh, wire, o, s) for o, s, _ in cols) + " |")
PY
