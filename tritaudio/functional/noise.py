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
    factor = db_to_factor(gain_db)
    if gain_db == 0 or backend_for(waveform) == "torch":
        return _reference.gain(waveform, float(gain_db))
    return _scale(waveform, factor)


MAX_GAIN_DB = 6000.0  # 10 ** (6000 / 20) = 1e300: the largest gains a float64 can apply


def db_to_factor(gain_db, name="gain_db"):
    """The amplitude ratio ``10 ** (gain_db / 20)`` of a checked ``gain_db``."""
    if isinstance(gain_db, bool) or not isinstance(gain_db, numbers.Real):
        raise TypeError(f"{name} must be a number, got {gain_db!r}")
    gain_db = float(gain_db)
    if not math.isfinite(gain_db):
        raise ValueError(f"{name} must be finite, got {gain_db}")
    if abs(gain_db) > MAX_GAIN_DB:
        raise ValueError(
            f"{name} must be in [-{MAX_GAIN_DB:g}, {MAX_GAIN_DB:g}] dB (an amplitude ratio "
            f"a float64 holds), got {gain_db}"
        )
    return 10 ** (gain_db / 20)


def _scale(waveform: torch.Tensor, factor: float) -> torch.Tensor:
    """``waveform * factor`` through the dispatch (the Triton path's gain kernel)."""
    if backend_for(waveform) == "torch":
        return waveform * factor
    from tritaudio import _ops

    return _ops.scale_rows(as_rows(waveform), float(factor)).reshape(waveform.shape)


def _host_check(tensor):
    """Whether a check that reads ``tensor``'s values runs: only where the values are on
    the host already (a CPU tensor, outside torch.compile). On a GPU the check would be a
    host synchronisation; there the Triton kernels give torchaudio's own result instead
    (NaN for a NaN SNR, the clean row for +inf, lengths counted as ``t < length``)."""
    return tensor.device.type == "cpu" and not torch.compiler.is_compiling()


def _check_snr_and_lengths(snr, lengths, n_time):
    if _host_check(snr) and not torch.isfinite(snr).all():
        raise ValueError("snr must be finite")
    if lengths is None or not lengths.numel() or not _host_check(lengths):
        return
    if lengths.min() < 0 or lengths.max() > n_time:
        raise ValueError(
            f"lengths must be in [0, {n_time}] (the signal's length), got values from "
            f"{lengths.min().item()} to {lengths.max().item()}"
        )


