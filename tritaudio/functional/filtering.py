"""Filters with torchaudio.functional's names and signatures: lfilter and filtfilt, the
biquads, sosfilt (beyond torchaudio), convolve / fftconvolve and compute_deltas (the SoX-like
effects are in ``tritaudio.functional.effects``).

On the Triton path lfilter (and everything built on it: the biquads, filtfilt, sosfilt,
overdrive) runs as a chunked linear recurrence (kernels/filtering.py), convolve and
compute_deltas as a direct convolution kernel; fftconvolve is torch.fft (cuFFT) on both
paths.

float32 accuracy of lfilter, measured against a float64 evaluation of the same (float32)
coefficients (Triton path, 2 x 2000 samples of white noise; Butterworth lowpass at 0.2 and
0.5 of Nyquist and random filters with poles of radius <= 0.9; max |y32 - y64| /
max |y64|; ``tests/test_filtering.py::test_float32_accuracy_by_order`` checks it):
order 1-2 <= 2e-7, 3 <= 5e-7, 4 <= 2e-6, 5 <= 4e-6, 6 <= 1e-5, 7 <= 3e-5, 8 <= 1e-4.
Direct-form filters of high order with poles near z = 1 are ill-conditioned in float32
(a Butterworth of order 8 at 0.05 of Nyquist becomes unstable once its coefficients are
rounded to float32), torchaudio's loop alike; sosfilt keeps high orders accurate. The
torch path evaluates lfilter in float64 and rounds the result.
"""

import math
import numbers

import torch

from tritaudio import _cache
from tritaudio._backend import backend_for
from tritaudio._common import last_dim_contiguous
from tritaudio._reference import filtering as _ref


def _check_tensor(value, name):
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")


def _check_waveform(waveform, name="waveform"):
    _check_tensor(waveform, name)
    if not waveform.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {waveform.dtype}")
    if waveform.dim() == 0:
        raise ValueError(f"{name} must have a time dimension, got a 0-d tensor")


def _compute_dtype(waveform):
    return torch.float64 if waveform.dtype == torch.float64 else torch.float32


