"""Mixing kernels: a gain applied to every row, and noise added at a signal-to-noise ratio.

add_noise (torchaudio.functional.add_noise) in two passes over the data: one reads the
signal and the noise once to reduce both energies per row (over each row's first
``length`` samples), one writes ``waveform + scale[row] * noise``. The per-row scale in
between is arithmetic on ``rows`` numbers. Its backward is a pass reducing
``sum(grad * noise)`` per row, then one writing both input gradients.
"""

import torch
import triton
import triton.language as tl

from tritaudio._common import compute_dtype as compute_dtype_of

from .launch import block_size, num_warps


@triton.jit
def scale_rows_kernel(
    X,  # pointer to the input, (rows, time), last dim contiguous
    FACTOR,  # pointer to the scalar factor, in the compute dtype
    Y,  # pointer to the output, (rows, time), contiguous
    stride_x_row,
    n_time,
    blocks_per_row,
    BLOCK: tl.constexpr,
):
    # y = factor * x; one program per BLOCK samples of one row. The grid is 1-D so that
    # neither the row count nor the length runs into the 65535 limit of grid dims 1 and 2.
    pid = tl.program_id(0).to(tl.int64)
    row = pid // blocks_per_row
    cols = (pid % blocks_per_row) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < n_time
    factor = tl.load(FACTOR)
    x = tl.load(X + row * stride_x_row + cols, mask=mask, other=0.0)
    y = x.to(factor.dtype) * factor
    tl.store(Y + row * n_time + cols, y.to(Y.dtype.element_ty), mask=mask)


def scale_rows(x, factor, launch=lambda kernel: kernel):
    """``factor * x`` for a 2-D ``x`` whose last dim is contiguous; returns a new tensor.

    Computed in float32 (float64 for float64 input). ``launch`` wraps the kernel before
    its grid is applied (``torch.library.wrap_triton`` inside a ``triton_op``).
    """
    rows, n_time = x.shape
    y = torch.empty((rows, n_time), dtype=x.dtype, device=x.device)
    if y.numel() == 0:
        return y
    compute_dtype = compute_dtype_of(x)
    factor_tensor = torch.tensor(factor, dtype=compute_dtype, device=x.device)
    block = block_size(n_time)
    blocks_per_row = triton.cdiv(n_time, block)
    launch(scale_rows_kernel)[(rows * blocks_per_row,)](
        x,
        factor_tensor,
        y,
        x.stride(0),
        n_time,
        blocks_per_row,
        BLOCK=block,
        num_warps=num_warps(block),
    )
    return y


@triton.jit
def _noise(N, row, stride_n_row, cols, mask, seed, GENERATE: tl.constexpr):
    # The noise of one row: loaded, or generated as white Gaussian noise by Philox with
    # key seed + row and counter t, so any pass can regenerate exactly the same samples.
    if GENERATE:
        noise = tl.where(mask, tl.randn(seed + row, cols.to(tl.int32)), 0.0)
    else:
        noise = tl.load(N + row * stride_n_row + cols, mask=mask, other=0.0)
    return noise


@triton.jit(do_not_specialize=["seed"])
def energies_kernel(
    W,  # pointer to the signal, (rows, time), last dim contiguous
    N,  # pointer to the noise, (rows, time), last dim contiguous (row stride may be 0)
    LENGTHS,  # pointer to the samples counted per row, int64 (row stride may be 0)
    PARTIALS,  # pointer to the partial energies, (2, rows, blocks_per_row), compute dtype
    stride_w_row,
    stride_n_row,
    stride_lengths,
    n_rows,
    n_time,
    blocks_per_row,
    seed,
    GENERATE: tl.constexpr,
    BLOCK: tl.constexpr,
):
    # partials[0, row, b] = sum of w^2 and partials[1, row, b] = sum of n^2 over block b
    # of the row, counting samples t < lengths[row]. Summed over b by the caller: a fixed
    # order, so results do not depend on scheduling (no atomics).
    pid = tl.program_id(0).to(tl.int64)
    row = pid // blocks_per_row
    block = pid % blocks_per_row
    cols = block * BLOCK + tl.arange(0, BLOCK)
    length = tl.load(LENGTHS + row * stride_lengths)
    mask = (cols < n_time) & (cols < length)
    acc_dtype = PARTIALS.dtype.element_ty
    w = tl.load(W + row * stride_w_row + cols, mask=mask, other=0.0).to(acc_dtype)
    n = _noise(N, row, stride_n_row, cols, mask, seed, GENERATE).to(acc_dtype)
    tl.store(PARTIALS + row * blocks_per_row + block, tl.sum(w * w, axis=0))
    tl.store(PARTIALS + (n_rows + row) * blocks_per_row + block, tl.sum(n * n, axis=0))


