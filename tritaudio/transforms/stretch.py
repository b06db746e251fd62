"""The stretch family's transforms: TimeStretch, TimeStretchWaveform, PitchShift."""

import math

import torch

from tritaudio import functional as F
from tritaudio._checks import check_positive_real, check_real_waveform
from tritaudio.functional.stretch import (
    _check_complex_spectrogram,
    _pitch_shift_rates,
    _shift_pitch,
)
from tritaudio.transforms.resample import Resample, _drop_torchaudio_kernel
from tritaudio.transforms.spectral import _init_stft


class TimeStretch(torch.nn.Module):
    """Stretch a complex spectrogram in time without changing its pitch.

    Mirrors ``torchaudio.transforms.TimeStretch``; see
    :func:`tritaudio.functional.phase_vocoder`. ``phase_advance``, ``(n_freq, 1)``, is a
    buffer. For a waveform in and out, see :class:`TimeStretchWaveform`.

    Args:
        hop_length: the STFT's hop (default ``n_fft // 2`` with ``n_fft = 2 * (n_freq - 1)``).
        n_freq: frequency bins of the spectrograms it will get.
        fixed_rate: the speed-up factor used when ``forward`` gets none, > 0, or None.

    Shape:
        ``forward(complex_specgrams (..., n_freq, frames), overriding_rate=None)`` ->
        ``(..., n_freq, ceil(frames / rate))``.
    """

    def __init__(
        self, hop_length: int | None = None, n_freq: int = 201, fixed_rate: float | None = None
    ) -> None:
        super().__init__()
        if isinstance(n_freq, bool) or not isinstance(n_freq, int) or n_freq < 1:
            raise ValueError(f"n_freq must be a positive int, got {n_freq!r}")
        if fixed_rate is not None:
            check_positive_real("fixed_rate", fixed_rate)
        self.fixed_rate = fixed_rate
        self.n_freq = n_freq
        n_fft = (n_freq - 1) * 2
        hop_length = hop_length if hop_length is not None else n_fft // 2
        advance = torch.linspace(0, math.pi * hop_length, n_freq)[..., None]
        self.register_buffer("phase_advance", advance)

    def forward(
        self, complex_specgrams: torch.Tensor, overriding_rate: float | None = None
    ) -> torch.Tensor:
        _check_complex_spectrogram(complex_specgrams)
        if complex_specgrams.shape[-2] != self.n_freq:
            raise ValueError(
                f"TimeStretch(n_freq={self.n_freq}) got a spectrogram with "
                f"{complex_specgrams.shape[-2]} frequency bins, shape "
                f"{tuple(complex_specgrams.shape)}"
            )
        if overriding_rate is None:
            if self.fixed_rate is None:
                raise ValueError("TimeStretch has no fixed_rate: pass a rate to forward")
            overriding_rate = self.fixed_rate
        return F.phase_vocoder(complex_specgrams, overriding_rate, self.phase_advance)


class TimeStretchWaveform(torch.nn.Module):
    """Stretch a waveform in time by ``1 / rate`` without changing its pitch.

    Beyond torchaudio (its TimeStretch takes spectrograms); see
    :func:`tritaudio.functional.time_stretch`. The window is a buffer.

    Args:
        fixed_rate: the speed-up factor used when ``forward`` gets none, > 0, or None.
        n_fft: FFT size; win_length: default ``n_fft``; hop_length: default
            ``win_length // 4``; window_fn, wkwargs: the window, ``window_fn(win_length,
            **wkwargs)`` (Hann).

    Shape:
        ``forward(waveform (..., time), overriding_rate=None)`` ->
        ``(..., round(time / rate))``.
    """

    def __init__(
        self,
        fixed_rate: float | None = None,
        n_fft: int = 512,
        win_length: int | None = None,
        hop_length: int | None = None,
        window_fn=torch.hann_window,
        wkwargs: dict | None = None,
    ) -> None:
        super().__init__()
        if fixed_rate is not None:
            check_positive_real("fixed_rate", fixed_rate)
        self.fixed_rate = fixed_rate
        win_length = win_length if win_length is not None else n_fft
        hop_length = hop_length if hop_length is not None else win_length // 4
        _init_stft(self, n_fft, win_length, hop_length, window_fn, wkwargs)

    def forward(self, waveform: torch.Tensor, overriding_rate: float | None = None) -> torch.Tensor:
        if overriding_rate is None:
            if self.fixed_rate is None:
                raise ValueError("TimeStretchWaveform has no fixed_rate: pass a rate to forward")
            overriding_rate = self.fixed_rate
        return F.time_stretch(
            waveform, overriding_rate, self.n_fft, self.win_length, self.hop_length, self.window
        )


class PitchShift(torch.nn.Module):
    """Shift the pitch of a waveform by ``n_steps`` steps, keeping its length.

    Mirrors ``torchaudio.transforms.PitchShift``; see
    :func:`tritaudio.functional.pitch_shift`. Unlike torchaudio's (a lazy module whose
    ``kernel`` parameter is a ``(sample_rate, 1, orig_freq + 2 * width)`` table, gcd-reduced,
    up to 1 GB), it keeps only the resampler's non-zero taps for the torch path, as a
    non-persistent buffer; a torchaudio checkpoint's ``kernel`` entry is ignored.

    Args:
        sample_rate: the waveform's rate in Hz.
        n_steps: the shift in steps (fractional steps work).
        bins_per_octave: steps per octave, > 0.
        n_fft: FFT size; win_length: default ``n_fft``; hop_length: default
            ``win_length // 4`` (torchaudio's functional form uses ``n_fft // 4``);
            window_fn, wkwargs: the window, ``window_fn(win_length, **wkwargs)``.

    Shape:
        ``(..., time)`` -> ``(..., time)``.
    """

    def __init__(
        self,
        sample_rate: int,
        n_steps: float,
        bins_per_octave: int = 12,
        n_fft: int = 512,
        win_length: int | None = None,
        hop_length: int | None = None,
        window_fn=torch.hann_window,
        wkwargs: dict | None = None,
    ) -> None:
        super().__init__()
        self.rates = _pitch_shift_rates(sample_rate, n_steps, bins_per_octave)
        self.sample_rate = sample_rate
        self.n_steps = n_steps
        self.bins_per_octave = bins_per_octave
        self.orig_freq = self.rates.orig_freq
        self.gcd = math.gcd(self.orig_freq, int(sample_rate))
        win_length = win_length if win_length is not None else n_fft
        hop_length = hop_length if hop_length is not None else win_length // 4
        _init_stft(self, n_fft, win_length, hop_length, window_fn, wkwargs)
        self.resampler = Resample(self.orig_freq, sample_rate)
        self._register_load_state_dict_pre_hook(_drop_torchaudio_kernel)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        check_real_waveform(waveform)
        taps = None
        if self.resampler.filter is not None:
            taps = self.resampler._tables()
        return _shift_pitch(
            waveform, self.rates, self.n_fft, self.win_length, self.hop_length, self.window,
            taps,
        )  # fmt: skip
