"""Benchmark: the embedded default experiment from an empty store (and its rerun).

    uv run python bench/default_experiment.py [--out DIR]

Runs `supreme run` (no config) as a user would, in a fresh output directory, and reports
the wall time of the first run, the wall time of a rerun that reuses everything, their
ratio, the peak RSS of the process tree, and the headline numbers the acceptance criteria
read: forget-test and retain-test accuracy of original, retrain and finetune.
Target: the first run within 180 s on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def supreme_run(out: Path) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "supreme", "run", "--json",
           "--set", f'output_dir="{out}"']
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"supreme run failed:\n{done.stderr[-3000:]}")
    return seconds, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output dir (default: a temp dir)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="supreme-bench-"))
    first, payload = supreme_run(out)
    again, _ = supreme_run(out)
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6
    values = {(r["method"], r["metric"], r["key"]): r["value"] for r in payload["records"]}
    print(f"first run          {first:7.1f} s   (target <= 180 s)")
    print(f"rerun (all reused) {again:7.1f} s   ratio rerun/first = {again / first:.3f}")
    print(f"peak RSS (largest child process) {peak_gb:.2f} GB")
    print(f"{'method':<10} {'forget_test acc':>16} {'retain_test acc':>16}")
    for method in ("original", "retrain", "finetune"):
        print(f"{method:<10} {values[(method, 'accuracy', 'forget_test')]:16.2f} "
              f"{values[(method, 'accuracy', 'retain_test')]:16.2f}")


if __name__ == "__main__":
    main()