@triton.jit(do_not_specialize=["seed"])
def add_scaled_noise_kernel(
    W,  # pointer to the signal, (rows, time), last dim contiguous
    N,  # pointer to the noise, (rows, time), last dim contiguous (row stride may be 0)
    SCALE,  # pointer to the noise scale per row, compute dtype
    Y,  # pointer to the output, (rows, time), contiguous
    stride_w_row,
    stride_n_row,
    n_time,
    blocks_per_row,
    seed,
    GENERATE: tl.constexpr,
    BLOCK: tl.constexpr,
):
    # y = w + scale[row] * n
    pid = tl.program_id(0).to(tl.int64)
    row = pid // blocks_per_row
    cols = (pid % blocks_per_row) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < n_time
    scale = tl.load(SCALE + row)
    w = tl.load(W + row * stride_w_row + cols, mask=mask, other=0.0).to(scale.dtype)
    n = _noise(N, row, stride_n_row, cols, mask, seed, GENERATE).to(scale.dtype)
    tl.store(Y + row * n_time + cols, (w + scale * n).to(Y.dtype.element_ty), mask=mask)


@triton.jit(do_not_specialize=["seed"])
def dot_kernel(
    G,  # pointer to the output's gradient, (rows, time), last dim contiguous
    N,  # pointer to the noise, (rows, time), last dim contiguous (row stride may be 0)
    PARTIALS,  # pointer to the partial sums, (rows, blocks_per_row), compute dtype
    stride_g_row,
    stride_n_row,
    n_time,
    blocks_per_row,
    seed,
    GENERATE: tl.constexpr,
    BLOCK: tl.constexpr,
):
    # partials[row, b] = sum of g * n over block b of the row (all samples: the noise is
    # added over the whole row, only its energy is measured over the first length samples)
    pid = tl.program_id(0).to(tl.int64)
    row = pid // blocks_per_row
    cols = (pid % blocks_per_row) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < n_time
    acc_dtype = PARTIALS.dtype.element_ty
    g = tl.load(G + row * stride_g_row + cols, mask=mask, other=0.0).to(acc_dtype)
    n = _noise(N, row, stride_n_row, cols, mask, seed, GENERATE).to(acc_dtype)
    tl.store(PARTIALS + pid, tl.sum(g * n, axis=0))


@triton.jit(do_not_specialize=["seed"])
def add_noise_backward_kernel(
    G,  # pointer to the output's gradient, (rows, time), last dim contiguous
    W,  # pointer to the signal, (rows, time), last dim contiguous
    N,  # pointer to the noise, (rows, time), last dim contiguous (row stride may be 0)
    LENGTHS,  # pointer to the samples counted per row, int64 (row stride may be 0)
    COEFFS,  # pointer to (3, rows): scale, signal coefficient, noise coefficient
    GW,  # pointer to the signal's gradient, (rows, time), contiguous
    GN,  # pointer to the noise's gradient, (rows, time), contiguous
    stride_g_row,
    stride_w_row,
    stride_n_row,
    stride_lengths,
    n_rows,
    n_time,
    blocks_per_row,
    seed,
    GENERATE: tl.constexpr,
    BLOCK: tl.constexpr,
):
    # With scale = sqrt(Ew / En) * 10^(-snr / 20) and d = sum(g * n):
    #   gw = g + (d * scale / Ew) * w * counted,   gn = scale * g - (d * scale / En) * n * counted
    # where counted marks t < lengths[row]; the caller passes both coefficients. Generated
    # noise has no gradient: GN is not written.
    pid = tl.program_id(0).to(tl.int64)
    row = pid // blocks_per_row
    cols = (pid % blocks_per_row) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < n_time
    counted = cols < tl.load(LENGTHS + row * stride_lengths)
    scale = tl.load(COEFFS + row)
    coeff_w = tl.where(counted, tl.load(COEFFS + n_rows + row), 0.0)
    coeff_n = tl.where(counted, tl.load(COEFFS + 2 * n_rows + row), 0.0)
    g = tl.load(G + row * stride_g_row + cols, mask=mask, other=0.0).to(scale.dtype)
    w = tl.load(W + row * stride_w_row + cols, mask=mask, other=0.0).to(scale.dtype)
    tl.store(GW + row * n_time + cols, (g + coeff_w * w).to(GW.dtype.element_ty), mask=mask)
    if not GENERATE:
        n = tl.load(N + row * stride_n_row + cols, mask=mask, other=0.0).to(scale.dtype)
        gn = scale * g - coeff_n * n
        tl.store(GN + row * n_time + cols, gn.to(GN.dtype.element_ty), mask=mask)


