#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment with everything it needs.
#
# Usage: bash tools/setup_env.sh            # venv in .venv, CPU torch 2.13.0
# Environment overrides:
#   VENV=path            where the virtual environment lives (default: .venv)
#   TORCH_SPEC="..."     pip requirement(s) for torch (default: torch==2.13.0);
#                        GPU users, with the matching torchvision (pretrained backbones):
#                        TORCH_SPEC="torch==2.4.1 torchvision==0.19.1 --index-url https://download.pytorch.org/whl/cu121"
#   PYTHON=python3.11    interpreter used to create the venv
#
# The mmcv 2.1.0 build (CPU ops, ~14 min on 2 cores) is skipped when mmcv.ops already
# imports with its compiled extension; pip's wheel cache serves later rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
PYTHON=${PYTHON:-python3}
STAMP="$VENV/.mmaug_is_setup"

want=$(cat tools/setup_env.sh setup.py requirements/*.txt 2>/dev/null | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c "import mmaug_is" 2>/dev/null; then
  echo "[setup_env] $VENV is up to date"
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
pip_install() { "$PY" -m pip install --progress-bar off "$@"; }

echo "[setup_env] torch ($TORCH_SPEC) and build tools"
# shellcheck disable=SC2086
pip_install $TORCH_SPEC "setuptools>=77.0.3,<81" wheel ninja psutil
pip_install -r requirements/runtime.txt

if "$PY" -c "import mmcv, mmcv.ops, mmcv._ext; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; then
  echo "[setup_env] mmcv 2.1.0 with compiled ops already present"
else
  echo "[setup_env] building mmcv 2.1.0 with ops (about 14 minutes on 2 cores the first time)"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} pip_install --no-build-isolation mmcv==2.1.0
fi
pip_install mmdet==3.3.0
pip_install --no-build-isolation -e ".[test]"
"$PY" -c "import mmcv.ops, mmdet, mmaug_is; print('[setup_env] ok: mmdet', mmdet.__version__)"
echo "$want" > "$STAMP"
