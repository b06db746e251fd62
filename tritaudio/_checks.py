"""Argument checks shared by every family's functional and transforms (one helper per
repeated check)."""

import math
import numbers

import torch


def check_float_waveform(waveform, name="waveform"):
    if not isinstance(waveform, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(waveform).__name__}")
    if not waveform.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor (float16, bfloat16, float32 or "
            f"float64), got {waveform.dtype}"
        )
    if waveform.dim() == 0:
        raise ValueError(f"{name} must have a time dimension, got a 0-d tensor")


def check_rate(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    if value != int(value):
        raise ValueError(
            f"{name} must be an integer number of Hz (as torchaudio requires), got {value!r}"
        )
    return int(value)


def broadcast_batch(**shapes):
    """The broadcast of the named batch shapes; ValueError naming them all if none."""
    try:
        return torch.broadcast_shapes(*shapes.values())
    except RuntimeError:
        described = ", ".join(f"{name} {tuple(shape)}" for name, shape in shapes.items())
        raise ValueError(f"batch dimensions do not broadcast: {described}") from None


def check_real_waveform(waveform):
    if isinstance(waveform, torch.Tensor) and waveform.is_complex():
        raise TypeError(f"waveform must be real, got a {waveform.dtype} tensor")
    check_float_waveform(waveform)


def check_stft_args(n_fft, hop_length, win_length, window):
    for name, value in (("n_fft", n_fft), ("hop_length", hop_length), ("win_length", win_length)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if win_length > n_fft:
        raise ValueError(f"win_length ({win_length}) must not exceed n_fft ({n_fft})")
    if window is not None and (window.dim() != 1 or window.shape[0] != win_length):
        raise ValueError(
            f"window must be 1-D of win_length {win_length}, got {tuple(window.shape)}"
        )


def check_positive_real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or not value > 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)