def _row_blocks(rows, n_time):
    block = block_size(n_time)
    blocks_per_row = triton.cdiv(n_time, block)
    return block, blocks_per_row, (rows * blocks_per_row,)


def _noise_args(w, n, seed):
    """(noise pointer, its row stride, seed, GENERATE) for a loaded or a generated noise."""
    if n is None:
        return w, 0, seed, 1
    return n, n.stride(0), 0, 0


def noise_energies(w, n, lengths, seed=None, launch=lambda kernel: kernel):
    """Per-row energies of ``w`` and of the noise over their first ``lengths`` samples.

    ``w`` and ``n`` are (rows, time) with the last dim contiguous (``n`` None: white noise
    generated from ``seed``); ``lengths`` is int64 (rows,). Returns (2, rows) in float32
    (float64 for float64 input).
    """
    rows, n_time = w.shape
    compute_dtype = compute_dtype_of(w)
    if rows == 0 or n_time == 0:
        return torch.zeros(2, rows, dtype=compute_dtype, device=w.device)
    block, blocks_per_row, grid = _row_blocks(rows, n_time)
    partials = torch.empty(2, rows, blocks_per_row, dtype=compute_dtype, device=w.device)
    noise, stride_n_row, seed, generate = _noise_args(w, n, seed)
    launch(energies_kernel)[grid](
        w, noise, lengths, partials, w.stride(0), stride_n_row, lengths.stride(0), rows,
        n_time, blocks_per_row, seed, GENERATE=generate, BLOCK=block,
        num_warps=num_warps(block),
    )  # fmt: skip
    return partials.sum(-1)


def add_scaled_noise(w, n, scale, seed=None, launch=lambda kernel: kernel):
    """``w + scale[:, None] * noise`` for (rows, time) ``w``; a new tensor. The noise is
    ``n``, or (``n`` None) the white noise that ``seed`` generates."""
    rows, n_time = w.shape
    y = torch.empty((rows, n_time), dtype=w.dtype, device=w.device)
    if y.numel() == 0:
        return y
    block, blocks_per_row, grid = _row_blocks(rows, n_time)
    noise, stride_n_row, seed, generate = _noise_args(w, n, seed)
    launch(add_scaled_noise_kernel)[grid](
        w, noise, scale, y, w.stride(0), stride_n_row, n_time, blocks_per_row, seed,
        GENERATE=generate, BLOCK=block, num_warps=num_warps(block),
    )  # fmt: skip
    return y


def row_dots(g, n, compute_dtype, seed=None, launch=lambda kernel: kernel):
    """``(g * noise).sum(-1)`` for (rows, time) tensors, in ``compute_dtype``."""
    rows, n_time = g.shape
    if rows == 0 or n_time == 0:
        return torch.zeros(rows, dtype=compute_dtype, device=g.device)
    block, blocks_per_row, grid = _row_blocks(rows, n_time)
    partials = torch.empty(rows, blocks_per_row, dtype=compute_dtype, device=g.device)
    noise, stride_n_row, seed, generate = _noise_args(g, n, seed)
    launch(dot_kernel)[grid](
        g, noise, partials, g.stride(0), stride_n_row, n_time, blocks_per_row, seed,
        GENERATE=generate, BLOCK=block, num_warps=num_warps(block),
    )  # fmt: skip
    return partials.sum(-1)


def add_noise_backward(g, w, n, lengths, coeffs, seed=None, launch=lambda kernel: kernel):
    """The signal's and the noise's gradients, (rows, time) each (the noise's is None for
    generated noise); see the kernel."""
    rows, n_time = w.shape
    grad_w = torch.empty((rows, n_time), dtype=w.dtype, device=w.device)
    grad_n = None if n is None else torch.empty((rows, n_time), dtype=n.dtype, device=n.device)
    if grad_w.numel() == 0:
        return grad_w, grad_n
    block, blocks_per_row, grid = _row_blocks(rows, n_time)
    noise, stride_n_row, seed, generate = _noise_args(w, n, seed)
    launch(add_noise_backward_kernel)[grid](
        g, w, noise, lengths, coeffs, grad_w, grad_w if grad_n is None else grad_n,
        g.stride(0), w.stride(0), stride_n_row, lengths.stride(0), rows, n_time,
        blocks_per_row, seed, GENERATE=generate, BLOCK=block, num_warps=num_warps(block),
    )  # fmt: skip
    return grad_w, grad_n


# The tensor arguments each kernel writes (everything else it only reads); the
# performance model (benchmarks/model) checks every launch against it.
WRITES = {
    "scale_rows_kernel": ("Y",),
    "energies_kernel": ("PARTIALS",),
    "add_scaled_noise_kernel": ("Y",),
    "dot_kernel": ("PARTIALS",),
    "add_noise_backward_kernel": ("GW", "GN"),
}
