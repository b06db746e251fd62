"""The stretch family's functions: phase vocoder, time_stretch, pitch_shift.

STFT (framing kernel) -> phase vocoder (one kernel on the Triton path) -> inverse STFT
(overlap-add kernel) [-> resampling kernel]. ``phase_vocoder`` itself (and TimeStretch) runs
torchaudio's torch ops on both paths: its numbers are torchaudio's, bit for bit.
"""

import math
import numbers
from typing import NamedTuple

import torch

from tritaudio import _reference
from tritaudio._backend import backend_for
from tritaudio._cache import cached_table
from tritaudio._checks import check_positive_real, check_rate, check_real_waveform, check_stft_args
from tritaudio._common import in_compute_dtype
from tritaudio.functional.resample import _apply_resample_filter, _resample_filter
from tritaudio.functional.spectral import inverse_spectrogram, spectrogram


def _check_complex_spectrogram(specgram, name="complex_specgrams"):
    if not isinstance(specgram, torch.Tensor) or not specgram.is_complex():
        described = specgram.dtype if isinstance(specgram, torch.Tensor) else type(specgram)
        raise TypeError(
            f"{name} must be a complex tensor (a spectrogram with power=None), got {described}"
        )
    if specgram.dim() < 2:
        raise ValueError(f"{name} must be (..., freq, frames), got {tuple(specgram.shape)}")


def phase_vocoder(
    complex_specgrams: torch.Tensor, rate: float, phase_advance: torch.Tensor
) -> torch.Tensor:
    """Speed a complex spectrogram up by ``rate`` without changing its pitch.

    Mirrors ``torchaudio.functional.phase_vocoder``: the same frames and phase
    accumulation, the same numbers. Torch ops on both paths.

    Args:
        complex_specgrams: ``(..., freq, frames)``, complex.
        rate: speed-up factor, > 0 (2 halves the frames, 0.5 doubles them).
        phase_advance: the expected phase advance of each bin over one hop, ``(freq, 1)``,
            e.g. ``torch.linspace(0, math.pi * hop_length, freq)[..., None]``.

    Returns:
        ``(..., freq, ceil(frames / rate))``, the dtype of ``complex_specgrams``
        (``complex_specgrams`` itself when ``rate`` is 1; complex32 is computed and
        returned as complex64).
    """
    _check_complex_spectrogram(complex_specgrams)
    rate = check_positive_real("rate", rate)
    n_freq = complex_specgrams.shape[-2]
    if not isinstance(phase_advance, torch.Tensor) or not phase_advance.is_floating_point():
        raise TypeError("phase_advance must be a real floating-point tensor of shape (freq, 1)")
    if tuple(phase_advance.shape) != (n_freq, 1):
        raise ValueError(
            f"phase_advance must be ({n_freq}, 1) for a spectrogram with {n_freq} frequency "
            f"bins, got {tuple(phase_advance.shape)}"
        )
    _check_stretched_length(complex_specgrams.shape[-1], rate, "frames")
    if complex_specgrams.dtype == torch.complex32:
        complex_specgrams = complex_specgrams.to(torch.complex64)
    return _reference.phase_vocoder(complex_specgrams, rate, phase_advance)


def _stretch_stft(x, n_fft, win_length, hop_length, window):
    """Checked STFT settings of time_stretch / pitch_shift for a float32 / float64 ``x``:
    (win_length, hop_length, window) with torchaudio's defaults (win_length = n_fft,
    hop_length = n_fft // 4, a Hann window), the window on x's device in x's dtype."""
    win_length = n_fft if win_length is None else win_length
    hop_length = n_fft // 4 if hop_length is None else hop_length
    check_stft_args(n_fft, hop_length, win_length, None)
    if window is None:
        window = torch.hann_window(win_length, dtype=x.dtype, device=x.device)
    elif not isinstance(window, torch.Tensor) or not window.is_floating_point():
        raise TypeError("window must be a real floating-point tensor of shape (win_length,)")
    check_stft_args(n_fft, hop_length, win_length, window)
    return win_length, hop_length, window.to(device=x.device, dtype=x.dtype)


MAX_STRETCHED = 2**31 - 1  # samples (or frames) a stretch may produce


def _check_stretched_length(n_time, rate, what="samples"):
    """ValueError naming ``rate`` unless ``n_time`` samples stretched by it give 1 to
    2**31 - 1 (frames: at most 2**31 - 1; there are always >= 1). Empty stays empty."""
    if n_time == 0:
        return
    stretched = n_time / rate
    low = 1 if what == "samples" else 0
    if not (stretched <= MAX_STRETCHED and round(stretched) >= low):
        highest = f"{n_time / 0.5:g}" if low else "inf"
        raise ValueError(
            f"rate={rate} stretches {n_time} {what} to {stretched:.6g}: rate must be in "
            f"[{n_time / MAX_STRETCHED:.6g}, {highest}] for this input (at most 2**31 - 1 "
            f"{what} out)"
        )


