#!/usr/bin/env bash
# Distributed training with torchrun, as mmdet's tools/dist_train.sh:
#   tools/dist_train.sh CONFIG GPUS [tools/train.py options...]
# GPUS processes on this machine; several machines: run it on each with NNODES, NODE_RANK,
# MASTER_ADDR (the machine of rank 0) and PORT set. PYTHON picks the interpreter.
# Without CUDA the processes train on CPU (gloo process group; see mmaug_is/utils/cpu_distributed.py).
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [tools/train.py options...]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$(dirname "$0")/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
