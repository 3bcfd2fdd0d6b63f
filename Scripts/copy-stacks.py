#!/usr/bin/env python3
"""Per-step copies by call stack: the difference of two Scripts/copy-stacks.c reports (see there),
divided by the difference in steps, largest first, symbolized with llvm-symbolizer and swift-demangle."""
import sys, subprocess, collections
def load(p):
    d = {}
    for line in open(p):
        parts = line.split()
        d[tuple(parts[2:])] = (int(parts[0]), int(parts[1]))
    return d
a, b, steps = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
diff = []
for k, (by, c) in b.items():
    ba, ca = a.get(k, (0, 0))
    if by - ba > 0: diff.append(((by - ba) / steps, (c - ca) / steps, k))
diff.sort(reverse=True)
cache = {}
def sym(frame):
    if frame in cache: return cache[frame]
    obj, off = frame.rsplit(':', 1)
    out = subprocess.run(['llvm-symbolizer', '--obj=' + obj, '--functions=short', '--demangle', off], capture_output=True, text=True).stdout.split('\n')
    name = out[0]
    name = subprocess.run(['swift-demangle', '--simplified', '--compact', name], capture_output=True, text=True).stdout.strip()
    loc = out[1].split('/')[-1] if len(out) > 1 else ''
    cache[frame] = f"{name[:110]} [{loc}]"
    return cache[frame]
total = sum(d[0] for d in diff)
print(f"total {total:.0f} bytes/step")
for by, c, k in diff[:int(sys.argv[4]) if len(sys.argv) > 4 else 25]:
    print(f"{by:12.0f} B/step {c:6.1f} calls")
    for f in k[:5]: print("      ", sym(f))
