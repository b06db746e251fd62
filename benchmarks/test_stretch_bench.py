"""Time stretching and pitch shifting (PitchShift at n_steps -6..6, TimeStretch on
spectrograms, a waveform stretch), forward and forward + backward."""

import pytest

from benchmarks.families import stretch
from benchmarks.suite import combinations, run_case


@pytest.mark.parametrize(**combinations(stretch.CASES))
def test_stretch(benchmark, case, mode, impl, size):
    run_case(benchmark, case, mode, impl, size)
