"""Kaldi filterbanks of utterances of mixed lengths (tritaudio's fbank_batch against
torchaudio's fbank in a loop), forward and forward + backward."""

import pytest

from benchmarks.families import kaldi
from benchmarks.suite import combinations, run_case


@pytest.mark.parametrize(**combinations(kaldi.CASES))
def test_kaldi(benchmark, case, mode, impl, size):
    run_case(benchmark, case, mode, impl, size)
