"""Benchmark: do the reference models M_o and M_r converge, over seeds, threads and processes?

    uv run python bench/recipes.py                      # the whole grid (long)
    uv run python bench/recipes.py --seeds 0-2 --threads 1 --processes 1 --recipes default
    uv run python bench/recipes.py --variants "" "crop=0" "lr=0.05,warmup=2" --seeds 0-4

For every recipe (``default``: the dataset's own; ``five``: ``training.epochs = 5``,
``training.milestones = [3, 4]``, the grid of issue 14), every variant, every torch thread
count and every number of gloo processes, it runs ``supreme run`` in a fresh store with the
methods ``original`` and ``retrain`` (full-class forgetting of ``--target`` on
``--dataset``, ``resnet18``) over the training seeds, exactly as the pipeline trains M_o
and M_r, and reports per seed:

* M_o: accuracy on the test set and on its own training set (eval mode);
* M_r: accuracy on the retain test set, next to M_o's;
* completeness (original vs retrain) on the retain test set and JS(original || retrain).

Then the spread over seeds (min, median, max) and how many seeds meet the targets of
issue 14 (M_o test >= ``--floor``, M_r retain-test within ``--tolerance`` points of M_o's).

A variant is a comma-separated list of ``knob=value`` patches applied in every process
(the library is not edited; each variant gets its own store because the patches are not
in store keys):

=============  =================================================================
``lr``         the recipe's learning rate (``training.lr``)
``warmup``     warm-up epochs (``training.warmup_epochs``)
``epochs``     epochs (``training.epochs``); ``milestones=a/b`` the milestones
``batch``      the global batch (``training.batch_size``)
``crop``       random-crop padding of the dataset's recipe (0: no augmentation)
``rotation``   random rotation of the dataset's recipe (degrees)
``last``       ``keep`` (the library), ``drop`` (every partial last batch of a training
               epoch is dropped) or ``merge`` (it is appended to the previous batch)
``input``      the side the images are resized to (ResNet18 on 8x8 digits ends on 1x1
               feature maps; 16 gives 2x2, 32 gives 4x4)
``norm``       ``dataset`` (the library) or ``raw`` (mean 0, std 1: pixels / 16 for digits)
``channels``   the channels the model takes (3: the grey image replicated, as the reference)
``bn``         ``train`` (the library) or ``eval_stats``: BatchNorm running statistics
               re-estimated after training over the training set in one pass with
               exact averaging (to tell noisy running statistics from bad weights)
=============  =================================================================

On a CPU, each of several local processes gets ``cores // processes`` threads
(``share_cpu_threads``), so on a 2-core machine 2 processes always run 1 thread each;
``--threads`` only sets the threads of 1-process runs there. Per-seed numbers are appended
to ``--results`` (JSON lines) and not recomputed when present.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

RECIPES: dict[str, list[str]] = {
    "default": [],
    "five": ["training.epochs=5", "training.milestones=[3, 4]"],
}


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            seeds += list(range(int(lo), int(hi) + 1))
        elif part:
            seeds.append(int(part))
    return seeds


def parse_variant(text: str) -> dict[str, str]:
    knobs = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        knobs[key.strip()] = value.strip()
    unknown = set(knobs) - {"lr", "warmup", "epochs", "milestones", "batch", "crop", "rotation",
                            "last", "input", "norm", "channels", "bn"}
    if unknown:
        sys.exit(f"unknown variant knob(s) {sorted(unknown)} in {text!r}")
    return knobs


# -- in the worker process (every rank) -------------------------------------------------------
def apply_patches(knobs: dict[str, str], dataset: str) -> list[str]:
    """Monkeypatch the library for a variant; returns the config overrides it implies."""
    from supreme.registry import default

    overrides = []
    for knob, key in (("lr", "lr"), ("warmup", "warmup_epochs"), ("epochs", "epochs"),
                      ("batch", "batch_size")):
        if knob in knobs:
            overrides.append(f"training.{key}={knobs[knob]}")
    if "milestones" in knobs:
        overrides.append(f"training.milestones=[{', '.join(knobs['milestones'].split('/'))}]")
    spec_cls = default().entry("datasets", dataset).cls
    if "crop" in knobs or "rotation" in knobs:
        recipes = {k: dict(v) for k, v in spec_cls.recipes.items()}
        for family in recipes:
            aug = dict(recipes[family].get("augment", {}))
            if "crop" in knobs:
                aug["crop_padding"] = int(knobs["crop"])
            if "rotation" in knobs:
                aug["rotation"] = float(knobs["rotation"])
            recipes[family]["augment"] = aug
        spec_cls.recipes = recipes
    if knobs.get("norm", "dataset") == "raw":
        spec_cls.mean = (0.0,) * spec_cls.channels
        spec_cls.std = (1.0,) * spec_cls.channels
    from supreme_vision.models.resnet import ResNet18

    if "input" in knobs:
        ResNet18.input_size = int(knobs["input"])
    if "channels" in knobs:
        ResNet18.in_channels = int(knobs["channels"])
    last = knobs.get("last", "keep")
    if last != "keep":
        patch_last_batch(last)
    if knobs.get("bn", "train") == "eval_stats":
        patch_bn_recalibration()
    return overrides


def patch_last_batch(mode: str) -> None:
    """Training loaders (``pipeline.train.fit``) drop or merge the last partial batch."""
    import torch
    from supreme.pipeline import train
    from supreme.pipeline.data import TensorLoader

    class Loader(TensorLoader):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            n = len(self.tensors)
            self.steps = n // self.batch_size if n >= self.batch_size else 1

        def __len__(self) -> int:
            return self.steps

        def __iter__(self):  # type: ignore[no-untyped-def]
            n = len(self.tensors)
            order = torch.randperm(n, generator=self._order) if self.shuffle else torch.arange(n)
            if mode == "drop":
                order = order[: self.steps * self.batch_size] if n >= self.batch_size else order
            for b in range(self.steps):
                stop = (b + 1) * self.batch_size if b < self.steps - 1 else len(order)
                index = order[b * self.batch_size: stop]
                if self.world > 1:
                    if len(index) % self.world:
                        index = torch.cat([index, order[: self.world - len(index) % self.world]])
                    index = index[self.rank:: self.world]
                images = self._fetch(self.tensors.images, index)
                labels = self._fetch(self.tensors.labels, index)
                yield self.transform(images, self.augment, self._augment_rng), labels

    train.TensorLoader = Loader  # type: ignore[misc]


def patch_bn_recalibration() -> None:
    """After ``fit``, recompute BatchNorm running statistics exactly over the training set."""
    import torch
    from supreme.pipeline import train
    from supreme.pipeline.data import TensorLoader

    original_fit = train.fit

    def fit(model, data, recipe, *, fabric, transform, seed, augment=True, description="train"):  # type: ignore[no-untyped-def]
        plain = original_fit(model, data, recipe, fabric=fabric, transform=transform, seed=seed,
                             augment=augment, description=description)
        norms = [m for m in plain.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
        plain.train()
        with torch.no_grad():
            for x, _ in TensorLoader(data, recipe.batch_size, transform=transform,
                                     device=fabric.device):
                plain(x)
        for m in norms:
            m.momentum = 0.1
        return plain

    train.fit = fit
    import supreme.pipeline.run as run_module

    run_module.fit = fit  # M_o is trained through run.py's import


def worker(job: dict[str, Any]) -> None:
    """Run one (recipe, variant, threads, processes) over the seeds; rank 0 writes JSON."""
    import torch

    torch.set_num_threads(job["threads"])
    overrides = apply_patches(job["knobs"], job["dataset"])
    import supreme

    out = Path(job["store"])
    config = supreme.load_config(overrides=[
        f'output_dir="{out}"', 'name="recipes"', f'datasets=["{job["dataset"]}"]',
        'models=["resnet18"]', 'scenarios=["fullclass"]', 'methods=["original", "retrain"]',
        'metrics=["accuracy", "completeness", "js_divergence"]',
        f'targets.fullclass=["{job["target"]}"]', f"seeds.train={job['seeds']}",
        f"fabric.devices={job['processes']}",
        f'fabric.strategy="{"ddp" if job["processes"] > 1 else "auto"}"',
        *RECIPES[job["recipe"]], *overrides, *job["extra"],
    ])
    results = supreme.run(config)
    if results.rank != 0:
        return
    if results.failures:
        sys.exit(f"failures: {results.failures}")
    rows = []
    for seed in job["seeds"]:
        def value(method: str, metric: str, key: str, seed: int = seed) -> float:
            return next(r["value"] for r in results.records
                        if r["method"] == method and r["metric"] == metric and r["key"] == key
                        and r["train_seed"] == seed)

        artifact = next(r["artifact"] for r in results.records
                        if r["method"] == "original" and r["train_seed"] == seed)
        rows.append({
            "seed": seed,
            "mo_test": value("original", "accuracy", "test"),
            "mo_train": train_accuracy(config, artifact),
            "mo_retain_test": value("original", "accuracy", "retain_test"),
            "mr_retain_test": value("retrain", "accuracy", "retain_test"),
            "mr_forget_test": value("retrain", "accuracy", "forget_test"),
            "completeness_retain_test": value("original", "completeness", "retain_test"),
            "js_test": value("original", "js_divergence", "test"),
        })
    Path(job["output"]).write_text(json.dumps(rows))


def train_accuracy(config: Any, artifact: str) -> float:
    """M_o's accuracy (eval mode) on the whole training split, from the stored weights."""
    import torch
    from supreme.pipeline.data import BatchTransform, TensorLoader
    from supreme.plan import resolve
    from supreme.registry import default
    from supreme.store import Store

    resolved = resolve(config, default())
    spec, model_spec = next(iter(resolved.datasets.values())), next(iter(resolved.models.values()))
    mean, std = model_spec.norm_stats(spec)
    size = model_spec.input_side(spec)
    channels = getattr(model_spec, "in_channels", None) or spec.channels
    transform = BatchTransform(tuple(mean), tuple(std), size, channels)
    model = model_spec.create(spec.num_classes, channels, size)
    _, state = Store(config.output_dir / "store").load("models", artifact)
    model.load_state_dict(state)
    model.eval()
    train = spec.load("train")
    correct = 0
    with torch.no_grad():
        for x, y in TensorLoader(train, 512, transform=transform):
            correct += int((model(x).argmax(1) == y).sum())
    return 100.0 * correct / len(train)


