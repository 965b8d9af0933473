#!/usr/bin/env bash
# The main job on the bundled sample (data/sample_fluo, 16 real training images):
#   1. IAAA: objects + backgrounds from the real images, 16 synthetic images written as
#      a COCO cache with a contact sheet;
#   2. a CPU detector (Faster R-CNN R-18, from scratch) trained on real + IAAA;
#   3. COCO evaluation of its checkpoint on the sample's test split, with drawn results.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${VENV:-.venv}/bin/python
export MMAUG_OFFLINE=1
CFG=configs/cpu/faster_rcnn_r18_sample_iaaa.py
WORK=${DEMO_WORK_DIR:-work_dirs/demo}

"$PY" tools/generate.py "$CFG"
"$PY" tools/train.py "$CFG" --work-dir "$WORK" \
    --cfg-options train_cfg.max_epochs="${DEMO_EPOCHS:-12}" train_cfg.val_interval=4
CKPT=$(cat "$WORK/last_checkpoint")
"$PY" tools/test.py "$CFG" "$CKPT" --work-dir "$WORK/test" --show-dir vis
echo "demo done: synthetic images + masks in work_dirs/mmaug_cache/iaaa-*/contact_sheet.png,"
echo "detections drawn in $WORK/test/*/vis/, metrics above and in $WORK/test/"
