"""Time stretching and pitch shifting (phase vocoder, then the resampler), 16 kHz.

PitchShift at every n_steps in -6..6 at its headline size, 16 x 4 s (issue 6's target);
n_steps = +6 over the whole grid, forward and backward. Each library's
``transforms.PitchShift`` is built once; torchaudio's builds its resampling table (up to a
GB) on its first call, which the peak memory counts. TimeStretch on complex spectrograms
(n_fft 512, hop 128), and a waveform stretch: tritaudio's ``functional.time_stretch``
against the same steps in torchaudio (``torch.stft``, ``phase_vocoder``, ``torch.istft``,
as its pitch_shift does).
"""

import math

import torch

from benchmarks.cases import Case, Size, tritaudio_and_torchaudio

HEADLINE = Size(16, 4, 16000)
STEPS = tuple(range(-6, 7))
GRID_STEPS = 6
RATE = 1.25  # time stretch: 25 % faster
N_FFT, HOP = 512, 128


def pitch_case_name(n_steps):
    return f"PitchShift n_steps={n_steps:+d}"


def _pitch_shift(n_steps):
    def build(library, size, device):
        return library.transforms.PitchShift(size.sample_rate, n_steps).to(device)

    return build


def _spectrogram(size, device):
    waveform = torch.randn(size.batch, size.samples, device=device)
    window = torch.hann_window(N_FFT, device=device)
    return (torch.stft(waveform, N_FFT, HOP, window=window, return_complex=True),)


def _time_stretch(library, size, device):
    return library.transforms.TimeStretch(HOP, N_FFT // 2 + 1, RATE).to(device)


def _tritaudio_waveform_stretch(tritaudio, size, device):
    return lambda waveform: tritaudio.functional.time_stretch(waveform, RATE, N_FFT, None, HOP)


def _torchaudio_waveform_stretch(torchaudio, size, device):
    window = torch.hann_window(N_FFT, device=device)
    advance = torch.linspace(0, math.pi * HOP, N_FFT // 2 + 1, device=device)[..., None]

    def stretch(waveform):
        spec = torch.stft(waveform, N_FFT, HOP, window=window, return_complex=True)
        stretched = torchaudio.functional.phase_vocoder(spec, RATE, advance)
        length = round(waveform.shape[-1] / RATE)
        return torch.istft(stretched, N_FFT, HOP, window=window, length=length)

    return stretch


_PITCH = dict(sample_rate=16000, headline=HEADLINE)

CASES = [
    *(
        Case("stretch", pitch_case_name(n), tritaudio_and_torchaudio(_pitch_shift(n)),
             differentiable=n == GRID_STEPS, headline_only=n != GRID_STEPS, **_PITCH)
        for n in STEPS
    ),
    Case("stretch", f"TimeStretch rate={RATE:g} (spectrogram)",
         tritaudio_and_torchaudio(_time_stretch), make_inputs=_spectrogram, **_PITCH),
    Case("stretch", f"time stretch rate={RATE:g} (waveform)",
         tritaudio_and_torchaudio(_tritaudio_waveform_stretch, _torchaudio_waveform_stretch),
         **_PITCH),
]  # fmt: skip
