"""The analysis kernels as torch ops: the batched vad's two sequential stages,
``tritaudio::vad_noise_floor`` and ``tritaudio::vad_trigger`` (no autograd: vad's output
is a selection of input samples, its trim point an integer)."""

import numpy as np
import torch
from torch.library import triton_op, wrap_triton

from tritaudio._reference.analysis import _hann_scaled
from tritaudio.kernels import analysis as kernels


@triton_op("tritaudio::vad_noise_floor", mutates_args={})
def vad_noise_floor_op(
    magnitudes: torch.Tensor,
    mult: torch.Tensor,
    keep: torch.Tensor,
    window: torch.Tensor,
    half: int,
    band_start: int,
    boot_end: int,
    up: float,
    down: float,
    keep_up: float,
    keep_down: float,
    reduction: float,
) -> torch.Tensor:
    """The noise-reduced, cepstrum-windowed band per position, ``(rows, n_frames, half)``."""
    rows, n_frames, _ = magnitudes.shape
    out = magnitudes.new_zeros(rows, n_frames, half)
    return kernels.vad_noise_floor(
        magnitudes.contiguous(), mult, keep, window, out, band_start, boot_end, up, down,
        keep_up, keep_down, reduction, launch=wrap_triton,
    )  # fmt: skip


@triton_op("tritaudio::vad_trigger", mutates_args={})
def vad_trigger_op(
    measure: torch.Tensor,
    increment: torch.Tensor,
    frames: torch.Tensor,
    n_measures: int,
    gap: int,
    decay: float,
    level: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per clip the first trigger position (-1: none) and the measures flushed back, int32."""
    batch = measure.shape[0]
    t_star = torch.empty(batch, dtype=torch.int32, device=measure.device)
    to_flush = torch.empty(batch, dtype=torch.int32, device=measure.device)
    return kernels.vad_trigger(
        measure.contiguous(), increment.contiguous(), frames, t_star, to_flush, n_measures,
        gap, decay, level, launch=wrap_triton,
    )  # fmt: skip


def _f32(value):
    return float(np.float32(value))


def vad_noise_floor(magnitudes, mult, keep, booting, s, noise_reduction_amount):
    """:func:`tritaudio._reference.analysis.vad_noise_floor` on the kernel."""
    start, end = s["spectrum_band"]
    boot_max = s["boot_count_max"]
    up, down = np.float32(s["noise_up_mult"]), np.float32(s["noise_down_mult"])
    one = np.float32(1.0)
    return vad_noise_floor_op(
        magnitudes, mult, keep, _hann_scaled(end - start, magnitudes.device),
        s["dft_len"] >> 1, start, boot_max if boot_max >= 0 else kernels.INT32_MAX,
        float(up), float(down), float(one - up), float(one - down),
        _f32(noise_reduction_amount),
    )  # fmt: skip


def vad_trim(measure, increment, frames, lengths, trigger_level, s):
    """:func:`tritaudio._reference.analysis.vad_trim` with the trigger search on the kernel."""
    from tritaudio._reference.analysis import trim_window

    n = s["measures_len"]
    t_star, to_flush = vad_trigger_op(
        # j and the last trigger are in [0, n]: a gap outside [-n - 1, n + 1] acts as its end
        measure, increment, frames, n, max(-n - 1, min(s["gap_len"], n + 1)),
        _f32(s["trigger_mult"]), _f32(trigger_level),
    )  # fmt: skip
    triggered = t_star >= 0
    return trim_window(
        triggered, t_star.clamp(min=0).to(torch.int64), to_flush.to(torch.int64), frames,
        lengths, s,
    )  # fmt: skip
