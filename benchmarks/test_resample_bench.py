"""Resampling (44.1 -> 16, 16 -> 48, 48 -> 44.1 kHz), forward and forward + backward:
tritaudio's Triton path and torch reference next to torchaudio."""

import pytest

from benchmarks.families import resample
from benchmarks.suite import combinations, run_case


@pytest.mark.parametrize(**combinations(resample.CASES))
def test_resample(benchmark, case, mode, impl, size):
    run_case(benchmark, case, mode, impl, size)
