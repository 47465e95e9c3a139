"""Measure every unlearning method on the embedded dataset and print a Markdown table.

    .venv/bin/python bench/methods_table.py                     # digits, resnet18, target 3
    .venv/bin/python bench/methods_table.py --seeds 0 1 2       # several training seeds
    .venv/bin/python bench/methods_table.py --set fabric.accelerator=cuda
    .venv/bin/python bench/methods_table.py --dataset cifar10 --target airplane \
        --set training.epochs=5 --set 'training.milestones=[3, 4]'   # a few CIFAR-10 epochs
    .venv/bin/python bench/methods_table.py --smoke             # seconds: does it run at all?

Runs ``supreme.run`` on a full-class experiment (by default the embedded one: forget digit
"3" of the ``digits`` dataset with ResNet18) with ``original``, ``retrain`` and every method
that supreme-methods registers (all 18), and reports per method, averaged over seeds:
forget-test and
retain-test accuracy (%), the JS divergence to the retrained model M_r on the forget test
set, the L2 parameter distance to M_r, the unlearning time T_u and the speedup T_r / T_u.
Timings are relative to the retrain row measured in the same run. Artifacts go to
``--output`` (default ``supreme-runs/``), so a rerun reuses M_o, M_r and finished methods.
Below the table it prints the reference-model gates of every cell (docs/validity.md): a
row is only meaningful when M_o and M_r passed them. ``--smoke`` shrinks everything (a
ResNet18 of width 4, one training epoch, one epoch per method, EU-k 1 epoch) to check in
seconds that every method runs end to end; its numbers mean nothing and are not timings.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict

COLUMNS = [
    ("accuracy", "forget_test", "forget-test acc %", "{:.1f}"),
    ("accuracy", "retain_test", "retain-test acc %", "{:.1f}"),
    ("js_divergence", "forget_test", "JS to M_r (D'_f)", "{:.3f}"),
    ("layerwise_distance", "total", "‖θ−θ_r‖", "{:.1f}"),
    ("time", "unlearn_seconds", "T_u (s)", "{:.2f}"),
    ("time", "speedup", "T_r / T_u", "{:.1f}"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds")
    parser.add_argument("--methods", nargs="+", default=None, help="default: every method")
    parser.add_argument("--output", default="supreme-runs", help="artifact store directory")
    parser.add_argument("--dataset", default="digits", help="dataset (default: digits)")
    parser.add_argument("--target", default="3", help="the class to forget (default: 3)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny settings to check that every method runs (numbers are meaningless)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="extra experiment override key=value (repeatable)")
    args = parser.parse_args()

    import supreme
    from supreme_methods.plugin import METHODS

    methods = args.methods or [cls.name for cls in METHODS]
    overrides = [
        f"methods={['original', 'retrain', *methods]!r}".replace("'", '"'),
        'metrics=["accuracy", "js_divergence", "layerwise_distance", "time"]',
        f"seeds.train={args.seeds!r}",
        f'output_dir="{args.output}"',
        'name="methods-table"',
        f'datasets=["{args.dataset}"]',
        f'targets.fullclass=["{args.target}"]',
        *(smoke_overrides(methods) if args.smoke else []),
        *args.overrides,
    ]
    config = supreme.load_config(path=None, overrides=overrides, data=None)
    results = supreme.run(config)
    print(table(results.records, ["original", "retrain", *methods]))
    print()
    print(gates(results.gates))
    for failure in results.failures:
        print(f"FAILED {failure.get('method', '?')}: {failure.get('error', failure)}")


#: Method settings that make every method take one short pass (``--smoke``).
SMOKE_METHOD = {"scrub": {"epochs": 1, "max_steps": 1}, "unsir": {"noise_iterations": 2},
                "eu_k": {"epochs": 1}, "fisher": {"chunk_size": 64}}
EPOCH_METHODS = {"finetune", "neg_grad", "random_labeling", "bad_teacher", "salun",
                 "l1_sparse", "neg_grad_plus", "cf_k"}


def smoke_overrides(methods: list[str]) -> list[str]:
    out = ["model.resnet18.width=4", "training.epochs=1", "training.milestones=[]"]
    for name in methods:
        settings = SMOKE_METHOD.get(name, {"epochs": 1} if name in EPOCH_METHODS else {})
        out += [f"method.{name}.{key}={value}" for key, value in settings.items()]
    return out


def gates(entries: list[dict]) -> str:
    """One line per cell: whether M_o and M_r passed the reference-model gates."""
    if not entries:
        return "reference-model gates: not checked"
    lines = []
    for entry in entries:
        verdict = "passed" if entry.get("passed") else "FAILED " + ", ".join(entry.get("failed", []))
        cell = ", ".join(str(entry[k]) for k in ("dataset", "model", "scenario", "target",
                                                   "train_seed") if k in entry)
        lines.append(f"reference-model gates ({cell}): {verdict}")
    return "\n".join(lines)


def table(records: list[dict], order: list[str]) -> str:
    values: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in records:
        values[(r["method"], r["metric"], r["key"])].append(float(r["value"]))
    head = "| method | " + " | ".join(c[2] for c in COLUMNS) + " |"
    rule = "|---" * (len(COLUMNS) + 1) + "|"
    lines = [head, rule]
    for method in order:
        cells = []
        for metric, key, _, fmt in COLUMNS:
            got = values.get((method, metric, key))
            if not got:
                cells.append("–")
            elif len(got) == 1:
                cells.append(fmt.format(got[0]))
            else:
                cells.append(fmt.format(statistics.mean(got)) + " ± " +
                             fmt.format(statistics.stdev(got)))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
