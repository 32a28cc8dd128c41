"""benchmarks/run.sh plan: prints one round's ratios (stderr) from the JSON lines in SHARED, NAIVE and TORCH; stdout: the shared ratio."""
import json
import os
import sys

t = json.loads(os.environ["TORCH"])
for key in ("SHARED", "NAIVE"):
    if os.environ.get(key):
        d = json.loads(os.environ[key])
        print(f"== plan-step {d['impl']}: {d['median_ms']:.1f} ms vs torch-naive {t['median_ms']:.1f} ms: "
              f"{t['median_ms'] / d['median_ms']:.1f}x faster", file=sys.stderr)
if os.environ.get("SHARED"):
    print(f"{t['median_ms'] / json.loads(os.environ['SHARED'])['median_ms']:.2f}")
