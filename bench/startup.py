"""Benchmark: start-up time of `supreme --help` and `supreme list methods` (target < 1 s),
and the cost of the code fingerprints that enter store keys (target < 0.2 s per process).

    uv run python bench/startup.py [--repeats 7] [--importtime]

Runs the installed console script (the ``supreme`` next to this Python) as a user would,
in interleaved rounds with a bare interpreter start (``python -c pass``) as the side-by-side
yardstick, and prints per command the median wall time (the target is absolute: under one
second) and its ratio to the bare interpreter (the steadier number on a loaded machine).
``--importtime`` adds the slowest imports of ``supreme --help`` (``python -X importtime``),
which is where a regression (torch imported at start-up) shows.

The fingerprint figure is measured in a fresh interpreter per repeat (cold per-process
caches, warm OS file cache): the time to fingerprint every installed component and the
three core code sets, which is what one ``supreme run`` process pays once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _common import Side, fmt_times, interleaved, ratio_line

TARGET_SECONDS = 1.0
FINGERPRINT_TARGET_SECONDS = 0.2
FINGERPRINT_CODE = """
import time
from supreme import registry
reg = registry.default()
classes = [e.cls for k in ("methods", "metrics", "datasets", "models") for e in reg.list(k)]
start = time.perf_counter()
from supreme import fingerprint
for cls in classes:
    fingerprint.component_code(cls)
for stage in fingerprint.CORE_CODE:
    fingerprint.core_code(stage)
print(time.perf_counter() - start, len(classes))
"""


def fingerprint_cost(repeats: int) -> None:
    times, count = [], 0
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", FINGERPRINT_CODE], capture_output=True,
                              text=True, check=True)
        seconds, count = done.stdout.split()
        times.append(float(seconds))
    wall = statistics.median(times)
    ok = "MET" if wall < FINGERPRINT_TARGET_SECONDS else "MISSED"
    print(f"{'code fingerprints':<22} median {wall * 1000:.1f} ms for {count} components and 3 "
          f"core sets (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}); {ok} "
          f"(target < {FINGERPRINT_TARGET_SECONDS} s per process)")


def command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("supreme")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "supreme", *args]


def runner(cmd: list[str]):
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}

    def go() -> None:
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       env=env)
    return go


def import_profile(top: int = 12) -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "supreme", "--help"],
                          capture_output=True, text=True, check=True)
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    print(f"slowest imports of `supreme --help` (cumulative µs, top {top}):")
    for micros, name in sorted(rows, reverse=True)[:top]:
        print(f"  {micros:>9,d}  {name}")
    loaded = {name.strip() for _, name in rows}
    print("torch imported at start-up:", "YES (regression)" if "torch" in loaded else "no")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--importtime", action="store_true")
    args = parser.parse_args()
    bare = Side("python -c pass", runner([sys.executable, "-c", "pass"]))
    help_ = Side("supreme --help", runner(command("--help")))
    methods = Side("supreme list methods", runner(command("list", "methods")))
    for side in (bare, help_, methods):  # warm the file cache
        side.run()
    interleaved([bare, help_, methods], args.repeats)
    for side in (bare, help_, methods):
        print(fmt_times(side))
    for side in (help_, methods):
        wall = statistics.median(side.seconds)
        ok = "MET" if wall < TARGET_SECONDS else "MISSED"
        print(f"{side.name:<22} median wall {wall:.3f} s  {ok} (target < {TARGET_SECONDS} s); "
              + ratio_line(f"{side.name}/bare python", side, bare))
    fingerprint_cost(args.repeats)
    if args.importtime:
        import_profile()


if __name__ == "__main__":
    main()