def _stretch(waveform, rate, n_fft, win_length, hop_length, window):
    """STFT -> phase vocoder -> inverse STFT of a checked float32 / float64 waveform:
    ``(..., time)`` -> ``(..., round(time / rate))``, as torchaudio's pitch shift does."""
    _check_stretched_length(waveform.shape[-1], rate)
    length = round(waveform.shape[-1] / rate)
    if waveform.numel() == 0:
        return waveform.new_zeros(*waveform.shape[:-1], length)
    stft = (window, n_fft, hop_length, win_length)
    spec = spectrogram(waveform, 0, *stft, None, False)
    n_freq, dtype, device = spec.shape[-2], spec.real.dtype, spec.device
    build = lambda: torch.linspace(0, math.pi * hop_length, n_freq, dtype=dtype, device=device)
    phase_advance = cached_table("phase advance", (), (hop_length, n_freq, dtype, device), build)
    stretched = _vocode(spec, rate, phase_advance[..., None])
    return inverse_spectrogram(stretched, length, 0, *stft, False)


def _vocode(spec, rate, phase_advance):
    """The phase vocoder of time_stretch / pitch_shift: the kernel on the Triton path (the
    same arithmetic as torchaudio's within float rounding: a polynomial atan2, the phase
    summed in tiles), the torch reference otherwise."""
    if rate == 1.0 or backend_for(spec) == "torch":
        return _reference.phase_vocoder(spec, rate, phase_advance)
    from tritaudio import _ops

    shape = spec.shape
    dtype, device = spec.real.dtype, spec.device
    build = lambda: torch.arange(0, shape[-1], rate, dtype=dtype, device=device)
    steps = cached_table("vocoder steps", (), (shape[-1], rate, dtype, device), build)
    rows = spec.reshape(-1, *shape[-2:])
    stretched = _ops.phase_vocoder(rows, steps, phase_advance.reshape(-1))
    return stretched.reshape(*shape[:-2], *stretched.shape[-2:])


def time_stretch(
    waveform: torch.Tensor,
    rate: float,
    n_fft: int = 512,
    win_length: int | None = None,
    hop_length: int | None = None,
    window: torch.Tensor | None = None,
) -> torch.Tensor:
    """Stretch a waveform in time by ``1 / rate`` without changing its pitch.

    Beyond torchaudio (whose TimeStretch works on spectrograms): STFT, phase vocoder,
    inverse STFT, the steps of torchaudio's pitch shift before its resampling. On the
    Triton path the STFT and its inverse run the framing and overlap-add kernels.

    Args:
        waveform: ``(..., time)``, real floating point.
        rate: speed-up factor, > 0 (2 is twice as fast and half as long).
        n_fft: FFT size; win_length: window length (default ``n_fft``); hop_length:
            default ``n_fft // 4``; window: ``(win_length,)``, default Hann.

    Returns:
        ``(..., round(time / rate))``, the dtype of ``waveform``; differentiable.

    Example:
        >>> import torch, tritaudio.functional as F
        >>> F.time_stretch(torch.randn(2, 16000), 1.25).shape
        torch.Size([2, 12800])
    """
    check_real_waveform(waveform)
    rate = check_positive_real("rate", rate)
    x = in_compute_dtype(waveform)
    win_length, hop_length, window = _stretch_stft(x, n_fft, win_length, hop_length, window)
    return _stretch(x, rate, n_fft, win_length, hop_length, window).to(waveform.dtype)


class PitchShiftRates(NamedTuple):
    """The rates of a pitch shift: stretch by ``rate``, then resample from ``orig_freq``
    to ``sample_rate`` Hz (not gcd-reduced)."""

    rate: float
    orig_freq: int
    sample_rate: int


