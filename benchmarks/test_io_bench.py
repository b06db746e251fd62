"""File I/O on the CPU: tritaudio.load / save next to soundfile and torchaudio, on the
clips in ../shared/audio."""

import pytest

from benchmarks.families import io
from benchmarks.suite import combinations, run_case


@pytest.mark.parametrize(**combinations(io.CASES))
def test_io(benchmark, case, mode, impl, size):
    run_case(benchmark, case, mode, impl, size)
