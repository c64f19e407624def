#!/usr/bin/env bash
# Creates (idempotently) the virtual environment with infinity-emb, the real OpenAI-compatible embeddings server
# that tests/encode/test_openai_api.py starts. It lives apart from embbench's own environment because infinity-emb 0.0.78
# pins sentence-transformers 3.4 and transformers 4.x.
#
#   bash tests/servers/setup_infinity.sh [VENV]      # VENV defaults to $EMBBENCH_INFINITY_VENV or .venv-infinity
#
# Offline-safe: every package comes from the configured package index; the model is a local folder.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${1:-${EMBBENCH_INFINITY_VENV:-$repo/.venv-infinity}}"
python="${PYTHON:-python3}"
want="0.0.78"

if [ -x "$venv/bin/infinity_emb" ] && [ "$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("infinity_emb"))' 2>/dev/null)" = "$want" ]; then
    echo "infinity-emb $want already in $venv"
    exit 0
fi

echo "creating $venv with infinity-emb $want"
"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check --constraint "$here/infinity-constraints.txt")
# torch first, on its own: the CPU wheel (torch==2.13.0+cpu where the index offers it) satisfies infinity's torch extra
"${pip[@]}" "torch==2.13.0"
"${pip[@]}" "infinity-emb[server,torch]==$want"
"$venv/bin/infinity_emb" v2 --help > /dev/null
echo "infinity-emb $want ready in $venv"
