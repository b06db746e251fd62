"""Pure functions with torchaudio.functional's names and signatures.

Each function checks its arguments, flattens ``(..., time)`` to ``(rows, time)`` for the
kernels, and dispatches (here, and only here) to the Triton op or the torch reference.
"""

import math
import numbers
import warnings
from typing import NamedTuple

import torch

from tritaudio import _reference
from tritaudio._backend import backend_for


def _check_float_waveform(waveform, name="waveform"):
    if not isinstance(waveform, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(waveform).__name__}")
    if not waveform.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor (float16, bfloat16, float32 or "
            f"float64), got {waveform.dtype}"
        )
    if waveform.dim() == 0:
        raise ValueError(f"{name} must have a time dimension, got a 0-d tensor")


def _as_rows(waveform):
    """(..., time) -> (rows, time) with the last dim contiguous (a view when possible)."""
    from tritaudio._ops import last_dim_contiguous

    rows = math.prod(waveform.shape[:-1])
    return last_dim_contiguous(waveform.reshape(rows, waveform.shape[-1]))


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
    _check_float_waveform(waveform)
    gain_db = float(gain_db)
    if not math.isfinite(gain_db):
        raise ValueError(f"gain_db must be finite, got {gain_db}")
    if gain_db == 0 or backend_for(waveform) == "torch":
        return _reference.gain(waveform, gain_db)
    return scale(waveform, 10 ** (gain_db / 20))


def scale(waveform: torch.Tensor, factor: float) -> torch.Tensor:
    """``waveform * factor`` through the dispatch (the Triton path's gain kernel)."""
    if backend_for(waveform) == "torch":
        return waveform * factor
    from tritaudio import _ops

    return _ops.scale_rows(_as_rows(waveform), float(factor)).reshape(waveform.shape)


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


