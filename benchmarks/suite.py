"""What the pytest-benchmark files share: every (case, mode, implementation, size) of a
family as pytest parameters, and one function that times a combination.

Sizes: on a GPU each case's headline size (the one its targets name); on a CPU the torch
reference and torchaudio at 8 x 10 s, and the Triton path at the tiny size, because it
runs under Triton's interpreter there. File I/O runs on its clips.
"""

import pytest
import torch

from benchmarks.cases import TRITON, Size, Unavailable, prepare
from benchmarks.runner import GRIDS, device_name

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
CPU_SIZE = Size(8, 10, 16000)
TINY = GRIDS["tiny"].sizes[0]


def _size(case, impl):
    if DEVICE == "cuda" or case.device == "cpu":
        return case.headline
    return TINY if impl == TRITON else CPU_SIZE


def combinations(cases) -> dict:
    """``pytest.mark.parametrize`` arguments for ("case", "mode", "impl", "size")."""
    params = []
    for case in cases:
        for size in case.sizes or (None,):
            for mode in case.modes:
                for impl in case.implementations:
                    size_id = size.label() if size else "default size"
                    params.append(pytest.param(
                        case, mode, impl, size, id=f"{case.name}-{mode}-{impl}-{size_id}"
                    ))  # fmt: skip
    return dict(argnames=("case", "mode", "impl", "size"), argvalues=params)


def run_case(benchmark, case, mode, impl, size=None):
    """Time one combination with pytest-benchmark (synchronised on a GPU); GB/s, the
    device and the size in ``extra_info``. Skips what cannot run here."""
    try:
        workload = prepare(case, impl, mode, size or _size(case, impl), DEVICE)
    except Unavailable as err:
        pytest.skip(str(err))

    def call():
        out = workload()
        workload.synchronize()
        return out

    benchmark.group = f"{case.name}, {mode}, {workload.size.label()}, {workload.device.type}"
    benchmark(call)
    benchmark.extra_info["device"] = device_name(workload.device)
    benchmark.extra_info["size"] = workload.size.as_dict()
    if workload.bytes_moved is not None and benchmark.stats is not None:  # None: disabled
        benchmark.extra_info["GB/s"] = workload.bytes_moved / benchmark.stats.stats.median / 1e9
