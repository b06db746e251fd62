"""Kaldi's per-frame processing in one pass from the waveform, and its backward.

forward, per frame f of row r (length L, frame count C): raw samples
x[j] = s[mirror(f * shift - offset + j)] (+ dither * noise[r, f, j]) for j < window_size,
the signal mirrored past its ends with the edge sample repeated; then
d = x - mean(x) (remove_dc_offset), p[j] = d[j] - c * d[max(j - 1, 0)] (pre-emphasis),
y = window * p zero-padded to the FFT length, and the log energy
ln(max(sum d^2 (raw_energy) or sum y^2, eps)) floored at ln(energy_floor). Frames f >= C
are zeros. One read of the waveform (the previous sample of each frame comes from cache),
one write of the frames: the FFT and the fused mel kernel (spectral.py) follow.

backward: dL/dx per frame (rows, frames, window_size) from dL/dy and dL/dlog-energy,
through the same chain transposed: gy = dL/dy + g_E * 2 y / E (energy after the window),
gp = window * gy, gd[j] = gp[j] - c * gp[j + 1] (- c * gp[0] at j = 0), + g_E * 2 d / E
(raw energy), gx = gd - mean(gd). Overlap-add (framing.py) and the mirror's fold follow.
"""

import math

import torch
import triton
import triton.language as tl

from .launch import block_size

EPSILON = 1.1920928955078125e-07  # float32 eps: Kaldi's floor on the energy


@triton.jit
def mirrored(u, length):
    """Sample index of position ``u`` of the row extended by mirroring past its ends, the
    edge sample repeated: ..., x[1], x[0] | x[0], ..., x[L - 1] | x[L - 1], ..."""
    u = tl.where(u < 0, -u - 1, u)
    return tl.where(u >= length, 2 * length - 1 - u, u)


@triton.jit
def dithered_samples(X_ROW, NOISE_FRAMES, WINDOW, start, j, length, mask, dither,
                     HAS_NOISE: tl.constexpr):  # fmt: skip
    """(frames, BLOCK) raw samples at offsets ``j`` of frames starting at ``start``, in the
    window's dtype, dither added; 0 where not ``mask``. NOISE_FRAMES: each frame's noise."""
    x = tl.load(X_ROW + mirrored(start + j, length), mask=mask, other=0.0)
    x = x.to(WINDOW.dtype.element_ty)
    if HAS_NOISE:
        x += dither * tl.load(NOISE_FRAMES + j, mask=mask, other=0.0)
    return x


@triton.jit
def energy_gradient(grad_log_energy, energy, log_energy_floor, HAS_FLOOR: tl.constexpr):
    """d log-energy / d energy times dL/dlog-energy: 0 where a floor was in force."""
    kept = energy > 1.1920928955078125e-07
    if HAS_FLOOR:
        kept = kept & (tl.log(tl.maximum(energy, 1.1920928955078125e-07)) > log_energy_floor)
    return tl.where(kept, grad_log_energy / tl.maximum(energy, 1.1920928955078125e-07), 0.0)


@triton.jit
def frame_tile(LENGTHS, COUNTS, frame_blocks, n_frames, BLOCK_F: tl.constexpr):
    """This program's row and BLOCK_F frames: row, frame numbers f (int32), their index in
    the (rows, n_frames) frame grid (int64: the frame tensors may pass 2**31 elements), and
    the row's length and frame count (int32: the launcher checked the lengths)."""
    pid = tl.program_id(0)
    row = pid // frame_blocks
    f = (pid % frame_blocks) * BLOCK_F + tl.arange(0, BLOCK_F)
    frame_index = row.to(tl.int64) * n_frames + f
    length = tl.load(LENGTHS + row).to(tl.int32)
    count = tl.load(COUNTS + row).to(tl.int32)
    return row, f, frame_index, length, count


