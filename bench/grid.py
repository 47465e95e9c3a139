"""Benchmark: grid throughput with `supreme run --workers 1` vs `--workers 2`, and reruns.

    uv run python bench/grid.py                    # 8 cells, ResNet18 width 16, 1 round
    uv run python bench/grid.py --targets 8 --width 32 --rounds 2

Runs the CLI as a user would on a small grid of the embedded dataset (digits, ResNet18,
full-class forgetting of ``--targets`` digits, so ``--targets`` cells sharing one M_o;
methods original, retrain and finetune; metric accuracy; short training), each run in a
fresh output directory of its own:

* ``workers 1`` and ``workers 2`` from an empty store, in alternating order each round:
  ratio = time(1 worker) / time(2 workers) (the speed-up, higher is better; the ideal on
  two free cores is close to 2, less when the cells share M_o and the machine is loaded);
* a rerun of each in its own directory, where every stage is reused: its time as a
  fraction of that directory's first run (target < 0.05).

Whether both worker counts produce the same records is reported (a worker process gets its
share of the CPU threads, and a different thread count can change float reductions on a
CPU); a rerun must reproduce its first run exactly (checked). Wall time of each
``supreme`` process is measured from here; CPU time is the child process tree's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import cpu_seconds

RERUN_TARGET = 0.05


def supreme(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("supreme")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "supreme", *args]


def overrides(args: argparse.Namespace, out: Path) -> list[str]:
    targets = json.dumps([str(d) for d in range(args.targets)])
    sets = [
        f'output_dir="{out}"', 'name="grid-bench"', f"targets.fullclass={targets}",
        'methods=["original","retrain","finetune"]', 'metrics=["accuracy"]',
        f"training.epochs={args.epochs}", "method.finetune.epochs=1",
        f"model.resnet18.width={args.width}",
    ]
    return [item for s in sets for item in ("--set", s)]


def run(args: argparse.Namespace, out: Path, workers: int) -> tuple[float, float, list]:
    cmd = supreme("run", "--json", "--no-progress", "--workers", str(workers),
                  *overrides(args, out))
    env = {**os.environ, "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1"}
    start, cpu = time.perf_counter(), cpu_seconds()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    if done.returncode != 0:
        sys.exit(f"`{' '.join(cmd)}` failed ({done.returncode}):\n{done.stderr[-3000:]}")
    payload = json.loads(done.stdout)
    records = sorted((r["target"], r["method"], r["metric"], r["key"], r["value"])
                     for r in payload["records"])
    return wall, cpu, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=8, help="cells (forget targets), >= 8")
    parser.add_argument("--width", type=int, default=16, help="ResNet18 width (64 = reference)")
    parser.add_argument("--epochs", type=int, default=2, help="training epochs of M_o and M_r")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="keep output dirs under here")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="supreme-grid-"))
    first: dict[int, list[float]] = {1: [], 2: []}
    first_cpu: dict[int, list[float]] = {1: [], 2: []}
    rerun: dict[int, list[float]] = {1: [], 2: []}
    speedups, records = [], {}
    same_records = True
    for r in range(args.rounds):
        order = (1, 2) if r % 2 == 0 else (2, 1)
        dirs = {w: base / f"round{r}-workers{w}" for w in order}
        for w in order:
            wall, cpu, records[w] = run(args, dirs[w], w)
            first[w].append(wall)
            first_cpu[w].append(cpu)
            print(f"round {r}: workers {w}, empty store   {wall:7.1f} s wall, {cpu:7.1f} s CPU",
                  flush=True)
        differ = [(a, b) for a, b in zip(records[1], records[2], strict=True) if a != b]
        if differ:
            worst = max(abs(a[-1] - b[-1]) for a, b in differ)
            same_records = False
            print(f"round {r}: {len(differ)} of {len(records[1])} records differ between 1 and 2 "
                  f"workers (largest difference {worst:.3g}); e.g. {differ[0][0]} vs {differ[0][1]}")
        speedups.append(first[1][-1] / first[2][-1])
        for w in order:
            wall, _, again = run(args, dirs[w], w)
            if again != records[w]:
                sys.exit(f"the rerun of workers {w} gave different records")
            rerun[w].append(wall / first[w][-1])
            print(f"round {r}: workers {w}, rerun (reused) {wall:7.1f} s wall "
                  f"= {rerun[w][-1]:.3f} of the first run", flush=True)
    cells = args.targets
    print(f"grid: digits x resnet18 (width {args.width}) x {cells} full-class targets = {cells} "
          f"cells; original, retrain, finetune; {args.epochs} training epochs")
    print(f"same records with 1 and 2 workers: {'yes' if same_records else 'NO'}; "
          "every rerun reproduced its first run's records: yes")
    print(f"RATIO grid throughput workers1/workers2 (speed-up) = {statistics.median(speedups):.2f}"
          f"  (wall medians {statistics.median(first[1]):.1f} s vs "
          f"{statistics.median(first[2]):.1f} s; CPU {statistics.median(first_cpu[1]):.1f} s vs "
          f"{statistics.median(first_cpu[2]):.1f} s)")
    for w in (1, 2):
        fraction = statistics.median(rerun[w])
        ok = "MET" if fraction < RERUN_TARGET else "MISSED"
        print(f"RATIO rerun/first (workers {w}) = {fraction:.3f}   {ok} (target < {RERUN_TARGET})")
    print(f"output directories: {base}")


if __name__ == "__main__":
    main()
