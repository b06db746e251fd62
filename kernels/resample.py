"""Polyphase windowed-sinc resampling with the filter taps computed inside the kernel.

torchaudio's filter, evaluated only where it is non-zero. With the rates reduced by their
gcd to ``orig`` and ``new``, output sample n is
    y[n] = sum_k x[k] * h(k / orig - n / new)
    h(t) = sinc(pi * t * base) * window(t * base / lpw) * base / orig   for |t * base| <= lpw
where base = min(orig, new) * rolloff, lpw is the lowpass filter width in zero crossings and
window is Hann (cos^2(pi u / 2)) or Kaiser (I0(beta sqrt(1 - u^2)) / I0(beta)).

No table: memory does not depend on the rates. t is formed from small integers (an input
index relative to the start of its polyphase block, and the output's phase) so float32
does not lose it to cancellation on long signals. The backward pass is the same sum
transposed: each input gathers the outputs its taps reach.
"""

import math

import torch
import triton
import triton.language as tl

from .launch import block_size, num_warps

PI = tl.constexpr(math.pi)

# Blocks of outputs (forward) or inputs (backward) per program; each loops over its taps.
MAX_BLOCK = 1024


@triton.jit
def _bessel_i0(x, n_terms):
    # I0(x) = sum_k ((x / 2)^(2k)) / (k!)^2, the terms built one from the last.
    quarter_square = x * x * 0.25
    term = quarter_square * 0.0 + 1.0
    total = term
    for k in range(1, n_terms):
        term = term * quarter_square / (k * k)
        total += term
    return total


@triton.jit
def _tap_weight(
    local,  # input index minus the first input index of the output's polyphase block
    phase,  # output index modulo new
    orig,
    new,
    base,
    lpw,
    beta,
    inv_i0_beta,
    n_bessel_terms,
    KAISER: tl.constexpr,
):
    t = local.to(base.dtype) / orig - phase.to(base.dtype) / new
    scaled = t * base
    inside = tl.abs(scaled) <= lpw
    angle = tl.where(scaled == 0, 1.0, scaled * PI)
    sinc = tl.where(scaled == 0, 1.0, tl.sin(angle) / angle)
    if KAISER:
        u = scaled / lpw
        window = _bessel_i0(beta * tl.sqrt(tl.maximum(1.0 - u * u, 0.0)), n_bessel_terms)
        window = window * inv_i0_beta
    else:
        half_cos = tl.cos(scaled * (PI * 0.5) / lpw)
        window = half_cos * half_cos
    return tl.where(inside, sinc * window * (base / orig), 0.0)


@triton.jit
def resample_kernel(
    X,  # pointer to the input, (rows, n_in), last dim contiguous
    PARAMS,  # pointer to [base, lpw, beta, 1 / I0(beta)] in the compute dtype
    Y,  # pointer to the output, (rows, n_out), contiguous
    stride_x_row,
    n_in,
    n_out,
    orig,
    new,
    width,
    n_taps,
    n_bessel_terms,
    blocks_per_row,
    KAISER: tl.constexpr,
    BLOCK: tl.constexpr,
):
    # y[n] = sum_j x[k] h(k / orig - n / new), k = (n // new) * orig + first(n % new) + j
    pid = tl.program_id(0).to(tl.int64)
    row = pid // blocks_per_row
    n = (pid % blocks_per_row) * BLOCK + tl.arange(0, BLOCK)
    out_mask = n < n_out
    base = tl.load(PARAMS)
    lpw = tl.load(PARAMS + 1)
    beta = tl.load(PARAMS + 2)
    inv_i0_beta = tl.load(PARAMS + 3)
    block_index = n // new
    phase = n - block_index * new
    first = (phase * orig) // new - width
    block_start = block_index * orig
    x_row = X + row * stride_x_row
    acc = tl.zeros([BLOCK], dtype=base.dtype)
    for j in range(0, n_taps):
        local = first + j
        k = block_start + local
        weight = _tap_weight(
            local, phase, orig, new, base, lpw, beta, inv_i0_beta, n_bessel_terms, KAISER
        )
        x = tl.load(x_row + k, mask=out_mask & (k >= 0) & (k < n_in), other=0.0)
        acc += x.to(base.dtype) * weight
    tl.store(Y + row * n_out + n, acc.to(Y.dtype.element_ty), mask=out_mask)


