"""Noise mixing (add_noise; random white noise, AdditiveNoise against torch.randn +
torchaudio's add_noise), forward and forward + backward."""

import pytest

from benchmarks.families import noise
from benchmarks.suite import combinations, run_case


@pytest.mark.parametrize(**combinations(noise.CASES))
def test_noise(benchmark, case, mode, impl, size):
    run_case(benchmark, case, mode, impl, size)
