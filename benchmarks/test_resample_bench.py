"""Resampling speed: tritaudio (Triton, torch reference) next to torchaudio, 32 x 10 s.

On a GPU all three run on it; on a CPU the Triton kernels would run under the interpreter,
so only the reference and torchaudio are timed there. Each row records GB/s (input read
once, output written once) in pytest-benchmark's extra_info.
"""

import pytest
import torch

import tritaudio
import tritaudio.functional as F

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
BATCH, SECONDS = 32, 10
RATES = [(44100, 16000), (16000, 48000), (48000, 44100)]


def _torchaudio_resample():
    return pytest.importorskip("torchaudio").functional.resample


def _tritaudio(backend):
    def resample(x, orig, new):
        with tritaudio.use_backend(backend):
            return F.resample(x, orig, new)

    return resample


IMPLEMENTATIONS = {
    "tritaudio-triton": lambda: _tritaudio("triton"),
    "tritaudio-reference": lambda: _tritaudio("torch"),
    "torchaudio": _torchaudio_resample,
}


def _synchronized(fn, *args):
    def run():
        out = fn(*args)
        if DEVICE == "cuda":
            torch.cuda.synchronize()
        return out

    return run


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize(("orig", "new"), RATES)
def test_resample(benchmark, implementation, orig, new):
    if implementation == "tritaudio-triton" and DEVICE == "cpu":
        pytest.skip("the Triton kernels need a GPU to be timed")
    resample = IMPLEMENTATIONS[implementation]()
    x = torch.randn(BATCH, SECONDS * orig, device=DEVICE)
    benchmark.group = f"resample {orig}->{new} Hz, {BATCH} x {SECONDS} s, {DEVICE}"
    out = benchmark(_synchronized(resample, x, orig, new))
    moved = (x.numel() + out.numel()) * x.element_size()
    benchmark.extra_info["GB/s"] = moved / benchmark.stats.stats.median / 1e9
    benchmark.extra_info["device"] = torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu"
