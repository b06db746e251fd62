"""Polyphase windowed-sinc resampling with the filter taps computed inside the kernel.

torchaudio's filter, evaluated only where it is non-zero. With the rates reduced by their
gcd to ``orig`` and ``new``, output sample n is
    y[n] = sum_k x[k] * h(k / orig - n / new)
    h(t) = sinc(pi * t * base) * window(t * base / lpw) * base / orig   for |t * base| <= lpw
where base = min(orig, new) * rolloff, lpw is the lowpass filter width in zero crossings and
window is Hann (cos^2(pi u / 2)) or Kaiser (I0(beta sqrt(1 - u^2)) / I0(beta)).

No table: memory does not depend on the rates. t * base is an exact integer, formed from
indices relative to the output's polyphase block, times one constant, so float32 keeps
its digits on long signals. The backward pass is the same sum transposed: each input
gathers the outputs its taps reach.
"""

import math

import torch
import triton
import triton.language as tl

from tritaudio._common import compute_dtype as compute_dtype_of
from tritaudio._common import resampled_length

from .launch import block_size, num_warps

PI = tl.constexpr(math.pi)

# A program's tile: up to MAX_ROWS rows by a block of outputs (forward) or inputs
# (backward), MAX_TILE elements in all; it loops over the taps.
MAX_ROWS = 4
MAX_TILE = 4096


