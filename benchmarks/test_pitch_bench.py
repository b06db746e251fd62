"""Time stretching and pitch shifting (PitchShift at n_steps -6..6, TimeStretch on
spectrograms, a waveform stretch), forward and forward + backward."""

import pytest

from benchmarks.families import pitch
from benchmarks.suite import combinations, run_case


@pytest.mark.parametrize(**combinations(pitch.CASES))
def test_pitch(benchmark, case, mode, impl, size):
    run_case(benchmark, case, mode, impl, size)