def _pitch_shift_rates(sample_rate, n_steps, bins_per_octave=12):
    """torchaudio's rates for a pitch shift by ``n_steps`` of ``bins_per_octave``:
    stretch by ``rate = 2 ** (-n_steps / bins_per_octave)``, then resample from
    ``int(sample_rate / rate)`` to ``sample_rate`` Hz. The truncation to whole Hz moves
    the pitch by less than ``1 / orig_freq`` relative (6e-5 at 16 kHz), fractional
    ``n_steps`` included."""
    sample_rate = check_rate("sample_rate", sample_rate)
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Real):
        raise TypeError(f"n_steps must be a number, got {n_steps!r}")
    if not math.isfinite(n_steps):
        raise ValueError(f"n_steps must be finite, got {n_steps!r}")
    if isinstance(bins_per_octave, bool) or not isinstance(bins_per_octave, numbers.Real):
        raise TypeError(f"bins_per_octave must be a number, got {bins_per_octave!r}")
    if not math.isfinite(bins_per_octave) or not bins_per_octave > 0:
        raise ValueError(f"bins_per_octave must be positive, got {bins_per_octave!r}")
    octaves = -float(n_steps) / bins_per_octave  # finite: bins_per_octave is >= 5e-324
    # the resampling rate int(sample_rate / rate) must be a positive int32 number of Hz
    low, high = math.log2(sample_rate / (2**31 - 1)), math.log2(sample_rate)
    if not low <= octaves <= high:
        raise ValueError(
            f"n_steps={n_steps} with bins_per_octave={bins_per_octave} takes a {sample_rate} "
            f"Hz signal's resampling rate outside [1, 2**31 - 1] Hz: n_steps / "
            f"bins_per_octave must be in [{-high:.6g}, {-low:.6g}] octaves"
        )
    rate = 2.0**octaves
    orig_freq = int(sample_rate / rate)
    if not 1 <= orig_freq <= 2**31 - 1:
        raise ValueError(
            f"n_steps={n_steps} takes a {sample_rate} Hz signal's resampling rate outside "
            f"[1, 2**31 - 1] Hz"
        )
    return PitchShiftRates(rate, orig_freq, sample_rate)


def _fit_length(waveform, n_time):
    """Trim or zero-pad the end of ``(..., time)`` to ``n_time`` samples (torchaudio's
    last step of pitch_shift)."""
    if waveform.shape[-1] >= n_time:
        return waveform[..., :n_time]
    return torch.nn.functional.pad(waveform, (0, n_time - waveform.shape[-1]))


def _shift_pitch(waveform, rates, n_fft, win_length, hop_length, window, resample_taps=None):
    """pitch_shift after its checks (also PitchShift's forward): stretch, resample from
    ``rates.orig_freq`` to ``rates.sample_rate``, fit to the input's length.

    ``resample_taps``: the resampling filter's tables (``resample_tables``) when the
    caller keeps them (PitchShift does).
    """
    x = in_compute_dtype(waveform)
    window = window.to(device=x.device, dtype=x.dtype)
    stretched = _stretch(x, rates.rate, n_fft, win_length, hop_length, window)
    spec = _resample_filter(rates.orig_freq, rates.sample_rate)
    shifted = stretched if spec is None else _apply_resample_filter(stretched, spec, resample_taps)
    return _fit_length(shifted, waveform.shape[-1]).to(waveform.dtype)


def pitch_shift(
    waveform: torch.Tensor,
    sample_rate: int,
    n_steps: float,
    bins_per_octave: int = 12,
    n_fft: int = 512,
    win_length: int | None = None,
    hop_length: int | None = None,
    window: torch.Tensor | None = None,
) -> torch.Tensor:
    """Shift the pitch of a waveform by ``n_steps`` steps of ``1 / bins_per_octave``
    octave, keeping its length.

    Mirrors ``torchaudio.functional.pitch_shift``: time-stretch by
    ``rate = 2 ** (-n_steps / bins_per_octave)`` (STFT, phase vocoder, inverse STFT to
    ``round(time / rate)`` samples), resample from ``int(sample_rate / rate)`` to
    ``sample_rate`` Hz, trim or zero-pad to ``time``. The same numbers; fractional
    ``n_steps`` work. The resampling computes its filter taps on the fly (Triton) or keeps
    only its non-zero taps (torch path): no ``(sample_rate, 1, orig_freq)`` filter table
    (torchaudio's, up to 1 GB, pytorch/audio #3447). Differentiable with respect to
    ``waveform`` on both paths.

    Args:
        waveform: ``(..., time)``, real floating point.
        sample_rate: its rate in Hz.
        n_steps: the shift in steps, any finite number (12 is an octave up by default).
        bins_per_octave: steps per octave, > 0.
        n_fft: FFT size; win_length: default ``n_fft``; hop_length: default
            ``n_fft // 4``; window: ``(win_length,)``, default Hann.

    Returns:
        ``(..., time)``, the dtype of ``waveform``.

    Example:
        >>> import torch, tritaudio.functional as F
        >>> F.pitch_shift(torch.randn(2, 16000), 16000, 3.5).shape
        torch.Size([2, 16000])
    """
    check_real_waveform(waveform)
    rates = _pitch_shift_rates(sample_rate, n_steps, bins_per_octave)
    x = in_compute_dtype(waveform)
    win_length, hop_length, window = _stretch_stft(x, n_fft, win_length, hop_length, window)
    return _shift_pitch(waveform, rates, n_fft, win_length, hop_length, window)
