#!/usr/bin/env bash
# One-GPU performance check of SUPREME, in under 8 minutes (bench/gpu_check.py, bench/evaluation.py).
#
#   bash bench/gpu_check.sh            # from the repository root, after `uv sync`
#   GPU_CHECK_COMPILE=0 bash bench/gpu_check.sh   # skip the torch.compile configuration
#   GPU_CHECK_SMOKE=1 bash bench/gpu_check.sh     # tiny run on the CPU: tests this script only
#
# Reports ResNet18 (width 64) training images/s on CIFAR-format images in float32, bf16-mixed
# and bf16-mixed + channels-last (+ torch.compile), the share of an epoch spent preparing
# batches, host-device synchronisations inside the training loop, peak GPU memory
# (torch.cuda.max_memory_allocated), and the evaluation ratio (all metrics of one cell vs
# plain forward passes, target <= 1.3), the framework overhead of `fit` against a plain loop
# at batch 64 and 256 (bench/overhead.py --device cuda, target <= 1.05), a small grid with 1 and
# GRID_PER_DEVICE (default 4) workers per GPU: throughput, GPU utilisation sampled by nvidia-smi,
# and the rerun's share of the first run (bench/grid.py --device cuda, targets: utilisation
# >= 75 %, rerun <= 5 %), and `supreme report` time for one cell of 13 methods and 10 metrics
# (bench/report.py, target <= 10 s). Exits 2 with a clear message when no CUDA device exists.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export HF_HUB_OFFLINE=1 WANDB_MODE=offline PYTHONUNBUFFERED=1 NO_COLOR=1

if [[ -x .venv/bin/python ]]; then
    PY=(.venv/bin/python)
elif command -v uv >/dev/null 2>&1; then
    PY=(uv run --no-sync python)
else
    echo "gpu_check: no .venv/bin/python and no uv: run \`uv sync\` at the repository root first" >&2
    exit 2
fi

TRAIN_ARGS=()
EVAL_ARGS=(--device cuda --width 64 --blocks 2 --train 10000 --test 2000 --repeats 3 --threads 0)
OVERHEAD_ARGS=(--device cuda --images 10000 --width 64 --repeats 3 --threads 0)
OVERHEAD_BATCHES=(64 256)
GRID_ARGS=(--device cuda --per-device "${GRID_PER_DEVICE:-4}" --targets 8 --width 64 --epochs 3
           --methods finetune neg_grad random_labeling scrub)
REPORT_ARGS=(--cells 1 --repeats 1)
if [[ "${GPU_CHECK_SMOKE:-0}" == "1" ]]; then
    echo "gpu_check: GPU_CHECK_SMOKE=1, a tiny run on the CPU (numbers are meaningless)"
    TRAIN_ARGS=(--device cpu --images 256 --batch 64 --epochs 1 --width 8)
    EVAL_ARGS=(--device cpu --width 8 --blocks 1 --train 200 --test 100 --repeats 1)
    OVERHEAD_ARGS=(--device cpu --images 128 --width 8 --repeats 1)
    OVERHEAD_BATCHES=(64)
    GRID_ARGS=(--device cpu --targets 8 --width 4 --epochs 1)
    REPORT_ARGS=(--cells 1 --repeats 1 --methods 2)
elif ! "${PY[@]}" - <<'PYEOF'
import sys
import torch
if not torch.cuda.is_available():
    print(f"gpu_check: no CUDA device is visible (torch {torch.__version__}, built for CUDA "
          f"{torch.version.cuda}, torch.cuda.device_count() = {torch.cuda.device_count()}). "
          "Run this script on a machine with an NVIDIA GPU and its driver.", file=sys.stderr)
    sys.exit(2)
