"""Pure functions with torchaudio.functional's names and signatures.

Each function checks its arguments, flattens ``(..., time)`` to ``(rows, time)`` for the
kernels, and dispatches (here, and only here) to the Triton op or the torch reference.
"""

import math

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
    from tritaudio import _ops

    rows = _ops.scale_rows(_as_rows(waveform), 10 ** (gain_db / 20))
    return rows.reshape(waveform.shape)