@triton.jit
def resample_backward_kernel(
    GY,  # pointer to the output's gradient, (rows, n_out), last dim contiguous
    PARAMS,  # pointer to [base, lpw, beta, 1 / I0(beta)] in the compute dtype
    GX,  # pointer to the input's gradient, (rows, n_in), contiguous
    stride_gy_row,
    n_in,
    n_out,
    orig,
    new,
    width_out,
    n_taps,
    n_bessel_terms,
    blocks_per_row,
    KAISER: tl.constexpr,
    BLOCK: tl.constexpr,
):
    # gx[k] = sum_n gy[n] h(k / orig - n / new) over the outputs n within reach of k:
    # n = floor(k * new / orig) - width_out + j.
    pid = tl.program_id(0).to(tl.int64)
    row = pid // blocks_per_row
    k = (pid % blocks_per_row) * BLOCK + tl.arange(0, BLOCK)
    in_mask = k < n_in
    base = tl.load(PARAMS)
    lpw = tl.load(PARAMS + 1)
    beta = tl.load(PARAMS + 2)
    inv_i0_beta = tl.load(PARAMS + 3)
    first = (k * new) // orig - width_out
    gy_row = GY + row * stride_gy_row
    acc = tl.zeros([BLOCK], dtype=base.dtype)
    for j in range(0, n_taps):
        n = first + j
        valid = in_mask & (n >= 0) & (n < n_out)
        n = tl.maximum(n, 0)
        block_index = n // new
        phase = n - block_index * new
        local = k - block_index * orig
        weight = _tap_weight(
            local, phase, orig, new, base, lpw, beta, inv_i0_beta, n_bessel_terms, KAISER
        )
        gy = tl.load(gy_row + n, mask=valid, other=0.0)
        acc += gy.to(base.dtype) * weight
    tl.store(GX + row * n_in + k, acc.to(GX.dtype.element_ty), mask=in_mask)


def _bessel_terms(beta):
    """Series terms for I0 on [0, beta] to float64 precision."""
    term, total, k = 1.0, 1.0, 0
    while term > 1e-17 * total:
        k += 1
        term *= (beta * beta / 4) / (k * k)
        total += term
    return k + 1


def _filter_args(x, orig, new, lowpass_filter_width, rolloff, kaiser, beta):
    """The kernels' shared filter arguments: (params tensor, base, bessel terms)."""
    base = min(orig, new) * rolloff
    compute_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    if kaiser:
        inv_i0_beta = 1.0 / torch.special.i0(torch.tensor(beta, dtype=torch.float64)).item()
    else:
        beta, inv_i0_beta = 0.0, 0.0
    params = torch.tensor(
        [base, lowpass_filter_width, beta, inv_i0_beta], dtype=compute_dtype, device=x.device
    )
    return params, base, _bessel_terms(beta) if kaiser else 0


def output_length(n_in, orig, new):
    """torchaudio's ceil(new * n_in / orig), in integers."""
    return -(-new * n_in // orig)


def resample(x, orig, new, lowpass_filter_width, rolloff, kaiser, beta, launch=lambda k: k):
    """Resample each row of a 2-D ``x`` (last dim contiguous) from ``orig`` to ``new``
    (gcd-reduced rates). Returns ``(rows, ceil(new * n_in / orig))``."""
    rows, n_in = x.shape
    n_out = output_length(n_in, orig, new)
    y = torch.empty((rows, n_out), dtype=x.dtype, device=x.device)
    if y.numel() == 0:
        return y
    params, base, n_bessel_terms = _filter_args(
        x, orig, new, lowpass_filter_width, rolloff, kaiser, beta
    )
    width = math.ceil(lowpass_filter_width * orig / base)
    block = block_size(n_out, MAX_BLOCK)
    blocks_per_row = triton.cdiv(n_out, block)
    launch(resample_kernel)[(rows * blocks_per_row,)](
        x, params, y, x.stride(0), n_in, n_out, orig, new, width, 2 * width + 2,
        n_bessel_terms, blocks_per_row,
        KAISER=int(kaiser), BLOCK=block, num_warps=num_warps(block),
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
    params, base, n_bessel_terms = _filter_args(
        grad_y, orig, new, lowpass_filter_width, rolloff, kaiser, beta
    )
    width_out = math.ceil(lowpass_filter_width * new / base)
    block = block_size(n_in, MAX_BLOCK)
    blocks_per_row = triton.cdiv(n_in, block)
    launch(resample_backward_kernel)[(rows * blocks_per_row,)](
        grad_y, params, grad_x, grad_y.stride(0), n_in, n_out, orig, new, width_out,
        2 * width_out + 2, n_bessel_terms, blocks_per_row,
        KAISER=int(kaiser), BLOCK=block, num_warps=num_warps(block),
    )  # fmt: skip
    return grad_x
