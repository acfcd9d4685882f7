#!/usr/bin/env bash
# The GPU check, run on a lent GPU machine from the repository root (it has numpy, cupy, torch,
# pytest and hypothesis; no network): the whole suite with CUDA tests enabled, then the benchmarks
# on cuda.  Logs go to $OUT when set.
set -uo pipefail
out=${OUT:-artifacts/gpu}
mkdir -p "$out"
export PYTHONPATH=. PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import nbtorch, cupy, numpy, torch; print('nbtorch cuda:', nbtorch.cuda.is_available(), '| cupy', cupy.__version__, '| numpy', numpy.__version__, '| torch', torch.__version__)"
python3 -m pytest -q -p no:cacheprovider -o addopts="--import-mode=importlib" --timeout 240 \
    -n 8 tests 2>&1 | tee "$out/pytest.log" | tail -40
python3 bench/bench_overhead.py cuda 2>&1 | tee "$out/bench.log"
python3 bench/bench_matmul.py 4096 10 cuda 2>&1 | tee -a "$out/bench.log"
python3 bench/bench_overhead.py cpu 2>&1 | tee -a "$out/bench.log"
