"""SoX-like effects with torchaudio.functional's names and signatures: contrast, dcshift,
dither, flanger, overdrive, phaser.

overdrive's DC blocker is an lfilter (the Triton recurrence on that path); flanger and phaser
are time-varying delay lines with feedback, run by the torch reference on both paths, as are
the elementwise contrast / dcshift and dither.
"""

import math

import torch

from tritaudio._backend import backend_for
from tritaudio._reference import effects as _ref
from tritaudio.functional.filtering import (
    _check_number,
    _check_waveform,
    _compute_dtype,
    _run_lfilter,
)


def contrast(waveform: torch.Tensor, enhancement_amount: float = 75.0) -> torch.Tensor:
    """Contrast enhancement, like compression (SoX ``contrast``). Mirrors
    ``torchaudio.functional.contrast`` (elementwise torch on both paths).

    Args:
        waveform: ``(..., time)``. enhancement_amount: in [0, 100].

    Returns:
        ``(..., time)``.
    """
    _check_waveform(waveform)
    if not 0 <= enhancement_amount <= 100:
        raise ValueError(f"enhancement_amount must be in [0, 100], got {enhancement_amount}")
    return _ref.contrast(waveform, enhancement_amount)


def dcshift(
    waveform: torch.Tensor, shift: float, limiter_gain: float | None = None
) -> torch.Tensor:
    """Shift the DC level, optionally limiting the peaks (SoX ``dcshift``). Mirrors
    ``torchaudio.functional.dcshift``'s numbers without writing into ``waveform``.

    Args:
        waveform: ``(..., time)``. shift: in [-2, 2]. limiter_gain: gain applied above the
            limiter threshold (e.g. 0.05), or None.

    Returns:
        ``(..., time)``, clamped to [-1, 1].
    """
    _check_waveform(waveform)
    shift = _check_number("shift", shift, -2.0, 2.0)
    if limiter_gain is not None:
        limiter_gain = _check_number("limiter_gain", limiter_gain)
    return _ref.dcshift(waveform, shift, limiter_gain)


DENSITY_FUNCTIONS = ("TPDF", "RPDF", "GPDF")