def _check_rate(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    if value != int(value):
        raise ValueError(
            f"{name} must be an integer number of Hz (as torchaudio requires), got {value!r}"
        )
    return int(value)


def resample_filter(
    orig_freq,
    new_freq,
    lowpass_filter_width=6,
    rolloff=0.99,
    resampling_method="sinc_interp_hann",
    beta=None,
):
    """Check :func:`resample`'s arguments; None when the rates are equal."""
    orig, new = _check_rate("orig_freq", orig_freq), _check_rate("new_freq", new_freq)
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


def apply_resample_filter(waveform, spec, taps=None):
    """Resample ``waveform`` (..., time) with a :class:`ResampleFilter` (not None).

    ``taps``: the reference path's ``(taps, first)`` table when the caller keeps one.
    """
    if backend_for(waveform) == "torch":
        if taps is None:
            taps = _reference.resample_taps(*spec)
        return _reference.resample_with_taps(waveform, spec.orig, spec.new, *taps)
    from tritaudio import _ops

    rows = _ops.resample(_as_rows(waveform), *spec)
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
    _check_float_waveform(waveform)
    spec = resample_filter(
        orig_freq, new_freq, lowpass_filter_width, rolloff, resampling_method, beta
    )
    return waveform if spec is None else apply_resample_filter(waveform, spec)


def speed_rates(orig_freq, factor):
    """torchaudio's (source, target) rates for a speed change, gcd-reduced."""
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not factor > 0:
        raise ValueError(f"factor must be a positive number, got {factor!r}")
    if not math.isfinite(factor):
        raise ValueError(f"factor must be finite, got {factor!r}")
    _check_rate("orig_freq", orig_freq)
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
    source, target = speed_rates(orig_freq, factor)
    if lengths is not None:
        lengths = torch.ceil(lengths * target / source).to(lengths.dtype)
    return resample(waveform, source, target), lengths


def _broadcast_batch(**shapes):
    """The broadcast of the named batch shapes; ValueError naming them all if none."""
    try:
        return torch.broadcast_shapes(*shapes.values())
    except RuntimeError:
        described = ", ".join(f"{name} {tuple(shape)}" for name, shape in shapes.items())
        raise ValueError(f"batch dimensions do not broadcast: {described}") from None


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
    _check_float_waveform(waveform)
    _check_float_waveform(noise, "noise")
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
    return _add_noise(waveform, noise, snr, lengths, _broadcast_batch(**shapes))


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
        _as_rows(waveform.expand(*batch, n_time)),
        _as_rows(noise.expand(*batch, n_time)),
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
    _check_float_waveform(waveform)
    batch, n_time = waveform.shape[:-1], waveform.shape[-1]
    snr = snr.to(waveform.device).expand(batch)
    if backend_for(waveform) == "torch":
        generator = torch.Generator(waveform.device).manual_seed(seed)
        noise = torch.randn(waveform.shape, generator=generator, device=waveform.device)
        return _reference.add_noise(waveform, noise.to(waveform.dtype), snr)
    from tritaudio import _ops

    mixed, _ = _ops.add_white_noise(
        _as_rows(waveform),
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
    shaping of white noise.

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
    _check_float_waveform(waveform)
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
    _check_float_waveform(waveform)
    _check_coeff(coeff)
    return _reference.deemphasis(waveform, coeff)


def _mask_length(specgram, mask_param, axis, p, min_dims):
    """Check a masking call; the longest mask it may draw (torchaudio's rule)."""
    if not isinstance(specgram, torch.Tensor):
        raise TypeError(f"specgram must be a torch.Tensor, got {type(specgram).__name__}")
    dim = specgram.dim()
    if dim < min_dims:
        raise ValueError(
            f"the spectrogram needs at least {min_dims} dims, got shape {tuple(specgram.shape)}"
        )
    if axis not in (dim - 2, dim - 1):
        raise ValueError(
            f"axis must be {dim - 2} (frequency) or {dim - 1} (time) for a {dim}-D spectrogram, "
            f"got {axis}"
        )
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if isinstance(mask_param, bool) or not isinstance(mask_param, int) or mask_param < 0:
        raise ValueError(f"mask_param must be an int >= 0, got {mask_param!r}")
    return mask_param if p == 1.0 else min(mask_param, int(specgram.shape[axis] * p))


def mask_along_axis(
    specgram: torch.Tensor, mask_param: int, mask_value: float, axis: int, p: float = 1.0
) -> torch.Tensor:
    """Fill one random interval along ``axis`` with ``mask_value``, the same for every
    example.

    Mirrors ``torchaudio.functional.mask_along_axis`` and draws from torch's global
    generator exactly as it does (the same seed gives the same mask).

    Args:
        specgram: ``(..., freq, time)``, at least 2-D.
        mask_param: the interval's length is drawn from ``[0, mask_param)``.
        mask_value: the fill value.
        axis: ``dim - 2`` (frequency) or ``dim - 1`` (time).
        p: at most this fraction of the axis is masked.

    Returns:
        ``(..., freq, time)``.
    """
    mask_length = _mask_length(specgram, mask_param, axis, p, min_dims=2)
    if mask_length < 1:
        return specgram
    return _reference.mask_along_axis(specgram, mask_length, mask_value, axis)


def mask_along_axis_iid(
    specgrams: torch.Tensor,
    mask_param: int,
    mask_value: float | torch.Tensor,
    axis: int,
    p: float = 1.0,
) -> torch.Tensor:
    """Fill a random interval along ``axis`` with ``mask_value``, one per example.

    Mirrors ``torchaudio.functional.mask_along_axis_iid`` (same draws, same seed, same
    masks).

    Args:
        specgrams: ``(..., freq, time)``, at least 3-D.
        mask_param, axis, p: as in :func:`mask_along_axis`.
        mask_value: the fill value, a number or a tensor (no host sync).

    Returns:
        ``(..., freq, time)``.
    """
    mask_length = _mask_length(specgrams, mask_param, axis, p, min_dims=3)
    if mask_length < 1:
        return specgrams
    return _reference.mask_along_axis_iid(specgrams, mask_length, mask_value, axis)


def _check_real_waveform(waveform):
    if isinstance(waveform, torch.Tensor) and waveform.is_complex():
        raise TypeError(f"waveform must be real, got a {waveform.dtype} tensor")
    _check_float_waveform(waveform)


def _check_stft_args(n_fft, hop_length, win_length, window):
    for name, value in (("n_fft", n_fft), ("hop_length", hop_length), ("win_length", win_length)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if win_length > n_fft:
        raise ValueError(f"win_length ({win_length}) must not exceed n_fft ({n_fft})")
    if window is not None and (window.dim() != 1 or window.shape[0] != win_length):
        raise ValueError(
            f"window must be 1-D of win_length {win_length}, got {tuple(window.shape)}"
        )


def _check_spectrogram_args(
    waveform, pad, window, n_fft, hop_length, win_length, power, center, pad_mode
):  # fmt: skip
    _check_real_waveform(waveform)
    _check_stft_args(n_fft, hop_length, win_length, window)
    if power is not None and not power > 0:
        raise ValueError(f"power must be > 0 or None, got {power}")
    n_time = waveform.shape[-1] + 2 * pad
    padded = n_time + (2 * (n_fft // 2) if center else 0)
    if pad_mode not in PAD_MODES:
        raise ValueError(f"pad_mode must be one of {PAD_MODES}, got {pad_mode!r}")
    if n_fft > padded:
        raise ValueError(
            f"n_fft ({n_fft}) is longer than the padded signal ({padded} samples from "
            f"{waveform.shape[-1]})"
        )
    if center and pad_mode == "reflect" and n_fft // 2 >= n_time:
        raise ValueError(
            f"reflect padding of {n_fft // 2} samples needs a signal longer than that; got "
            f"{n_time} samples (use pad_mode='constant' or a smaller n_fft)"
        )


def spectrogram(
    waveform: torch.Tensor,
    pad: int,
    window: torch.Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
    power: float | None,
    normalized: bool | str,
    center: bool = True,
    pad_mode: str = "reflect",
    onesided: bool = True,
    return_complex: bool | None = None,
) -> torch.Tensor:
    """Spectrogram (power, magnitude or complex) of a waveform.

    Mirrors ``torchaudio.functional.spectrogram``.

    Args:
        waveform: ``(..., time)``, real floating point.
        pad: zeros added on both sides first.
        window: ``(win_length,)``, zero-padded to ``n_fft`` on both sides by the STFT.
        n_fft, hop_length, win_length: frame size (FFT length), step and window length.
        power: 1 magnitude, 2 power, any exponent > 0, or None for the complex STFT.
        normalized: False, True / ``"window"`` (divide by the window's L2 norm) or
            ``"frame_length"`` (divide by sqrt(n_fft)).
        center: pad ``n_fft // 2`` on both sides with ``pad_mode`` so frame t is centered
            at ``t * hop_length``.
        pad_mode: ``"reflect"``, ``"constant"``, ``"replicate"`` or ``"circular"``.
        onesided: keep the ``n_fft // 2 + 1`` non-negative frequencies.
        return_complex: deprecated in torchaudio; ignored.

    Returns:
        ``(..., freq, frames)``, complex when ``power`` is None.
    """
    _check_spectrogram_args(
        waveform, pad, window, n_fft, hop_length, win_length, power, center, pad_mode
    )
    if waveform.dtype in (torch.float16, torch.bfloat16):
        # Beyond torchaudio (which fails, #2097): computed in float32, real results returned
        # in the input's dtype (complex ones as complex64).
        spec = spectrogram(
            waveform.float(), pad, window.float(), n_fft, hop_length, win_length, power,
            normalized, center, pad_mode, onesided,
        )  # fmt: skip
        return spec if spec.is_complex() else spec.to(waveform.dtype)
    if backend_for(waveform) == "torch" or waveform.numel() == 0:
        spectrogram_args = (pad, window, n_fft, hop_length, win_length, power, normalized)
        return _reference.spectrogram(waveform, *spectrogram_args, center, pad_mode, onesided)
    frame_length_norm, window_norm = _reference.spectrogram_norms(normalized)
    frames = _frames(waveform, pad, window, n_fft, hop_length, center, pad_mode)
    spec = torch.fft.rfft(frames) if onesided else torch.fft.fft(frames)
    if frame_length_norm:
        spec = spec * n_fft**-0.5
    spec = spec.transpose(-1, -2).reshape(*waveform.shape[:-1], *spec.shape[-1:-3:-1])
    return _reference.finish_spectrogram(spec, window, window_norm, power)


PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _compute_dtype(waveform):
    """float64 for float64 input, else float32 (the kernels' arithmetic)."""
    return torch.float64 if waveform.dtype == torch.float64 else torch.float32


def _full_window(window, n_fft, dtype):
    """The window zero-padded to ``n_fft``, centered, as torch.stft pads it."""
    offset = (n_fft - window.shape[0]) // 2
    return torch.nn.functional.pad(window.to(dtype), (offset, n_fft - window.shape[0] - offset))


def _check_filterbank(fb, n_fft):
    if fb.dim() != 2 or fb.shape[0] != n_fft // 2 + 1:
        raise ValueError(
            f"fb must be (n_fft // 2 + 1, n_mels) = ({n_fft // 2 + 1}, n_mels), "
            f"got {tuple(fb.shape)}"
        )


def _normalized_filterbank(fb, window, n_fft, power, normalized, dtype):
    """``fb`` in ``dtype`` with the STFT's normalisation folded in: a normalisation scales
    |X|, so |X|^power by scale**power (no sync, no graph break)."""
    frame_length_norm, window_norm = _reference.spectrogram_norms(normalized)
    fb = fb.to(dtype)
    if frame_length_norm:
        fb = fb * n_fft ** (-0.5 * power)
    if window_norm:
        fb = fb / window.to(dtype).pow(2.0).sum().pow(0.5 * power)
    return fb.contiguous()


def _frames(waveform, pad, window, n_fft, hop_length, center, pad_mode):
    """Windowed STFT frames (rows, n_frames, n_fft) from the Triton framing kernel, in
    float32 (float64 for float64 input); the window zero-padded to n_fft, centered, as
    torch.stft does."""
    from tritaudio import _ops

    full_window = _full_window(window, n_fft, _compute_dtype(waveform))
    left = n_fft // 2 if center else 0
    mode = _ops.PAD_MODES[pad_mode]
    return _ops.frame(_as_rows(waveform), full_window, n_fft, hop_length, pad, left, mode)


LogScale = _reference.LogScale


def mel_spectrogram(
    waveform: torch.Tensor,
    fb: torch.Tensor,
    pad: int,
    window: torch.Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
    power: float,
    normalized: bool | str,
    center: bool = True,
    pad_mode: str = "reflect",
    log: LogScale | None = None,
) -> torch.Tensor:
    """Spectrogram projected on a filterbank, optionally followed by a log: what
    ``torchaudio.transforms.MelSpectrogram`` (then ``AmplitudeToDB`` without ``top_db``)
    computes, as one function (torchaudio.functional has none).

    On the Triton path, the projection and the log run in one kernel over the complex STFT
    (kernels/spectral.py): the power spectrogram is never stored.

    Args:
        waveform: ``(..., time)``, real floating point.
        fb: ``(n_fft // 2 + 1, n_mels)``, e.g. :func:`melscale_fbanks`.
        pad, window, n_fft, hop_length, win_length, power, normalized, center, pad_mode:
            as in :func:`spectrogram` (``power`` > 0, onesided).
        log: None, or a :class:`LogScale` applied to the projection, e.g.
            ``LogScale(10.0, 1e-10)`` for dB of a power spectrogram.

    Returns:
        ``(..., n_mels, frames)``.
    """
    _check_spectrogram_args(
        waveform, pad, window, n_fft, hop_length, win_length, power, center, pad_mode
    )
    if power is None:
        raise ValueError("mel_spectrogram needs a real power (> 0), got None")
    _check_filterbank(fb, n_fft)
    if waveform.dtype in (torch.float16, torch.bfloat16):
        # computed in float32 and returned in the input's dtype, like spectrogram
        mel = mel_spectrogram(
            waveform.float(), fb.float(), pad, window.float(), n_fft, hop_length, win_length,
            power, normalized, center, pad_mode, log,
        )  # fmt: skip
        return mel.to(waveform.dtype)
    if backend_for(waveform) == "torch" or waveform.numel() == 0:
        spec = _reference.spectrogram(
            waveform, pad, window, n_fft, hop_length, win_length, power, normalized, center,
            pad_mode, True,
        )  # fmt: skip
        mel = torch.matmul(spec.transpose(-1, -2), fb.to(spec.dtype)).transpose(-1, -2)
        return mel if log is None else log(mel)
    from tritaudio import _ops

    frames = _frames(waveform, pad, window, n_fft, hop_length, center, pad_mode)
    spec = torch.view_as_real(torch.fft.rfft(frames))
    fb = _normalized_filterbank(fb, window, n_fft, power, normalized, spec.dtype)
    log_args = (1, *log.natural()) if log is not None else (0, 1.0, 0.0, 0.0, 0.0)
    save_mel = log is not None and torch.is_grad_enabled() and spec.requires_grad
    mel, _ = _ops.mel_power(spec, fb, float(power), *log_args, int(save_mel))
    return mel.reshape(*waveform.shape[:-1], *mel.shape[-2:])


DECIBELS = LogScale(10.0, 1e-10)  # of a power: AmplitudeToDB("power")
LOG_MEL_IMPLEMENTATIONS = ("stft", "dft")
DFT_PRECISIONS = ("ieee", "tf32x3", "tf32")


def check_log_mel_options(log, dynamic_range, implementation, precision):
    """The checks of :func:`log_mel_spectrogram`'s own arguments (also run by
    LogMelSpectrogram's constructor, to fail early)."""
    if implementation not in LOG_MEL_IMPLEMENTATIONS:
        raise ValueError(
            f"implementation must be one of {LOG_MEL_IMPLEMENTATIONS}, got {implementation!r}"
        )
    if precision not in DFT_PRECISIONS:
        raise ValueError(f"precision must be one of {DFT_PRECISIONS}, got {precision!r}")
    if not isinstance(log, LogScale):
        raise TypeError(f"log must be a LogScale, got {type(log).__name__}")
    if dynamic_range is not None and not dynamic_range >= 0:
        raise ValueError(f"dynamic_range must be >= 0 or None, got {dynamic_range}")


def log_mel_spectrogram(
    waveform: torch.Tensor,
    fb: torch.Tensor,
    pad: int,
    window: torch.Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
    power: float,
    normalized: bool | str,
    center: bool = True,
    pad_mode: str = "reflect",
    log: LogScale = DECIBELS,
    dynamic_range: float | None = None,
    per_example: bool = True,
    drop_last_frame: bool = False,
    implementation: str = "stft",
    precision: str = "ieee",
) -> torch.Tensor:
    """Log-mel spectrogram: :func:`mel_spectrogram` with a log, an optional floor at the
    peak minus ``dynamic_range``, and Whisper's dropped last frame. The functional form of
    :class:`tritaudio.transforms.LogMelSpectrogram` (no torchaudio counterpart).

    Args:
        waveform, fb, pad, window, n_fft, hop_length, win_length, power, normalized, center,
            pad_mode: as in :func:`mel_spectrogram`.
        log: the :class:`LogScale` applied to the mel spectrogram (default dB).
        dynamic_range: keep values within this much of the peak (in the output's unit), or
            None.
        per_example: the peak of each ``(n_mels, frames)`` example, or (False) of the whole
            batch, as Whisper's ``log_mel_spectrogram`` does.
        drop_last_frame: drop the last STFT frame, as Whisper does.
        implementation: on the Triton path, ``"stft"`` (framing kernel, cuFFT, the fused
            power / mel / log kernel) or ``"dft"`` (one kernel from the waveform: the DFT
            as tl.dot against windowed cos / sin bases, only the bins the filters use).
        precision: the ``"dft"`` kernel's tl.dot precision for the DFT: ``"ieee"`` (float32,
            the default), ``"tf32x3"`` or ``"tf32"`` (tensor cores, less accurate; the mel
            projection stays IEEE). Float32 error against a float64 reference on speech,
            whisper preset: ieee and stft within 1e-5 of the peak mel power (interpreter and
            GPU); tf32 / tf32x3 measured on a GPU only (benchmarks/results).

    Returns:
        ``(..., n_mels, frames)`` (one frame fewer with ``drop_last_frame``).
    """
    check_log_mel_options(log, dynamic_range, implementation, precision)
    if power is None:
        raise ValueError("log_mel_spectrogram needs a real power (> 0), got None")
    if implementation == "dft" and backend_for(waveform) == "triton" and waveform.numel():
        _check_spectrogram_args(
            waveform, pad, window, n_fft, hop_length, win_length, power, center, pad_mode
        )
        out = _log_mel_dft(
            waveform, fb, pad, window, n_fft, hop_length, power, normalized, center, pad_mode,
            log, precision,
        )  # fmt: skip
    else:
        out = mel_spectrogram(
            waveform, fb, pad, window, n_fft, hop_length, win_length, power, normalized, center,
            pad_mode, log,
        )  # fmt: skip
    if drop_last_frame:
        out = out[..., :-1]
    if dynamic_range is not None:
        out = _reference.dynamic_range_floor(out, dynamic_range, per_example)
    return out


def _log_mel_dft(
    waveform, fb, pad, window, n_fft, hop_length, power, normalized, center, pad_mode, log,
    precision,
):  # fmt: skip
    from tritaudio import _ops

    _check_filterbank(fb, n_fft)
    compute = _compute_dtype(waveform)
    fb = _normalized_filterbank(fb, window, n_fft, power, normalized, compute)
    full_window = _full_window(window, n_fft, compute)
    left = n_fft // 2 if center else 0
    rows = _as_rows(waveform)
    save_mel = torch.is_grad_enabled() and rows.requires_grad
    out, _ = _ops.log_mel_dft(
        rows, full_window, fb, hop_length, pad, left, _ops.PAD_MODES[pad_mode], float(power), 1,
        *log.natural(), int(save_mel), "ieee" if compute == torch.float64 else precision,
    )  # fmt: skip
    return out.to(waveform.dtype).reshape(*waveform.shape[:-1], *out.shape[-2:])


def inverse_spectrogram(
    spectrogram: torch.Tensor,
    length: int | None,
    pad: int,
    window: torch.Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
    normalized: bool | str,
    center: bool = True,
    pad_mode: str = "reflect",
    onesided: bool = True,
) -> torch.Tensor:
    """Waveform from a complex spectrogram by windowed overlap-add (inverse STFT).

    Mirrors ``torchaudio.functional.inverse_spectrogram``.

    Args:
        spectrogram: ``(..., freq, frames)``, complex.
        length: the output length (before removing ``pad``), or None.
        pad, window, n_fft, hop_length, win_length, normalized, center, onesided: as in
            :func:`spectrogram`; ``pad_mode`` is accepted and unused, as in torchaudio.

    Returns:
        ``(..., time)``.
    """
    if not isinstance(spectrogram, torch.Tensor) or not spectrogram.is_complex():
        raise TypeError("spectrogram must be a complex tensor (a spectrogram with power=None)")
    _check_stft_args(n_fft, hop_length, win_length, window)
    n_freq = n_fft // 2 + 1 if onesided else n_fft
    if spectrogram.dim() < 2 or spectrogram.shape[-2] != n_freq:
        raise ValueError(
            f"spectrogram must be (..., {n_freq}, frames) for n_fft={n_fft} "
            f"(onesided={onesided}), got {tuple(spectrogram.shape)}"
        )
    if backend_for(spectrogram) == "torch" or spectrogram.numel() == 0:
        args = (length, pad, window, n_fft, hop_length, win_length, normalized, center, onesided)
        return _reference.inverse_spectrogram(spectrogram, *args)
    return _inverse_stft_triton(
        spectrogram, length, pad, window, n_fft, hop_length, normalized, center, onesided
    )


def _inverse_stft_triton(
    spectrogram, length, pad, window, n_fft, hop_length, normalized, center, onesided
):
    """torch.istft's arithmetic with the overlap-add kernel: inverse FFT of each frame,
    windowed overlap-add, division by the overlap-added squared window."""
    from tritaudio import _ops

    frame_length_norm, window_norm = _reference.spectrogram_norms(normalized)
    if window_norm:
        spectrogram = spectrogram * window.pow(2.0).sum().sqrt()
    batch, n_frames = spectrogram.shape[:-2], spectrogram.shape[-1]
    spec = spectrogram.reshape(-1, *spectrogram.shape[-2:]).transpose(-1, -2)
    frames = torch.fft.irfft(spec, n=n_fft) if onesided else torch.fft.ifft(spec).real
    if frame_length_norm:
        frames = frames * n_fft**0.5
    full_window = _full_window(window, n_fft, frames.dtype)
    full_len = n_fft + hop_length * (n_frames - 1)
    signal = _ops.overlap_add(frames, full_window, hop_length, full_len)
    ones = torch.ones(1, n_frames, n_fft, dtype=frames.dtype, device=frames.device)
    envelope = _ops.overlap_add(ones, full_window.pow(2), hop_length, full_len)[0]
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length + 2 * pad
    else:
        end = full_len - n_fft // 2 if center else full_len
    signal, envelope = signal[:, start:end], envelope[start:end]
    if envelope.numel() and envelope.abs().min() < 1e-11:
        raise ValueError(
            "the window's overlap-add is zero somewhere (NOLA fails): the signal cannot be "
            f"recovered with this window, n_fft={n_fft}, hop_length={hop_length}"
        )
    signal = signal / envelope
    if length is not None and signal.shape[-1] < length + 2 * pad:
        signal = torch.nn.functional.pad(signal, (0, length + 2 * pad - signal.shape[-1]))
    if length is not None and pad > 0:
        signal = signal[:, pad:-pad]
    return signal.reshape(*batch, signal.shape[-1])


def melscale_fbanks(
    n_freqs: int,
    f_min: float,
    f_max: float,
    n_mels: int,
    sample_rate: int,
    norm: str | None = None,
    mel_scale: str = "htk",
) -> torch.Tensor:
    """Triangular mel filterbank, ``(n_freqs, n_mels)``.

    Mirrors ``torchaudio.functional.melscale_fbanks`` (htk or slaney mel scale; slaney
    norm divides each triangle by its width, for constant energy per band).
    """
    if norm not in (None, "slaney"):
        raise ValueError(f"norm must be None or 'slaney', got {norm!r}")
    if mel_scale not in ("htk", "slaney"):
        raise ValueError(f"mel_scale must be 'htk' or 'slaney', got {mel_scale!r}")
    fb = _reference.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm, mel_scale)
    if (fb.max(dim=0).values == 0.0).any():
        warnings.warn(
            f"at least one of the {n_mels} mel filters is all zero: n_mels is too high for "
            f"n_freqs={n_freqs}",
            stacklevel=2,
        )
    return fb


def linear_fbanks(
    n_freqs: int, f_min: float, f_max: float, n_filter: int, sample_rate: int
) -> torch.Tensor:
    """Triangular filterbank on a linear frequency scale, ``(n_freqs, n_filter)``.

    Mirrors ``torchaudio.functional.linear_fbanks``.
    """
    return _reference.linear_fbanks(n_freqs, f_min, f_max, n_filter, sample_rate)


def create_dct(n_mfcc: int, n_mels: int, norm: str | None) -> torch.Tensor:
    """DCT-II matrix, ``(n_mels, n_mfcc)``; ``norm`` None or ``"ortho"``.

    Mirrors ``torchaudio.functional.create_dct``.
    """
    if norm not in (None, "ortho"):
        raise ValueError(f"norm must be None or 'ortho', got {norm!r}")
    return _reference.create_dct(n_mfcc, n_mels, norm)


def amplitude_to_DB(
    x: torch.Tensor,
    multiplier: float,
    amin: float,
    db_multiplier: float,
    top_db: float | None = None,
) -> torch.Tensor:
    """``multiplier * log10(max(x, amin)) - multiplier * db_multiplier``, floored at
    ``max - top_db``.

    Mirrors ``torchaudio.functional.amplitude_to_DB``, whose floor is taken over the last
    three dims of a packed batch (one maximum for a whole 3-D batch, pytorch/audio #994);
    ``transforms.AmplitudeToDB(per_example=True)`` floors each example by its own maximum.

    Args:
        x: ``(..., freq, time)`` (or any shape without ``top_db``).
        multiplier: 10 for power, 20 for amplitude.
        amin: the smallest value taken (avoids log10(0)).
        db_multiplier: ``log10(max(amin, ref))``.
        top_db: the dynamic range kept, in dB, or None.
    """
    return _reference.amplitude_to_db(x, multiplier, amin, db_multiplier, top_db)


def DB_to_amplitude(x: torch.Tensor, ref: float, power: float) -> torch.Tensor:
    """``ref * (10 ** (x / 10)) ** power``: the inverse of :func:`amplitude_to_DB`.

    Mirrors ``torchaudio.functional.DB_to_amplitude`` (power 1 for power, 0.5 for
    amplitude).
    """
    return ref * torch.pow(torch.pow(10.0, 0.1 * x), power)


def griffinlim(
    specgram: torch.Tensor,
    window: torch.Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
    power: float,
    n_iter: int,
    momentum: float,
    length: int | None,
    rand_init: bool,
) -> torch.Tensor:
    """Waveform from a magnitude spectrogram, phase estimated by Griffin-Lim iterations.

    Mirrors ``torchaudio.functional.griffinlim`` (fast Griffin-Lim with ``momentum``).

    Args:
        specgram: ``(..., freq, frames)``, magnitudes raised to ``power``.
        window, n_fft, hop_length, win_length: as in :func:`spectrogram`.
        n_iter: iterations; momentum: in [0, 1); length: output length or None;
        rand_init: random initial phases (else zeros).

    Returns:
        ``(..., time)``.
    """
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    _check_stft_args(n_fft, hop_length, win_length, window)
    args = (window, n_fft, hop_length, win_length, power, n_iter, momentum, length, rand_init)
    if backend_for(specgram) == "torch" or specgram.numel() == 0:
        return _reference.griffinlim(specgram, *args)
    # the same iterations, with the framing and overlap-add kernels around each FFT
    stft_args = (window, n_fft, hop_length, win_length)
    stft = lambda waveform: spectrogram(waveform, 0, *stft_args, None, False)
    istft = lambda spec: inverse_spectrogram(spec, length, 0, *stft_args, False)
    return _reference.griffinlim(specgram, *args, stft=stft, istft=istft)


# Time-stretch and pitch-shift: STFT (framing kernel) -> phase vocoder -> inverse STFT
# (overlap-add kernel) [-> resampling kernel]. The phase vocoder itself is a handful of
# gathers and elementwise ops plus a cumsum along time, the same torch ops on both paths
# (no Triton kernel for it: it has not been measured on a GPU yet).


def _check_positive_real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or not value > 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


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
    rate = _check_positive_real("rate", rate)
    n_freq = complex_specgrams.shape[-2]
    if not isinstance(phase_advance, torch.Tensor) or not phase_advance.is_floating_point():
        raise TypeError("phase_advance must be a real floating-point tensor of shape (freq, 1)")
    if tuple(phase_advance.shape) != (n_freq, 1):
        raise ValueError(
            f"phase_advance must be ({n_freq}, 1) for a spectrogram with {n_freq} frequency "
            f"bins, got {tuple(phase_advance.shape)}"
        )
    if complex_specgrams.dtype == torch.complex32:
        complex_specgrams = complex_specgrams.to(torch.complex64)
    return _reference.phase_vocoder(complex_specgrams, rate, phase_advance)


def _stretch_stft(x, n_fft, win_length, hop_length, window):
    """Checked STFT settings of time_stretch / pitch_shift for a float32 / float64 ``x``:
    (win_length, hop_length, window) with torchaudio's defaults (win_length = n_fft,
    hop_length = n_fft // 4, a Hann window), the window on x's device in x's dtype."""
    win_length = n_fft if win_length is None else win_length
    hop_length = n_fft // 4 if hop_length is None else hop_length
    _check_stft_args(n_fft, hop_length, win_length, None)
    if window is None:
        window = torch.hann_window(win_length, dtype=x.dtype, device=x.device)
    elif not isinstance(window, torch.Tensor) or not window.is_floating_point():
        raise TypeError("window must be a real floating-point tensor of shape (win_length,)")
    _check_stft_args(n_fft, hop_length, win_length, window)
    return win_length, hop_length, window.to(device=x.device, dtype=x.dtype)


def _stretch(waveform, rate, n_fft, win_length, hop_length, window):
    """STFT -> phase vocoder -> inverse STFT of a checked float32 / float64 waveform:
    ``(..., time)`` -> ``(..., round(time / rate))``, as torchaudio's pitch shift does."""
    length = round(waveform.shape[-1] / rate)
    if waveform.numel() == 0:
        return waveform.new_zeros(*waveform.shape[:-1], length)
    stft = (window, n_fft, hop_length, win_length)
    spec = spectrogram(waveform, 0, *stft, None, False)
    phase_advance = torch.linspace(
        0, math.pi * hop_length, spec.shape[-2], dtype=spec.real.dtype, device=spec.device
    )[..., None]
    stretched = _reference.phase_vocoder(spec, rate, phase_advance)
    return inverse_spectrogram(stretched, length, 0, *stft, False)


def _in_compute_dtype(waveform):
    """float16 / bfloat16 waveforms are stretched in float32 (beyond torchaudio, whose
    STFT refuses them) and returned in their dtype."""
    return waveform.float() if waveform.dtype in (torch.float16, torch.bfloat16) else waveform


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
    _check_real_waveform(waveform)
    rate = _check_positive_real("rate", rate)
    x = _in_compute_dtype(waveform)
    win_length, hop_length, window = _stretch_stft(x, n_fft, win_length, hop_length, window)
    return _stretch(x, rate, n_fft, win_length, hop_length, window).to(waveform.dtype)


class PitchShiftRates(NamedTuple):
    """The rates of a pitch shift: stretch by ``rate``, then resample from ``orig_freq``
    to ``sample_rate`` Hz (not gcd-reduced)."""

    rate: float
    orig_freq: int
    sample_rate: int


def pitch_shift_rates(sample_rate, n_steps, bins_per_octave=12):
    """torchaudio's rates for a pitch shift by ``n_steps`` of ``bins_per_octave``:
    stretch by ``rate = 2 ** (-n_steps / bins_per_octave)``, then resample from
    ``int(sample_rate / rate)`` to ``sample_rate`` Hz. The truncation to whole Hz moves
    the pitch by less than ``1 / orig_freq`` relative (6e-5 at 16 kHz), fractional
    ``n_steps`` included."""
    sample_rate = _check_rate("sample_rate", sample_rate)
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Real):
        raise TypeError(f"n_steps must be a number, got {n_steps!r}")
    if not math.isfinite(n_steps):
        raise ValueError(f"n_steps must be finite, got {n_steps!r}")
    if isinstance(bins_per_octave, bool) or not isinstance(bins_per_octave, numbers.Real):
        raise TypeError(f"bins_per_octave must be a number, got {bins_per_octave!r}")
    if not math.isfinite(bins_per_octave) or not bins_per_octave > 0:
        raise ValueError(f"bins_per_octave must be positive, got {bins_per_octave!r}")
    rate = 2.0 ** (-float(n_steps) / bins_per_octave)
    orig_freq = int(sample_rate / rate)
    if orig_freq < 1:
        raise ValueError(
            f"n_steps={n_steps} takes a {sample_rate} Hz signal's resampling rate below 1 Hz"
        )
    return PitchShiftRates(rate, orig_freq, sample_rate)


def _fit_length(waveform, n_time):
    """Trim or zero-pad the end of ``(..., time)`` to ``n_time`` samples (torchaudio's
    last step of pitch_shift)."""
    if waveform.shape[-1] >= n_time:
        return waveform[..., :n_time]
    return torch.nn.functional.pad(waveform, (0, n_time - waveform.shape[-1]))


def shift_pitch(waveform, rates, n_fft, win_length, hop_length, window, resample_taps=None):
    """pitch_shift after its checks (also PitchShift's forward): stretch, resample from
    ``rates.orig_freq`` to ``rates.sample_rate``, fit to the input's length.

    ``resample_taps``: the reference path's ``(taps, first)`` table when the caller keeps
    one (PitchShift does).
    """
    x = _in_compute_dtype(waveform)
    window = window.to(device=x.device, dtype=x.dtype)
    stretched = _stretch(x, rates.rate, n_fft, win_length, hop_length, window)
    spec = resample_filter(rates.orig_freq, rates.sample_rate)
    shifted = stretched if spec is None else apply_resample_filter(stretched, spec, resample_taps)
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
    _check_real_waveform(waveform)
    rates = pitch_shift_rates(sample_rate, n_steps, bins_per_octave)
    x = _in_compute_dtype(waveform)
    win_length, hop_length, window = _stretch_stft(x, n_fft, win_length, hop_length, window)
    return shift_pitch(waveform, rates, n_fft, win_length, hop_length, window)


from tritaudio.functional.filtering import (  # noqa: E402, F401
    allpass_biquad,
    band_biquad,
    bandpass_biquad,
    bandreject_biquad,
    bass_biquad,
    biquad,
    compute_deltas,
    contrast,
    convolve,
    dcshift,
    deemph_biquad,
    dither,
    equalizer_biquad,
    fftconvolve,
    filtfilt,
    flanger,
    highpass_biquad,
    lfilter,
    lowpass_biquad,
    overdrive,
    phaser,
    riaa_biquad,
    sosfilt,
    treble_biquad,
)
