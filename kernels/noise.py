"""Mixing kernels: a gain applied to every row, and noise added at a signal-to-noise ratio.

add_noise (torchaudio.functional.add_noise) in two launches: one reads the signal and the
noise once to reduce both energies per (row, block) over each row's first ``length``
samples; the second reduces its row's partial energies itself, computes the row's noise
scale from them and the SNR, and writes ``waveform + scale * noise``. Its backward is two
launches too: partial sums of ``grad * noise``, then one writing both input gradients (and
the SNR's) with the coefficients computed in the kernel from both sets of partials.
Nothing runs between the launches and nothing is read back to the host.

White noise is generated in every pass instead of loaded: Philox-4x32-10 keyed by
``seed + row`` at counter ``t // 4`` gives four normals (both Box-Muller outputs of two
pairs) for samples ``4 * (t // 4) ... + 3``, whatever the block size.
"""

import math

import numpy
import torch
import triton
import triton.language as tl

from tritaudio._common import compute_dtype as compute_dtype_of

from .launch import num_warps, row_blocks


@triton.jit(do_not_specialize=["factor_hi", "factor_lo"])
def scale_rows_kernel(
    X,  # pointer to the input, (rows, time), last dim contiguous
    Y,  # pointer to the output, (rows, time), contiguous
    factor_hi,  # the factor rounded to float32 (Python floats reach a kernel as float32)
    factor_lo,  # factor - factor_hi, rounded to float32: float64 input gets 48 bits
    stride_x_row,
    n_time,
    blocks_per_row,
    BLOCK: tl.constexpr,
):
    # y = factor * x (factor a scalar argument: no device copy of it); one program per
    # BLOCK samples of one row. The grid is 1-D so that neither the row count nor the
    # length runs into the 65535 limit of grid dims 1 and 2.
    pid = tl.program_id(0).to(tl.int64)
    row = pid // blocks_per_row
    cols = (pid % blocks_per_row) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < n_time
    x = tl.load(X + row * stride_x_row + cols, mask=mask, other=0.0)
    if X.dtype.element_ty == tl.float64:
        y = x * factor_hi + x * factor_lo
    else:
        y = x.to(tl.float32) * factor_hi
    tl.store(Y + row * n_time + cols, y.to(Y.dtype.element_ty), mask=mask)


def split_float(value):
    """``value`` as two float32 numbers whose sum is ``value`` to 48 bits."""
    hi = float(numpy.float32(value))
    return hi, float(numpy.float32(value - hi)) if math.isfinite(hi) else 0.0


def scale_rows(x, factor, launch=lambda kernel: kernel):
    """``factor * x`` for a 2-D ``x`` whose last dim is contiguous; returns a new tensor.

    Computed in float32 (float64 for float64 input). ``launch`` wraps the kernel before
    its grid is applied (``torch.library.wrap_triton`` inside a ``triton_op``).
    """
    rows, n_time = x.shape
    y = torch.empty((rows, n_time), dtype=x.dtype, device=x.device)
    if y.numel() == 0:
        return y
    block, blocks_per_row, grid = row_blocks(rows, n_time, x.device)
    launch(scale_rows_kernel)[grid](
        x,
        y,
        *split_float(factor),
        x.stride(0),
        n_time,
        blocks_per_row,
        BLOCK=block,
        num_warps=num_warps(block),
    )
    return y


