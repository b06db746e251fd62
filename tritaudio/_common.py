"""One source for what every layer shares: the pad modes and tl.dot precisions, the frame-count
and resampled-length formulas, row layout and compute dtypes.

Plain Python and torch (no triton): the kernels' launchers import it too.
"""

import math
import struct

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
    (gcd-reduced), exactly torchaudio 2.11's: ``ceil(new * n_in / orig)`` evaluated as it
    does, the quotient in Python floats, rounded to torch's default dtype (float32) by
    ``torch.as_tensor`` before the ceil, and capped at what its strided convolution
    produces (``new * (n_in // orig + 1)``). The float32 rounding makes it one shorter than
    the exact ceil for about 1 length in 40 at some rate pairs (44100 -> 16000 Hz on
    425,011 samples: 154,199).
    """
    quotient = new * n_in / orig
    if torch.get_default_dtype() != torch.float64:
        quotient = struct.unpack("f", struct.pack("f", quotient))[0]
    return min(math.ceil(quotient), new * (n_in // orig + 1))


# Resampling filters: widths beyond this many zero crossings are refused (torchaudio's
# widest preset, "kaiser_best", uses 64); polyphase tables beyond this many taps (8 MB in
# float32) are not built: the taps are computed where they are used instead.
MAX_LOWPASS_FILTER_WIDTH = 1024
MAX_TABLE_TAPS = 2**21
# The tables' rows are padded with zero taps to a multiple of this (the kernels unroll by it).
TAP_MULTIPLE = 4


def resample_width(orig, new, lowpass_filter_width, rolloff):
    """torchaudio's filter half-width in input samples, and the taps each output needs
    (a multiple of TAP_MULTIPLE) for gcd-reduced rates."""
    width = math.ceil(lowpass_filter_width * orig / (min(orig, new) * rolloff))
    return width, -(-(2 * width + 2) // TAP_MULTIPLE) * TAP_MULTIPLE


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
