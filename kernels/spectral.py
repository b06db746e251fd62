"""From the complex STFT to a (log-)mel spectrogram in one pass, and its backward.

forward: y[r, m, f] = sum_k |X[r, f, k]|^p * fb[k, m], then optionally
out = c * log(max(y, amin) + offset) - shift (dB, log10, natural log: c and shift say which).
The power spectrum is never stored: one read of the STFT, one write of the output.

Whisper's epilogue inside: the output may keep only its first ``out_frames`` frames (the
dropped last frame is never written), and each program may also store its tile's maximum
and minimum (after the log) into small (rows, tiles) buffers; floor_tiles then floors the
output at each example's (or the batch's) peak minus a dynamic range in place, in one light
pass that reads the tile extrema and touches only the tiles holding a value below the floor
(no separate read of the whole output, no host sync).

backward: with g[r, m, f] = dL/dout * dout/dy,
dL/dX[r, f, k] = d|X|^p/dX * sum_m g[r, m, f] * fb[k, m]; optionally (the rfft adjoint
folded in) times c[k] = 1 at DC and Nyquist, 1/2 elsewhere, so that the gradient of the
frames is one inverse real FFT, irfft(c * dL/dX, norm="forward"), without PyTorch's
zero-filled complex buffer and full complex transform.

The floor's backward runs in the kernels too (the forward saves y and its tile extrema):
floor_backward_kernel reads only the tiles whose extrema reach the floor or the peak
(dL/dfloor and the peak's ties per run of tiles, and a flag per tile), floor_share_kernel
shares dL/dfloor among the values equal to the peak (amax's gradient), and
mel_power_backward_kernel applies it, recomputing the log only in the flagged tiles (with
the forward's own expression, log_scale, so that ties are found bit for bit).

A filterbank is sparse: each mel band is non-zero over a few bins only. The launcher
passes, per block of mel bands, the range of bins where the block is non-zero (and per
block of bins, the range of mel bands), and the kernels loop over that range only.
The projections are tl.dot with IEEE float32 (or float64) inputs: the accuracy contract
holds without tf32.
"""

import torch
import triton
import triton.language as tl

from .launch import num_warps, sm_count

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
def log_scale(y, log_multiplier, amin, offset, shift):
    """``c * ln(max(y, amin) + offset) - shift``, the max NaN-propagating (NaN in, NaN out,
    not the floor). The one expression of the log for the forward and the floor's backward,
    which must find the forward's values again bit for bit (ties with the peak)."""
    return log_multiplier * tl.log(tl.maximum(y, amin, tl.PropagateNan.ALL) + offset) - shift


@triton.jit
def store_mel_tile(
    OUT, MEL, TILE_MAX, TILE_MIN, y, row, f, m, out_frames, n_mels, log_multiplier, amin,
    offset, shift, frame_blocks, HAS_LOG: tl.constexpr, SAVE_MEL: tl.constexpr,
    HAS_EXTREMA: tl.constexpr,
):  # fmt: skip
    """Store a (frames, bands) tile of y into (rows, n_mels, out_frames) outputs: y itself
    into MEL when SAVE_MEL, then the log of y (or y) into OUT; with HAS_EXTREMA the tile's
    maximum and minimum of what OUT holds (NaN if it holds one) into TILE_MAX / TILE_MIN at
    (row, tile), tile = program_id(0) % frame_blocks * num_programs(1) + program_id(1)."""
    # int32 offsets within the row (launchers check the sizes), the row's in int64
    row_start = row.to(tl.int64) * n_mels * out_frames
    OUT += row_start
    MEL += row_start
    offsets = m[None, :] * out_frames + f[:, None]
    mask = (f < out_frames)[:, None] & (m < n_mels)[None, :]
    if SAVE_MEL:
        tl.store(MEL + offsets, y, mask=mask)
    if HAS_LOG:
        y = log_scale(y, log_multiplier, amin, offset, shift)
    tl.store(OUT + offsets, y, mask=mask)
    if HAS_EXTREMA:
        tiles_per_row = frame_blocks * tl.num_programs(1)
        tile = (tl.program_id(0) % frame_blocks) * tl.num_programs(1) + tl.program_id(1)
        has_nan = tl.max(tl.where(mask & (y != y), 1, 0)) > 0
        peak = tl.where(has_nan, float("nan"), tl.max(tl.where(mask, y, float("-inf"))))
        low = tl.where(has_nan, float("nan"), tl.min(tl.where(mask, y, float("inf"))))
        tl.store(TILE_MAX + row.to(tl.int64) * tiles_per_row + tile, peak)
        tl.store(TILE_MIN + row.to(tl.int64) * tiles_per_row + tile, low)


