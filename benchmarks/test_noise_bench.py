"""Noise mixing speed, 64 x 10 s at 16 kHz: add_noise, and AdditiveNoise against what it
replaces (torch.randn + torchaudio's add_noise). GB/s in extra_info (reads + writes of the
waveform-sized tensors each implementation must touch at least once)."""

import pytest
import torch

import tritaudio
import tritaudio.functional as F
import tritaudio.transforms as T

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
BATCH, TIME = 64, 10 * 16000


def _torchaudio():
    return pytest.importorskip("torchaudio")


def _run(fn):
    def run():
        out = fn()
        if DEVICE == "cuda":
            torch.cuda.synchronize()
        return out

    return run


def _record(benchmark, tensors_moved):
    seconds = benchmark.stats.stats.median
    benchmark.extra_info["GB/s"] = tensors_moved * BATCH * TIME * 4 / seconds / 1e9
    benchmark.extra_info["device"] = torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu"


@pytest.mark.parametrize(
    "implementation", ["tritaudio-triton", "tritaudio-reference", "torchaudio"]
)
def test_add_noise(benchmark, implementation):
    if implementation == "tritaudio-triton" and DEVICE == "cpu":
        pytest.skip("the Triton kernels need a GPU to be timed")
    waveform, noise = torch.randn(2, BATCH, TIME, device=DEVICE)
    snr = torch.full((BATCH,), 10.0, device=DEVICE)
    if implementation == "torchaudio":
        add_noise = _torchaudio().functional.add_noise
        fn = lambda: add_noise(waveform, noise, snr)
    else:
        backend = "triton" if implementation == "tritaudio-triton" else "torch"

        def fn():
            with tritaudio.use_backend(backend):
                return F.add_noise(waveform, noise, snr)

    benchmark.group = f"add_noise {BATCH} x 10 s, {DEVICE}"
    benchmark(_run(fn))
    _record(benchmark, 3)  # waveform and noise read, output written


@pytest.mark.parametrize(
    "implementation", ["tritaudio-triton", "tritaudio-reference", "randn+torchaudio"]
)
def test_additive_white_noise(benchmark, implementation):
    if implementation == "tritaudio-triton" and DEVICE == "cpu":
        pytest.skip("the Triton kernels need a GPU to be timed")
    waveform = torch.randn(BATCH, TIME, device=DEVICE)
    if implementation == "randn+torchaudio":
        add_noise = _torchaudio().functional.add_noise

        def fn():
            snr = 10 + 20 * torch.rand(BATCH, device=DEVICE)
            return add_noise(waveform, torch.randn_like(waveform), snr)
    else:
        module = T.AdditiveNoise(seed=0)
        backend = "triton" if implementation == "tritaudio-triton" else "torch"

        def fn():
            with tritaudio.use_backend(backend):
                return module(waveform)

    benchmark.group = f"additive white noise {BATCH} x 10 s, {DEVICE}"
    benchmark(_run(fn))
    _record(benchmark, 2)  # waveform read, output written