@triton.jit
def _white_noise(key, start, BLOCK: tl.constexpr):
    # BLOCK normals for samples start .. start + BLOCK - 1 (start a multiple of 4): one
    # Philox call per 4 samples, all four of its outputs, both normals of each pair.
    groups = (start // 4).to(tl.int32) + tl.arange(0, BLOCK // 4)
    n0, n1, n2, n3 = tl.randn4x(key, groups)
    return tl.reshape(tl.join(tl.join(n0, n1), tl.join(n2, n3)), (BLOCK,))


@triton.jit
def _noise_block(
    N, SEED, row, stride_n_row, start, cols, mask, GENERATE: tl.constexpr, BLOCK: tl.constexpr
):
    # The noise of one block of a row: loaded, or white noise regenerated from the seed so
    # that every pass (and the backward) sees the same samples without storing them.
    if GENERATE:
        key = tl.load(SEED).to(tl.int64) + row
        noise = tl.where(mask, _white_noise(key, start, BLOCK), 0.0)
    else:
        noise = tl.load(N + row * stride_n_row + cols, mask=mask, other=0.0)
    return noise


@triton.jit
def _row_length(LENGTHS, row, stride_lengths, n_time, HAS_LENGTHS: tl.constexpr):
    # Samples counted in the energies: torchaudio counts t < lengths[row] (any value).
    # Floating-point lengths count ceil(length) samples, NaN none.
    if HAS_LENGTHS:
        length = tl.load(LENGTHS + row * stride_lengths)
        if LENGTHS.dtype.element_ty.is_floating():
            length = tl.minimum(tl.maximum(length.to(tl.float64), -1.0), 4.0e18)
            length = tl.where(length == length, tl.ceil(length), 0.0)
        length = length.to(tl.int64)
    else:
        length = n_time
    return length


@triton.jit
def _row_sum(P, n_blocks, BLOCK_P: tl.constexpr):
    # sum of P[0 .. n_blocks) in a fixed order (every program of a row gets the same sum)
    acc = tl.zeros((BLOCK_P,), dtype=P.dtype.element_ty)
    for first in range(0, n_blocks, BLOCK_P):
        offsets = first + tl.arange(0, BLOCK_P)
        acc += tl.load(P + offsets, mask=offsets < n_blocks, other=0.0)
    return tl.sum(acc, axis=0)


@triton.jit
def _noise_scale(PARTIALS, SNR, row, stride_snr, n_rows, blocks_per_row, BLOCK_P: tl.constexpr):
    # torchaudio's 10 ** ((10 log10(Es / En) - snr) / 20) from the row's partial energies,
    # and 0 where an energy is 0 (the clean row); returns (scale, Es, En).
    energy_signal = _row_sum(PARTIALS + row * blocks_per_row, blocks_per_row, BLOCK_P)
    energy_noise = _row_sum(PARTIALS + (n_rows + row) * blocks_per_row, blocks_per_row, BLOCK_P)
    counted = (energy_signal > 0) & (energy_noise > 0)
    signal = tl.where(counted, energy_signal, 1.0)
    noise = tl.where(counted, energy_noise, 1.0)
    snr = tl.load(SNR + row * stride_snr).to(signal.dtype)
    ln10 = 2.302585092994046
    original_snr_db = 10 * (tl.log(signal) / ln10 - tl.log(noise) / ln10)
    scale = tl.exp((original_snr_db - snr) / 20.0 * ln10)
    return tl.where(counted, scale, 0.0), signal, noise


@triton.jit
def energies_kernel(
    W,  # pointer to the signal, (rows, time), last dim contiguous
    N,  # pointer to the noise, (rows, time), last dim contiguous (row stride may be 0)
    SEED,  # pointer to the white noise's seed (one integer), when GENERATE
    LENGTHS,  # pointer to the samples counted per row (row stride may be 0), when HAS_LENGTHS
    PARTIALS,  # pointer to the partial energies, (2, rows, blocks_per_row), compute dtype
    stride_w_row,
    stride_n_row,
    stride_lengths,
    n_rows,
    n_time,
    blocks_per_row,
    GENERATE: tl.constexpr,
    HAS_LENGTHS: tl.constexpr,
    BLOCK: tl.constexpr,
):
    # partials[0, row, b] = sum of w^2 and partials[1, row, b] = sum of n^2 over block b
    # of the row, counting samples t < lengths[row]. Reduced over b in a fixed order by the
    # next kernel: results do not depend on scheduling (no atomics).
    pid = tl.program_id(0).to(tl.int64)
    row = pid // blocks_per_row
    block = pid % blocks_per_row
    start = block * BLOCK
    cols = start + tl.arange(0, BLOCK)
    length = _row_length(LENGTHS, row, stride_lengths, n_time, HAS_LENGTHS)
    mask = (cols < n_time) & (cols < length)
    acc_dtype = PARTIALS.dtype.element_ty
    w = tl.load(W + row * stride_w_row + cols, mask=mask, other=0.0).to(acc_dtype)
    n = _noise_block(N, SEED, row, stride_n_row, start, cols, mask, GENERATE, BLOCK)
    n = n.to(acc_dtype)
    tl.store(PARTIALS + row * blocks_per_row + block, tl.sum(w * w, axis=0))
    tl.store(PARTIALS + (n_rows + row) * blocks_per_row + block, tl.sum(n * n, axis=0))


@triton.jit
def add_scaled_noise_kernel(
    W,  # pointer to the signal, (rows, time), last dim contiguous
    N,  # pointer to the noise, (rows, time), last dim contiguous (row stride may be 0)
    SEED,  # pointer to the white noise's seed (one integer), when GENERATE
    SNR,  # pointer to the SNR per row in dB, any real dtype (row stride may be 0)
    PARTIALS,  # pointer to energies_kernel's partial energies, (2, rows, blocks_per_row)
    Y,  # pointer to the output, (rows, time), contiguous
    stride_w_row,
    stride_n_row,
    stride_snr,
    n_rows,
    n_time,
    blocks_per_row,
    GENERATE: tl.constexpr,
    BLOCK: tl.constexpr,
    BLOCK_P: tl.constexpr,
):
    # y = w + scale[row] * n, the scale computed here from the row's partials
    pid = tl.program_id(0).to(tl.int64)
    row = pid // blocks_per_row
    start = (pid % blocks_per_row) * BLOCK
    cols = start + tl.arange(0, BLOCK)
    mask = cols < n_time
    scale, _, _ = _noise_scale(PARTIALS, SNR, row, stride_snr, n_rows, blocks_per_row, BLOCK_P)
    w = tl.load(W + row * stride_w_row + cols, mask=mask, other=0.0).to(scale.dtype)
    n = _noise_block(N, SEED, row, stride_n_row, start, cols, mask, GENERATE, BLOCK)
    y = w + scale * n.to(scale.dtype)
    tl.store(Y + row * n_time + cols, y.to(Y.dtype.element_ty), mask=mask)


@triton.jit
def dot_kernel(
    G,  # pointer to the output's gradient, (rows, time), last dim contiguous
    N,  # pointer to the noise, (rows, time), last dim contiguous (row stride may be 0)
    SEED,  # pointer to the white noise's seed (one integer), when GENERATE
    PARTIALS,  # pointer to the partial sums, (rows, blocks_per_row), compute dtype
    stride_g_row,
    stride_n_row,
    n_time,
    blocks_per_row,
    GENERATE: tl.constexpr,
    BLOCK: tl.constexpr,
):
    # partials[row, b] = sum of g * n over block b of the row (all samples: the noise is
    # added over the whole row, only its energy is measured over the first length samples)
    pid = tl.program_id(0).to(tl.int64)
    row = pid // blocks_per_row
    start = (pid % blocks_per_row) * BLOCK
    cols = start + tl.arange(0, BLOCK)
    mask = cols < n_time
    acc_dtype = PARTIALS.dtype.element_ty
    g = tl.load(G + row * stride_g_row + cols, mask=mask, other=0.0).to(acc_dtype)
    n = _noise_block(N, SEED, row, stride_n_row, start, cols, mask, GENERATE, BLOCK)
    tl.store(PARTIALS + pid, tl.sum(g * n.to(acc_dtype), axis=0))


@triton.jit
def add_noise_backward_kernel(
    G,  # pointer to the output's gradient, (rows, time), last dim contiguous
    W,  # pointer to the signal, (rows, time), last dim contiguous
    N,  # pointer to the noise, (rows, time), last dim contiguous (row stride may be 0)
    SEED,  # pointer to the white noise's seed (one integer), when GENERATE
    SNR,  # pointer to the SNR per row in dB (row stride may be 0)
    LENGTHS,  # pointer to the samples counted per row (row stride may be 0), when HAS_LENGTHS
    PARTIALS,  # pointer to the forward's partial energies, (2, rows, blocks_per_row)
    DOTS,  # pointer to dot_kernel's partial sums, (rows, blocks_per_row)
    GW,  # pointer to the signal's gradient, (rows, time), contiguous
    GN,  # pointer to the noise's gradient, (rows, time), contiguous (unused when GENERATE)
    GSNR,  # pointer to the SNR's gradient, (rows,), compute dtype
    stride_g_row,
    stride_w_row,
    stride_n_row,
    stride_snr,
    stride_lengths,
    n_rows,
    n_time,
    blocks_per_row,
    GENERATE: tl.constexpr,
    HAS_LENGTHS: tl.constexpr,
    BLOCK: tl.constexpr,
    BLOCK_P: tl.constexpr,
):
    # With scale = sqrt(Es / En) * 10^(-snr / 20) and d = sum(g * n):
    #   gw = g + (d * scale / Es) * w * counted,   gn = scale * g - (d * scale / En) * n * counted,
    #   gsnr = -ln(10) / 20 * d * scale,
    # counted marking t < lengths[row]. Generated noise has no gradient: GN is not written.
    pid = tl.program_id(0).to(tl.int64)
    row = pid // blocks_per_row
    block = pid % blocks_per_row
    start = block * BLOCK
    cols = start + tl.arange(0, BLOCK)
    mask = cols < n_time
    scale, signal, noise = _noise_scale(
        PARTIALS, SNR, row, stride_snr, n_rows, blocks_per_row, BLOCK_P
    )
    dot = _row_sum(DOTS + row * blocks_per_row, blocks_per_row, BLOCK_P)
    if block == 0:
        tl.store(GSNR + row, -0.11512925464970229 * dot * scale)
    counted = cols < _row_length(LENGTHS, row, stride_lengths, n_time, HAS_LENGTHS)
    coeff_w = tl.where(counted, dot * scale / signal, 0.0)
    g = tl.load(G + row * stride_g_row + cols, mask=mask, other=0.0).to(scale.dtype)
    w = tl.load(W + row * stride_w_row + cols, mask=mask, other=0.0).to(scale.dtype)
    tl.store(GW + row * n_time + cols, (g + coeff_w * w).to(GW.dtype.element_ty), mask=mask)
    if not GENERATE:
        coeff_n = tl.where(counted, dot * scale / noise, 0.0)
        n = tl.load(N + row * stride_n_row + cols, mask=mask, other=0.0).to(scale.dtype)
        gn = scale * g - coeff_n * n
        tl.store(GN + row * n_time + cols, gn.to(GN.dtype.element_ty), mask=mask)


BLOCK_P = 64  # partial sums reduced per step by the second kernel of each pair


def _noise_args(w, n, seed):
    """(noise pointer, its row stride, seed pointer, GENERATE) for a loaded noise ``n`` or
    (``n`` None) the white noise of the one-element integer tensor ``seed``."""
    if n is None:
        return w, 0, seed, 1
    return n, n.stride(0), w, 0


def _lengths_args(w, lengths):
    """(lengths pointer, its stride, HAS_LENGTHS) for (rows,) ``lengths`` or None (all)."""
    if lengths is None:
        return w, 0, 0
    return lengths, lengths.stride(0), 1


def add_noise(w, n, snr, lengths, seed=None, launch=lambda kernel: kernel):
    """``w + scale[:, None] * noise`` for (rows, time) ``w``, the scale giving ``snr`` dB
    over the first ``lengths`` samples; returns (mixed, partial energies (2, rows, blocks)).

    ``n`` is (rows, time) with its last dim contiguous (row stride may be 0), or None:
    white noise from the one-element integer tensor ``seed``. ``snr`` and ``lengths``
    (rows,), any real dtype (``lengths`` None: every sample). Two launches.
    """
    rows, n_time = w.shape
    compute_dtype = compute_dtype_of(w)
    y = torch.empty((rows, n_time), dtype=w.dtype, device=w.device)
    block, blocks_per_row, grid = row_blocks(rows, n_time, w.device)
    partials = torch.empty(2, rows, blocks_per_row, dtype=compute_dtype, device=w.device)
    if y.numel() == 0:
        return y, partials
    noise, stride_n_row, seed, generate = _noise_args(w, n, seed)
    lengths, stride_lengths, has_lengths = _lengths_args(w, lengths)
    warps = num_warps(block)
    launch(energies_kernel)[grid](
        w, noise, seed, lengths, partials, w.stride(0), stride_n_row, stride_lengths, rows,
        n_time, blocks_per_row, GENERATE=generate, HAS_LENGTHS=has_lengths, BLOCK=block,
        num_warps=warps,
    )  # fmt: skip
    launch(add_scaled_noise_kernel)[grid](
        w, noise, seed, snr, partials, y, w.stride(0), stride_n_row, snr.stride(0), rows,
        n_time, blocks_per_row, GENERATE=generate, BLOCK=block, BLOCK_P=BLOCK_P,
        num_warps=warps,
    )  # fmt: skip
    return y, partials


def add_noise_backward(g, w, n, snr, lengths, partials, seed=None, launch=lambda k: k):
    """Gradients of :func:`add_noise` for the output's gradient ``g``: (signal's, noise's
    (None for white noise), SNR's (rows,) in the compute dtype). Two launches."""
    rows, n_time = w.shape
    compute_dtype = partials.dtype
    grad_w = torch.empty((rows, n_time), dtype=w.dtype, device=w.device)
    grad_n = None if n is None else torch.empty((rows, n_time), dtype=n.dtype, device=n.device)
    if grad_w.numel() == 0:
        return grad_w, grad_n, torch.zeros(rows, dtype=compute_dtype, device=w.device)
    grad_snr = torch.empty(rows, dtype=compute_dtype, device=w.device)  # written by block 0
    block, blocks_per_row, grid = row_blocks(rows, n_time, w.device)
    assert partials.shape[-1] == blocks_per_row, "partials from another launch layout"
    dots = torch.empty(rows, blocks_per_row, dtype=compute_dtype, device=w.device)
    noise, stride_n_row, seed, generate = _noise_args(w, n, seed)
    lengths, stride_lengths, has_lengths = _lengths_args(w, lengths)
    warps = num_warps(block)
    launch(dot_kernel)[grid](
        g, noise, seed, dots, g.stride(0), stride_n_row, n_time, blocks_per_row,
        GENERATE=generate, BLOCK=block, num_warps=warps,
    )  # fmt: skip
    launch(add_noise_backward_kernel)[grid](
        g, w, noise, seed, snr, lengths, partials, dots, grad_w,
        grad_w if grad_n is None else grad_n, grad_snr, g.stride(0), w.stride(0),
        stride_n_row, snr.stride(0), stride_lengths, rows, n_time, blocks_per_row,
        GENERATE=generate, HAS_LENGTHS=has_lengths, BLOCK=block, BLOCK_P=BLOCK_P,
        num_warps=warps,
    )  # fmt: skip
    return grad_w, grad_n, grad_snr


# The tensor arguments each kernel writes (everything else it only reads); the
# performance model (benchmarks/model) checks every launch against it.
WRITES = {
    "scale_rows_kernel": ("Y",),
    "energies_kernel": ("PARTIALS",),
    "add_scaled_noise_kernel": ("Y",),
    "dot_kernel": ("PARTIALS",),
    "add_noise_backward_kernel": ("GW", "GN", "GSNR"),
}
