"""Noise mixing: ``add_noise`` with a given noise, and random white noise at a random SNR
(tritaudio's AdditiveNoise, which never stores the noise, against what a torchaudio user
writes: ``torch.randn`` then ``add_noise``)."""

import torch

from benchmarks.cases import Case, Size, tritaudio_and_torchaudio

HEADLINE = Size(64, 10, 16000)


def _mix_inputs(size, device):
    waveform, noise = torch.randn(2, size.batch, size.samples, device=device)
    return waveform, noise, torch.full((size.batch,), 10.0, device=device)


def _additive_noise(tritaudio, size, device):
    return tritaudio.transforms.AdditiveNoise(snr_db=(10, 30), seed=0).to(device)


def _additive_noise_unseeded(tritaudio, size, device):
    # draws from torch's global generator on the device (a seeded module: from its own
    # generator there); neither makes a host-to-device copy
    return tritaudio.transforms.AdditiveNoise(snr_db=(10, 30)).to(device)


def _randn_then_add_noise(torchaudio, size, device):
    def augment(waveform):
        snr = 10 + 20 * torch.rand(waveform.shape[:-1], device=waveform.device)
        return torchaudio.functional.add_noise(waveform, torch.randn_like(waveform), snr)

    return augment


CASES = [
    Case(
        "noise",
        "add_noise",
        tritaudio_and_torchaudio(lambda library, size, device: library.functional.add_noise),
        make_inputs=_mix_inputs,
        grad_inputs=(0, 1),
        headline=HEADLINE,
    ),
    Case(
        "noise",
        "AdditiveNoise (white)",
        tritaudio_and_torchaudio(_additive_noise, _randn_then_add_noise),
        headline=HEADLINE,
    ),
    Case(
        "noise",
        "AdditiveNoise (white, unseeded)",
        tritaudio_and_torchaudio(_additive_noise_unseeded, _randn_then_add_noise),
        headline=HEADLINE,
    ),
]
