"""From the complex STFT to a (log-)mel spectrogram in one pass, and its backward.

forward: y[r, m, f] = sum_k |X[r, f, k]|^p * fb[k, m], then optionally
out = c * log(max(y, amin) + offset) - shift (dB, log10, natural log: c and shift say which).
The power spectrum is never stored: one read of the STFT, one write of the output.

backward: with g[r, m, f] = dL/dout * dout/dy,
dL/dX[r, f, k] = d|X|^p/dX * sum_m g[r, m, f] * fb[k, m]; optionally (the rfft adjoint
folded in) times c[k] = 1 at DC and Nyquist, 1/2 elsewhere, so that the gradient of the
frames is one inverse real FFT, irfft(c * dL/dX, norm="forward"), without PyTorch's
zero-filled complex buffer and full complex transform.

A filterbank is sparse: each mel band is non-zero over a few bins only. The launcher
passes, per block of mel bands, the range of bins where the block is non-zero (and per
block of bins, the range of mel bands), and the kernels loop over that range only.
The projections are tl.dot with IEEE float32 (or float64) inputs: the accuracy contract
holds without tf32.
"""

import torch
import triton
import triton.language as tl

from .launch import num_warps

BLOCK_FRAMES = 32
BLOCK_BINS = 32
BLOCK_MELS = 32

POWER_GENERAL, POWER_MAGNITUDE, POWER_SQUARED = 0, 1, 2


@triton.jit
def magnitude_power(re, im, power, POWER_MODE: tl.constexpr):
    squared = re * re + im * im
    if POWER_MODE == 2:
        return squared
    elif POWER_MODE == 1:
        return tl.sqrt(squared)
    else:  # |X|^p = exp2(p / 2 * log2 |X|^2); log2(0) = -inf gives 0 for p > 0
        return tl.exp2(tl.log2(squared) * (power * 0.5))


@triton.jit
def store_mel_tile(
    OUT, MEL, y, row, f, m, n_frames, n_mels, log_multiplier, amin, offset, shift,
    HAS_LOG: tl.constexpr, SAVE_MEL: tl.constexpr,
):  # fmt: skip
    """Store a (frames, bands) tile of y into (rows, n_mels, n_frames) outputs: y itself
    into MEL when SAVE_MEL, then the log of y (or y) into OUT."""
    offsets = (row * n_mels + m[None, :]) * n_frames + f[:, None]
    mask = (f < n_frames)[:, None] & (m < n_mels)[None, :]
    if SAVE_MEL:
        tl.store(MEL + offsets, y, mask=mask)
    if HAS_LOG:  # NaN-propagating max(y, amin): NaN in, NaN out (not the floor)
        y = log_multiplier * tl.log(tl.maximum(y, amin, tl.PropagateNan.ALL) + offset) - shift
    tl.store(OUT + offsets, y, mask=mask)


@triton.jit
def mel_power_kernel(
    SPEC,  # pointer to the STFT as real pairs, (rows, n_frames, n_freq, 2), contiguous
    FB,  # pointer to the filterbank, (n_freq, n_mels), contiguous
    BIN_RANGES,  # pointer to (mel blocks, 2) int32: bins [lo, hi) where a block is non-zero
    OUT,  # pointer to the output, (rows, n_mels, n_frames), contiguous
    MEL,  # pointer to y before the log, like OUT (written when SAVE_MEL)
    n_frames,
    n_freq,
    n_mels,
    frame_blocks,
    power,
    log_multiplier,
    amin,
    offset,
    shift,
    POWER_MODE: tl.constexpr,
    HAS_LOG: tl.constexpr,
    SAVE_MEL: tl.constexpr,
    BLOCK_F: tl.constexpr,
    BLOCK_K: tl.constexpr,
    BLOCK_M: tl.constexpr,
):
    pid = tl.program_id(0).to(tl.int64)
    mel_block = tl.program_id(1)
    row = pid // frame_blocks
    f = (pid % frame_blocks) * BLOCK_F + tl.arange(0, BLOCK_F)
    m = mel_block * BLOCK_M + tl.arange(0, BLOCK_M)
    in_frames = f < n_frames
    in_mels = m < n_mels
    lo = tl.load(BIN_RANGES + 2 * mel_block)
    hi = tl.load(BIN_RANGES + 2 * mel_block + 1)
    acc = tl.zeros([BLOCK_F, BLOCK_M], dtype=FB.dtype.element_ty)
    spec_rows = SPEC + (row * n_frames + f[:, None]) * n_freq * 2
    for k0 in range(lo, hi, BLOCK_K):
        k = k0 + tl.arange(0, BLOCK_K)
        in_bins = k < hi
        mask = in_frames[:, None] & in_bins[None, :]
        re = tl.load(spec_rows + 2 * k[None, :], mask=mask, other=0.0)
        im = tl.load(spec_rows + 2 * k[None, :] + 1, mask=mask, other=0.0)
        powers = magnitude_power(re, im, power, POWER_MODE)
        fb_mask = in_bins[:, None] & in_mels[None, :]
        fb = tl.load(FB + k[:, None] * n_mels + m[None, :], mask=fb_mask, other=0.0)
        acc += tl.dot(powers, fb, input_precision="ieee")
    store_mel_tile(
        OUT, MEL, acc, row, f, m, n_frames, n_mels, log_multiplier, amin, offset, shift,
        HAS_LOG, SAVE_MEL,
    )  # fmt: skip


