"""Benchmark: grid throughput with `supreme run --workers 1` vs `--workers 2`, and reruns.

    uv run python bench/grid.py                    # 8 cells, ResNet18 width 16, 1 round
    uv run python bench/grid.py --targets 8 --width 32 --rounds 2
    uv run python bench/grid.py --device cuda --per-device 4 --json grid.json   # one GPU

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

With ``--device cuda`` the two sides are ``launch.workers_per_device = 1`` and ``=
--per-device`` (``--workers auto``: that many workers share each GPU), ``nvidia-smi`` samples
the GPU's utilisation every 0.5 s during each first run (median and mean reported), and
``--methods`` may widen the grid. ``--json PATH`` writes the figures for
``bench/gpu_check.sh``'s summary.
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
    methods = json.dumps(["original", "retrain", *args.methods])
    sets = [
        f'output_dir="{out}"', 'name="grid-bench"', f"targets.fullclass={targets}",
        f"methods={methods}", 'metrics=["accuracy"]',
        f"training.epochs={args.epochs}", f"model.resnet18.width={args.width}",
        f"seeds.train={json.dumps(list(range(args.train_seeds)))}",
        *(f"method.{m}.epochs=1" for m in args.methods if m in ("finetune", "l1_sparse")),
    ]
    if args.device == "cuda":
        sets.append('fabric.accelerator="cuda"')
    return [item for s in sets for item in ("--set", s)]


def utilisation_sampler() -> subprocess.Popen | None:
    """``nvidia-smi`` printing the GPU's utilisation (%) every 0.5 s, or None without it."""
    try:
        return subprocess.Popen(
            ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
             "-lms", "500"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return None


def stop_sampler(sampler: subprocess.Popen | None) -> list[float]:
    if sampler is None:
        return []
    sampler.terminate()
    out, _ = sampler.communicate(timeout=10)
    return [float(v) for line in out.splitlines() for v in line.split(",")[:1]
            if v.strip().replace(".", "", 1).isdigit()]


def side_args(args: argparse.Namespace, side: int) -> list[str]:
    """``--workers N`` on a CPU; ``N`` workers per GPU on CUDA."""
    if args.device == "cuda":
        return ["--workers", "auto", "--set", f"launch.workers_per_device={side}"]
    return ["--workers", str(side)]


SAMPLES: dict[int, list[float]] = {}


def run(args: argparse.Namespace, out: Path, workers: int) -> tuple[float, float, list]:
    cmd = supreme("run", "--json", "--no-progress", *side_args(args, workers),
                  *overrides(args, out))
    env = {**os.environ, "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1"}
    sampler = utilisation_sampler() if args.device == "cuda" else None
    start, cpu = time.perf_counter(), cpu_seconds()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    SAMPLES.setdefault(workers, []).extend(stop_sampler(sampler))
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
    parser.add_argument("--train-seeds", type=int, default=1,
                        help="training seeds: cells = targets x train seeds, one M_o per seed")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="keep output dirs under here")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--per-device", type=int, default=4,
                        help="with --device cuda: workers per GPU of the second side")
    parser.add_argument("--methods", nargs="*", default=["finetune"],
                        help="methods besides original and retrain")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="supreme-grid-"))
    many = args.per_device if args.device == "cuda" else 2
    sides = (1, many)
    first: dict[int, list[float]] = {w: [] for w in sides}
    first_cpu: dict[int, list[float]] = {w: [] for w in sides}
    rerun: dict[int, list[float]] = {w: [] for w in sides}
    speedups, records = [], {}
    same_records = True
    for r in range(args.rounds):
        order = sides if r % 2 == 0 else sides[::-1]
        dirs = {w: base / f"round{r}-workers{w}" for w in order}
        for w in order:
            wall, cpu, records[w] = run(args, dirs[w], w)
            first[w].append(wall)
            first_cpu[w].append(cpu)
            print(f"round {r}: workers {w}, empty store   {wall:7.1f} s wall, {cpu:7.1f} s CPU",
                  flush=True)
        differ = [(a, b) for a, b in zip(records[1], records[many], strict=True) if a != b]
        if differ:
            worst = max(abs(a[-1] - b[-1]) for a, b in differ)
            same_records = False
            print(f"round {r}: {len(differ)} of {len(records[1])} records differ between 1 and {many} "
                  f"workers (largest difference {worst:.3g}); e.g. {differ[0][0]} vs {differ[0][1]}")
        speedups.append(first[1][-1] / first[many][-1])
        for w in order:
            wall, _, again = run(args, dirs[w], w)
            if again != records[w]:
                sys.exit(f"the rerun of workers {w} gave different records")
            rerun[w].append(wall / first[w][-1])
            print(f"round {r}: workers {w}, rerun (reused) {wall:7.1f} s wall "
                  f"= {rerun[w][-1]:.3f} of the first run", flush=True)
    cells = args.targets * args.train_seeds
    unit = "workers per GPU" if args.device == "cuda" else "workers"
    print(f"grid: digits x resnet18 (width {args.width}) x {args.targets} full-class targets x "
          f"{args.train_seeds} training seed(s) = {cells} cells; original, retrain, "
          f"{', '.join(args.methods)}; {args.epochs} training epochs; {args.device}")
    print(f"same records with 1 and {many} {unit}: {'yes' if same_records else 'NO'}; "
          "every rerun reproduced its first run's records: yes")
    speedup = statistics.median(speedups)
    print(f"RATIO grid throughput {unit} 1/{many} (speed-up) = {speedup:.2f}"
          f"  (wall medians {statistics.median(first[1]):.1f} s vs "
          f"{statistics.median(first[many]):.1f} s; CPU {statistics.median(first_cpu[1]):.1f} s vs "
          f"{statistics.median(first_cpu[many]):.1f} s)")
    for w in sides:
        fraction = statistics.median(rerun[w])
        ok = "MET" if fraction < RERUN_TARGET else "MISSED"
        print(f"RATIO rerun/first ({unit} {w}) = {fraction:.3f}   {ok} (target < {RERUN_TARGET})")
    utilisation = {w: (statistics.median(v), statistics.fmean(v)) for w, v in SAMPLES.items() if v}
    for w, (median, mean) in utilisation.items():
        print(f"GPU utilisation ({unit} {w}, first runs): median {median:.0f} %, mean {mean:.0f} %")
    if args.json:
        args.json.write_text(json.dumps({
            "device": args.device, "cells": cells, "methods": args.methods, "sides": list(sides),
            "first_s": {w: statistics.median(first[w]) for w in sides}, "speedup": speedup,
            "rerun_share": {w: statistics.median(rerun[w]) for w in sides},
            "utilisation_median": {w: u[0] for w, u in utilisation.items()},
            "same_records": same_records}, indent=2))
    print(f"output directories: {base}")


if __name__ == "__main__":
    main()