# -- in the driver ------------------------------------------------------------------------------
def run_job(job: dict[str, Any]) -> list[dict[str, Any]]:
    env = {**os.environ, "OMP_NUM_THREADS": str(job["threads"]), "HF_HUB_OFFLINE": "1",
           "WANDB_MODE": "offline"}
    done = subprocess.run([sys.executable, __file__, "--worker", json.dumps(job)],
                          capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        sys.exit(f"worker failed for {job['recipe']} {job['variant']!r}:\n{done.stderr[-4000:]}")
    return json.loads(Path(job["output"]).read_text())


def summary(rows: list[dict[str, Any]], floor: float, tolerance: float) -> str:
    def spread(key: str) -> str:
        values = [r[key] for r in rows]
        return f"{min(values):5.1f} {statistics.median(values):5.1f} {max(values):5.1f}"

    gaps = [r["mo_retain_test"] - r["mr_retain_test"] for r in rows]
    ok = sum(r["mo_test"] >= floor and abs(g) <= tolerance for r, g in zip(rows, gaps, strict=True))
    return (f"{spread('mo_test')} | {spread('mo_train')} | {spread('mr_retain_test')} | "
            f"{max(gaps):5.1f} | {spread('completeness_retain_test')} | {ok}/{len(rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--target", default="3", help="the full-class target")
    parser.add_argument("--seeds", default="0-9", help="training seeds, e.g. 0-9 or 0,3,260")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--recipes", nargs="+", default=["default", "five"], choices=list(RECIPES))
    parser.add_argument("--variants", nargs="+", default=[""],
                        help='knob=value lists, "" for the library as it is (see the docstring)')
    parser.add_argument("--set", dest="extra", action="append", default=[],
                        help="an extra config override for every run (e.g. model.resnet18.width=16)")
    parser.add_argument("--floor", type=float, default=95.0, help="M_o test accuracy target (%%)")
    parser.add_argument("--tolerance", type=float, default=2.0,
                        help="M_r retain-test within this many points of M_o's")
    parser.add_argument("--results", type=Path, default=None,
                        help="JSON lines of per-seed results, reused and extended")
    parser.add_argument("--workdir", type=Path, default=None, help="stores (default: a temp dir)")
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="supreme-recipes-"))
    seeds = parse_seeds(args.seeds)
    cores = os.cpu_count() or 1
    done: dict[tuple, dict[str, Any]] = {}
    if args.results and args.results.exists():
        for line in args.results.read_text().splitlines():
            row = json.loads(line)
            done[(row["dataset"], row["recipe"], row["variant"], row["extra"], row["processes"],
                  row["threads"], row["seed"])] = row
    table: list[tuple[str, list[dict[str, Any]]]] = []
    extra = " ".join(args.extra)
    for recipe in args.recipes:
        for variant in args.variants:
            knobs = parse_variant(variant)
            configs = []
            for processes in args.processes:
                for threads in args.threads:
                    if processes > 1:  # share_cpu_threads gives each process its share
                        threads = max(1, cores // processes)
                    if (processes, threads) not in configs:
                        configs.append((processes, threads))
            for processes, threads in configs:
                key = (args.dataset, recipe, variant, extra, processes, threads)
                todo = [s for s in seeds if (*key, s) not in done]
                if todo:
                    tag = hashlib.sha256(f"{variant}|{extra}".encode()).hexdigest()[:10]
                    slug = f"{args.dataset}-{recipe}-{tag}"
                    store = workdir / slug / f"p{processes}t{threads}"
                    job = {"dataset": args.dataset, "target": args.target, "recipe": recipe,
                           "variant": variant, "knobs": knobs, "extra": args.extra,
                           "processes": processes, "threads": threads, "seeds": todo,
                           "store": str(store), "output": str(store / "rows.json")}
                    store.mkdir(parents=True, exist_ok=True)
                    for row in run_job(job):
                        row.update(dataset=args.dataset, recipe=recipe, variant=variant,
                                   extra=extra, processes=processes, threads=threads)
                        done[(*key, row["seed"])] = row
                        if args.results:
                            with args.results.open("a") as f:
                                f.write(json.dumps(row) + "\n")
                rows = [done[(*key, s)] for s in seeds]
                label = f"{recipe:<7} {variant or '(library)':<22} p{processes} t{threads}"
                table.append((label, rows))
                print_rows(label, rows)
    print()
    print(f"spread over seeds {args.seeds} (min median max); gap = max over seeds of "
          f"M_o retain-test - M_r retain-test; ok = M_o test >= {args.floor} and "
          f"|gap| <= {args.tolerance}")
    print(f"{'recipe  variant                procs thr':<41} | {'M_o test':^17} | "
          f"{'M_o train':^17} | {'M_r retain-test':^17} | {'gap':^5} | "
          f"{'completeness r-t':^17} | ok")
    for label, rows in table:
        print(f"{label:<41} | {summary(rows, args.floor, args.tolerance)}")


def print_rows(label: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{label}")
    print(f"  {'seed':>4} {'Mo test':>8} {'Mo train':>9} {'Mo r-t':>7} {'Mr r-t':>7} "
          f"{'Mr f-t':>7} {'compl r-t':>9} {'JS test':>8}")
    for r in rows:
        print(f"  {r['seed']:>4} {r['mo_test']:8.2f} {r['mo_train']:9.2f} {r['mo_retain_test']:7.2f} "
              f"{r['mr_retain_test']:7.2f} {r['mr_forget_test']:7.2f} "
              f"{r['completeness_retain_test']:9.2f} {r['js_test']:8.4f}", flush=True)


if __name__ == "__main__":
    main()
