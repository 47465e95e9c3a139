"""Time ``supreme report`` on synthetic runs of 1, 4 and 16 cells (issue 17: ≤ 10 s for a
cell with 13 methods and 10 metrics, and linear in cells).

    .venv/bin/python bench/report.py                      # 1, 4, 16 cells, 13 methods
    .venv/bin/python bench/report.py --cells 1 --methods 18 --repeats 3

Each cell holds the records the ten built-in metrics write for ResNet18 (accuracy,
loss, js_divergence and activation_distance on three splits, completeness, zrf, mia, two
time keys, three resource keys, and layerwise_distance with ``total`` plus 41 per-layer
keys declared details) for ``original``, ``retrain`` and the methods, over 3 seeds. The
cells differ by forget target (one dataset, model and scenario: one report group) or,
with ``--groups``, by dataset (one group each). Timed: ``supreme report RUN_DIR`` as a
subprocess (start-up included), the median of ``--repeats`` runs, with the plots (needs
the ``report`` extra). Prints one row per cell count and the time per cell.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPLITS = ("test", "retain_test", "forget_test")
LAYERS = 41  # ResNet18's modules with parameters


def metric_keys() -> list[tuple[str, str, bool]]:
    keys = [(m, s, False) for m in ("accuracy", "loss", "js_divergence", "activation_distance")
            for s in SPLITS]
    keys += [("completeness", "forget_test", False), ("zrf", "forget_test", False),
             ("mia", "forget_train", False), ("time", "unlearn_seconds", False),
             ("time", "speedup", False), ("resources", "peak_memory_mb", False),
             ("resources", "gpu_seconds", False), ("resources", "cpu_seconds", False),
             ("layerwise_distance", "total", False)]
    keys += [("layerwise_distance", f"layer.block{i}.conv", True) for i in range(LAYERS)]
    return keys


def write_run(run_dir: Path, cells: int, methods: int, seeds: int, groups: bool) -> int:
    rng = random.Random(0)
    names = ["original", "retrain", *(f"method_{i}" for i in range(methods))]
    lines = []
    for cell in range(cells):
        dataset, target = (f"data{cell}", "0") if groups else ("data", str(cell))
        for seed in range(seeds):
            for method in names:
                for metric, key, detail in metric_keys():
                    record = {"experiment": "bench", "dataset": dataset, "model": "resnet18",
                              "scenario": "fullclass", "target": target, "train_seed": seed,
                              "unlearn_seed": seed, "eval_seed": seed, "method": method,
                              "metric": metric, "key": key, "value": rng.uniform(0, 100),
                              "artifact": f"models/{method}-{cell}-{seed}",
                              "provenance": {"method": {"distribution": "bench"}}}
                    if detail:
                        record["detail"] = True
                    lines.append(json.dumps(record))
    run_dir.mkdir(parents=True)
    (run_dir / "results.jsonl").write_text("\n".join(lines) + "\n")
    (run_dir / "config.json").write_text(json.dumps({"name": "bench"}))
    return len(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--methods", type=int, default=13)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--groups", action="store_true",
                        help="each cell its own (dataset, model, scenario) group")
    args = parser.parse_args()
    exe = Path(sys.executable).with_name("supreme")
    print(f"| cells | records | report s (median of {args.repeats}) | s per cell |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for cells in args.cells:
            run_dir = Path(tmp) / f"run-{cells}"
            n = write_run(run_dir, cells, args.methods, args.seeds, args.groups)
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                subprocess.run([str(exe), "report", str(run_dir)], check=True,
                               stdout=subprocess.DEVNULL)
                times.append(time.perf_counter() - start)
            median = statistics.median(times)
            print(f"| {cells} | {n:,} | {median:.2f} | {median / cells:.2f} |", flush=True)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    print(f"\n{args.methods} methods + original + retrain, {args.seeds} seeds, "
          f"{'one group per cell' if args.groups else 'one group'}; load average {' '.join(load)}")


if __name__ == "__main__":
    main()
