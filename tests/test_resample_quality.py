"""Resampling quality against exact band-limited signals, next to soxr (VHQ).

The measures live in benchmarks/resample_quality.py, which prints the README's table; the
bounds here sit a few dB above the figures measured when the table was made.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
quality = pytest.importorskip("resample_quality")

PAIRS = [(44100, 16000), (16000, 48000), (48000, 44100)]


@pytest.mark.parametrize(("orig", "new"), PAIRS)
def test_kaiser_best_is_near_exact(orig, new):
    tone = quality.tone_error_db(orig, new, "kaiser best")
    assert tone < -145
    assert quality.alias_db(orig, new, "kaiser best") < -155


@pytest.mark.parametrize(("orig", "new"), PAIRS)
def test_default_hann_filter(orig, new):
    # torchaudio's default filter is short (6 zero crossings) and rolls off early: a tone at
    # 80 % of the lower Nyquist frequency comes out about 24 dB off.
    assert quality.tone_error_db(orig, new, "hann (default)") < -20
    assert quality.tone_error_db(orig, new, "hann (default)", fraction=0.2) < -60


def test_downsampling_rejects_aliases():
    assert quality.alias_db(44100, 16000, "hann (default)") < -70
    assert quality.alias_db(44100, 16000, "soxr VHQ") < -150


@pytest.mark.parametrize(("clip", "new"), quality.CLIP_CASES)
def test_real_clips_against_their_exact_band_limited_resampling(clip, new):
    assert quality.clip_error_db(clip, new, "kaiser best") < -150
    assert quality.clip_error_db(clip, new, "hann (default)") < -40