def _check_number(name, value, low=None, high=None, positive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return float(value)


def _check_denominators(a):
    """a0 != 0, finite, and no pole outside the unit circle, for coefficients on the CPU
    (on a GPU the check would read their values back: a host synchronisation)."""
    if a.device.type != "cpu" or a.numel() == 0:
        return
    if not torch.isfinite(a).all():
        raise ValueError("a_coeffs must be finite")
    if (a[..., 0] == 0).any():
        raise ValueError("a_coeffs[..., 0] (a0) must be non-zero: the filter is normalised by it")
    order = a.shape[-1] - 1
    if order == 0:
        return
    a = a.detach().reshape(-1, order + 1).double()
    companion = torch.zeros(a.shape[0], order, order, dtype=torch.float64)
    companion[:, 0] = -a[:, 1:] / a[:, :1]
    companion[:, 1:, :-1] += torch.eye(order - 1, dtype=torch.float64)
    radius = torch.linalg.eigvals(companion).abs().max().item()
    if radius > 1 + 1e-6:
        raise ValueError(
            f"a_coeffs describe an unstable filter: a pole has magnitude {radius:.6g} > 1"
        )


def _filter_rows(waveform, a_coeffs, b_coeffs, batching):
    """Check lfilter's arguments; returns (rows (R, time), a, b (filters, n) in the compute
    dtype, not normalised, output shape)."""
    _check_waveform(waveform)
    _check_tensor(a_coeffs, "a_coeffs")
    _check_tensor(b_coeffs, "b_coeffs")
    if a_coeffs.shape != b_coeffs.shape:
        raise ValueError(
            "a_coeffs and b_coeffs must have the same shape (pad with zeros), got "
            f"{tuple(a_coeffs.shape)} and {tuple(b_coeffs.shape)}"
        )
    if a_coeffs.dim() == 0 or a_coeffs.shape[-1] == 0:
        raise ValueError(f"a_coeffs must be (..., order + 1), got shape {tuple(a_coeffs.shape)}")
    for name, coeffs in (("a_coeffs", a_coeffs), ("b_coeffs", b_coeffs)):
        if not (coeffs.is_floating_point() or coeffs.dtype in (torch.int32, torch.int64)):
            raise TypeError(f"{name} must be a real tensor, got {coeffs.dtype}")
    _check_denominators(a_coeffs)
    filter_shape = a_coeffs.shape[:-1]
    if a_coeffs.dim() > 1 and not batching:
        if a_coeffs.dim() > 2:
            raise ValueError("batching=False takes 1-D or 2-D coefficients")
        waveform = waveform.unsqueeze(-2).expand(*waveform.shape[:-1], a_coeffs.shape[0],
                                                 waveform.shape[-1])  # fmt: skip
    elif a_coeffs.dim() > 1:
        k = len(filter_shape)
        if waveform.dim() < k + 1 or waveform.shape[-1 - k : -1] != filter_shape:
            raise ValueError(
                f"with batching, coefficients {tuple(a_coeffs.shape)} need a waveform of shape "
                f"(..., {', '.join(map(str, filter_shape))}, time), got {tuple(waveform.shape)}"
            )
    dtype = _compute_dtype(waveform)
    n = a_coeffs.shape[-1]
    a = a_coeffs.to(device=waveform.device, dtype=dtype).reshape(-1, n)
    b = b_coeffs.to(device=waveform.device, dtype=dtype).reshape(-1, n)
    if n == 1:  # order 0: a plain gain, run as a first-order filter with a1 = 0
        a, b = torch.nn.functional.pad(a, (0, 1)), torch.nn.functional.pad(b, (0, 1))
    rows = waveform.reshape(math.prod(waveform.shape[:-1]), waveform.shape[-1])
    return rows, a.contiguous(), b.contiguous(), waveform.shape


def _run_lfilter(backend, rows, a, b, reverse=0, clamp=False):
    """The filter of (R, time) rows, row r by filter r % filters of (a, b) normalised by
    a0, clamped to [-1, 1] when ``clamp``."""
    grad = torch.is_grad_enabled() and any(t.requires_grad for t in (rows, a, b))
    if backend == "torch" or grad:
        # the kernels normalise by a0 themselves; with gradients it is done here, so that
        # autograd carries the gradient to a0
        a0 = a[:, :1]
        a, b = a / a0, b / a0
    if backend == "torch":
        # float64 inside: the blocked evaluation loses digits at high orders in float32
        x, a64, b64 = rows.double(), a.double(), b.double()
        out = _ref.lfilter(x.flip(-1), a64, b64).flip(-1) if reverse else _ref.lfilter(x, a64, b64)
        out = out.to(a.dtype)
        return out.clamp(-1.0, 1.0) if clamp else out
    from tritaudio._ops import filtering as ops

    rows = last_dim_contiguous(rows)
    fused = clamp and not grad  # the clamp fused into the kernel's last pass
    out = ops.lfilter_rows(rows, a, b, int(reverse), int(fused))
    out = out.to(a.dtype)
    return out.clamp(-1.0, 1.0) if clamp and not fused else out


def lfilter(
    waveform: torch.Tensor,
    a_coeffs: torch.Tensor,
    b_coeffs: torch.Tensor,
    clamp: bool = True,
    batching: bool = True,
) -> torch.Tensor:
    """Filter a waveform with the difference equation of an IIR filter, zero initial state.

    Mirrors ``torchaudio.functional.lfilter``: ``a0 y[t] = sum_k b[k] x[t - k] - sum_{k>0}
    a[k] y[t - k]``, coefficients normalised by ``a0``, differentiable with respect to the
    waveform and both coefficient tensors. On the Triton path the recurrence runs as a
    chunked scan (parallel over rows and chunks of time); see the module docstring for its
    float32 accuracy. Beyond torchaudio: coefficients of shape ``(*filters, order + 1)``
    with more than one leading dim filter ``(..., *filters, time)`` one filter per row
    (per-example coefficients in one call).

    Args:
        waveform: ``(..., time)``, floating point.
        a_coeffs: denominator ``[a0, a1, ...]``, ``(order + 1,)`` or ``(filters, order + 1)``
            (or more leading dims, see above). a0 != 0; no pole outside the unit circle
            (checked when the coefficients are on the CPU).
        b_coeffs: numerator, the same shape as ``a_coeffs``.
        clamp: clamp the output to [-1, 1].
        batching: with 2-D coefficients, True filters ``waveform[..., i, :]`` by filter i;
            False applies every filter to the whole waveform.

    Returns:
        ``(..., time)``, or ``(..., filters, time)`` for 2-D coefficients with
        ``batching=False``; waveform's dtype.
    """
    rows, a, b, shape = _filter_rows(waveform, a_coeffs, b_coeffs, batching)
    out = _run_lfilter(backend_for(waveform), rows, a, b, clamp=clamp)
    return out.to(waveform.dtype).reshape(shape)


def filtfilt(
    waveform: torch.Tensor, a_coeffs: torch.Tensor, b_coeffs: torch.Tensor, clamp: bool = True
) -> torch.Tensor:
    """Filter forwards, then backwards in time: zero phase, the magnitude squared.

    Mirrors ``torchaudio.functional.filtfilt`` (lfilter unclamped, then lfilter on the time
    reversal, clamped when ``clamp``; zero initial state in both passes, no edge padding).
    On the Triton path the second pass runs the recurrence backwards in time (no flips).

    Args:
        waveform: ``(..., time)``, floating point.
        a_coeffs, b_coeffs: as :func:`lfilter` (with batching).
        clamp: clamp the output to [-1, 1].

    Returns:
        ``(..., time)``, waveform's dtype.
    """
    rows, a, b, shape = _filter_rows(waveform, a_coeffs, b_coeffs, True)
    backend = backend_for(waveform)
    out = _run_lfilter(backend, _run_lfilter(backend, rows, a, b), a, b, reverse=1, clamp=clamp)
    return out.to(waveform.dtype).reshape(shape)


def sosfilt(waveform: torch.Tensor, sos: torch.Tensor) -> torch.Tensor:
    """Filter with a cascade of second-order sections, as ``scipy.signal.sosfilt``.

    Beyond torchaudio. Each section ``[b0, b1, b2, a0, a1, a2]`` is an lfilter (normalised
    by its a0, unclamped); cascades stay accurate in float32 at orders where one
    direct-form lfilter does not.

    Args:
        waveform: ``(..., time)``, floating point.
        sos: ``(sections, 6)``, or ``(*filters, sections, 6)`` for one cascade per row of
            ``(..., *filters, time)``.

    Returns:
        ``(..., time)``, waveform's dtype, not clamped.
    """
    _check_tensor(sos, "sos")
    if sos.dim() < 2 or sos.shape[-1] != 6:
        raise ValueError(f"sos must be (..., sections, 6), got shape {tuple(sos.shape)}")
    backend = backend_for(waveform)
    sections = sos.unbind(-2)
    if not sections:
        _check_waveform(waveform)
        return waveform.clone()
    out = waveform
    for section in sections:
        rows, a, b, shape = _filter_rows(out, section[..., 3:], section[..., :3], True)
        out = _run_lfilter(backend, rows, a, b).reshape(shape)
    return out.to(waveform.dtype)


def _coefficient(value, waveform):
    """A filter parameter in the compute dtype: numbers and host scalars on the CPU (moved
    once per filter, :func:`_device_coefficients`), other tensors on the waveform's device."""
    dtype = _compute_dtype(waveform)
    if isinstance(value, torch.Tensor):
        if value.device.type == "cpu" and value.numel() == 1 and not value.requires_grad:
            return value.to(dtype).reshape(())  # a 0-d host scalar mixes with device ones
        return torch.as_tensor(value, dtype=dtype, device=waveform.device)
    return torch.tensor(value, dtype=dtype)


def _device_coefficients(values, dtype, device):
    """(a, b) of a biquad given by numbers on ``device``, cached: a GPU call copies nothing."""

    def build():  # on the device from scalars (fill kernels, no host-to-device copy)
        _check_denominators(torch.tensor(values[3:], dtype=dtype))
        coeffs = torch.stack([torch.full((), v, dtype=dtype, device=device) for v in values])
        return coeffs[3:], coeffs[:3]

    return _cache.cached_table("biquad coefficients", (), (values, dtype, device), build)


def biquad(
    waveform: torch.Tensor, b0: float, b1: float, b2: float, a0: float, a1: float, a2: float
) -> torch.Tensor:
    """A second-order IIR filter from its six coefficients, zero initial state. Mirrors
    ``torchaudio.functional.biquad`` (an lfilter, clamped to [-1, 1]).

    Args:
        waveform: ``(..., time)``, floating point.
        b0, b1, b2: numerator coefficients (numbers or one-element tensors).
        a0, a1, a2: denominator coefficients; a0 != 0.

    Returns:
        ``(..., time)``.
    """
    _check_waveform(waveform)
    coeffs = [_coefficient(c, waveform).reshape(1) for c in (b0, b1, b2, a0, a1, a2)]
    if all(c.device.type == "cpu" and not c.requires_grad for c in coeffs):
        values = tuple(float(c) for c in coeffs)
        a, b = _device_coefficients(values, coeffs[0].dtype, waveform.device)
        return lfilter(waveform, a, b)
    coeffs = [c.to(waveform.device) for c in coeffs]
    return lfilter(waveform, torch.cat(coeffs[3:]), torch.cat(coeffs[:3]))


def _cookbook(waveform, sample_rate, freq, Q):
    """The Audio EQ Cookbook's (w0, alpha) in the compute dtype, torchaudio's arithmetic."""
    _check_waveform(waveform)
    _check_number("sample_rate", sample_rate, positive=True)
    if isinstance(Q, numbers.Real):
        _check_number("Q", Q, positive=True)
    freq, Q = _coefficient(freq, waveform), _coefficient(Q, waveform)
    w0 = 2 * math.pi * freq / sample_rate
    return w0, torch.sin(w0) / 2 / Q


def allpass_biquad(
    waveform: torch.Tensor, sample_rate: int, central_freq: float, Q: float = 0.707
) -> torch.Tensor:
    """Two-pole all-pass filter (SoX ``allpass``). Mirrors
    ``torchaudio.functional.allpass_biquad``.

    Args:
        waveform: ``(..., time)``. sample_rate: Hz. central_freq: Hz. Q: quality factor.

    Returns:
        ``(..., time)``.
    """
    w0, alpha = _cookbook(waveform, sample_rate, central_freq, Q)
    cos = -2 * torch.cos(w0)
    return biquad(waveform, 1 - alpha, cos, 1 + alpha, 1 + alpha, cos, 1 - alpha)


def band_biquad(
    waveform: torch.Tensor,
    sample_rate: int,
    central_freq: float,
    Q: float = 0.707,
    noise: bool = False,
) -> torch.Tensor:
    """Two-pole band filter (SoX ``band``). Mirrors ``torchaudio.functional.band_biquad``.

    Args:
        waveform: ``(..., time)``. sample_rate: Hz. central_freq: Hz. Q: quality factor.
        noise: the mode for unpitched audio (percussion) instead of pitched audio.

    Returns:
        ``(..., time)``.
    """
    w0, _ = _cookbook(waveform, sample_rate, central_freq, Q)
    bandwidth = _coefficient(central_freq, waveform) / _coefficient(Q, waveform)
    a2 = torch.exp(-2 * math.pi * bandwidth / sample_rate)
    a1 = -4 * a2 / (1 + a2) * torch.cos(w0)
    b0 = torch.sqrt(1 - a1 * a1 / (4 * a2)) * (1 - a2)
    if noise:
        b0 = torch.sqrt(((1 + a2) * (1 + a2) - a1 * a1) * (1 - a2) / (1 + a2)) / b0 * b0
    return biquad(waveform, b0, 0.0, 0.0, 1.0, a1, a2)


def bandpass_biquad(
    waveform: torch.Tensor,
    sample_rate: int,
    central_freq: float,
    Q: float = 0.707,
    const_skirt_gain: bool = False,
) -> torch.Tensor:
    """Two-pole band-pass filter (SoX ``bandpass``). Mirrors
    ``torchaudio.functional.bandpass_biquad``.

    Args:
        waveform: ``(..., time)``. sample_rate: Hz. central_freq: Hz. Q: quality factor.
        const_skirt_gain: constant skirt gain (peak gain Q) instead of a 0 dB peak.

    Returns:
        ``(..., time)``.
    """
    w0, alpha = _cookbook(waveform, sample_rate, central_freq, Q)
    gain = torch.sin(w0) / 2 if const_skirt_gain else alpha
    return biquad(waveform, gain, 0.0, -gain, 1 + alpha, -2 * torch.cos(w0), 1 - alpha)


def bandreject_biquad(
    waveform: torch.Tensor, sample_rate: int, central_freq: float, Q: float = 0.707
) -> torch.Tensor:
    """Two-pole band-reject filter (SoX ``bandreject``). Mirrors
    ``torchaudio.functional.bandreject_biquad``.

    Args:
        waveform: ``(..., time)``. sample_rate: Hz. central_freq: Hz. Q: quality factor.

    Returns:
        ``(..., time)``.
    """
    w0, alpha = _cookbook(waveform, sample_rate, central_freq, Q)
    cos = -2 * torch.cos(w0)
    return biquad(waveform, 1.0, cos, 1.0, 1 + alpha, cos, 1 - alpha)


def bass_biquad(
    waveform: torch.Tensor,
    sample_rate: int,
    gain: float,
    central_freq: float = 100,
    Q: float = 0.707,
) -> torch.Tensor:
    """Bass tone control, a low shelf (SoX ``bass``). Mirrors
    ``torchaudio.functional.bass_biquad``.

    Args:
        waveform: ``(..., time)``. sample_rate: Hz. gain: boost (cut) in dB at low
            frequencies. central_freq: Hz. Q: quality factor.

    Returns:
        ``(..., time)``.
    """
    w0, alpha = _cookbook(waveform, sample_rate, central_freq, Q)
    A = torch.exp(_coefficient(gain, waveform) / 40 * math.log(10))
    b0, b1, b2, a0, a1, a2 = _ref.shelf(A, w0, alpha, low=True)
    return biquad(waveform, b0 / a0, b1 / a0, b2 / a0, a0 / a0, a1 / a0, a2 / a0)


def treble_biquad(
    waveform: torch.Tensor,
    sample_rate: int,
    gain: float,
    central_freq: float = 3000,
    Q: float = 0.707,
) -> torch.Tensor:
    """Treble tone control, a high shelf (SoX ``treble``). Mirrors
    ``torchaudio.functional.treble_biquad``.

    Args:
        waveform: ``(..., time)``. sample_rate: Hz. gain: boost (cut) in dB at high
            frequencies. central_freq: Hz. Q: quality factor.

    Returns:
        ``(..., time)``.
    """
    w0, alpha = _cookbook(waveform, sample_rate, central_freq, Q)
    A = torch.exp(_coefficient(gain, waveform) / 40 * math.log(10))
    return biquad(waveform, *_ref.shelf(A, w0, alpha, low=False))


def deemph_biquad(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """ISO 908 CD de-emphasis, a high shelf (SoX ``deemph``). Mirrors
    ``torchaudio.functional.deemph_biquad``.

    Args:
        waveform: ``(..., time)``. sample_rate: 44100 or 48000.

    Returns:
        ``(..., time)``.
    """
    if sample_rate not in _ref.DEEMPHASIS:
        raise ValueError(f"sample_rate must be 44100 (audio CD) or 48000 (DAT), got {sample_rate}")
    return biquad(waveform, *_ref.deemphasis_shelf(sample_rate))


def equalizer_biquad(
    waveform: torch.Tensor,
    sample_rate: int,
    center_freq: float,
    gain: float,
    Q: float = 0.707,
) -> torch.Tensor:
    """Peaking equalizer (SoX ``equalizer``). Mirrors ``torchaudio.functional.equalizer_biquad``.

    Args:
        waveform: ``(..., time)``. sample_rate: Hz. center_freq: Hz. gain: dB at the
            center. Q: quality factor.

    Returns:
        ``(..., time)``.
    """
    w0, alpha = _cookbook(waveform, sample_rate, center_freq, Q)
    A = torch.exp(_coefficient(gain, waveform) / 40.0 * math.log(10))
    cos = -2 * torch.cos(w0)
    return biquad(waveform, 1 + alpha * A, cos, 1 - alpha * A, 1 + alpha / A, cos, 1 - alpha / A)


def highpass_biquad(
    waveform: torch.Tensor, sample_rate: int, cutoff_freq: float, Q: float = 0.707
) -> torch.Tensor:
    """Second-order high-pass filter (SoX ``highpass``). Mirrors
    ``torchaudio.functional.highpass_biquad``.

    Args:
        waveform: ``(..., time)``. sample_rate: Hz. cutoff_freq: Hz. Q: quality factor.

    Returns:
        ``(..., time)``.
    """
    w0, alpha = _cookbook(waveform, sample_rate, cutoff_freq, Q)
    cos = torch.cos(w0)
    b0 = (1 + cos) / 2
    return biquad(waveform, b0, -1 - cos, b0, 1 + alpha, -2 * cos, 1 - alpha)


def lowpass_biquad(
    waveform: torch.Tensor, sample_rate: int, cutoff_freq: float, Q: float = 0.707
) -> torch.Tensor:
    """Second-order low-pass filter (SoX ``lowpass``). Mirrors
    ``torchaudio.functional.lowpass_biquad``.

    Args:
        waveform: ``(..., time)``. sample_rate: Hz. cutoff_freq: Hz. Q: quality factor.

    Returns:
        ``(..., time)``.
    """
    w0, alpha = _cookbook(waveform, sample_rate, cutoff_freq, Q)
    cos = torch.cos(w0)
    b0 = (1 - cos) / 2
    return biquad(waveform, b0, 1 - cos, b0, 1 + alpha, -2 * cos, 1 - alpha)


def riaa_biquad(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """RIAA vinyl playback equalisation, 0 dB at 1 kHz (SoX ``riaa``). Mirrors
    ``torchaudio.functional.riaa_biquad``.

    Args:
        waveform: ``(..., time)``. sample_rate: 44100, 48000, 88200 or 96000.

    Returns:
        ``(..., time)``.
    """
    if sample_rate not in _ref.RIAA:
        raise ValueError(f"sample_rate must be 44100, 48000, 88200 or 96000, got {sample_rate}")
    return biquad(waveform, *_ref.riaa_coefficients(sample_rate))


CONVOLVE_MODES = ("full", "valid", "same")


def _check_convolve(x, y, mode):
    _check_tensor(x, "x")
    _check_tensor(y, "y")
    if mode not in CONVOLVE_MODES:
        raise ValueError(f"mode must be one of {CONVOLVE_MODES}, got {mode!r}")
    if x.dim() != y.dim():
        raise ValueError(f"x and y must have the same number of dims, got {x.dim()} and {y.dim()}")
    if x.dim() == 0:
        raise ValueError("x and y must have a time dimension, got 0-d tensors")
    try:
        return torch.broadcast_shapes(x.shape[:-1], y.shape[:-1])
    except RuntimeError:
        raise ValueError(
            f"the leading dims of x {tuple(x.shape)} and y {tuple(y.shape)} do not broadcast"
        ) from None


def convolve(x: torch.Tensor, y: torch.Tensor, mode: str = "full") -> torch.Tensor:
    """Convolve along the last dim, by the direct method.

    Mirrors ``torchaudio.functional.convolve`` (the true convolution, not conv1d's
    correlation). The Triton path runs a direct convolution kernel.

    Args:
        x: ``(..., N)``, floating point.
        y: ``(..., M)``, leading dims broadcastable with x's.
        mode: ``"full"`` (``N + M - 1``), ``"valid"`` (``max(N, M) - min(N, M) + 1``) or
            ``"same"`` (``N``, centred).

    Returns:
        ``(..., L)``, the broadcast leading dims.
    """
    batch = _check_convolve(x, y, mode)
    for name, t in (("x", x), ("y", y)):
        if not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {t.dtype}")
    n, m = x.shape[-1], y.shape[-1]
    dtype = torch.promote_types(x.dtype, y.dtype)
    long, short = (x, y) if n >= m else (y, x)
    rows = math.prod(batch)
    long = long.to(dtype).expand(*batch, long.shape[-1]).reshape(rows, long.shape[-1])
    short = short.to(dtype).expand(*batch, short.shape[-1]).reshape(rows, short.shape[-1])
    if n == 0 or m == 0 or rows == 0:
        full = long.new_zeros(rows, max(n + m - 1, 0))
    elif backend_for(x, y) == "torch":
        full = _ref.convolve(long, short)
    else:
        from tritaudio._ops import filtering as ops

        full = ops.conv_rows(
            last_dim_contiguous(long), last_dim_contiguous(short), n + m - 1, 0, -1
        )
    return _ref.convolve_mode(full.reshape(*batch, full.shape[-1]), n, m, mode)


def fftconvolve(x: torch.Tensor, y: torch.Tensor, mode: str = "full") -> torch.Tensor:
    """Convolve along the last dim through real FFTs (faster for long inputs).

    Mirrors ``torchaudio.functional.fftconvolve``: integer inputs become float. torch.fft
    (cuFFT on a GPU) on both paths.

    Args:
        x: ``(..., N)``. y: ``(..., M)``, leading dims broadcastable with x's.
        mode: ``"full"``, ``"valid"`` or ``"same"``, as :func:`convolve`.

    Returns:
        ``(..., L)``, the broadcast leading dims.
    """
    _check_convolve(x, y, mode)
    if x.is_complex() or y.is_complex():
        raise TypeError("x and y must be real tensors")
    full = _ref.fftconvolve(x, y)
    return _ref.convolve_mode(full, x.shape[-1], y.shape[-1], mode)


PAD_MODES = ("constant", "reflect", "replicate", "circular")


def compute_deltas(
    specgram: torch.Tensor, win_length: int = 5, mode: str = "replicate"
) -> torch.Tensor:
    """Delta coefficients along time: ``d_t = sum_{n=1}^{N} n (c_{t+n} - c_{t-n}) /
    (2 sum n^2)``, N = (win_length - 1) // 2.

    Mirrors ``torchaudio.functional.compute_deltas`` (edges padded by ``mode``). The
    Triton path pads, then runs the direct convolution kernel.

    Args:
        specgram: ``(..., freq, time)``, floating point.
        win_length: window length, >= 3.
        mode: padding mode, one of ``"replicate"``, ``"constant"``, ``"reflect"``,
            ``"circular"``.

    Returns:
        ``(..., freq, time)``.
    """
    _check_waveform(specgram, "specgram")
    if isinstance(win_length, bool) or not isinstance(win_length, int):
        raise TypeError(f"win_length must be an int, got {win_length!r}")
    if win_length < 3:
        raise ValueError(f"win_length must be >= 3, got {win_length}")
    if mode not in PAD_MODES:
        raise ValueError(f"mode must be one of {PAD_MODES}, got {mode!r}")
    n = (win_length - 1) // 2
    rows = specgram.reshape(math.prod(specgram.shape[:-1]), specgram.shape[-1])
    if rows.numel() == 0:
        return specgram.clone()
    if mode == "reflect" and n >= rows.shape[-1]:
        raise ValueError(f"mode 'reflect' needs more than {n} frames, got {rows.shape[-1]}")
    if backend_for(specgram) == "torch":
        return _ref.compute_deltas(rows, n, mode).reshape(specgram.shape)
    from tritaudio._ops import filtering as ops

    padded = torch.nn.functional.pad(rows.unsqueeze(0), (n, n), mode=mode).squeeze(0)
    kernel = _ref.delta_kernel(n, _compute_dtype(specgram), specgram.device)[None]
    out = ops.conv_rows(last_dim_contiguous(padded), kernel, rows.shape[-1], 0, 1)
    return out.reshape(specgram.shape)


__all__ = [
    "allpass_biquad",
    "band_biquad",
    "bandpass_biquad",
    "bandreject_biquad",
    "bass_biquad",
    "biquad",
    "compute_deltas",
    "convolve",
    "deemph_biquad",
    "equalizer_biquad",
    "fftconvolve",
    "filtfilt",
    "highpass_biquad",
    "lfilter",
    "lowpass_biquad",
    "riaa_biquad",
    "sosfilt",
    "treble_biquad",
]
