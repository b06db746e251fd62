"""Filtering (lfilter order 2 / 8, lowpass_biquad, fftconvolve with a 1 s IR), forward and
forward + backward: tritaudio's Triton path and torch reference next to torchaudio."""

import pytest

from benchmarks.families import filtering
from benchmarks.suite import combinations, run_case


@pytest.mark.parametrize(**combinations(filtering.CASES))
def test_filtering(benchmark, case, mode, impl, size):
    run_case(benchmark, case, mode, impl, size)