@triton.jit
def kaldi_frames_kernel(
    X,  # pointer to the waveforms, (rows, n_time), last dim contiguous
    LENGTHS,  # pointer to each row's length, (rows,) int64
    COUNTS,  # pointer to each row's frame count, (rows,) int64
    NOISE,  # pointer to the dither noise, (rows, n_frames, window_size) (read if HAS_NOISE)
    WINDOW,  # pointer to the window, (window_size,), compute dtype
    FRAMES,  # pointer to the output frames, (rows, n_frames, padded_size), compute dtype
    LOG_ENERGY,  # pointer to the output log energies, (rows, n_frames), compute dtype
    stride_x_row,
    n_frames,
    window_size,
    padded_size,
    shift,
    offset,
    frame_blocks,
    dither,
    preemphasis,
    log_energy_floor,
    HAS_NOISE: tl.constexpr,
    REMOVE_DC: tl.constexpr,
    RAW_ENERGY: tl.constexpr,
    HAS_PREEMPHASIS: tl.constexpr,
    HAS_FLOOR: tl.constexpr,
    BLOCK_F: tl.constexpr,
    BLOCK: tl.constexpr,
):
    row, f, frame_index, length, count = frame_tile(LENGTHS, COUNTS, frame_blocks, n_frames,
                                                    BLOCK_F)  # fmt: skip
    j = tl.arange(0, BLOCK)[None, :]
    mask = (f < count)[:, None] & (j < window_size)
    start = f[:, None] * shift - offset
    x_row = X + row.to(tl.int64) * stride_x_row
    noise_frames = NOISE + frame_index[:, None] * window_size
    args = (length, mask, dither, HAS_NOISE)
    x = dithered_samples(x_row, noise_frames, WINDOW, start, j, *args)
    if HAS_PREEMPHASIS:
        previous = dithered_samples(x_row, noise_frames, WINDOW, start, tl.maximum(j - 1, 0), *args)
    if REMOVE_DC:
        mean = tl.sum(x, axis=1)[:, None] / window_size
        x = tl.where(mask, x - mean, 0.0)
        if HAS_PREEMPHASIS:
            previous = tl.where(mask, previous - mean, 0.0)
    if RAW_ENERGY:
        energy = tl.sum(x * x, axis=1)
    if HAS_PREEMPHASIS:
        x = x - preemphasis * previous
    window = tl.load(WINDOW + j, mask=j < window_size, other=0.0)
    y = x * window
    if not RAW_ENERGY:
        energy = tl.sum(y * y, axis=1)
    log_energy = tl.log(tl.maximum(energy, 1.1920928955078125e-07, tl.PropagateNan.ALL))
    if HAS_FLOOR:
        log_energy = tl.maximum(log_energy, log_energy_floor, tl.PropagateNan.ALL)
    in_frames = f < n_frames
    log_energy = tl.where(f < count, log_energy, 0.0)
    tl.store(LOG_ENERGY + frame_index, log_energy, mask=in_frames)
    out = FRAMES + frame_index[:, None] * padded_size + j
    tl.store(out, y, mask=in_frames[:, None] & (j < padded_size))