print(f"gpu_check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
PYEOF
then
    exit 2
fi

OUT=$(mktemp -d "${TMPDIR:-/tmp}/supreme-gpu-check.XXXXXX")
COMPILE=()
if [[ "${GPU_CHECK_COMPILE:-1}" == "1" ]]; then
    COMPILE=(--compile)
fi

STATUS=0
echo "== training throughput (bench/gpu_check.py) =="
timeout 330 "${PY[@]}" bench/gpu_check.py --json "$OUT/train.json" "${COMPILE[@]}" "${TRAIN_ARGS[@]}" \
    || { STATUS=$?; echo "gpu_check: the training check failed or timed out (status $STATUS)" >&2; }

echo "== evaluation: all metrics of one cell vs plain forward passes (bench/evaluation.py) =="
timeout 120 "${PY[@]}" bench/evaluation.py --mode cell "${EVAL_ARGS[@]}" > "$OUT/evaluation.txt" 2>&1 \
    || { STATUS=$?; echo "gpu_check: the evaluation check failed or timed out (status $STATUS)" >&2; }
grep -v "^Using\|srun" "$OUT/evaluation.txt" || true

echo "== framework overhead: fit vs a plain loop, data on the device (bench/overhead.py) =="
for batch in "${OVERHEAD_BATCHES[@]}"; do
    timeout 150 "${PY[@]}" bench/overhead.py --batch "$batch" "${OVERHEAD_ARGS[@]}" \
        > "$OUT/overhead-$batch.txt" 2>&1 \
        || { STATUS=$?; echo "gpu_check: the overhead check (batch $batch) failed or timed out (status $STATUS)" >&2; }
    grep -v "^Using\|srun" "$OUT/overhead-$batch.txt" || true
done

echo "== grid: 1 vs N workers per GPU, utilisation, rerun share (bench/grid.py) =="
timeout 240 "${PY[@]}" bench/grid.py --json "$OUT/grid.json" --keep "$OUT/grid" "${GRID_ARGS[@]}" \
    > "$OUT/grid.txt" 2>&1 \
    || { STATUS=$?; echo "gpu_check: the grid check failed or timed out (status $STATUS)" >&2; }
grep -v "^Using\|srun" "$OUT/grid.txt" || true

echo "== supreme report: one cell, 13 methods, 10 metrics (bench/report.py) =="
timeout 60 "${PY[@]}" bench/report.py "${REPORT_ARGS[@]}" > "$OUT/report.txt" 2>&1 \
    || { STATUS=$?; echo "gpu_check: the report check failed or timed out (status $STATUS)" >&2; }
cat "$OUT/report.txt"

echo
echo "================ SUPREME gpu_check summary ================"
"${PY[@]}" - "$OUT" <<'PYEOF'
import json, re, sys
from pathlib import Path
out = Path(sys.argv[1])
path = out / "train.json"
train = json.loads(path.read_text()) if path.exists() else {"configs": {}}
if "device" in train:
    print(f"device           {train['device']} (torch {train['torch']})")
    print(f"data             {train['images']} {train['source']}, batch {train['batch']}, "
          f"ResNet18 width {train['width']}")
for name, row in train["configs"].items():
    print(f"{name:<28} {row['images_per_s']:>9.0f} images/s  data loading "
          f"{100 * row['data_share']:5.1f} % of an epoch  peak memory "
          f"{row['peak_memory_gb']:.2f} GiB  syncs in fit {row['syncs_in_fit']}")
configs = train["configs"]
if "fp32" in configs and "bf16" in configs:
    print(f"bf16 / fp32 throughput       "
          f"{configs['bf16']['images_per_s'] / configs['fp32']['images_per_s']:.2f}x")
if not configs:
    print("training throughput          not measured (see the errors above)")
text = (out / "evaluation.txt").read_text() if (out / "evaluation.txt").exists() else ""
ratio = re.search(r"RATIO .*?wall ([0-9.]+)", text)
print(f"evaluation ratio (<= 1.3)    {ratio.group(1) if ratio else 'not measured'}")
for path in sorted(out.glob("overhead-*.txt"), key=lambda p: int(p.stem.split("-")[1])):
    found = re.search(r"RATIO pipeline overhead fit/plain = ([0-9.]+) wall", path.read_text())
    batch = path.stem.split("-")[1]
    print(f"overhead fit/plain, batch {batch:<4} {found.group(1) if found else 'not measured'}"
          "   (<= 1.05)")
grid = json.loads((out / "grid.json").read_text()) if (out / "grid.json").exists() else None
if grid:
    one, many = grid["sides"]
    unit = "workers/GPU" if grid["device"] == "cuda" else "workers"
    print(f"grid of {grid['cells']} cells         {grid['first_s'][str(one)]:.1f} s with {one} "
          f"{unit}, {grid['first_s'][str(many)]:.1f} s with {many}: speed-up "
          f"{grid['speedup']:.2f}x (>= 3)")
    for side in (one, many):
        util = grid["utilisation_median"].get(str(side))
        print(f"  {side} {unit}: GPU utilisation median "
              f"{'%.0f %%' % util if util is not None else 'not sampled'} (>= 75 %), rerun "
              f"{100 * grid['rerun_share'][str(side)]:.1f} % of the first run (<= 5 %)")
else:
    print("grid                         not measured")
rows = re.findall(r"^\| 1 \| [0-9,]+ \| ([0-9.]+) \|", (out / "report.txt").read_text()
                  if (out / "report.txt").exists() else "", re.M)
print(f"supreme report, one cell     {rows[0] + ' s' if rows else 'not measured'}   (<= 10 s)")
print(f"raw results                  {out}")
PYEOF
echo "=========================================================="
exit "$STATUS"
