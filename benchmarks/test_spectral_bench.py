"""Spectral front-ends (Spectrogram, MelSpectrogram, MFCC, Whisper's log-mel), forward and
forward + backward: tritaudio's Triton path and torch reference next to torchaudio."""

import pytest

from benchmarks.families import spectral
from benchmarks.suite import combinations, run_case


@pytest.mark.parametrize(**combinations(spectral.CASES))
def test_spectral(benchmark, case, mode, impl, size):
    run_case(benchmark, case, mode, impl, size)