@triton.jit
def kaldi_frames_backward_kernel(
    GRAD_FRAMES,  # pointer to dL/dframes, (rows, n_frames, padded_size), contiguous
    GRAD_LOG_ENERGY,  # pointer to dL/dlog-energy, (rows, n_frames), contiguous
    X,  # pointer to the waveforms, (rows, n_time), last dim contiguous
    LENGTHS,  # pointer to each row's length, (rows,) int64
    COUNTS,  # pointer to each row's frame count, (rows,) int64
    NOISE,  # pointer to the dither noise, (rows, n_frames, window_size) (read if HAS_NOISE)
    WINDOW,  # pointer to the window, (window_size,), compute dtype
    GRAD_RAW,  # pointer to dL/draw frames, (rows, n_frames, window_size), compute dtype
    stride_x_row,
    n_frames,
    window_size,
    padded_size,
    shift,
    offset,
    frame_blocks,
    dither,
    preemphasis,
    log_energy_floor,
    HAS_NOISE: tl.constexpr,
    REMOVE_DC: tl.constexpr,
    RAW_ENERGY: tl.constexpr,
    HAS_PREEMPHASIS: tl.constexpr,
    HAS_FLOOR: tl.constexpr,
    BLOCK_F: tl.constexpr,
    BLOCK: tl.constexpr,
):
    row, f, frame_index, length, count = frame_tile(LENGTHS, COUNTS, frame_blocks, n_frames,
                                                    BLOCK_F)  # fmt: skip
    j = tl.arange(0, BLOCK)[None, :]
    valid = (f < count)[:, None]
    mask = valid & (j < window_size)
    mask_next = valid & (j + 1 < window_size)
    start = f[:, None] * shift - offset
    x_row = X + row.to(tl.int64) * stride_x_row
    noise_frames = NOISE + frame_index[:, None] * window_size
    args = (length, mask, dither, HAS_NOISE)
    x = dithered_samples(x_row, noise_frames, WINDOW, start, j, *args)
    mean = tl.sum(x, axis=1)[:, None] / window_size
    if REMOVE_DC:
        x = tl.where(mask, x - mean, 0.0)
    grads = GRAD_FRAMES + frame_index[:, None] * padded_size
    window = tl.load(WINDOW + j, mask=j < window_size, other=0.0)
    window_next = tl.load(WINDOW + j + 1, mask=j + 1 < window_size, other=0.0)
    grad_y = tl.load(grads + j, mask=mask, other=0.0).to(x.dtype)
    grad_y_next = tl.load(grads + j + 1, mask=mask_next, other=0.0).to(x.dtype)
    grad_log_energy = tl.load(GRAD_LOG_ENERGY + frame_index, mask=f < count, other=0.0)
    if not RAW_ENERGY:  # the energy of y = window * p: recompute p at j and j + 1
        args_next = (length, mask_next, dither, HAS_NOISE)
        x_next = dithered_samples(x_row, noise_frames, WINDOW, start, j + 1, *args_next)
        if REMOVE_DC:
            x_next = tl.where(mask_next, x_next - mean, 0.0)
        if HAS_PREEMPHASIS:
            previous = dithered_samples(
                x_row, noise_frames, WINDOW, start, tl.maximum(j - 1, 0), *args
            )
            if REMOVE_DC:
                previous = tl.where(mask, previous - mean, 0.0)
            p = x - preemphasis * previous
            p_next = x_next - preemphasis * x
        else:
            p = x
            p_next = x_next
        y = p * window
        y_next = p_next * window_next
        energy = tl.sum(y * y, axis=1)
        scale = 2.0 * energy_gradient(grad_log_energy.to(x.dtype), energy, log_energy_floor,
                                      HAS_FLOOR)[:, None]  # fmt: skip
        grad_y += scale * y
        grad_y_next += scale * y_next
    grad_p = grad_y * window
    grad_p_next = grad_y_next * window_next
    if HAS_PREEMPHASIS:
        grad_d = grad_p - preemphasis * grad_p_next
        grad_p_first = tl.sum(tl.where(j == 0, grad_p, 0.0), axis=1)[:, None]
        grad_d -= tl.where(j == 0, preemphasis * grad_p_first, 0.0)
    else:
        grad_d = grad_p
    if RAW_ENERGY:
        energy = tl.sum(x * x, axis=1)
        scale = 2.0 * energy_gradient(grad_log_energy.to(x.dtype), energy, log_energy_floor,
                                      HAS_FLOOR)[:, None]  # fmt: skip
        grad_d += scale * x
    if REMOVE_DC:
        grad_d = tl.where(mask, grad_d - tl.sum(grad_d, axis=1)[:, None] / window_size, 0.0)
    out = GRAD_RAW + frame_index[:, None] * window_size + j
    tl.store(out, tl.where(mask, grad_d, 0.0), mask=(f < n_frames)[:, None] & (j < window_size))


