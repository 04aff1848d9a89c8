#!/usr/bin/env bash
# The GPU checks of the reproduction issue, as one script to run where a CUDA card is present:
#   bash benchmarks/gpu_check.sh [OUT]          (OUT defaults to runs/gpu-check; not yet run on a card:
#                                                 no GPU was lent to the sessions that wrote it, so its duration is unmeasured)
# 1. throughput of EDM's 56 M DDPM++ U-Net (unet-ddpmpp), bf16 autocast, channels_last, batch 512, no aug vs
#    ScoreAug, eager and then torch.compile (images per second; the script names the card);
# 2. a short `gpu` reproduction (--steps 2000 instead of the paper's 390,625 and seeds 0-1 instead of the budget's
#    five: a check that the suite runs on the card, not the paper's numbers). DATA=cifar10:FILE.npz uses a local CIFAR-10 file instead of torchvision's
#    download.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/gpu-check}
PY=${PY:-python}
mkdir -p "$OUT"
$PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('card:', torch.cuda.get_device_name(0))" | tee "$OUT/card.txt"
common=(--model unet-ddpmpp --amp --channels-last --device cuda --batch-size 512 --data random --chunk 5 --chunks 6 --warmup 3)
echo "== eager" | tee "$OUT/throughput.txt"
$PY benchmarks/train_throughput.py "${common[@]}" 2>&1 | tee -a "$OUT/throughput.txt"
echo "== torch.compile" | tee -a "$OUT/throughput.txt"
$PY benchmarks/train_throughput.py "${common[@]}" --compile 2>&1 | tee -a "$OUT/throughput.txt"
data=(); [ -n "${DATA:-}" ] && data=(--data "$DATA")   # e.g. DATA=cifar10:data/cifar10_subset.npz (offline)
$PY -m scoreaug_lab.cli reproduce --budget gpu --steps 2000 --seeds 0-1 "${data[@]}" --out "$OUT/reproduce" --no-progress 2>&1 | tail -20 | tee "$OUT/reproduce.txt"
