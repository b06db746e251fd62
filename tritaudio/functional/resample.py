"""The resample family's functions: resample and speed (torchaudio.functional's names).

The filter is checked once (`_resample_filter`) and applied by the Triton kernel
(kernels/resample.py) or the torch reference.
"""

import math
import numbers
import warnings
from typing import NamedTuple

import torch

from tritaudio import _reference
from tritaudio._backend import backend_for
from tritaudio._checks import check_float_waveform, check_rate
from tritaudio._common import as_rows

KAISER_BETA = 14.769656459379492  # torchaudio's default for sinc_interp_kaiser


_DEPRECATED_METHODS = {
    "sinc_interpolation": "sinc_interp_hann",
    "kaiser_window": "sinc_interp_kaiser",
}


class ResampleFilter(NamedTuple):
    """A checked resampling filter; rates reduced by their gcd."""

    orig: int
    new: int
    lowpass_filter_width: float
    rolloff: float
    kaiser: int
    beta: float


def _resample_filter(
    orig_freq,
    new_freq,
    lowpass_filter_width=6,
    rolloff=0.99,
    resampling_method="sinc_interp_hann",
    beta=None,
):
    """Check :func:`resample`'s arguments; None when the rates are equal."""
    orig, new = check_rate("orig_freq", orig_freq), check_rate("new_freq", new_freq)
    if isinstance(lowpass_filter_width, bool) or not isinstance(lowpass_filter_width, numbers.Real):
        raise TypeError(f"lowpass_filter_width must be a number, got {lowpass_filter_width!r}")
    if not lowpass_filter_width > 0 or not math.isfinite(lowpass_filter_width):
        raise ValueError(f"lowpass_filter_width must be positive, got {lowpass_filter_width}")
    if not isinstance(rolloff, numbers.Real) or not 0 < rolloff <= 1:
        raise ValueError(f"rolloff must be in (0, 1], got {rolloff!r}")
    if resampling_method in _DEPRECATED_METHODS:
        replacement = _DEPRECATED_METHODS[resampling_method]
        warnings.warn(
            f"resampling_method {resampling_method!r} is deprecated; use {replacement!r}",
            FutureWarning,
            stacklevel=3,
        )
        resampling_method = replacement
    if resampling_method not in ("sinc_interp_hann", "sinc_interp_kaiser"):
        raise ValueError(
            "resampling_method must be 'sinc_interp_hann' or 'sinc_interp_kaiser', "
            f"got {resampling_method!r}"
        )
    kaiser = resampling_method == "sinc_interp_kaiser"
    beta = KAISER_BETA if beta is None else beta
    if kaiser and (not isinstance(beta, numbers.Real) or not math.isfinite(beta)):
        raise ValueError(f"beta must be a finite number, got {beta!r}")
    if orig == new:
        return None
    gcd = math.gcd(orig, new)
    return ResampleFilter(
        orig // gcd, new // gcd, float(lowpass_filter_width), float(rolloff), int(kaiser),
        float(beta) if kaiser else 0.0,
    )  # fmt: skip


def _apply_resample_filter(waveform, spec, taps=None):
    """Resample ``waveform`` (..., time) with a :class:`ResampleFilter` (not None).

    ``taps``: the reference path's ``(taps, first)`` table when the caller keeps one.
    """
    if backend_for(waveform) == "torch":
        if taps is None:
            taps = _reference.resample_taps(*spec)
        return _reference.resample_with_taps(waveform, spec.orig, spec.new, *taps)
    from tritaudio import _ops

    rows = _ops.resample(as_rows(waveform), *spec)
    return rows.reshape(*waveform.shape[:-1], rows.shape[-1])


def resample(
    waveform: torch.Tensor,
    orig_freq: int,
    new_freq: int,
    lowpass_filter_width: int = 6,
    rolloff: float = 0.99,
    resampling_method: str = "sinc_interp_hann",
    beta: float | None = None,
) -> torch.Tensor:
    """Resample a waveform with a band-limited (windowed-sinc) interpolation filter.

    Mirrors ``torchaudio.functional.resample``: the same filter and output length. On CUDA
    the Triton kernel computes the filter taps on the fly, so memory does not grow with the
    ratio of the rates (torchaudio's filter table for 16001 -> 16000 Hz is ~1 GB).

    Args:
        waveform: audio, shape ``(..., time)``, floating point.
        orig_freq, new_freq: the rates in Hz, positive integers.
        lowpass_filter_width: zero crossings of the sinc on each side; wider is sharper.
        rolloff: cut-off as a fraction of the lower Nyquist frequency, in (0, 1].
        resampling_method: ``"sinc_interp_hann"`` or ``"sinc_interp_kaiser"`` (the old
            names ``"sinc_interpolation"`` / ``"kaiser_window"`` work, with a warning).
        beta: the Kaiser window's shape; default 14.769656459379492.

    Returns:
        shape ``(..., ceil(new_freq * time / orig_freq))`` with the rates gcd-reduced;
        ``waveform`` itself when the rates are equal.

    Example:
        >>> import torch, tritaudio.functional as F
        >>> F.resample(torch.zeros(2, 44100), 44100, 16000).shape
        torch.Size([2, 16000])
    """
    check_float_waveform(waveform)
    spec = _resample_filter(
        orig_freq, new_freq, lowpass_filter_width, rolloff, resampling_method, beta
    )
    return waveform if spec is None else _apply_resample_filter(waveform, spec)


def _speed_rates(orig_freq, factor):
    """torchaudio's (source, target) rates for a speed change, gcd-reduced."""
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not factor > 0:
        raise ValueError(f"factor must be a positive number, got {factor!r}")
    if not math.isfinite(factor):
        raise ValueError(f"factor must be finite, got {factor!r}")
    check_rate("orig_freq", orig_freq)
    source, target = int(factor * orig_freq), int(orig_freq)
    if source <= 0:
        raise ValueError(f"factor {factor} is too small for orig_freq {orig_freq}")
    gcd = math.gcd(source, target)
    return source // gcd, target // gcd


def speed(
    waveform: torch.Tensor,
    orig_freq: int,
    factor: float,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Change the speed (and with it the pitch) of a waveform by ``factor``.

    Mirrors ``torchaudio.functional.speed``: resamples from ``int(factor * orig_freq)`` to
    ``orig_freq`` Hz, so the result plays ``factor`` times faster at ``orig_freq``.

    Args:
        waveform: audio, shape ``(..., time)``, floating point.
        orig_freq: the waveform's rate in Hz.
        factor: speed factor, > 0 (1.1 is 10 % faster and shorter).
        lengths: valid lengths of each waveform in the batch, shape ``(...)``, or None.

    Returns:
        ``(waveform, lengths)``: ``(..., new_time)`` and the lengths scaled the same way
        (``ceil``), or None when ``lengths`` is None.
    """
    source, target = _speed_rates(orig_freq, factor)
    if lengths is not None:
        lengths = torch.ceil(lengths * target / source).to(lengths.dtype)
    return resample(waveform, source, target), lengths