@triton.jit
def mel_power_backward_kernel(
    GRAD,  # pointer to dL/dout, (rows, n_mels, n_frames), contiguous
    MEL,  # pointer to y before the log, like GRAD (read when HAS_LOG)
    SPEC,  # pointer to the STFT as real pairs, (rows, n_frames, n_freq, 2), contiguous
    FB,  # pointer to the filterbank, (n_freq, n_mels), contiguous
    MEL_RANGES,  # pointer to (bin blocks, 2) int32: mel bands [lo, hi) non-zero on a block
    GRAD_SPEC,  # pointer to dL/dX, like SPEC
    n_frames,
    n_freq,
    n_mels,
    frame_blocks,
    power,
    log_multiplier,
    amin,
    offset,
    nyquist,
    POWER_MODE: tl.constexpr,
    HAS_LOG: tl.constexpr,
    RFFT_ADJOINT: tl.constexpr,
    BLOCK_F: tl.constexpr,
    BLOCK_K: tl.constexpr,
    BLOCK_M: tl.constexpr,
):
    pid = tl.program_id(0).to(tl.int64)
    bin_block = tl.program_id(1)
    row = pid // frame_blocks
    f = (pid % frame_blocks) * BLOCK_F + tl.arange(0, BLOCK_F)
    k = bin_block * BLOCK_K + tl.arange(0, BLOCK_K)
    in_frames = f < n_frames
    in_bins = k < n_freq
    lo = tl.load(MEL_RANGES + 2 * bin_block)
    hi = tl.load(MEL_RANGES + 2 * bin_block + 1)
    grad_powers = tl.zeros([BLOCK_F, BLOCK_K], dtype=FB.dtype.element_ty)
    for m0 in range(lo, hi, BLOCK_M):
        m = m0 + tl.arange(0, BLOCK_M)
        in_mels = m < hi
        mask = in_frames[:, None] & in_mels[None, :]
        offsets = (row * n_mels + m[None, :]) * n_frames + f[:, None]
        g = tl.load(GRAD + offsets, mask=mask, other=0.0).to(grad_powers.dtype)
        if HAS_LOG:  # d/dy of c * log(max(y, amin) + offset): zero where y was clamped
            y = tl.load(MEL + offsets, mask=mask, other=1.0).to(grad_powers.dtype)
            g = tl.where(y >= amin, g * log_multiplier / (tl.maximum(y, amin) + offset), 0.0)
        fb_mask = in_bins[None, :] & in_mels[:, None]
        fb_t = tl.load(FB + k[None, :] * n_mels + m[:, None], mask=fb_mask, other=0.0)
        grad_powers += tl.dot(g, fb_t, input_precision="ieee")
    spec_offsets = ((row * n_frames + f[:, None]) * n_freq + k[None, :]) * 2
    mask = in_frames[:, None] & in_bins[None, :]
    re = tl.load(SPEC + spec_offsets, mask=mask, other=0.0)
    im = tl.load(SPEC + spec_offsets + 1, mask=mask, other=0.0)
    # d|X|^p / d(re, im) = p |X|^(p - 2) (re, im); taken as 0 at X = 0 (finite for p = 1)
    if POWER_MODE == 2:
        factor = 2.0 * grad_powers
    else:
        squared = re * re + im * im
        if POWER_MODE == 1:
            factor = tl.where(squared > 0, grad_powers / tl.sqrt(squared), 0.0)
        else:
            magnitude_to_p_minus_2 = tl.exp2(tl.log2(squared) * (power * 0.5 - 1.0))
            factor = tl.where(squared > 0, power * grad_powers * magnitude_to_p_minus_2, 0.0)
    if RFFT_ADJOINT:  # bins 1 .. n_fft / 2 - 1 stand for two conjugate bins of the frame
        factor = tl.where(((k == 0) | (k == nyquist))[None, :], factor, 0.5 * factor)
    tl.store(GRAD_SPEC + spec_offsets, factor * re, mask=mask)
    tl.store(GRAD_SPEC + spec_offsets + 1, factor * im, mask=mask)