@triton.jit
def floor_tiles_kernel(
    OUT,  # pointer to the output, (rows, n_mels, out_frames), contiguous, floored in place
    TILE_MIN,  # pointer to each tile's minimum, (rows, tiles)
    PEAKS,  # pointer to the maxima a row's peak is taken over: group_size per group
    out_frames,
    n_mels,
    frame_blocks,
    mel_blocks,
    tiles_per_program,
    group_size,
    group_rows,
    dynamic_range,
    BLOCK_F: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_P: tl.constexpr,
):
    # a run of tiles of one row (the producer's tiling): the row's peak once, from its
    # group's maxima (the row's tile maxima, or the batch's one peak), then each tile is
    # read and written only if it holds a value below the floor (or a NaN)
    row = tl.program_id(0)
    peaks = PEAKS + (row // group_rows) * group_size
    peak = tl.full([BLOCK_P], float("-inf"), dtype=PEAKS.dtype.element_ty)
    for p0 in range(0, group_size, BLOCK_P):
        p = p0 + tl.arange(0, BLOCK_P)
        value = tl.load(peaks + p, mask=p < group_size, other=float("-inf"))
        peak = tl.maximum(peak, value, tl.PropagateNan.ALL)
    has_nan = tl.max(tl.where(peak != peak, 1, 0)) > 0
    floor = tl.max(tl.where(peak != peak, float("-inf"), peak)) - dynamic_range
    floor = tl.where(has_nan, float("nan"), floor)
    n_tiles = frame_blocks * mel_blocks
    first = tl.program_id(1) * tiles_per_program
    for tile in range(first, tl.minimum(first + tiles_per_program, n_tiles)):
        low = tl.load(TILE_MIN + row.to(tl.int64) * n_tiles + tile)
        if (low < floor) | (low != low) | (floor != floor):
            f = (tile // mel_blocks) * BLOCK_F + tl.arange(0, BLOCK_F)
            m = (tile % mel_blocks) * BLOCK_M + tl.arange(0, BLOCK_M)
            offsets = (m[None, :] * out_frames + f[:, None]).to(tl.int64)
            offsets += row.to(tl.int64) * n_mels * out_frames
            mask = (f < out_frames)[:, None] & (m < n_mels)[None, :]
            x = tl.load(OUT + offsets, mask=mask, other=0.0)
            floored = tl.maximum(x, floor.to(x.dtype), tl.PropagateNan.ALL)
            tl.store(OUT + offsets, floored, mask=mask)


@triton.jit
def floor_backward_kernel(
    GRAD,  # pointer to dL/dout, (rows, n_mels, out_frames), contiguous
    MEL,  # pointer to y before the log, like GRAD
    PEAKS,  # pointer to the maxima a row's peak is taken over: group_size per group
    TILE_MIN,  # pointer to each tile's minimum before the floor, (rows, tiles) (HAS_TILES)
    TILE_MAX,  # pointer to each tile's maximum before the floor, like TILE_MIN
    FLAGS,  # pointer to (rows, tiles) int8: 1 where a tile holds a value <= floor or the peak
    ROW_PEAK,  # pointer to (rows,): each row's peak
    SUMS,  # pointer to (rows, chunks): dL/dfloor, per run of tiles
    COUNTS,  # pointer to (rows, chunks) int32: the values equal to the peak, per run of tiles
    out_frames,
    n_mels,
    frame_blocks,
    mel_blocks,
    tiles_per_program,
    group_size,
    group_rows,
    log_multiplier,
    amin,
    offset,
    shift,
    dynamic_range,
    HAS_TILES: tl.constexpr,
    BLOCK_F: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_P: tl.constexpr,
):
    # The floor's backward, first pass. out = maximum(x, floor), floor = amax(x) - range:
    # torch's autograd gives x its gradient g where x > floor, g / 2 where x == floor, and
    # the floor the rest, dL/dfloor = sum(g where x < floor, g / 2 where x == floor), which
    # amax shares evenly among the values equal to the peak. A run of tiles of one row (the
    # forward's tiling): x recomputed from y as the forward computed it; with HAS_TILES,
    # only the tiles whose extrema reach the floor or the peak are read.
    row = tl.program_id(0)
    chunk = tl.program_id(1)
    peaks = PEAKS + (row // group_rows) * group_size
    peak = tl.full([BLOCK_P], float("-inf"), dtype=PEAKS.dtype.element_ty)
    for p0 in range(0, group_size, BLOCK_P):
        p = p0 + tl.arange(0, BLOCK_P)
        value = tl.load(peaks + p, mask=p < group_size, other=float("-inf"))
        peak = tl.maximum(peak, value, tl.PropagateNan.ALL)
    has_nan = tl.max(tl.where(peak != peak, 1, 0)) > 0
    peak = tl.where(has_nan, float("nan"), tl.max(tl.where(peak != peak, float("-inf"), peak)))
    floor = peak - dynamic_range
    n_tiles = frame_blocks * mel_blocks
    row_start = row.to(tl.int64) * n_mels * out_frames
    total = tl.zeros([BLOCK_F, BLOCK_M], dtype=GRAD.dtype.element_ty)
    ties = tl.zeros([BLOCK_F, BLOCK_M], dtype=tl.int32)
    first = chunk * tiles_per_program
    for tile in range(first, tl.minimum(first + tiles_per_program, n_tiles)):
        tile_offset = row.to(tl.int64) * n_tiles + tile
        if HAS_TILES:
            low = tl.load(TILE_MIN + tile_offset)
            high = tl.load(TILE_MAX + tile_offset)
            visit = (low <= floor) | (high >= peak)
        else:
            visit = peak == peak
        if visit:
            f = (tile // mel_blocks) * BLOCK_F + tl.arange(0, BLOCK_F)
            m = (tile % mel_blocks) * BLOCK_M + tl.arange(0, BLOCK_M)
            offsets = row_start + (m[None, :] * out_frames + f[:, None])
            mask = (f < out_frames)[:, None] & (m < n_mels)[None, :]
            g = tl.load(GRAD + offsets, mask=mask, other=0.0)
            y = tl.load(MEL + offsets, mask=mask, other=1.0)
            x = log_scale(y, log_multiplier, amin, offset, shift)
            share = tl.where(x < floor, g, tl.where(x == floor, 0.5 * g, 0.0))
            total += tl.where(mask, share, 0.0)
            at_peak = mask & (x == peak)
            ties += at_peak.to(tl.int32)
            touched = tl.max((mask & (x <= floor)).to(tl.int32) + at_peak.to(tl.int32))
            tl.store(FLAGS + tile_offset, (touched > 0).to(tl.int8))
        else:
            tl.store(FLAGS + tile_offset, tl.zeros([], dtype=tl.int8))
    tl.store(SUMS + row * tl.num_programs(1) + chunk, tl.sum(tl.sum(total, axis=1), axis=0))
    tl.store(COUNTS + row * tl.num_programs(1) + chunk, tl.sum(tl.sum(ties, axis=1), axis=0))
    if chunk == 0:
        tl.store(ROW_PEAK + row, peak)


@triton.jit
def floor_share_kernel(
    SUMS,  # pointer to floor_backward_kernel's (rows, chunks) dL/dfloor
    COUNTS,  # pointer to its (rows, chunks) int32 counts of the peak
    PEAK_SHARE,  # pointer to (rows,): dL/dfloor / the number of values equal to the peak
    group_size,
    group_stride,
    BLOCK_P: tl.constexpr,
):
    # amax's gradient: dL/dfloor shared evenly by the values equal to the peak; a row's
    # group of partial sums is group_size from row * group_stride (its own, or the batch's)
    row = tl.program_id(0)
    first = row * group_stride
    floor_grad = tl.zeros([BLOCK_P], dtype=SUMS.dtype.element_ty)
    ties = tl.zeros([BLOCK_P], dtype=tl.int32)
    for p0 in range(0, group_size, BLOCK_P):
        p = p0 + tl.arange(0, BLOCK_P)
        in_group = p < group_size
        floor_grad += tl.load(SUMS + first + p, mask=in_group, other=0.0)
        ties += tl.load(COUNTS + first + p, mask=in_group, other=0)
    tl.store(PEAK_SHARE + row, tl.sum(floor_grad, axis=0) / tl.sum(ties, axis=0))


@triton.jit
def mel_power_kernel(
    SPEC,  # pointer to the STFT as real pairs, (rows, n_frames, n_freq, 2), contiguous
    FB,  # pointer to the filterbank, (n_freq, n_mels), contiguous
    BIN_RANGES,  # pointer to (mel blocks, 2) int32: bins [lo, hi) where a block is non-zero
    OUT,  # pointer to the output, (rows, n_mels, out_frames), contiguous
    MEL,  # pointer to y before the log, like OUT (written when SAVE_MEL)
    TILE_MAX,  # pointer to each tile's maximum, (rows, tiles) (written when HAS_EXTREMA)
    TILE_MIN,  # pointer to each tile's minimum, like TILE_MAX
    n_frames,
    out_frames,
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
    HAS_EXTREMA: tl.constexpr,
    BLOCK_F: tl.constexpr,
    BLOCK_K: tl.constexpr,
    BLOCK_M: tl.constexpr,
):
    pid = tl.program_id(0)
    mel_block = tl.program_id(1)
    row = pid // frame_blocks
    f = (pid % frame_blocks) * BLOCK_F + tl.arange(0, BLOCK_F)
    m = mel_block * BLOCK_M + tl.arange(0, BLOCK_M)
    in_frames = f < out_frames
    in_mels = m < n_mels
    lo = tl.load(BIN_RANGES + 2 * mel_block)
    hi = tl.load(BIN_RANGES + 2 * mel_block + 1)
    acc = tl.zeros([BLOCK_F, BLOCK_M], dtype=FB.dtype.element_ty)
    spec_rows = SPEC + row.to(tl.int64) * n_frames * n_freq * 2 + f[:, None] * (n_freq * 2)
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
        OUT, MEL, TILE_MAX, TILE_MIN, acc, row, f, m, out_frames, n_mels, log_multiplier,
        amin, offset, shift, frame_blocks, HAS_LOG, SAVE_MEL, HAS_EXTREMA,
    )  # fmt: skip


@triton.jit
def mel_power_backward_kernel(
    GRAD,  # pointer to dL/dout, (rows, n_mels, out_frames), contiguous (0 beyond)
    MEL,  # pointer to y before the log, like GRAD (read when HAS_LOG)
    SPEC,  # pointer to the STFT as real pairs, (rows, n_frames, n_freq, 2), contiguous
    FB,  # pointer to the filterbank, (n_freq, n_mels), contiguous
    MEL_RANGES,  # pointer to (bin blocks, 2) int32: mel bands [lo, hi) non-zero on a block
    GRAD_SPEC,  # pointer to dL/dX, like SPEC
    FLAGS,  # pointer to floor_backward_kernel's tile flags, (rows, tiles) (FLOOR)
    ROW_PEAK,  # pointer to its (rows,) peaks (FLOOR)
    PEAK_SHARE,  # pointer to floor_share_kernel's (rows,) shares (FLOOR)
    n_frames,
    out_frames,
    n_freq,
    n_mels,
    frame_blocks,
    power,
    log_multiplier,
    amin,
    offset,
    shift,
    dynamic_range,
    floor_frame_blocks,
    floor_mel_blocks,
    nyquist,
    POWER_MODE: tl.constexpr,
    HAS_LOG: tl.constexpr,
    FLOOR: tl.constexpr,
    RFFT_ADJOINT: tl.constexpr,
    BLOCK_F: tl.constexpr,
    BLOCK_K: tl.constexpr,
    BLOCK_M: tl.constexpr,
):
    pid = tl.program_id(0)
    bin_block = tl.program_id(1)
    row = pid // frame_blocks
    frame_block = pid % frame_blocks
    f = frame_block * BLOCK_F + tl.arange(0, BLOCK_F)
    k = bin_block * BLOCK_K + tl.arange(0, BLOCK_K)
    in_frames = f < n_frames
    in_bins = k < n_freq
    lo = tl.load(MEL_RANGES + 2 * bin_block)
    hi = tl.load(MEL_RANGES + 2 * bin_block + 1)
    if FLOOR:  # the row's peak and floor; the floor's tiles (as the forward's) of this block
        peak = tl.load(ROW_PEAK + row)
        peak_share = tl.load(PEAK_SHARE + row)
        floor = peak - dynamic_range
        flags = FLAGS + row.to(tl.int64) * floor_frame_blocks * floor_mel_blocks
        flags += tl.minimum(frame_block, floor_frame_blocks - 1) * floor_mel_blocks
        block = lo // BLOCK_M
    grad_powers = tl.zeros([BLOCK_F, BLOCK_K], dtype=FB.dtype.element_ty)
    for m0 in range(lo, hi, BLOCK_M):
        m = m0 + tl.arange(0, BLOCK_M)
        in_mels = m < hi
        mask = (f < out_frames)[:, None] & in_mels[None, :]
        offsets = row.to(tl.int64) * n_mels * out_frames + (m[None, :] * out_frames + f[:, None])
        g = tl.load(GRAD + offsets, mask=mask, other=0.0).to(grad_powers.dtype)
        if HAS_LOG:  # d/dy of c * log(max(y, amin) + offset): zero where y was clamped
            y = tl.load(MEL + offsets, mask=mask, other=1.0).to(grad_powers.dtype)
            if FLOOR:  # dL/dx through the floor: only the flagged tiles need x again
                touched = tl.load(flags + block) + tl.load(
                    flags + tl.minimum(block + 1, floor_mel_blocks - 1)
                )
                block += 1
                if touched > 0:
                    x = log_scale(y, log_multiplier, amin, offset, shift)
                    g = tl.where(x > floor, g, tl.where(x == floor, 0.5 * g, 0.0))
                    g = tl.where(x == peak, g + peak_share, g)
                    g = tl.where(mask, g, 0.0)
                if floor != floor:  # a NaN peak: NaN gradients, as torch's
                    g = tl.where(mask, float("nan"), 0.0).to(g.dtype)
            g = tl.where(y >= amin, g * log_multiplier / (tl.maximum(y, amin) + offset), 0.0)
        fb_mask = in_bins[None, :] & in_mels[:, None]
        fb_t = tl.load(FB + k[None, :] * n_mels + m[:, None], mask=fb_mask, other=0.0)
        grad_powers += tl.dot(g, fb_t, input_precision="ieee")
    spec_start = row.to(tl.int64) * n_frames * n_freq * 2
    SPEC += spec_start
    GRAD_SPEC += spec_start
    spec_offsets = (f[:, None] * n_freq + k[None, :]) * 2
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


def check_row_size(*sizes):
    """The kernels index within a row in int32: each row's extent must stay below 2^31."""
    if max(sizes) >= 2**31:
        raise ValueError(f"a row of {max(sizes)} elements is too long for the kernels (2^31)")


def tile_extrema(rows, n_frames, n_mels, block_f, block_m, like):
    """Empty (rows, tiles) buffers for the tile maxima and minima of a (rows, n_mels,
    n_frames) output tiled (block_f, block_m)."""
    tiles = triton.cdiv(n_frames, block_f) * triton.cdiv(n_mels, block_m)
    return like.new_empty((rows, tiles)), like.new_empty((rows, tiles))


def floor_tiles(out, tile_max, tile_min, floor, block_f, block_m, launch=lambda kernel: kernel):
    """``max(out, peak - dynamic_range)`` in place on ``out`` (rows, n_mels, out_frames),
    ``floor`` = (dynamic_range, per_example): the peak of each row's plane, or of the
    batch, from the tile extrema its producer stored. Returns ``out``."""
    dynamic_range, per_example = floor
    rows, n_mels, out_frames = out.shape
    if out.numel() == 0:
        return out
    frame_blocks = triton.cdiv(out_frames, block_f)
    if per_example:
        peaks, group_size, group_rows = tile_max, tile_max.shape[1], 1
    else:  # one peak for the batch: the (rows, tiles) maxima reduced first (NaN kept)
        peaks, group_size, group_rows = tile_max.amax().reshape(1), 1, rows
    mel_blocks = triton.cdiv(n_mels, block_m)
    n_tiles = frame_blocks * mel_blocks
    # about 4 programs per SM over the batch, each running over its share of a row's tiles
    chunks = max(1, min(n_tiles, triton.cdiv(4 * sm_count(out.device), rows)))
    tiles_per_program = triton.cdiv(n_tiles, chunks)
    grid = (rows, triton.cdiv(n_tiles, tiles_per_program))
    launch(floor_tiles_kernel)[grid](
        out, tile_min, peaks, out_frames, n_mels, frame_blocks, mel_blocks, tiles_per_program,
        group_size, group_rows, dynamic_range, BLOCK_F=block_f, BLOCK_M=block_m, BLOCK_P=128,
        num_warps=num_warps(block_f * block_m),
    )  # fmt: skip
    return out


def mel_power(
    spec, fb, bin_ranges, power, log, save_mel, out_frames=None, floor=None,
    launch=lambda kernel: kernel,
):  # fmt: skip
    """(log-)mel spectrogram (rows, n_mels, out_frames) of an STFT given as contiguous real
    pairs (rows, n_frames, n_freq, 2): its first ``out_frames`` frames (None: all);
    ``log`` is None or (multiplier, amin, offset, shift) for
    ``multiplier * ln(max(y, amin) + offset) - shift``; ``floor`` None or
    (dynamic_range, per_example) for :func:`floor_tiles` (a second, light launch).
    Returns (out, y before the log); y is empty unless ``save_mel``."""
    rows, n_frames, n_freq, _ = spec.shape
    out_frames = n_frames if out_frames is None else out_frames
    n_mels = fb.shape[1]
    out = torch.empty((rows, n_mels, out_frames), dtype=spec.dtype, device=spec.device)
    if save_mel and floor is not None and out.numel():
        # y and the tile extrema in one flat buffer, all the floor's backward needs
        saved = out.new_empty(saved_size(rows, n_mels, out_frames))
        mel, tile_max, tile_min = split_saved(saved, rows, n_mels, out_frames)
    else:
        mel = torch.empty_like(out) if save_mel else out.new_empty(0)
        saved = mel
    if out.numel() == 0:
        return out, mel
    check_row_size(n_frames * n_freq * 2, n_mels * n_frames)
    log_multiplier, amin, offset, shift = log or (1.0, 0.0, 0.0, 0.0)
    frame_blocks = triton.cdiv(out_frames, BLOCK_FRAMES)
    if floor is not None and saved is mel:
        tile_max, tile_min = tile_extrema(rows, out_frames, n_mels, BLOCK_FRAMES, BLOCK_MELS, out)
    elif floor is None:
        tile_max, tile_min = out, out
    grid = (rows * frame_blocks, triton.cdiv(n_mels, BLOCK_MELS))
    launch(mel_power_kernel)[grid](
        spec, fb, bin_ranges, out, mel, tile_max, tile_min, n_frames, out_frames, n_freq,
        n_mels, frame_blocks, power, log_multiplier, amin, offset, shift,
        POWER_MODE=power_mode(power), HAS_LOG=int(log is not None), SAVE_MEL=int(save_mel),
        HAS_EXTREMA=int(floor is not None), BLOCK_F=BLOCK_FRAMES, BLOCK_K=BLOCK_BINS,
        BLOCK_M=BLOCK_MELS, num_warps=num_warps(BLOCK_FRAMES * BLOCK_MELS),
    )  # fmt: skip
    if floor is not None:
        floor_tiles(out, tile_max, tile_min, floor, BLOCK_FRAMES, BLOCK_MELS, launch)
    return out, saved


def saved_size(rows, n_mels, out_frames):
    """Elements of :func:`mel_power`'s saved buffer with a floor: y, tile maxima, minima."""
    tiles = triton.cdiv(out_frames, BLOCK_FRAMES) * triton.cdiv(n_mels, BLOCK_MELS)
    return rows * n_mels * out_frames + 2 * rows * tiles


def split_saved(saved, rows, n_mels, out_frames):
    """(y (rows, n_mels, out_frames), tile maxima (rows, tiles), tile minima) as views of
    :func:`mel_power`'s flat saved buffer (``save_mel`` with a ``floor``)."""
    size = rows * n_mels * out_frames
    tiles = (saved.numel() - size) // (2 * rows)
    mel = saved[:size].view(rows, n_mels, out_frames)
    extrema = saved[size:].view(2, rows, tiles)
    return mel, extrema[0], extrema[1]


def floor_backward(grad, mel, floor, log, peaks, tile_min=None, launch=lambda kernel: kernel):
    """The first pass of the floor's backward (see floor_backward_kernel) over dL/dout and
    y (rows, n_mels, out_frames), contiguous: ``floor`` = (dynamic_range, per_example),
    ``log`` = (multiplier, amin, offset, shift); ``peaks`` the forward's (rows, tiles)
    maxima of its (BLOCK_FRAMES, BLOCK_MELS) tiles before the floor with ``tile_min``
    their minima (only the tiles reaching the floor or the peak are read), or any
    (rows, n) maxima whose row maximum is the peak, without ``tile_min`` (every tile
    read). Returns the state :func:`mel_power_backward` takes as ``floor_state``."""
    dynamic_range, per_example = floor
    rows, n_mels, out_frames = grad.shape
    frame_blocks = triton.cdiv(out_frames, BLOCK_FRAMES)
    mel_blocks = triton.cdiv(n_mels, BLOCK_MELS)
    n_tiles = frame_blocks * mel_blocks
    tile_max = peaks
    if per_example:
        group_size, group_rows = peaks.shape[1], 1
    else:  # one peak for the batch: the (rows, n) maxima reduced first (NaN kept)
        peaks, group_size, group_rows = peaks.amax().reshape(1), 1, rows
    chunks = max(1, min(n_tiles, triton.cdiv(4 * sm_count(grad.device), rows)))
    tiles_per_program = triton.cdiv(n_tiles, chunks)
    chunks = triton.cdiv(n_tiles, tiles_per_program)
    flags = torch.empty((rows, n_tiles), dtype=torch.int8, device=grad.device)
    row_peak = grad.new_empty(rows)
    sums = grad.new_empty((rows, chunks))
    counts = torch.empty((rows, chunks), dtype=torch.int32, device=grad.device)
    launch(floor_backward_kernel)[(rows, chunks)](
        grad, mel, peaks, peaks if tile_min is None else tile_min, tile_max, flags, row_peak, sums,
        counts, out_frames, n_mels, frame_blocks, mel_blocks, tiles_per_program, group_size,
        group_rows, *log, dynamic_range, HAS_TILES=int(tile_min is not None),
        BLOCK_F=BLOCK_FRAMES, BLOCK_M=BLOCK_MELS, BLOCK_P=128,
        num_warps=num_warps(BLOCK_FRAMES * BLOCK_MELS),
    )  # fmt: skip
    share = grad.new_empty(rows)
    group_size, group_stride = (chunks, chunks) if per_example else (rows * chunks, 0)
    launch(floor_share_kernel)[(rows,)](
        sums, counts, share, group_size, group_stride, BLOCK_P=128, num_warps=1
    )
    return flags, row_peak, share, dynamic_range


def mel_power_backward(
    grad, mel, spec, fb, mel_ranges, power, log, n_fft=0, floor_state=None,
    launch=lambda kernel: kernel,
):  # fmt: skip
    """dL/dspec (like ``spec``) from dL/dout (rows, n_mels, out_frames), contiguous, with
    out_frames <= n_frames (the frames beyond get no gradient); ``mel`` is y before the
    log, like ``grad`` (read when ``log`` is not None). With ``n_fft`` > 0, ``spec`` is
    the rfft of n_fft-sample frames and the result is scaled by the rfft adjoint's bin
    weights (see above). ``floor_state`` (from :func:`floor_backward`; ``log`` then has
    the shift too): ``grad`` is dL/d(the floored output), the floor's backward applied."""
    rows, n_frames, n_freq, _ = spec.shape
    n_mels = fb.shape[1]
    grad_spec = torch.empty_like(spec)
    if grad_spec.numel() == 0:
        return grad_spec
    check_row_size(n_frames * n_freq * 2, n_mels * n_frames)
    log_multiplier, amin, offset, shift = log or (1.0, 0.0, 0.0, 0.0)
    if floor_state is None:
        flags, row_peak, share, dynamic_range = grad, grad, grad, 0.0
    else:
        flags, row_peak, share, dynamic_range = floor_state
    frame_blocks = triton.cdiv(n_frames, BLOCK_FRAMES)
    grid = (rows * frame_blocks, triton.cdiv(n_freq, BLOCK_BINS))
    launch(mel_power_backward_kernel)[grid](
        grad, grad if log is None else mel, spec, fb, mel_ranges, grad_spec, flags, row_peak,
        share, n_frames, grad.shape[-1], n_freq, n_mels, frame_blocks, power, log_multiplier,
        amin, offset, shift, dynamic_range, triton.cdiv(grad.shape[-1], BLOCK_FRAMES),
        triton.cdiv(n_mels, BLOCK_MELS),
        n_fft // 2 if n_fft > 0 and n_fft % 2 == 0 else -1, POWER_MODE=power_mode(power),
        HAS_LOG=int(log is not None), FLOOR=int(floor_state is not None),
        RFFT_ADJOINT=int(n_fft > 0), BLOCK_F=BLOCK_FRAMES, BLOCK_K=BLOCK_BINS,
        BLOCK_M=BLOCK_MELS, num_warps=num_warps(BLOCK_FRAMES * BLOCK_BINS),
    )  # fmt: skip
    return grad_spec


# The tensor arguments each kernel writes (everything else it only reads); the
# performance model (benchmarks/model) checks every launch against it.
WRITES = {
    "mel_power_kernel": ("OUT", "MEL", "TILE_MAX", "TILE_MIN"),
    "floor_tiles_kernel": ("OUT",),
    "mel_power_backward_kernel": ("GRAD_SPEC",),
    "floor_backward_kernel": ("FLAGS", "ROW_PEAK", "SUMS", "COUNTS"),
    "floor_share_kernel": ("PEAK_SHARE",),
}
