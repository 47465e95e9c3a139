"""``supreme tune`` on digits: default vs tuned settings on fresh seeds, and the cost.

For each method: an Optuna study of ``--trials`` trials on the validation split of the
embedded digits experiment (full-class forgetting of digit 3, ResNet18), then one
``supreme run`` on the experiment's own seeds and real test split with the default row and
the tuned row (``METHOD@tuned``, from the fragment) side by side. Prints a Markdown table
(forget-test, retain-test, MIA, distance to M_r: mean over the fresh seeds) and the wall
time of each study and per trial.

    uv run python bench/tune_digits.py --trials 30 --workers 2 --out /tmp/tune-digits

Run it on an idle machine (report ``uptime``): trial times are wall times.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def main() -> None:
    import supreme
    from supreme.report.ranking import seed_distances
    from supreme.tune import tune

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="+", default=["neg_grad", "jit", "ssd", "ssd_det"])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--fresh-seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--out", type=Path, default=Path("/tmp/tune-digits"))
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="more experiment overrides, e.g. tune.train_seeds=[101]")
    args = parser.parse_args()

    base = {"output_dir": str(args.out), "name": "tune-digits"}
    config = supreme.load_config(data=base, overrides=args.overrides)
    timings = {}
    fragments = []
    for method in args.methods:
        start = time.perf_counter()
        result = tune(config, [method], trials=args.trials, workers=args.workers)[0]
        wall = time.perf_counter() - start
        timings[method] = (result, wall)
        if result.fragment is not None:
            fragments.append(result.fragment)

    fresh = supreme.load_config(data={
        **base, "name": "tune-digits-fresh", "methods": ["original", "retrain", *args.methods],
        "metrics": ["accuracy", "mia"], "seeds": {"train": args.fresh_seeds}},
        overrides=args.overrides, includes=fragments)
    start = time.perf_counter()
    records = supreme.run(fresh, workers=args.workers).records
    fresh_wall = time.perf_counter() - start
    keys = [("accuracy", "forget_test"), ("accuracy", "retain_test"), ("mia", "forget_train")]
    _, distances = seed_distances([r for r in records if not r.get("detail")], keys)

    def mean(method: str, metric: str, key: str) -> str:
        values = [r["value"] for r in records
                  if r["method"] == method and r["metric"] == metric and r["key"] == key]
        scale = 100.0 if metric == "mia" else 1.0
        return f"{statistics.fmean(values) * scale:.1f}" if values else "-"

    print(f"\nfresh seeds s_t = {args.fresh_seeds} (test split), {fresh_wall:.0f} s\n")
    print("| row | forget-test acc. | retain-test acc. | MIA (%) | distance to M_r |")
    print("|---|---|---|---|---|")
    rows = ["original", "retrain"] + [r for m in args.methods for r in (m, f"{m}@tuned")]
    for row in rows:
        d = distances.get(row, {})
        dist = f"{statistics.fmean(d.values()):.2f}" if d else ("0" if row == "retrain" else "-")
        print(f"| {row} | {mean(row, 'accuracy', 'forget_test')} | "
              f"{mean(row, 'accuracy', 'retain_test')} | {mean(row, 'mia', 'forget_train')} "
              f"| {dist} |")
    print("\n| study | trials (complete/pruned/failed) | validation objective default → best "
          "| best settings | study wall (s) | median s/trial | first trial (s) |")
    print("|---|---|---|---|---|---|---|")
    for method, (r, wall) in timings.items():
        settings = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                             for k, v in r.best_params.items()) or "(the defaults)"
        seconds = r.trial_seconds
        default = "-" if r.default_value is None else f"{r.default_value:.2f}"
        best = "-" if r.best_value is None else f"{r.best_value:.2f}"
        print(f"| {method} | {r.trials} ({r.complete}/{r.pruned}/{r.failed}) | {default} → "
              f"{best} | {settings} | {wall:.0f} | "
              f"{statistics.median(seconds[1:] or seconds):.1f} | "
              f"{seconds[0]:.1f} |" if seconds else f"| {method} | - |")


if __name__ == "__main__":
    main()
