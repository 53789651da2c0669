#!/usr/bin/env bash
# A separate virtual environment holding the current PyTorch release from PyPI (plus NumPy), next to
# Debian's python3-torch 1.13 at /usr/bin/python3, so the format tests can be run against both:
#
#   bash bench/setup_torch_pypi.sh
#   LAMINA_TORCH_PYTHON=$HOME/.cache/lamina/torch-pypi/bin/python .venv/bin/python -m pytest \
#       tests/python/test_torch_format.py
#
# The venv lives outside the repository, at ${TORCH_VENV:-$HOME/.cache/lamina/torch-pypi}. PyPI's
# Linux torch wheel is the CUDA build and pulls several GB of nvidia-* wheels; it runs on CPU alone.
# Idempotent: when `import torch` already works in the venv it installs nothing. Prints the version.
set -euo pipefail
VENV=${TORCH_VENV:-$HOME/.cache/lamina/torch-pypi}
PY=/usr/bin/python3

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    echo "torch already installed in $VENV"
else
    mkdir -p "$(dirname "$VENV")"
    [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
    nice -n 19 "$VENV/bin/python" -m pip install --no-cache-dir --upgrade torch numpy
fi
"$VENV/bin/python" -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__)"
echo "LAMINA_TORCH_PYTHON=$VENV/bin/python"
