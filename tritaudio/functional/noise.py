"""The noise family's functions: gain, add_noise, white and colored noise, pre- / de-emphasis.

Mirrors the matching ``torchaudio.functional`` names; dispatches to kernels/noise.py.
"""

import math
import numbers

import torch

from tritaudio import _reference
from tritaudio._backend import backend_for
from tritaudio._checks import broadcast_batch, check_float_waveform
from tritaudio._common import as_rows


def gain(waveform: torch.Tensor, gain_db: float = 1.0) -> torch.Tensor:
    """Amplify or attenuate a waveform by ``gain_db`` decibels.

    Mirrors ``torchaudio.functional.gain``.

    Args:
        waveform: audio, shape ``(..., time)``, floating point.
        gain_db: gain in decibels; 0 returns ``waveform`` itself.

    Returns:
        ``waveform * 10 ** (gain_db / 20)``, shape ``(..., time)``, the dtype of ``waveform``.

    Example:
        >>> import torch, tritaudio.functional as F
        >>> F.gain(torch.tensor([0.1, -0.2]), 20.0)
        tensor([ 1., -2.])
    """
    check_float_waveform(waveform)
    gain_db = float(gain_db)
    if not math.isfinite(gain_db):
        raise ValueError(f"gain_db must be finite, got {gain_db}")
    if gain_db == 0 or backend_for(waveform) == "torch":
        return _reference.gain(waveform, gain_db)
    return _scale(waveform, 10 ** (gain_db / 20))


def _scale(waveform: torch.Tensor, factor: float) -> torch.Tensor:
    """``waveform * factor`` through the dispatch (the Triton path's gain kernel)."""
    if backend_for(waveform) == "torch":
        return waveform * factor
    from tritaudio import _ops

    return _ops.scale_rows(as_rows(waveform), float(factor)).reshape(waveform.shape)


