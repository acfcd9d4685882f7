#!/usr/bin/env bash
# The GPU check, run on a lent GPU machine from the repository root (it has numpy, cupy, torch,
# pytest, pytest-xdist and hypothesis; no network): the suite with its CUDA cases enabled, then the
# benchmarks on cuda.  Logs go to $OUT when set.  Usage: bench/gpu_check.sh [pytest seconds]
set -uo pipefail
out=${OUT:-artifacts/gpu}
mkdir -p "$out"
export PYTHONPATH=. PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import nbtorch, cupy, numpy, torch; print('nbtorch cuda:', nbtorch.cuda.is_available(), '| cupy', cupy.__version__, '| numpy', numpy.__version__, '| torch', torch.__version__)"
# The packaging and notebook tests need the dev extras (hatchling, nbclient), absent there.
timeout "${1:-400}" python3 -m pytest -q -p no:cacheprovider -o addopts="--import-mode=importlib" \
    --timeout 120 -n 16 --ignore tests/test_packaging.py --ignore tests/test_notebooks.py tests \
    > "$out/pytest.log" 2>&1
tail -25 "$out/pytest.log"
timeout 60 python3 bench/bench_overhead.py cuda 2>&1 | tee "$out/bench.log"
timeout 60 python3 bench/bench_matmul.py 4096 10 cuda 2>&1 | tee -a "$out/bench.log"
