"""Spectral front-ends: Spectrogram, MelSpectrogram, MFCC and Whisper's log-mel.

Frames are 25 ms with a 10 ms hop at the clip's rate (400 / 160 samples at 16 kHz), as
speech front-ends use; 80 mel bands (40 below 16 kHz, where 25 ms frames have too few
frequency bins for 80). Both libraries get the same arguments.
"""

import torch

from benchmarks.cases import Case, Size, tritaudio_and_torchaudio
from tritaudio._common import DOT_PRECISIONS


def stft_args(size):
    return dict(n_fft=round(0.025 * size.sample_rate), hop_length=size.sample_rate // 100)


def n_mels(size):
    return 80 if size.sample_rate >= 16000 else 40


def mel_args(size):
    return dict(sample_rate=size.sample_rate, n_mels=n_mels(size), **stft_args(size))


def mfcc_args(size):
    melkwargs = dict(n_mels=n_mels(size), **stft_args(size))
    return dict(sample_rate=size.sample_rate, n_mfcc=40, melkwargs=melkwargs)


def whisper_mel_args(size):
    return dict(mel_args(size), norm="slaney", mel_scale="slaney")


def transform(name, arguments):
    """A builder of ``library.transforms.<name>(**arguments(size))`` on the device."""

    def build(library, size, device):
        return getattr(library.transforms, name)(**arguments(size)).to(device)

    return build


def whisper_log_mel(library, size, device):
    """Whisper's features on ``library``'s MelSpectrogram (n_fft 400, hop 160, 80 slaney
    bands at 16 kHz): the last frame dropped, log10 clamped at 1e-10, floored 8 below each
    example's maximum, scaled to about [-1, 1]: torchaudio's side."""
    mel_spectrogram = transform("MelSpectrogram", whisper_mel_args)(library, size, device)

    def features(waveform):
        log_mel = mel_spectrogram(waveform)[..., :-1].clamp(min=1e-10).log10()
        log_mel = torch.maximum(log_mel, log_mel.amax(dim=(-2, -1), keepdim=True) - 8.0)
        return (log_mel + 4.0) / 4.0

    return features


def fused_whisper(implementation=None, precision=None):
    """tritaudio's side: LogMelSpectrogram.whisper (the same features, per example); its
    defaults where ``implementation`` / ``precision`` are None."""
    options = {k: v for k, v in dict(implementation=implementation, precision=precision).items()
               if v is not None}  # fmt: skip

    def build(library, size, device):
        return library.transforms.LogMelSpectrogram.whisper(n_mels(size), **options).to(device)

    return build


def _case(name, build, build_torchaudio=None, **options):
    return Case("spectral", name, tritaudio_and_torchaudio(build, build_torchaudio), **options)


WHISPER = dict(sample_rate=16000, headline=Size(64, 30, 16000))

CASES = [
    _case("Spectrogram", transform("Spectrogram", stft_args)),
    _case("MelSpectrogram", transform("MelSpectrogram", mel_args)),
    _case("MFCC", transform("MFCC", mfcc_args)),
    # Issue 9 / 17: the defaults (implementation "auto": the folded single-kernel DFT in
    # tf32x3 without a gradient, the framing kernel + cuFFT + fused power/mel/log kernel
    # with one), then the stft implementation alone and the single-kernel DFT at each
    # tl.dot precision.
    _case("whisper log-mel", fused_whisper(), whisper_log_mel, **WHISPER),
    _case(
        "whisper log-mel (stft)",
        fused_whisper("stft"),
        whisper_log_mel,
        headline_only=True,
        **WHISPER,
    ),
    *(
        _case(
            f"whisper log-mel (dft, {precision})",
            fused_whisper("dft", precision),
            whisper_log_mel,
            headline_only=True,
            **WHISPER,
        )
        for precision in DOT_PRECISIONS
    ),
]
