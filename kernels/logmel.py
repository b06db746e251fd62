"""Waveform to (log-)mel spectrogram in one kernel: the DFT as a matrix product.

Two forms: for an even n_fft the folded DFT (log_mel_fold_kernel, below: a quarter of the
dense products, all mel bands per program); for an odd one the dense form described here.

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


# --- the folded DFT (n_fft a multiple of 4) ---------------------------------------------
#
# With s[n] = x[n] * window[n], H = n_fft / 2 and Q = H / 2, the real input's symmetry
# folds the frame twice and the bins' parity splits the sums:
#     u[n] = s[n] + s[N - n], v[n] = s[n] - s[N - n]  (mirror N - n: none at n = 0, H)
#     Re X[k] = sum_{n <= H} u[n] cos(2 pi n k / N), |Im X[k]| = |sum v[n] sin(...)|;
# the pair (n, H - n) has cos(2 pi (H - n) k / N) = (-1)^k cos(...) and sin = -(-1)^k sin,
# so for k of parity q the sums run over n <= Q of u[n] + (-1)^q u[H - n] (cos) and
# v[n] - (-1)^q v[H - n] (sin) (partner H - n: none at n = Q); and split by the parity of
# n into E / O, the bins k and H - k share them: Re X[k] = Ec + Oc, Re X[H - k] = Ec - Oc,
# |Im X[k]| = |Es + Os|, |Im X[H - k]| = |Es - Os|, for k <= Q. Eight tl.dot of (frames x
# ~N / 8) by (~N / 8 x bins / 2) per chunk: an eighth of the dense DFT's products. Every
# frame is read through one pointer (frames that touch the centering pad read a small
# buffer of the padded edges that signal_edges_kernel writes), so no padding arithmetic
# runs per sample and no load is masked. The mel projection takes each bin block's four
# power tiles into the mel sub-blocks whose filters are non-zero there (FOLD_SUBS
# accumulators of FOLD_SUB_M bands: a program's mel group).

FOLD_BLOCK_F = 128
FOLD_BLOCK_N = 16
FOLD_BLOCK_K = 64
FOLD_SUB_M = 16
FOLD_SUBS = 8  # mel sub-blocks per program (128 bands); more bands: more programs
FOLD_WARPS = 16
FOLD_STAGES = 1  # no software pipelining of the loops' loads: registers, not latency, bind
EDGE_BLOCK = 256


@triton.jit
def signal_edges_kernel(
    X,  # pointer to the signal, (rows, n_time), last dim contiguous
    EDGE,  # pointer to the padded edges, (rows, edge_len), contiguous
    stride_x_row,
    n_time,
    pad,
    left,
    head_len,
    tail_start,
    edge_len,
    MODE: tl.constexpr,
    BLOCK: tl.constexpr,
):
    # the centered signal over [-left, head_len - left) then from tail_start on (the
    # padded coordinates of signal_index), a block of one row per program
    row = tl.program_id(0)
    e = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    u = tl.where(e < head_len, e - left, tail_start + e - head_len)
    t, valid = signal_index(u, n_time, pad, MODE)
    inside = e < edge_len
    value = tl.load(X + row.to(tl.int64) * stride_x_row + t, mask=inside & valid, other=0.0)
    tl.store(EDGE + row.to(tl.int64) * edge_len + e, value, mask=inside)


@triton.jit
def _fold_project(
    acc, sub, pa0, pb0, pa1, pb1, fb, fb_step, nz, nz_step, mel_subs,
    SUB_M: tl.constexpr, MEL_PRECISION: tl.constexpr,
):  # fmt: skip
    """acc (frames, SUB_M) of mel sub-block ``sub``, plus the bin block's power tiles (bins
    k = 2 j + q: pa_q, and H - k: pb_q) projected on its filters where these are non-zero:
    ``fb`` points at the block's rows in the first of the four tables (fb_step apart, in
    the order of the tiles here), ``nz`` at its flags (nz_step apart)."""
    if sub < mel_subs:
        fb += sub * SUB_M
        if tl.load(nz + sub) != 0:
            acc = tl.dot(pa0, tl.load(fb), acc, input_precision=MEL_PRECISION, out_dtype=acc.dtype)
        if tl.load(nz + nz_step + sub) != 0:
            acc = tl.dot(
                pb0, tl.load(fb + fb_step), acc, input_precision=MEL_PRECISION, out_dtype=acc.dtype
            )
        if tl.load(nz + 2 * nz_step + sub) != 0:
            acc = tl.dot(
                pa1,
                tl.load(fb + 2 * fb_step),
                acc,
                input_precision=MEL_PRECISION,
                out_dtype=acc.dtype,
            )
        if tl.load(nz + 3 * nz_step + sub) != 0:
            acc = tl.dot(
                pb1,
                tl.load(fb + 3 * fb_step),
                acc,
                input_precision=MEL_PRECISION,
                out_dtype=acc.dtype,
            )
    return acc


@triton.jit
def _fold_parity(
    frame, offs, win, basis, c0, c1, s0, s1, n_pad, step, dtype: tl.constexpr,
    PRECISION: tl.constexpr,
):  # fmt: skip
    """One chunk of the n of one parity: the samples at n, N - n, H - n and H + n (``offs`` /
    ``win``: their offsets and window values, n_pad apart), folded, times the chunk's cos /
    sin bases of the even and the odd k (``basis``: cos q = 0, cos q = 1, sin q = 0, sin
    q = 1, step apart), into the sums c0, c1 (cos) and s0, s1 (sin)."""
    p1 = tl.load(frame + tl.load(offs)[None, :]).to(dtype) * tl.load(win)[None, :]
    p2 = tl.load(frame + tl.load(offs + n_pad)[None, :]).to(dtype) * tl.load(win + n_pad)[None, :]
    u = p1 + p2
    v = p1 - p2
    offs += 2 * n_pad
    win += 2 * n_pad
    p3 = tl.load(frame + tl.load(offs)[None, :]).to(dtype) * tl.load(win)[None, :]
    p4 = tl.load(frame + tl.load(offs + n_pad)[None, :]).to(dtype) * tl.load(win + n_pad)[None, :]
    u_partner = p3 + p4
    v_partner = p3 - p4
    c0 = tl.dot(u + u_partner, tl.load(basis), c0, input_precision=PRECISION, out_dtype=c0.dtype)
    c1 = tl.dot(
        u - u_partner, tl.load(basis + step), c1, input_precision=PRECISION, out_dtype=c1.dtype
    )
    s0 = tl.dot(
        v - v_partner, tl.load(basis + 2 * step), s0, input_precision=PRECISION, out_dtype=s0.dtype
    )
    s1 = tl.dot(
        v + v_partner, tl.load(basis + 3 * step), s1, input_precision=PRECISION, out_dtype=s1.dtype
    )
    return c0, c1, s0, s1


@triton.jit
def _fold_store(
    OUT, MEL, y, sub, offsets, in_frames, n_mels, log_multiplier, amin, offset, shift,
    out_frames, SUB_M: tl.constexpr, HAS_LOG: tl.constexpr, SAVE_MEL: tl.constexpr,
):  # fmt: skip
    """Store mel sub-block ``sub`` of y (frames, SUB_M) at ``offsets`` (of its first band,
    in the row's plane): its log with HAS_LOG into OUT, y itself into MEL with SAVE_MEL.
    Returns what OUT got, NaN-free (-inf / inf where masked or NaN) for the maximum and the
    minimum, and where it holds a NaN."""
    m = sub * SUB_M + tl.arange(0, SUB_M)
    mask = in_frames[:, None] & (m < n_mels)[None, :]
    start = sub * SUB_M * out_frames
    if SAVE_MEL:
        tl.store(MEL + start + offsets, y, mask=mask)
    if HAS_LOG:  # NaN-propagating max(y, amin): NaN in, NaN out (not the floor)
        y = log_multiplier * tl.log(tl.maximum(y, amin, tl.PropagateNan.ALL) + offset) - shift
    tl.store(OUT + start + offsets, y, mask=mask)
    valid = mask & (y == y)
    return tl.where(valid, y, float("-inf")), tl.where(valid, y, float("inf")), mask & (y != y)


@triton.jit
def log_mel_fold_kernel(
    X,  # pointer to the signal, (rows, n_time), last dim contiguous
    EDGE,  # pointer to the padded edges, (rows, edge_len), contiguous
    OFFS,  # pointer to int32 (8, n_pad) frame offsets: n, N - n, H - n, H + n of even n,
    # then of odd n (n = 2 i + parity)
    WIN,  # pointer to the window at those offsets (0 where unused), (8, n_pad)
    BASIS,  # pointer to (8, n_pad, k_pad): per parity of n, cos (k = 2 j, 2 j + 1), sin (same)
    FB,  # pointer to (4, k_pad, mel_pad): the filterbank's rows 2 j, H - 2 j, 2 j + 1, H - 2 j - 1
    NZ,  # pointer to int32 (4, k_blocks, mel_subs): whether each FB block is non-zero
    OUT,  # pointer to the output, (rows, n_mels, out_frames), contiguous
    MEL,  # pointer to y before the log, like OUT (written when SAVE_MEL)
    TILE_MAX,  # pointer to each tile's maximum, (rows, tiles) (written when HAS_EXTREMA)
    TILE_MIN,  # pointer to each tile's minimum, like TILE_MAX
    stride_x_row,
    edge_len,
    head_frames,
    tail_frame,
    head_len,
    hop,
    signal_start,
    n_pad,
    k_pad,
    k_blocks,
    mel_pad,
    mel_subs,
    out_frames,
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
    PRECISION: tl.constexpr,
    MEL_PRECISION: tl.constexpr,
    BLOCK_F: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
    SUB_M: tl.constexpr,
    SUBS: tl.constexpr,
):
    # int32 index math within a row (the launcher checked the sizes), the rows' in int64;
    # the offset tiles computed once, the loops advance pointers by scalars
    pid = tl.program_id(0)
    group = tl.program_id(1)
    row = pid // frame_blocks
    f = (pid % frame_blocks) * BLOCK_F + tl.arange(0, BLOCK_F)
    fe = tl.minimum(f, out_frames - 1)  # frames past the end read the last (not stored)
    # one pointer per frame: into the head or tail edge buffer, or into the signal
    edge = EDGE + row.to(tl.int64) * edge_len
    in_tail = edge + (head_len + (fe - tail_frame) * hop)
    in_signal = X + row.to(tl.int64) * stride_x_row + (fe * hop + signal_start)
    frame = tl.where(fe >= tail_frame, in_tail, in_signal)
    frame = tl.where(fe < head_frames, edge + fe * hop, frame)[:, None]
    dtype = BASIS.dtype.element_ty
    acc0 = tl.zeros([BLOCK_F, SUB_M], dtype=dtype)
    acc1 = tl.zeros([BLOCK_F, SUB_M], dtype=dtype)
    acc2 = tl.zeros([BLOCK_F, SUB_M], dtype=dtype)
    acc3 = tl.zeros([BLOCK_F, SUB_M], dtype=dtype)
    acc4 = tl.zeros([BLOCK_F, SUB_M], dtype=dtype)
    acc5 = tl.zeros([BLOCK_F, SUB_M], dtype=dtype)
    acc6 = tl.zeros([BLOCK_F, SUB_M], dtype=dtype)
    acc7 = tl.zeros([BLOCK_F, SUB_M], dtype=dtype)
    # loop-invariant scalars and offset tiles computed once; the loops advance pointers
    lanes = tl.arange(0, BLOCK_N)
    offs0 = OFFS + lanes
    win0 = WIN + lanes
    odd_streams = 4 * n_pad
    step = n_pad * k_pad
    odd_bases = 4 * step
    basis_chunk = BLOCK_N * k_pad
    basis_block = BASIS + (lanes[:, None] * k_pad + tl.arange(0, BLOCK_K)[None, :])
    fb_offsets = tl.arange(0, BLOCK_K)[:, None] * mel_pad + tl.arange(0, SUB_M)[None, :]
    fb = FB + fb_offsets
    fb_step = k_pad * mel_pad
    fb_block = BLOCK_K * mel_pad
    nz = NZ
    nz_step = k_blocks * mel_subs
    sub = group * SUBS
    for _ in range(0, k_blocks):
        ce0 = tl.zeros([BLOCK_F, BLOCK_K], dtype=dtype)
        ce1 = tl.zeros([BLOCK_F, BLOCK_K], dtype=dtype)
        se0 = tl.zeros([BLOCK_F, BLOCK_K], dtype=dtype)
        se1 = tl.zeros([BLOCK_F, BLOCK_K], dtype=dtype)
        co0 = tl.zeros([BLOCK_F, BLOCK_K], dtype=dtype)
        co1 = tl.zeros([BLOCK_F, BLOCK_K], dtype=dtype)
        so0 = tl.zeros([BLOCK_F, BLOCK_K], dtype=dtype)
        so1 = tl.zeros([BLOCK_F, BLOCK_K], dtype=dtype)
        offs, win, basis = offs0, win0, basis_block
        for _ in range(0, n_pad, BLOCK_N):
            ce0, ce1, se0, se1 = _fold_parity(frame, offs, win, basis, ce0, ce1, se0, se1,
                                              n_pad, step, dtype, PRECISION)  # fmt: skip
            co0, co1, so0, so1 = _fold_parity(
                frame, offs + odd_streams, win + odd_streams, basis + odd_bases, co0, co1, so0,
                so1, n_pad, step, dtype, PRECISION,
            )  # fmt: skip
            offs += BLOCK_N
            win += BLOCK_N
            basis += basis_chunk
        pa0 = magnitude_power(ce0 + co0, se0 + so0, power, POWER_MODE)  # bins 2 j
        pb0 = magnitude_power(ce0 - co0, se0 - so0, power, POWER_MODE)  # bins H - 2 j
        pa1 = magnitude_power(ce1 + co1, se1 + so1, power, POWER_MODE)  # bins 2 j + 1
        pb1 = magnitude_power(ce1 - co1, se1 - so1, power, POWER_MODE)  # bins H - 2 j - 1
        tables = (pa0, pb0, pa1, pb1, fb, fb_step, nz, nz_step, mel_subs)
        acc0 = _fold_project(acc0, sub, *tables, SUB_M, MEL_PRECISION)
        if SUBS > 1:
            acc1 = _fold_project(acc1, sub + 1, *tables, SUB_M, MEL_PRECISION)
        if SUBS > 2:
            acc2 = _fold_project(acc2, sub + 2, *tables, SUB_M, MEL_PRECISION)
        if SUBS > 3:
            acc3 = _fold_project(acc3, sub + 3, *tables, SUB_M, MEL_PRECISION)
        if SUBS > 4:
            acc4 = _fold_project(acc4, sub + 4, *tables, SUB_M, MEL_PRECISION)
        if SUBS > 5:
            acc5 = _fold_project(acc5, sub + 5, *tables, SUB_M, MEL_PRECISION)
        if SUBS > 6:
            acc6 = _fold_project(acc6, sub + 6, *tables, SUB_M, MEL_PRECISION)
        if SUBS > 7:
            acc7 = _fold_project(acc7, sub + 7, *tables, SUB_M, MEL_PRECISION)
        basis_block += BLOCK_K
        fb += fb_block
        nz += mel_subs
    # the stores, and the group's extrema merged elementwise over its sub-blocks
    in_frames = f < out_frames
    plane = row.to(tl.int64) * n_mels * out_frames
    OUT += plane
    MEL += plane
    offsets = tl.arange(0, SUB_M)[None, :] * out_frames + f[:, None]
    rest = (offsets, in_frames, n_mels, log_multiplier, amin, offset, shift, out_frames)
    peak, low, nan = _fold_store(OUT, MEL, acc0, sub, *rest, SUB_M, HAS_LOG, SAVE_MEL)
    if SUBS > 1:
        p, lo, n = _fold_store(OUT, MEL, acc1, sub + 1, *rest, SUB_M, HAS_LOG, SAVE_MEL)
        peak, low, nan = tl.maximum(peak, p), tl.minimum(low, lo), nan | n
    if SUBS > 2:
        p, lo, n = _fold_store(OUT, MEL, acc2, sub + 2, *rest, SUB_M, HAS_LOG, SAVE_MEL)
        peak, low, nan = tl.maximum(peak, p), tl.minimum(low, lo), nan | n
    if SUBS > 3:
        p, lo, n = _fold_store(OUT, MEL, acc3, sub + 3, *rest, SUB_M, HAS_LOG, SAVE_MEL)
        peak, low, nan = tl.maximum(peak, p), tl.minimum(low, lo), nan | n
    if SUBS > 4:
        p, lo, n = _fold_store(OUT, MEL, acc4, sub + 4, *rest, SUB_M, HAS_LOG, SAVE_MEL)
        peak, low, nan = tl.maximum(peak, p), tl.minimum(low, lo), nan | n
    if SUBS > 5:
        p, lo, n = _fold_store(OUT, MEL, acc5, sub + 5, *rest, SUB_M, HAS_LOG, SAVE_MEL)
        peak, low, nan = tl.maximum(peak, p), tl.minimum(low, lo), nan | n
    if SUBS > 6:
        p, lo, n = _fold_store(OUT, MEL, acc6, sub + 6, *rest, SUB_M, HAS_LOG, SAVE_MEL)
        peak, low, nan = tl.maximum(peak, p), tl.minimum(low, lo), nan | n
    if SUBS > 7:
        p, lo, n = _fold_store(OUT, MEL, acc7, sub + 7, *rest, SUB_M, HAS_LOG, SAVE_MEL)
        peak, low, nan = tl.maximum(peak, p), tl.minimum(low, lo), nan | n
    if HAS_EXTREMA:  # tile (frame block, mel group), as floor_tiles reads them
        has_nan = tl.max(tl.where(nan, 1, 0)) > 0
        tile = row.to(tl.int64) * frame_blocks * tl.num_programs(1)
        tile += (pid % frame_blocks) * tl.num_programs(1) + group
        tl.store(TILE_MAX + tile, tl.where(has_nan, float("nan"), tl.max(peak)))
        tl.store(TILE_MIN + tile, tl.where(has_nan, float("nan"), tl.min(low)))


def fold_bases(window, n_fft, block_n=FOLD_BLOCK_N, block_k=FOLD_BLOCK_K):
    """The folded DFT's tables for ``n_fft`` a multiple of 4, from ``window`` (n_fft,):
    (offsets (8, n_pad) int32, windows (8, n_pad), bases (8, n_pad, k_pad)) in the order
    of log_mel_fold_kernel's arguments, rows padded with zeros (unused offsets point at the
    frame's first sample, with a zero window); the bases computed in float64, stored in the
    window's dtype."""
    device, dtype = window.device, window.dtype
    half = n_fft // 2
    quarter = half // 2
    n_pad = triton.cdiv(quarter // 2 + 1, block_n) * block_n
    k_pad = triton.cdiv(quarter // 2 + 1, block_k) * block_k
    i = torch.arange(n_pad, device=device)
    j = torch.arange(k_pad, device=device)
    w = window.to(torch.float64)
    offsets, windows, bases = [], [], []
    for parity in (0, 1):
        n = 2 * i + parity
        used = n <= quarter
        partnered = used & (n < quarter)
        streams = (  # offset, where it is a sample
            (n, used),
            (n_fft - n, used & (n > 0)),
            (half - n, partnered),
            (half + n, partnered & (n > 0)),
        )
        for offset, valid in streams:
            offset = torch.where(valid, offset, 0)
            offsets.append(offset)
            windows.append(torch.where(valid, w[offset], 0.0))
        for trig in (torch.cos, torch.sin):
            for q in (0, 1):
                k = 2 * j + q
                # (n * k) mod n_fft keeps the angle small and exact before the float64 multiply
                angle = (2 * torch.pi / n_fft) * torch.remainder(n[:, None] * k, n_fft).double()
                keep = used[:, None] & (k <= quarter)[None, :]
                bases.append(torch.where(keep, trig(angle), 0.0))
    offsets = torch.stack(offsets).to(torch.int32).contiguous()
    windows = torch.stack(windows).to(dtype).contiguous()
    bases = torch.stack(bases).to(dtype).contiguous()
    return offsets, windows, bases


def fold_filterbank(fb, block_k=FOLD_BLOCK_K, sub_m=FOLD_SUB_M):
    """The filterbank (n_freq, n_mels) of n_fft = 2 (n_freq - 1), a multiple of 4, for the
    folded DFT: (tables (4, k_pad, mel_pad): its rows 2 j, H - 2 j, 2 j + 1, H - 2 j - 1
    (zero past H / 2 and where H - k = k), (4, k_blocks, mel_subs) int32 non-zero flags of
    their (block_k, sub_m) blocks); computed on the device, no sync."""
    n_freq, n_mels = fb.shape
    half = n_freq - 1
    quarter = half // 2
    k_pad = triton.cdiv(quarter // 2 + 1, block_k) * block_k
    mel_pad = triton.cdiv(n_mels, sub_m) * sub_m
    j = torch.arange(k_pad, device=fb.device)
    tables = fb.new_zeros(4, k_pad, mel_pad)
    for q in (0, 1):
        k = 2 * j + q
        used = k <= quarter
        bins = torch.where(used, k, 0)
        tables[2 * q, :, :n_mels] = fb[bins] * used.to(fb.dtype)[:, None]
        mirrored = used & (half - k != k)
        tables[2 * q + 1, :, :n_mels] = fb[half - bins] * mirrored.to(fb.dtype)[:, None]
    blocks = (4, k_pad // block_k, block_k, mel_pad // sub_m, sub_m)
    nonzero = (tables.reshape(blocks) != 0).any(dim=4).any(dim=2)
    return tables.contiguous(), nonzero.to(torch.int32).contiguous()


def edge_layout(n_time, n_fft, hop, pad, left, out_frames):
    """(head_frames, tail_frame, head_len, tail_start, edge_len) of the folded kernel's edge
    buffer: frames [0, head_frames) read the centered signal's first head_len samples,
    frames from tail_frame on the samples from tail_start (padded coordinates); frames in
    between lie inside the signal."""
    head_frames = min(out_frames, triton.cdiv(left + pad, hop))
    head_len = (head_frames - 1) * hop + n_fft if head_frames else 0
    last_inside = n_time + left + pad - n_fft  # frames with f * hop <= this end inside
    tail_frame = last_inside // hop + 1 if last_inside >= 0 else 0
    tail_frame = min(max(tail_frame, head_frames), out_frames)
    tail_len = (out_frames - 1 - tail_frame) * hop + n_fft if out_frames > tail_frame else 0
    tail_start = tail_frame * hop - left
    return head_frames, tail_frame, head_len, tail_start, head_len + tail_len


def log_mel_fold(
    x, window, tables, fb_tables, n_mels, hop, pad, left, mode, power, log, save_mel,
    precision, drop_last=False, floor=None, launch=lambda kernel: kernel,
):  # fmt: skip
    """As :func:`log_mel_dft` for n_fft = window.shape[0] a multiple of 4, through the folded DFT:
    ``tables`` from :func:`fold_bases`, ``fb_tables`` from :func:`fold_filterbank`."""
    offsets, windows, bases = tables
    fb, nonzero = fb_tables
    rows, n_time = x.shape
    n_fft = window.shape[0]
    n_pad, k_pad = bases.shape[1:]
    mel_pad = fb.shape[2]
    n_frames = frame_count(n_time, n_fft, hop, pad, left) - int(bool(drop_last))
    n_frames = max(n_frames, 0)
    out = torch.empty((rows, n_mels, n_frames), dtype=bases.dtype, device=x.device)
    mel = torch.empty_like(out) if save_mel else out.new_empty(0)
    if out.numel() == 0:
        return out, mel
    check_row_size(n_mels * n_frames, n_time + 2 * pad + 2 * left + n_fft)
    head_frames, tail_frame, head_len, tail_start, edge_len = edge_layout(
        n_time, n_fft, hop, pad, left, n_frames
    )
    edge = x.new_empty((rows, edge_len)) if edge_len else x
    if edge_len:
        grid = (rows, triton.cdiv(edge_len, EDGE_BLOCK))
        launch(signal_edges_kernel)[grid](
            x, edge, x.stride(0), n_time, pad, left, head_len, tail_start, edge_len,
            MODE=mode, BLOCK=EDGE_BLOCK, num_warps=num_warps(EDGE_BLOCK),
        )  # fmt: skip
    log_multiplier, amin, offset, shift = log or (1.0, 0.0, 0.0, 0.0)
    frame_blocks = triton.cdiv(n_frames, FOLD_BLOCK_F)
    mel_subs = mel_pad // FOLD_SUB_M
    subs = min(FOLD_SUBS, mel_subs)
    groups = triton.cdiv(mel_subs, subs)
    # the floor's tiles are the mel groups (one when subs < FOLD_SUBS), in a power of two
    group_block = triton.next_power_of_2(FOLD_SUB_M * subs)
    tile_max, tile_min = (
        tile_extrema(rows, n_frames, n_mels, FOLD_BLOCK_F, group_block, out)
        if floor is not None
        else (out, out)
    )
    mel_precision = "ieee" if precision == "ieee" else "tf32x3"
    launch(log_mel_fold_kernel)[(rows * frame_blocks, groups)](
        x, edge, offsets, windows, bases, fb, nonzero, out, mel, tile_max, tile_min,
        x.stride(0), edge_len, head_frames, tail_frame, head_len, hop, -left - pad, n_pad,
        k_pad, k_pad // FOLD_BLOCK_K, mel_pad, mel_subs, n_frames, n_mels, frame_blocks,
        power, log_multiplier, amin, offset, shift, POWER_MODE=power_mode(power),
        HAS_LOG=int(log is not None), SAVE_MEL=int(save_mel), HAS_EXTREMA=int(floor is not None),
        PRECISION=precision, MEL_PRECISION=mel_precision, BLOCK_F=FOLD_BLOCK_F,
        BLOCK_N=FOLD_BLOCK_N, BLOCK_K=FOLD_BLOCK_K, SUB_M=FOLD_SUB_M, SUBS=subs,
        num_warps=FOLD_WARPS, num_stages=FOLD_STAGES,
    )  # fmt: skip
    if floor is not None:
        floor_tiles(out, tile_max, tile_min, floor, FOLD_BLOCK_F, group_block, launch)
    return out, mel


# The tensor arguments each kernel writes (everything else it only reads); the
# performance model (benchmarks/model) checks every launch against it.
WRITES = {
    "log_mel_dft_kernel": ("OUT", "MEL", "TILE_MAX", "TILE_MIN"),
    "log_mel_fold_kernel": ("OUT", "MEL", "TILE_MAX", "TILE_MIN"),
    "signal_edges_kernel": ("EDGE",),
}