MAX_TIME = 2**30  # int32 sample indices, mirrored positions up to 2 * length included


def _check_sizes(x, n_frames, options):
    if x.shape[1] >= MAX_TIME or n_frames * options.window_shift >= MAX_TIME:
        raise ValueError(f"signals of {MAX_TIME} samples or more are not supported")


def _settings(padded_size):
    block = block_size(padded_size)
    block_f = max(1, 2048 // block)
    return block, block_f, max(1, min(block_f * block // 256, 8))


def _flags(options, noise):
    return dict(
        HAS_NOISE=int(noise is not None),
        REMOVE_DC=int(options.remove_dc_offset),
        RAW_ENERGY=int(options.raw_energy),
        HAS_PREEMPHASIS=int(options.preemphasis_coefficient != 0.0),
        HAS_FLOOR=int(options.energy_floor != 0.0),
    )


def _scalars(options):
    floor = options.energy_floor
    log_floor = math.log(floor) if floor > 0 else 0.0
    return float(options.dither), float(options.preemphasis_coefficient), log_floor


def kaldi_frames(x, lengths, counts, noise, window, n_frames, options, launch=lambda k: k):
    """Frames (rows, n_frames, padded_size) and log energies (rows, n_frames) in the
    window's dtype, of (rows, n_time) ``x`` (last dim contiguous); ``lengths`` and
    ``counts`` int64 (rows,); ``noise`` None or contiguous (rows, n_frames, window_size)."""
    rows = x.shape[0]
    frames = torch.empty((rows, n_frames, options.padded_size), dtype=window.dtype,
                         device=x.device)  # fmt: skip
    log_energy = torch.empty((rows, n_frames), dtype=window.dtype, device=x.device)
    if frames.numel() == 0:
        return frames, log_energy
    _check_sizes(x, n_frames, options)
    block, block_f, warps = _settings(options.padded_size)
    frame_blocks = triton.cdiv(n_frames, block_f)
    launch(kaldi_frames_kernel)[(rows * frame_blocks,)](
        x, lengths, counts, x if noise is None else noise, window, frames, log_energy,
        x.stride(0), n_frames, options.window_size, options.padded_size, options.window_shift,
        options.offset, frame_blocks, *_scalars(options), **_flags(options, noise),
        BLOCK_F=block_f, BLOCK=block, num_warps=warps,
    )  # fmt: skip
    return frames, log_energy


def kaldi_frames_backward(grad_frames, grad_log_energy, x, lengths, counts, noise, window,
                          options, launch=lambda k: k):  # fmt: skip
    """dL/draw frames (rows, n_frames, window_size) from contiguous dL/dframes and
    dL/dlog-energy; the other arguments as in :func:`kaldi_frames`."""
    rows, n_frames, _ = grad_frames.shape
    grad_raw = torch.empty((rows, n_frames, options.window_size), dtype=window.dtype,
                           device=x.device)  # fmt: skip
    if grad_raw.numel() == 0:
        return grad_raw
    _check_sizes(x, n_frames, options)
    block, block_f, warps = _settings(options.padded_size)
    frame_blocks = triton.cdiv(n_frames, block_f)
    launch(kaldi_frames_backward_kernel)[(rows * frame_blocks,)](
        grad_frames, grad_log_energy, x, lengths, counts, x if noise is None else noise, window,
        grad_raw, x.stride(0), n_frames, options.window_size, options.padded_size,
        options.window_shift, options.offset, frame_blocks, *_scalars(options),
        **_flags(options, noise), BLOCK_F=block_f, BLOCK=block, num_warps=warps,
    )  # fmt: skip
    return grad_raw


# The tensor arguments each kernel writes (everything else it only reads); the
# performance model (benchmarks/model) checks every launch against it.
WRITES = {
    "kaldi_frames_kernel": ("FRAMES", "LOG_ENERGY"),
    "kaldi_frames_backward_kernel": ("GRAD_RAW",),
}
