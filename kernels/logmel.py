"""Waveform to (log-)mel spectrogram in one kernel: the DFT as a matrix product.

For a tile of frames and a block of mel bands, the kernel reads the frames straight from
the signal (the centering pad folded into the reads, as in framing.py), multiplies them
by windowed cos / sin bases with tl.dot (tensor cores; ``PRECISION`` "ieee", "tf32x3" or
"tf32"), squares, projects the bins on the block's mel filters (IEEE) and takes the log:

    re[f, k] = sum_j x[f * hop + j - left] * window[j] * cos(2 pi j k / n_fft)
    im[f, k] = -sum_j x[...] * window[j] * sin(2 pi j k / n_fft)
    y[m, f] = sum_k |X[f, k]|^p * fb[k, m];  out = c * ln(max(y, amin) + offset) - shift

Only the bins where the block's filters are non-zero are transformed (the sparse mel
projection), so the DFT work is about one pass over the bins per frame. Nothing but the
output is written: one read of the waveform (from cache for overlapping frames).
"""

import torch
import triton
import triton.language as tl

from tritaudio._common import frame_count

from .framing import signal_index
from .launch import num_warps
from .spectral import (
    check_row_size,
    floor_tiles,
    magnitude_power,
    power_mode,
    store_mel_tile,
    tile_extrema,
)

BLOCK_FRAMES = 64
BLOCK_TIME = 32
BLOCK_BINS = 32
BLOCK_MELS = 32


@triton.jit
def log_mel_dft_kernel(
    X,  # pointer to the signal, (rows, n_time), last dim contiguous
    COS,  # pointer to window[j] * cos(2 pi j k / n_fft), (n_fft, n_freq), contiguous
    SIN,  # pointer to -window[j] * sin(2 pi j k / n_fft), (n_fft, n_freq), contiguous
    FB,  # pointer to the filterbank, (n_freq, n_mels), contiguous
    BIN_RANGES,  # pointer to (mel blocks, 2) int32: bins [lo, hi) where a block is non-zero
    OUT,  # pointer to the output, (rows, n_mels, out_frames), contiguous
    MEL,  # pointer to y before the log, like OUT (written when SAVE_MEL)
    TILE_MAX,  # pointer to each tile's maximum, (rows, tiles) (written when HAS_EXTREMA)
    TILE_MIN,  # pointer to each tile's minimum, like TILE_MAX
    stride_x_row,
    n_time,
    pad,
    left,
    hop,
    n_fft,
    out_frames,
    n_freq,
    n_mels,
    frame_blocks,
    power,
    log_multiplier,
    amin,
    offset,
    shift,
    MODE: tl.constexpr,
    POWER_MODE: tl.constexpr,
    HAS_LOG: tl.constexpr,
    SAVE_MEL: tl.constexpr,
    HAS_EXTREMA: tl.constexpr,
    PRECISION: tl.constexpr,
    BLOCK_F: tl.constexpr,
    BLOCK_T: tl.constexpr,
    BLOCK_K: tl.constexpr,
    BLOCK_M: tl.constexpr,
):
    pid = tl.program_id(0).to(tl.int64)
    mel_block = tl.program_id(1)
    row = pid // frame_blocks
    f = (pid % frame_blocks) * BLOCK_F + tl.arange(0, BLOCK_F)
    m = mel_block * BLOCK_M + tl.arange(0, BLOCK_M)
    in_frames = f < out_frames
    in_mels = m < n_mels
    lo = tl.load(BIN_RANGES + 2 * mel_block)
    hi = tl.load(BIN_RANGES + 2 * mel_block + 1)
    signal = X + row * stride_x_row
    acc = tl.zeros([BLOCK_F, BLOCK_M], dtype=FB.dtype.element_ty)
    for k0 in range(lo, hi, BLOCK_K):
        k = k0 + tl.arange(0, BLOCK_K)
        in_bins = k < hi
        re = tl.zeros([BLOCK_F, BLOCK_K], dtype=FB.dtype.element_ty)
        im = tl.zeros([BLOCK_F, BLOCK_K], dtype=FB.dtype.element_ty)
        for j0 in range(0, n_fft, BLOCK_T):
            j = j0 + tl.arange(0, BLOCK_T)
            in_frame = j < n_fft
            t, valid = signal_index(f[:, None] * hop + j[None, :] - left, n_time, pad, MODE)
            mask = in_frames[:, None] & in_frame[None, :] & valid
            frames = tl.load(signal + t, mask=mask, other=0.0).to(acc.dtype)
            basis_offsets = j[:, None] * n_freq + k[None, :]
            basis_mask = in_frame[:, None] & in_bins[None, :]
            cos = tl.load(COS + basis_offsets, mask=basis_mask, other=0.0)
            sin = tl.load(SIN + basis_offsets, mask=basis_mask, other=0.0)
            re += tl.dot(frames, cos, input_precision=PRECISION)
            im += tl.dot(frames, sin, input_precision=PRECISION)
        powers = magnitude_power(re, im, power, POWER_MODE)
        fb_mask = in_bins[:, None] & in_mels[None, :]
        fb = tl.load(FB + k[:, None] * n_mels + m[None, :], mask=fb_mask, other=0.0)
        acc += tl.dot(powers, fb, input_precision="ieee")
    store_mel_tile(
        OUT, MEL, TILE_MAX, TILE_MIN, acc, row, f, m, out_frames, n_mels, log_multiplier,
        amin, offset, shift, frame_blocks, HAS_LOG, SAVE_MEL, HAS_EXTREMA,
    )  # fmt: skip


