"""tritaudio's benchmarks: the op families (``benchmarks.families``), the size-grid runner
(``python -m benchmarks``), the results files and their report, and the pytest-benchmark
files (``pytest benchmarks --benchmark-only``). See benchmarks/README.md.

Without CUDA the Triton kernels can only run under Triton's interpreter, which must be
switched on before tritaudio's kernels are imported: it is done here, as tests/conftest.py
does for the tests.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