def dither(
    waveform: torch.Tensor,
    density_function: str = "TPDF",
    noise_shaping: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Dither to 16 bits. Mirrors ``torchaudio.functional.dither``: the same draws give
    the same numbers (torch's global generator by default, as torchaudio). Beyond
    torchaudio: ``generator``, a CPU ``torch.Generator`` to draw from (seedable), and the
    input is never written (torchaudio's GPDF writes into it; its numbers are kept).

    Args:
        waveform: ``(..., time)``.
        density_function: ``"TPDF"``, ``"RPDF"`` or ``"GPDF"``.
        noise_shaping: add the previous sample's quantisation error.
        generator: CPU generator for the random draws, or None.

    Returns:
        ``(..., time)``.
    """
    _check_waveform(waveform)
    if density_function not in DENSITY_FUNCTIONS:
        # torchaudio treats any other name as TPDF; a typo is more likely than intent
        raise ValueError(
            f"density_function must be one of {DENSITY_FUNCTIONS}, got {density_function!r}"
        )
    if waveform.numel() == 0:
        return waveform.clone()
    return _ref.dither(waveform, density_function, bool(noise_shaping), generator)


def overdrive(waveform: torch.Tensor, gain: float = 20, colour: float = 20) -> torch.Tensor:
    """Non-linear distortion (SoX ``overdrive``). Mirrors ``torchaudio.functional.overdrive``:
    a soft clipper, then a DC blocker (an lfilter: the Triton recurrence on that path).

    Args:
        waveform: ``(..., time)``. gain: dB, in [0, 100]. colour: even-harmonic content,
            in [0, 100].

    Returns:
        ``(..., time)``, clamped to [-1, 1].
    """
    _check_waveform(waveform)
    gain = math.exp(_check_number("gain", gain) * math.log(10) / 20.0)
    shaped = _ref.overdrive_shape(waveform, gain, _check_number("colour", colour) / 200)
    coeffs = dict(dtype=_compute_dtype(waveform), device=waveform.device)
    # built on the device from scalars (linspace of two points: exactly the end points)
    a = torch.linspace(1.0, -0.995, 2, **coeffs)
    b = torch.linspace(1.0, -1.0, 2, **coeffs)
    rows = shaped.reshape(math.prod(waveform.shape[:-1]), waveform.shape[-1])
    blocked = _run_lfilter(backend_for(waveform), rows, a[None], b[None]).reshape(waveform.shape)
    return (waveform * 0.5 + blocked * 0.75).clamp(-1, 1).to(waveform.dtype)


def phaser(
    waveform: torch.Tensor,
    sample_rate: int,
    gain_in: float = 0.4,
    gain_out: float = 0.74,
    delay_ms: float = 3.0,
    decay: float = 0.4,
    mod_speed: float = 0.5,
    sinusoidal: bool = True,
) -> torch.Tensor:
    """Phaser (SoX ``phaser``): a modulated delay with feedback. Mirrors
    ``torchaudio.functional.phaser`` (torch reference on both paths: a time-varying
    recurrence, sequential in time).

    Args:
        waveform: ``(..., time)``. sample_rate: Hz. gain_in: in [0, 1]. gain_out: in
            [0, 1e9]. delay_ms: in [0, 5]. decay: in [0, 0.99]. mod_speed: Hz, in [0.1, 2].
        sinusoidal: sinusoidal (True) or triangular modulation.

    Returns:
        ``(..., time)``, clamped to [-1, 1].
    """
    _check_waveform(waveform)
    _check_number("sample_rate", sample_rate, positive=True)
    _check_number("mod_speed", mod_speed, positive=True)
    rows = waveform.reshape(math.prod(waveform.shape[:-1]), waveform.shape[-1])
    out = _ref.phaser(rows, sample_rate, _check_number("gain_in", gain_in),
                      _check_number("gain_out", gain_out), _check_number("delay_ms", delay_ms),
                      _check_number("decay", decay), mod_speed, bool(sinusoidal))  # fmt: skip
    return out.reshape(waveform.shape)


def flanger(
    waveform: torch.Tensor,
    sample_rate: int,
    delay: float = 0.0,
    depth: float = 2.0,
    regen: float = 0.0,
    width: float = 71.0,
    speed: float = 0.5,
    phase: float = 25.0,
    modulation: str = "sinusoidal",
    interpolation: str = "linear",
) -> torch.Tensor:
    """Flanger (SoX ``flanger``). Mirrors ``torchaudio.functional.flanger`` (torch
    reference on both paths: a modulated delay line with feedback, sequential in time).

    Args:
        waveform: ``(..., channel, time)``, at most 4 channels. sample_rate: Hz.
        delay, depth: ms. regen: feedback in dB. width: delay gain in dB. speed: Hz.
        phase: percent phase shift between channels.
        modulation: ``"sinusoidal"`` or ``"triangular"``.
        interpolation: ``"linear"`` or ``"quadratic"``.

    Returns:
        ``(..., channel, time)``, clamped to [-1, 1].
    """
    _check_waveform(waveform)
    if modulation not in ("sinusoidal", "triangular"):
        raise ValueError(f"modulation must be 'sinusoidal' or 'triangular', got {modulation!r}")
    if interpolation not in ("linear", "quadratic"):
        raise ValueError(f"interpolation must be 'linear' or 'quadratic', got {interpolation!r}")
    if waveform.dim() < 2 or waveform.shape[-2] > 4:
        raise ValueError(f"waveform must be (..., channel, time) with at most 4 channels, got "
                         f"{tuple(waveform.shape)}")  # fmt: skip
    _check_number("sample_rate", sample_rate, positive=True)
    _check_number("speed", speed, positive=True)
    shape = waveform.shape
    grouped = waveform.reshape(-1, shape[-2], shape[-1])
    out = _ref.flanger(grouped, sample_rate, _check_number("delay", delay),
                       _check_number("depth", depth), _check_number("regen", regen),
                       _check_number("width", width), speed, _check_number("phase", phase),
                       modulation, interpolation == "linear")  # fmt: skip
    return out.reshape(shape)


__all__ = ["contrast", "dcshift", "dither", "flanger", "overdrive", "phaser"]