def power_mode(power):
    if power == 2.0:
        return POWER_SQUARED
    return POWER_MAGNITUDE if power == 1.0 else POWER_GENERAL


def nonzero_ranges(fb, block):
    """Per block of ``block`` columns of ``fb`` (rows, cols): the rows [lo, hi) holding its
    non-zeros, as a (blocks, 2) int32 tensor; computed on the device, no sync."""
    rows, cols = fb.shape
    blocks = triton.cdiv(cols, block)
    nonzero = torch.nn.functional.pad(fb != 0, (0, blocks * block - cols))
    nonzero = nonzero.reshape(rows, blocks, block).any(dim=-1)
    index = torch.arange(rows, device=fb.device).unsqueeze(1)
    lo = torch.where(nonzero, index, rows).amin(dim=0)
    hi = torch.maximum(torch.where(nonzero, index + 1, 0).amax(dim=0), lo)
    return torch.stack((lo, hi), dim=1).to(torch.int32).contiguous()


def mel_power(spec, fb, bin_ranges, power, log, save_mel, launch=lambda kernel: kernel):
    """(log-)mel spectrogram (rows, n_mels, n_frames) of an STFT given as contiguous real
    pairs (rows, n_frames, n_freq, 2); ``log`` is None or (multiplier, amin, offset, shift)
    for ``multiplier * ln(max(y, amin) + offset) - shift``. Returns (out, y before the log);
    y is empty unless ``save_mel``."""
    rows, n_frames, n_freq, _ = spec.shape
    n_mels = fb.shape[1]
    out = torch.empty((rows, n_mels, n_frames), dtype=spec.dtype, device=spec.device)
    mel = torch.empty_like(out) if save_mel else out.new_empty(0)
    if out.numel() == 0:
        return out, mel
    log_multiplier, amin, offset, shift = log or (1.0, 0.0, 0.0, 0.0)
    frame_blocks = triton.cdiv(n_frames, BLOCK_FRAMES)
    grid = (rows * frame_blocks, triton.cdiv(n_mels, BLOCK_MELS))
    launch(mel_power_kernel)[grid](
        spec, fb, bin_ranges, out, mel, n_frames, n_freq, n_mels, frame_blocks, power,
        log_multiplier, amin, offset, shift, POWER_MODE=power_mode(power),
        HAS_LOG=int(log is not None), SAVE_MEL=int(save_mel), BLOCK_F=BLOCK_FRAMES,
        BLOCK_K=BLOCK_BINS, BLOCK_M=BLOCK_MELS, num_warps=num_warps(BLOCK_FRAMES * BLOCK_MELS),
    )  # fmt: skip
    return out, mel


def mel_power_backward(
    grad, mel, spec, fb, mel_ranges, power, log, n_fft=0, launch=lambda kernel: kernel
):  # fmt: skip
    """dL/dspec (like ``spec``) from dL/dout (rows, n_mels, n_frames), contiguous; ``mel``
    is y before the log (read when ``log`` is not None). With ``n_fft`` > 0, ``spec`` is
    the rfft of n_fft-sample frames and the result is scaled by the rfft adjoint's bin
    weights (see above)."""
    rows, n_frames, n_freq, _ = spec.shape
    n_mels = fb.shape[1]
    grad_spec = torch.empty_like(spec)
    if grad_spec.numel() == 0:
        return grad_spec
    log_multiplier, amin, offset, _ = log or (1.0, 0.0, 0.0, 0.0)
    frame_blocks = triton.cdiv(n_frames, BLOCK_FRAMES)
    grid = (rows * frame_blocks, triton.cdiv(n_freq, BLOCK_BINS))
    launch(mel_power_backward_kernel)[grid](
        grad, grad if log is None else mel, spec, fb, mel_ranges, grad_spec, n_frames, n_freq,
        n_mels, frame_blocks, power, log_multiplier, amin, offset,
        n_fft // 2 if n_fft > 0 and n_fft % 2 == 0 else -1, POWER_MODE=power_mode(power),
        HAS_LOG=int(log is not None), RFFT_ADJOINT=int(n_fft > 0), BLOCK_F=BLOCK_FRAMES,
        BLOCK_K=BLOCK_BINS, BLOCK_M=BLOCK_MELS, num_warps=num_warps(BLOCK_FRAMES * BLOCK_BINS),
    )  # fmt: skip
    return grad_spec


# The tensor arguments each kernel writes (everything else it only reads); the
# performance model (benchmarks/model) checks every launch against it.
WRITES = {
    "mel_power_kernel": ("OUT", "MEL"),
    "mel_power_backward_kernel": ("GRAD_SPEC",),
}