def add_noise(
    waveform: torch.Tensor,
    noise: torch.Tensor,
    snr: torch.Tensor,
    lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """Add noise to a waveform at a signal-to-noise ratio in dB.

    Mirrors ``torchaudio.functional.add_noise``: the energies of the signal and the noise
    are measured over the first ``lengths`` samples of each example, the noise is scaled
    to give ``snr`` and added over the whole example. Where the noise (or the signal) is
    silent, torchaudio returns inf / NaN; tritaudio returns the clean ``waveform``.

    Args:
        waveform: ``(..., time)``, floating point.
        noise: ``(..., time)``, the same number of dims; leading dims broadcast.
        snr: ``(...)``, in dB, finite.
        lengths: ``(...)`` integer valid lengths in ``[0, time]``, or None (all).

    Returns:
        ``(..., time)``, the broadcast batch shape.
    """
    check_float_waveform(waveform)
    check_float_waveform(noise, "noise")
    if not isinstance(snr, torch.Tensor) or not snr.is_floating_point():
        raise TypeError(f"snr must be a floating-point tensor, got {snr!r}")
    if not (
        waveform.dim() - 1 == noise.dim() - 1 == snr.dim()
        and (lengths is None or lengths.dim() == snr.dim())
    ):
        lengths_shape = None if lengths is None else tuple(lengths.shape)
        raise ValueError(
            "leading dimensions do not match: waveform "
            f"{tuple(waveform.shape)}, noise {tuple(noise.shape)}, snr {tuple(snr.shape)}, "
            f"lengths {lengths_shape} (waveform and noise need one dim more than snr)"
        )
    n_time = waveform.shape[-1]
    if noise.shape[-1] != n_time:
        raise ValueError(
            f"waveform {tuple(waveform.shape)} and noise {tuple(noise.shape)} differ in length"
        )
    if not torch.isfinite(snr).all():
        raise ValueError("snr must be finite")
    shapes = dict(waveform=waveform.shape[:-1], noise=noise.shape[:-1], snr=snr.shape)
    if lengths is not None:
        if lengths.is_floating_point() or lengths.is_complex():
            raise TypeError(f"lengths must be an integer tensor, got {lengths.dtype}")
        if lengths.numel() and (lengths.min() < 0 or lengths.max() > n_time):
            raise ValueError(
                f"lengths must be in [0, {n_time}] (the signal's length), got values from "
                f"{int(lengths.min())} to {int(lengths.max())}"
            )
        shapes["lengths"] = lengths.shape
    return _add_noise(waveform, noise, snr, lengths, broadcast_batch(**shapes))


def _row_lengths(lengths, batch, n_time, device):
    rows = math.prod(batch)
    if lengths is None:
        return torch.full((rows,), n_time, dtype=torch.int64, device=device)
    return lengths.to(torch.int64).expand(batch).reshape(rows)


def _add_noise(waveform, noise, snr, lengths, batch):
    """add_noise after its checks; an snr of +inf leaves its example unchanged."""
    dtype = torch.promote_types(waveform.dtype, noise.dtype)
    waveform, noise = waveform.to(dtype), noise.to(dtype)
    if backend_for(waveform, noise) == "torch":
        return _reference.add_noise(waveform, noise, snr, lengths)
    from tritaudio import _ops

    n_time = waveform.shape[-1]
    mixed, _ = _ops.add_noise(
        as_rows(waveform.expand(*batch, n_time)),
        as_rows(noise.expand(*batch, n_time)),
        snr.expand(batch).reshape(math.prod(batch)),
        _row_lengths(lengths, batch, n_time, waveform.device),
    )
    return mixed.reshape(*batch, n_time)


def add_white_noise(waveform: torch.Tensor, snr: torch.Tensor, seed: int) -> torch.Tensor:
    """Add white Gaussian noise at ``snr`` dB per example, the noise drawn from ``seed``.

    Beyond torchaudio. On the Triton path the noise is generated inside the kernels (Philox,
    key ``seed + example``) and never stored: one pass measures the energies, one mixes.
    The torch path draws ``torch.randn`` from a generator seeded with ``seed``: each path
    is reproducible, their noises differ.

    Args:
        waveform: ``(..., time)``, floating point.
        snr: ``(...)`` in dB; ``+inf`` leaves an example unchanged.
        seed: an int in ``[0, 2**31 - 1 - examples)``.

    Returns:
        ``(..., time)``; differentiable with respect to ``waveform``.
    """
    check_float_waveform(waveform)
    batch, n_time = waveform.shape[:-1], waveform.shape[-1]
    snr = snr.to(waveform.device).expand(batch)
    if backend_for(waveform) == "torch":
        generator = torch.Generator(waveform.device).manual_seed(seed)
        noise = torch.randn(waveform.shape, generator=generator, device=waveform.device)
        return _reference.add_noise(waveform, noise.to(waveform.dtype), snr)
    from tritaudio import _ops

    mixed, _ = _ops.add_white_noise(
        as_rows(waveform),
        snr.reshape(math.prod(batch)),
        _row_lengths(None, batch, n_time, waveform.device),
        int(seed),
    )
    return mixed.reshape(waveform.shape)


# Amplitude spectrum slope of each noise color: |X(f)| ~ f ** exponent, so that the power
# falls or rises by 20 * exponent * log10(2) dB per octave (pink -3, brown -6, blue +3,
# violet +6).
NOISE_COLORS = {"white": 0.0, "pink": -0.5, "brown": -1.0, "blue": 0.5, "violet": 1.0}


def colored_noise(shape, color, generator=None, device=None, dtype=torch.float32):
    """Gaussian noise whose power spectrum follows ``color``'s slope (no DC), by spectral
    shaping of white noise. Beyond torchaudio (AdditiveNoise's colored noise).

    Args:
        shape: ``(..., time)``.
        color: a key of :data:`NOISE_COLORS`.
        generator: a ``torch.Generator`` on ``device`` (default: torch's global one).

    Returns:
        ``shape`` noise of ``dtype`` on ``device``.
    """
    if color not in NOISE_COLORS:
        raise ValueError(f"color must be one of {tuple(NOISE_COLORS)}, got {color!r}")
    white = torch.randn(shape, generator=generator, device=device, dtype=torch.float32)
    if color == "white" or shape[-1] < 2:
        return white.to(dtype)
    spectrum = torch.fft.rfft(white)
    bins = torch.arange(spectrum.shape[-1], device=spectrum.device, dtype=torch.float32)
    gains = bins.clamp(min=1).pow(NOISE_COLORS[color]) * (bins > 0)
    return torch.fft.irfft(spectrum * gains, n=shape[-1]).to(dtype)


def _check_coeff(coeff):
    if isinstance(coeff, bool) or not isinstance(coeff, numbers.Real) or not -1 <= coeff <= 1:
        raise ValueError(f"coeff must be a number in [-1, 1], got {coeff!r}")


def preemphasis(waveform: torch.Tensor, coeff: float = 0.97) -> torch.Tensor:
    """Pre-emphasise a waveform: ``y[t] = x[t] - coeff * x[t - 1]``.

    Mirrors ``torchaudio.functional.preemphasis``.

    Args:
        waveform: ``(..., time)``, floating point.
        coeff: the emphasis coefficient, in [-1, 1].

    Returns:
        ``(..., time)``.
    """
    check_float_waveform(waveform)
    _check_coeff(coeff)
    return _reference.preemphasis(waveform, coeff)


def deemphasis(waveform: torch.Tensor, coeff: float = 0.97) -> torch.Tensor:
    """Undo :func:`preemphasis`: ``y[t] = x[t] + coeff * y[t - 1]``, clamped to [-1, 1].

    Mirrors ``torchaudio.functional.deemphasis`` (an lfilter, which clamps by default).

    Args:
        waveform: ``(..., time)``, floating point.
        coeff: the emphasis coefficient, in [-1, 1].

    Returns:
        ``(..., time)``.
    """
    check_float_waveform(waveform)
    _check_coeff(coeff)
    return _reference.deemphasis(waveform, coeff)