def add_noise(
    waveform: torch.Tensor,
    noise: torch.Tensor,
    snr: torch.Tensor,
    lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """Add noise to a waveform at a signal-to-noise ratio in dB.

    Mirrors ``torchaudio.functional.add_noise``: the energies of the signal and the noise
    are measured over the samples ``t < lengths`` of each example, the noise is scaled
    to give ``snr`` and added over the whole example. Where the noise (or the signal) is
    silent, torchaudio returns inf / NaN; tritaudio returns the clean ``waveform``.
    Integer SNRs and floating-point lengths work as in torchaudio.

    The value checks (finite SNR, lengths in range) run where the values are on the host
    (CPU tensors); on a GPU they would synchronise, so there they are not made, and a NaN
    SNR gives NaN, +inf the clean example, as in torchaudio.

    Args:
        waveform: ``(..., time)``, floating point.
        noise: ``(..., time)``, the same number of dims; leading dims broadcast.
        snr: ``(...)``, in dB, finite, real (integer or floating point).
        lengths: ``(...)`` valid lengths in ``[0, time]`` (integer, or floating point:
            ``ceil(length)`` samples), or None (all).

    Returns:
        ``(..., time)``, the broadcast batch shape.
    """
    check_float_waveform(waveform)
    check_float_waveform(noise, "noise")
    if not isinstance(snr, torch.Tensor) or snr.is_complex() or snr.dtype == torch.bool:
        raise TypeError(f"snr must be a real (integer or floating-point) tensor, got {snr!r}")
    if lengths is not None and (not isinstance(lengths, torch.Tensor) or lengths.is_complex()):
        raise TypeError(f"lengths must be a real tensor or None, got {lengths!r}")
    if not (
        waveform.dim() - 1 == noise.dim() - 1 == snr.dim()
        and (lengths is None or lengths.dim() == snr.dim())
    ):
        lengths_shape = None if lengths is None else tuple(lengths.shape)
        raise ValueError(
            "Input leading dimensions don't match: waveform "
            f"{tuple(waveform.shape)}, noise {tuple(noise.shape)}, snr {tuple(snr.shape)}, "
            f"lengths {lengths_shape} (waveform and noise need one dim more than snr)"
        )
    n_time = waveform.shape[-1]
    if noise.shape[-1] != n_time:
        raise ValueError(
            f"Length dimensions of waveform and noise don't match (got {n_time} and "
            f"{noise.shape[-1]}): waveform {tuple(waveform.shape)} and noise "
            f"{tuple(noise.shape)} differ in length"
        )
    shapes = dict(waveform=waveform.shape[:-1], noise=noise.shape[:-1], snr=snr.shape)
    if lengths is not None:
        shapes["lengths"] = lengths.shape
    batch = broadcast_batch(**shapes)
    _check_snr_and_lengths(snr, lengths, n_time)
    return _add_noise(waveform, noise, snr, lengths, batch)


def _rows(tensor, batch):
    """``tensor`` broadcast to ``batch`` as (rows,): a view where the layout allows."""
    return tensor.expand(batch).reshape(math.prod(batch))


def _add_noise(waveform, noise, snr, lengths, batch):
    """add_noise after its checks; an snr of +inf leaves its example unchanged."""
    dtype = torch.promote_types(waveform.dtype, noise.dtype)
    waveform, noise = waveform.to(dtype), noise.to(dtype)
    if backend_for(waveform, noise) == "torch":
        if not snr.is_floating_point():
            snr = snr.to(torch.float64 if dtype == torch.float64 else torch.float32)
        return _reference.add_noise(waveform, noise, snr, lengths)
    from tritaudio import _ops

    n_time = waveform.shape[-1]
    mixed, _ = _ops.add_noise(
        as_rows(waveform.expand(*batch, n_time)),
        as_rows(noise.expand(*batch, n_time)),
        _rows(snr, batch),
        None if lengths is None else _rows(lengths, batch),
    )
    return mixed.reshape(*batch, n_time)


def add_white_noise(
    waveform: torch.Tensor, snr: torch.Tensor, seed: int | torch.Tensor
) -> torch.Tensor:
    """Add white Gaussian noise at ``snr`` dB per example, the noise drawn from ``seed``.

    Beyond torchaudio. On the Triton path the noise is generated inside the kernels
    (Philox-4x32-10, key ``seed + example``, all four outputs and both Box-Muller normals
    used) and never stored: one pass measures the energies, one mixes. The torch path
    draws ``torch.randn`` from a generator seeded with ``seed``: each path is
    reproducible, their noises differ.

    Args:
        waveform: ``(..., time)``, floating point.
        snr: ``(...)`` in dB; ``+inf`` leaves an example unchanged.
        seed: an int in ``[0, 2**31 - 1 - examples)``; on the Triton path also a
            one-element integer tensor on the waveform's device (no host read).

    Returns:
        ``(..., time)``; differentiable with respect to ``waveform``.
    """
    check_float_waveform(waveform)
    batch = waveform.shape[:-1]
    snr = snr.to(waveform.device).expand(batch)
    if backend_for(waveform) == "torch":
        generator = torch.Generator(waveform.device).manual_seed(int(seed))
        noise = torch.randn(waveform.shape, generator=generator, device=waveform.device)
        return _reference.add_noise(waveform, noise.to(waveform.dtype), snr)
    from tritaudio import _ops

    if not isinstance(seed, torch.Tensor):
        # a fill kernel with the seed as its argument: no host-to-device copy
        seed = torch.full((1,), int(seed), dtype=torch.int64, device=waveform.device)
    mixed, _ = _ops.add_white_noise(as_rows(waveform), _rows(snr, batch), None, seed.reshape(1))
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
