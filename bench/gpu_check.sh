#!/usr/bin/env bash
# The GPU path end to end, for a session (or a team) with a CUDA machine; about 5 minutes on one H100.
#
#   bash bench/gpu_check.sh [OUT_DIR]            (PY=/path/to/python to use another interpreter)
#
# What no CPU test can show: training with AMP + channels_last, with torch.compile, a SIGTERM in the
# middle of an epoch and --resume on the GPU, TTA inference and a validated submission, the training-step
# benchmark (data-wait share) and the loader sweep with pin_memory / non_blocking measured for real.
# Every figure is printed with the device it came from; without CUDA the script stops (it never reports
# a CPU run as a GPU one). Logs land in OUT_DIR (default build/gpu-check), one file per step.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${1:-build/gpu-check}
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
DATA=$OUT_DIR/data
RUNS=$OUT_DIR/runs
mkdir -p "$OUT_DIR"
failures=0

step() {  # step NAME LIMIT_S COMMAND...: run it, keep its log, say how it went in one line
  local name=$1 limit=$2; shift 2
  local started=$SECONDS
  timeout "$limit" "$@" > "$OUT_DIR/$name.log" 2>&1
  local rc=$?
  [ $rc -eq 0 ] || failures=$((failures + 1))
  printf '%-14s rc=%-3s %4ss  %s\n' "$name" "$rc" "$((SECONDS - started))" "$(grep -v '^\s*$' "$OUT_DIR/$name.log" | tail -n 1 | cut -c1-150)"
}

if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "no CUDA device for $PY: this check is for a GPU machine (CPU paths are covered by make test)" >&2
  exit 2
fi
"$PY" -c "import torch; p = torch.cuda.get_device_properties(0); print(f'device: {p.name}, {p.total_memory / 2**30:.0f} GiB, torch {torch.__version__}, bf16 {torch.cuda.is_bf16_supported()}')" | tee "$OUT_DIR/device.txt"

[ -d "$DATA/train" ] || step demo-data 300 "$PY" -m core demo-data --out "$DATA" --people 300 --eval-people 60
GPU_SET=(--set "data.dir=$DATA" --set "run.root=$RUNS" --set model.name=resnet18 --set "data.image_size=[256,192]"
         --set loader.batch_size=64 --set loader.num_workers=8 --set loader.persistent_workers=true)

step train-amp 600 "$PY" -m core train --config configs/demo.yaml "${GPU_SET[@]}" --set run.name=amp --set train.epochs=4
step train-compile 600 "$PY" -m core train --config configs/demo.yaml "${GPU_SET[@]}" --set run.name=compiled \
     --set train.epochs=2 --set train.compile=true

# Cancel in the middle of an epoch, then resume: the run must finish in the same directory.
"$PY" -m core train --config configs/demo.yaml "${GPU_SET[@]}" --set run.name=cancel --set train.epochs=3 --set train.log_every=2 \
     > "$OUT_DIR/cancel.log" 2>&1 &
trainer=$!
for _ in $(seq 1 240); do
  grep -q '"step": [1-9]' "$RUNS/cancel/status.json" 2>/dev/null && grep -q '"state": "running"' "$RUNS/cancel/status.json" && break
  sleep 0.5
done
kill -TERM "$trainer"; wait "$trainer"
echo "cancel: $(cat "$RUNS/cancel/status.json" 2>/dev/null)" >> "$OUT_DIR/cancel.log"
step resume 600 "$PY" -m core train --resume "$RUNS/cancel"

step predict-tta 300 "$PY" -m core predict --run "$RUNS/amp" --data-dir "$DATA" --tta
step bench-train 300 "$PY" bench/train.py "${GPU_SET[@]}" --steps 50
step bench-loader 600 "$PY" bench/loader.py --data-dir "$DATA" --workers 0,4,8 --batch-sizes 64
for run in amp compiled cancel; do
  echo "$run: $(cat "$RUNS/$run/status.json" 2>/dev/null)"
done | tee "$OUT_DIR/status.txt"
echo "failures: $failures (logs in $OUT_DIR)"
exit $((failures > 0))