def dft_bases(window, n_fft):
    """(cos, sin) bases (n_fft, n_fft // 2 + 1) with the window (zero-padded to n_fft)
    folded in, in the window's dtype; computed in float64 so float32 keeps its digits."""
    j = torch.arange(n_fft, dtype=torch.float64, device=window.device)
    k = torch.arange(n_fft // 2 + 1, dtype=torch.float64, device=window.device)
    # (j * k) mod n_fft keeps the angle small and exact before the float64 multiply
    angle = (2 * torch.pi / n_fft) * torch.remainder(j[:, None] * k[None, :], n_fft)
    weighted = window.to(torch.float64)[:, None]
    cos = (weighted * torch.cos(angle)).to(window.dtype).contiguous()
    sin = (-weighted * torch.sin(angle)).to(window.dtype).contiguous()
    return cos, sin


def log_mel_dft(
    x, cos, sin, fb, bin_ranges, hop, pad, left, mode, power, log, save_mel, precision,
    drop_last=False, floor=None, launch=lambda kernel: kernel,
):  # fmt: skip
    """(log-)mel spectrogram (rows, n_mels, n_frames) of each row of ``x`` (rows, n_time),
    last dim contiguous; ``cos`` / ``sin`` from :func:`dft_bases` set the compute dtype.
    ``log`` as in spectral.mel_power; ``drop_last``: the last frame is not computed
    (Whisper); ``floor``: None or (dynamic_range, per_example), applied by
    spectral.floor_tiles from the tile extrema this kernel stores. Returns (out, y before
    the log; empty unless ``save_mel``)."""
    rows, n_time = x.shape
    n_fft, n_freq = cos.shape
    n_mels = fb.shape[1]
    n_frames = frame_count(n_time, n_fft, hop, pad, left) - int(bool(drop_last))
    n_frames = max(n_frames, 0)
    out = torch.empty((rows, n_mels, n_frames), dtype=cos.dtype, device=x.device)
    mel = torch.empty_like(out) if save_mel else out.new_empty(0)
    if out.numel() == 0:
        return out, mel
    check_row_size(n_mels * n_frames)
    log_multiplier, amin, offset, shift = log or (1.0, 0.0, 0.0, 0.0)
    frame_blocks = triton.cdiv(n_frames, BLOCK_FRAMES)
    tile_max, tile_min = (
        tile_extrema(rows, n_frames, n_mels, BLOCK_FRAMES, BLOCK_MELS, out)
        if floor is not None
        else (out, out)
    )
    grid = (rows * frame_blocks, triton.cdiv(n_mels, BLOCK_MELS))
    launch(log_mel_dft_kernel)[grid](
        x, cos, sin, fb, bin_ranges, out, mel, tile_max, tile_min, x.stride(0), n_time, pad,
        left, hop, n_fft, n_frames, n_freq, n_mels, frame_blocks, power, log_multiplier, amin,
        offset, shift, MODE=mode, POWER_MODE=power_mode(power), HAS_LOG=int(log is not None),
        SAVE_MEL=int(save_mel), HAS_EXTREMA=int(floor is not None), PRECISION=precision,
        BLOCK_F=BLOCK_FRAMES, BLOCK_T=BLOCK_TIME, BLOCK_K=BLOCK_BINS, BLOCK_M=BLOCK_MELS,
        num_warps=num_warps(BLOCK_FRAMES * BLOCK_BINS),
    )  # fmt: skip
    if floor is not None:
        floor_tiles(out, tile_max, tile_min, floor, BLOCK_FRAMES, BLOCK_MELS, launch)
    return out, mel


# The tensor arguments each kernel writes (everything else it only reads); the
# performance model (benchmarks/model) checks every launch against it.
WRITES = {
    "log_mel_dft_kernel": ("OUT", "MEL", "TILE_MAX", "TILE_MIN"),
}