def _tile(rows, length):
    """(ROWS, BLOCK, programs per row block) for ``rows`` signals of ``length`` samples."""
    tile_rows = min(triton.next_power_of_2(rows), MAX_ROWS)
    block = block_size(length, MAX_TILE // tile_rows)
    return tile_rows, block, triton.cdiv(length, block)


@triton.jit
def _kaiser_window(x, beta, inv_i0e_beta):
    # I0(x) / I0(beta) for 0 <= x <= beta, with the polynomial approximations of I0 in
    # Abramowitz & Stegun 9.8.1-9.8.2 (relative error < 2e-7), scaled by exp(-beta)
    # (i0e(beta) = I0(beta) exp(-beta)) so that a large beta cannot overflow float32.
    u = (x / 3.75) * (x / 3.75)
    near = 0.2659732 + u * (0.0360768 + u * 0.0045813)
    near = 1.0 + u * (3.5156229 + u * (3.0899424 + u * (1.2067492 + u * near)))
    far_x = tl.maximum(x, 3.75)
    v = 3.75 / far_x
    far = -0.02057706 + v * (0.02635537 + v * (-0.01647633 + v * 0.00392377))
    far = 0.39894228 + v * (0.01328592 + v * (0.00225319 + v * (-0.00157565 + v * (
        0.00916281 + v * far))))  # fmt: skip
    near = near * tl.exp(-beta)
    far = far * tl.exp(far_x - beta) / tl.sqrt(far_x)
    return tl.where(x < 3.75, near, far) * inv_i0e_beta


@triton.jit
def _tap_weight(
    local,  # input index minus the first input index of the output's polyphase block
    phase,  # output index modulo new
    orig,
    new,
    PARAMS,  # pointer to the filter's parameters, see _filter_params
    KAISER: tl.constexpr,
):
    lpw = tl.load(PARAMS)
    # t * base = (local / orig - phase / new) * base, from an exact integer numerator:
    # the difference of two rounded fractions would lose float32 digits to cancellation.
    scaled = (local * new - phase * orig).to(lpw.dtype) * tl.load(PARAMS + 1)
    inside = tl.abs(scaled) <= lpw
    angle = tl.where(scaled == 0, 1.0, scaled * PI)
    sinc = tl.where(scaled == 0, 1.0, tl.sin(angle) / angle)
    if KAISER:
        u = scaled / lpw
        beta = tl.load(PARAMS + 3)
        argument = beta * tl.sqrt(tl.maximum(1.0 - u * u, 0.0))
        window = _kaiser_window(argument, beta, tl.load(PARAMS + 4))
    else:
        half_cos = tl.cos(scaled * (PI * 0.5) / lpw)
        window = half_cos * half_cos
    return tl.where(inside, sinc * window * tl.load(PARAMS + 2), 0.0)


@triton.jit
def resample_kernel(
    X,  # pointer to the input, (rows, n_in), last dim contiguous
    PARAMS,  # pointer to the filter's parameters, see _filter_params
    Y,  # pointer to the output, (rows, n_out), contiguous
    stride_x_row,
    n_in,
    n_out,
    orig,
    new,
    width,
    n_taps,
    n_rows,
    blocks_per_row,
    KAISER: tl.constexpr,
    ROWS: tl.constexpr,
    BLOCK: tl.constexpr,
):
    # y[n] = sum_j x[k] h(k / orig - n / new), k = (n // new) * orig + first(n % new) + j.
    # A program computes BLOCK outputs of ROWS rows: the weights, the costly part, are
    # computed once for all its rows.
    pid = tl.program_id(0).to(tl.int64)
    rows = (pid // blocks_per_row) * ROWS + tl.arange(0, ROWS)
    n = (pid % blocks_per_row) * BLOCK + tl.arange(0, BLOCK)
    out_mask = n < n_out
    tile_mask = (rows < n_rows)[:, None] & out_mask[None, :]
    acc_dtype = tl.load(PARAMS).dtype
    block_index = n // new
    phase = n - block_index * new
    first = (phase * orig) // new - width
    block_start = block_index * orig
    x_rows = X + rows[:, None] * stride_x_row
    acc = tl.zeros([ROWS, BLOCK], dtype=acc_dtype)
    for j in range(0, n_taps):
        local = first + j
        k = block_start + local
        weight = _tap_weight(local, phase, orig, new, PARAMS, KAISER)
        in_signal = (k >= 0) & (k < n_in)
        x = tl.load(x_rows + k[None, :], mask=tile_mask & in_signal[None, :], other=0.0)
        acc += x.to(acc_dtype) * weight[None, :]
    y_ptrs = Y + rows[:, None] * n_out + n[None, :]
    tl.store(y_ptrs, acc.to(Y.dtype.element_ty), mask=tile_mask)


@triton.jit
def resample_backward_kernel(
    GY,  # pointer to the output's gradient, (rows, n_out), last dim contiguous
    PARAMS,  # pointer to the filter's parameters, see _filter_params
    GX,  # pointer to the input's gradient, (rows, n_in), contiguous
    stride_gy_row,
    n_in,
    n_out,
    orig,
    new,
    width_out,
    n_taps,
    n_rows,
    blocks_per_row,
    KAISER: tl.constexpr,
    ROWS: tl.constexpr,
    BLOCK: tl.constexpr,
):
    # gx[k] = sum_n gy[n] h(k / orig - n / new) over the outputs n within reach of k:
    # n = floor(k * new / orig) - width_out + j; ROWS rows share the weights, as forward.
    pid = tl.program_id(0).to(tl.int64)
    rows = (pid // blocks_per_row) * ROWS + tl.arange(0, ROWS)
    k = (pid % blocks_per_row) * BLOCK + tl.arange(0, BLOCK)
    in_mask = k < n_in
    tile_mask = (rows < n_rows)[:, None] & in_mask[None, :]
    acc_dtype = tl.load(PARAMS).dtype
    first = (k * new) // orig - width_out
    gy_rows = GY + rows[:, None] * stride_gy_row
    acc = tl.zeros([ROWS, BLOCK], dtype=acc_dtype)
    for j in range(0, n_taps):
        n = first + j
        in_output = (n >= 0) & (n < n_out)
        n = tl.maximum(n, 0)
        block_index = n // new
        phase = n - block_index * new
        local = k - block_index * orig
        weight = _tap_weight(local, phase, orig, new, PARAMS, KAISER)
        gy = tl.load(gy_rows + n[None, :], mask=tile_mask & in_output[None, :], other=0.0)
        acc += gy.to(acc_dtype) * weight[None, :]
    gx_ptrs = GX + rows[:, None] * n_in + k[None, :]
    tl.store(gx_ptrs, acc.to(GX.dtype.element_ty), mask=tile_mask)


def _filter_params(x, orig, new, lowpass_filter_width, rolloff, kaiser, beta):
    """The filter's constants for the kernels, in their compute dtype (float64 for float64
    input, else float32): [lpw, base / (orig * new), base / orig, beta, 1 / i0e(beta)].

    Returns (params, base).
    """
    base = min(orig, new) * rolloff
    compute_dtype = compute_dtype_of(x)
    if kaiser:
        inv_i0e_beta = 1.0 / torch.special.i0e(torch.tensor(beta, dtype=torch.float64)).item()
    else:
        beta, inv_i0e_beta = 0.0, 0.0
    constants = [lowpass_filter_width, base / (orig * new), base / orig, beta, inv_i0e_beta]
    params = torch.tensor(constants, dtype=compute_dtype, device=x.device)
    return params, base


def resample(x, orig, new, lowpass_filter_width, rolloff, kaiser, beta, launch=lambda k: k):
    """Resample each row of a 2-D ``x`` (last dim contiguous) from ``orig`` to ``new``
    (gcd-reduced rates). Returns ``(rows, ceil(new * n_in / orig))``."""
    rows, n_in = x.shape
    n_out = resampled_length(n_in, orig, new)
    y = torch.empty((rows, n_out), dtype=x.dtype, device=x.device)
    if y.numel() == 0:
        return y
    params, base = _filter_params(x, orig, new, lowpass_filter_width, rolloff, kaiser, beta)
    width = math.ceil(lowpass_filter_width * orig / base)
    tile_rows, block, blocks_per_row = _tile(rows, n_out)
    grid = (triton.cdiv(rows, tile_rows) * blocks_per_row,)
    launch(resample_kernel)[grid](
        x, params, y, x.stride(0), n_in, n_out, orig, new, width, 2 * width + 2, rows,
        blocks_per_row, KAISER=int(kaiser), ROWS=tile_rows, BLOCK=block,
        num_warps=num_warps(tile_rows * block),
    )  # fmt: skip
    return y


def resample_backward(
    grad_y, n_in, orig, new, lowpass_filter_width, rolloff, kaiser, beta, launch=lambda k: k
):
    """The gradient of :func:`resample` with respect to its input, ``(rows, n_in)``."""
    rows, n_out = grad_y.shape
    grad_x = torch.empty((rows, n_in), dtype=grad_y.dtype, device=grad_y.device)
    if grad_x.numel() == 0:
        return grad_x
    if n_out == 0:
        return grad_x.zero_()
    params, base = _filter_params(grad_y, orig, new, lowpass_filter_width, rolloff, kaiser, beta)
    width_out = math.ceil(lowpass_filter_width * new / base)
    tile_rows, block, blocks_per_row = _tile(rows, n_in)
    grid = (triton.cdiv(rows, tile_rows) * blocks_per_row,)
    launch(resample_backward_kernel)[grid](
        grad_y, params, grad_x, grad_y.stride(0), n_in, n_out, orig, new, width_out,
        2 * width_out + 2, rows, blocks_per_row, KAISER=int(kaiser), ROWS=tile_rows,
        BLOCK=block, num_warps=num_warps(tile_rows * block),
    )  # fmt: skip
    return grad_x


# The tensor arguments each kernel writes (everything else it only reads); the
# performance model (benchmarks/model) checks every launch against it.
WRITES = {
    "resample_kernel": ("Y",),
    "resample_backward_kernel": ("GX",),
}
