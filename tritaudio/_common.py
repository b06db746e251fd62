"""One source for what every layer shares: the pad modes and tl.dot precisions, the frame-count
and resampled-length formulas, row layout and compute dtypes.

Plain Python and torch (no triton): the kernels' launchers import it too.
"""

import math

import torch

# torch.stft's centering pad modes, with the code the framing kernels take as MODE.
PAD_MODES = {"constant": 0, "reflect": 1, "replicate": 2, "circular": 3}
# Dtypes computed in float32 and returned in their own dtype (torchaudio refuses most).
LOW_PRECISION = (torch.float16, torch.bfloat16)
# tl.dot input precisions of the kernels that offer a choice (IEEE float32, or tensor cores:
# compensated 3xTF32 or plain TF32).
DOT_PRECISIONS = ("ieee", "tf32x3", "tf32")


def frame_count(n_time, n_fft, hop, pad, left):
    """Frames of a signal of ``n_time`` samples after ``pad`` zeros and ``left`` centering
    samples on each side (torch.stft's count)."""
    return 1 + (n_time + 2 * pad + 2 * left - n_fft) // hop


def resampled_length(n_in, orig, new):
    """Output length of resampling ``n_in`` samples from ``orig`` to ``new`` Hz
    (gcd-reduced): ``ceil(new * n_in / orig)`` in integers."""
    return -(-new * n_in // orig)


def last_dim_contiguous(x):
    """``x`` itself when its last dim is contiguous (the kernels take other strides as
    arguments), else a contiguous copy."""
    return x if x.stride(-1) == 1 or x.shape[-1] <= 1 else x.contiguous()


def as_rows(waveform):
    """(..., time) -> (rows, time) with the last dim contiguous (a view when possible)."""
    rows = math.prod(waveform.shape[:-1])
    return last_dim_contiguous(waveform.reshape(rows, waveform.shape[-1]))


def compute_dtype(waveform):
    """float64 for float64 input, else float32 (the kernels' arithmetic)."""
    return torch.float64 if waveform.dtype == torch.float64 else torch.float32


def in_compute_dtype(waveform):
    """float16 / bfloat16 waveforms are stretched in float32 (beyond torchaudio, whose
    STFT refuses them) and returned in their dtype."""
    return waveform.float() if waveform.dtype in LOW_PRECISION else waveform
