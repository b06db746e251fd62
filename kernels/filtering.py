"""Filtering kernels: an IIR filter (lfilter) as a chunked linear recurrence, a direct
convolution, and the lag products that the gradients of both reduce to.

lfilter. With coefficients normalised by a0 (in the kernels), each row is filtered by
    u[t] = sum_{k < n_b} b[k] x[t - k]                  (FIR part)
    y[t] = u[t] - sum_{1 <= k <= order} a[k] y[t - k]   (IIR part)
The IIR part is a linear recurrence on the state s_t = (y[t-1], ..., y[t-order]), whose
transition is the companion matrix C of a. Time is cut into chunks of ``chunk`` samples,
one per lane, the true state at each chunk's end being s_c = P s_{c-1} + local_c with
P = C^chunk (computed in the kernels by repeated squaring in float64):
  * orders <= 8: one launch (kernels/filtering_scan.py), a chained scan with decoupled
    look-back over tiles of LANES chunks: pass 1 from zero states, the tiles' states
    combined (order <= 2: a tl.associative_scan of the 2 x 2 affine maps over the lanes),
    pass 2 from the true states, the clamp fused (CLAMP = 1); the past inputs and outputs
    in registers: per sample one load, n_b + order FMAs, one store;
  * higher orders: three launches: every chunk from a zero state keeping only its final
    state (iir_chunks_ring_kernel, STORE_Y = 0), a sequential loop over chunks per row
    (iir_carry_kernel), every chunk again from its true state storing y (STORE_Y = 1).
The order-N recurrence costs O(N) per sample, where an associative scan over
companion-form pairs would carry N^2 + N values per element and O(N^3) work per combine.
REVERSE runs the same recurrence backwards in time: the adjoint (the gradient with respect
to the input) and filtfilt's second pass, without a flip.

conv_rows: y[r, n] = sum_k w[r % w_rows, k] x[r, n + shift + tap_step * k] (zero outside
the row), the direct convolution (tap_step -1) or correlation (+1) behind convolve, the
FIR gradients and compute_deltas. lag_products: out[r, k] = sum_t p[r, t] q[r, t + shift
- step * k], the coefficient and kernel gradients.
"""

import math

import torch
import triton
import triton.language as tl

from .filtering_scan import (
    _clamped,
    _companion_power,
    _time_index,
    iir_single_pass_kernel,
    iir_single_pass_wide_kernel,
)
from .launch import block_size, num_warps

MAX_CHUNK = 1024
LANES = 32  # chunks per program of the recurrence: one per thread of one warp
MAX_REGISTER_ORDER = 8  # orders up to this run with their state in registers
LAG_BLOCK = 16
TAP_BLOCK = 16
MAX_SPLITS = 64


def chunk_length(n_time, order):
    """Samples per chunk: about sqrt(n_time), so that the per-chunk passes and the
    sequential carry pass over chunks take similar time; at least 16 and the order."""
    chunk = triton.next_power_of_2(max(math.isqrt(max(n_time, 1)), 16))
    return max(min(chunk, MAX_CHUNK), triton.next_power_of_2(order))


@triton.jit
def iir_chunks_ring_kernel(
    X,  # pointer to the input, (rows, time), last dim contiguous
    A,  # pointer to the denominators, (filters, order + 1), contiguous
    B,  # pointer to the numerators, (filters, n_b), contiguous
    STATES,  # pointer to the chunks' final states, (rows, n_chunks, ORDER_BLOCK)
    Y,  # pointer to the output, (rows, time), contiguous
    stride_x_row,
    n_time,
    n_filters,
    order,
    n_b,
    chunk,
    n_chunks,
    programs_per_row,
    REVERSE: tl.constexpr,
    STORE_Y: tl.constexpr,
    CLAMP: tl.constexpr,
    LANES: tl.constexpr,
    ORDER_BLOCK: tl.constexpr,
    TAPS_BLOCK: tl.constexpr,
):
    # Orders above MAX_REGISTER_ORDER. One lane per chunk. The past outputs live in a ring:
    # y at local step j sits at slot j % order, so step j weighs slot p with
    # a[(j - p) mod order] (0 read as order).
    # STORE_Y = 0: start from zero, store the final state s[m] = y[chunk - 1 - m].
    # STORE_Y = 1: start from the state that STATES holds for the chunk before, store y.
    pid = tl.program_id(0)
    row = pid // programs_per_row
    chunks = (pid % programs_per_row) * LANES + tl.arange(0, LANES)
    lane_ok = chunks < n_chunks
    filt = row % n_filters
    slots = tl.arange(0, ORDER_BLOCK)
    slot_ok = slots < order
    taps = tl.arange(0, TAPS_BLOCK)
    a0 = tl.load(A + filt * (order + 1))  # the coefficients are normalised by a0 here
    b = tl.load(B + filt * n_b + taps, mask=taps < n_b, other=0.0) / a0
    acc_dtype = b.dtype
    x_row = X + row.to(tl.int64) * stride_x_row
    y_row = Y + row.to(tl.int64) * n_time
    state_rows = STATES + (row.to(tl.int64) * n_chunks + chunks) * ORDER_BLOCK
    history = tl.zeros([LANES, ORDER_BLOCK], dtype=acc_dtype)
    if STORE_Y:
        # slot p holds y[-1 - m] with p = order - 1 - m
        previous = state_rows[:, None] - ORDER_BLOCK + (order - 1 - slots)[None, :]
        carry_ok = (lane_ok & (chunks > 0))[:, None] & slot_ok[None, :]
        history = tl.load(previous, mask=carry_ok, other=0.0).to(acc_dtype)
    start = chunks * chunk
    for j in range(0, chunk):
        t = start + j
        lags = t[:, None] - taps[None, :]
        x_ok = lane_ok[:, None] & (taps < n_b)[None, :] & (lags >= 0) & (lags < n_time)
        x = tl.load(x_row + _time_index(lags, n_time, REVERSE), mask=x_ok, other=0.0)
        u = tl.sum(x.to(acc_dtype) * b[None, :], axis=1)
        k = (j - slots + order) % order
        k = tl.where(k == 0, order, k)
        a = tl.load(A + filt * (order + 1) + k, mask=slot_ok, other=0.0) / a0
        y = u - tl.sum(history * a[None, :], axis=1)
        history = tl.where(slots[None, :] == j % order, y[:, None], history)
        if STORE_Y:
            y_ok = lane_ok & (t < n_time)
            out = _clamped(y, CLAMP).to(Y.dtype.element_ty)
            tl.store(y_row + _time_index(t, n_time, REVERSE), out, mask=y_ok)
    if not STORE_Y:
        m = ((chunk - 1 - slots) % order + order) % order
        tl.store(
            state_rows[:, None] + m[None, :], history, mask=lane_ok[:, None] & slot_ok[None, :]
        )


@triton.jit
def iir_carry_kernel(
    STATES,  # pointer to the chunks' states, (rows, n_chunks, ORDER_BLOCK), in place
    A,  # pointer to the denominators, (filters, order + 1), contiguous
    n_filters,
    order,
    n_chunks,
    log2_chunk,
    ORDER_BLOCK: tl.constexpr,
):
    # s_c = P s_{c-1} + local_c over the chunks of one row, P = C^chunk: local states
    # become true ones.
    row = tl.program_id(0)
    power = _companion_power(A, row % n_filters, order, log2_chunk, ORDER_BLOCK)
    power = power.to(STATES.dtype.element_ty)
    i = tl.arange(0, ORDER_BLOCK)
    state_ptrs = STATES + row.to(tl.int64) * n_chunks * ORDER_BLOCK + i
    state = tl.zeros([ORDER_BLOCK], dtype=power.dtype)
    for c in range(0, n_chunks - 1):
        ptrs = state_ptrs + c * ORDER_BLOCK
        state = tl.sum(power * state[None, :], axis=1) + tl.load(ptrs)
        tl.store(ptrs, state)


@triton.jit
def conv_rows_kernel(
    X,  # pointer to the input, (rows, n_in), last dim contiguous
    W,  # pointer to the taps, (w_rows, n_taps), last dim contiguous
    Y,  # pointer to the output, (rows, n_out), contiguous
    stride_x_row,
    stride_w_row,
    n_in,
    n_taps,
    n_out,
    w_rows,
    shift,
    tap_step,
    programs_per_row,
    BLOCK: tl.constexpr,
    TAPS_BLOCK: tl.constexpr,
):
    # y[n] = sum_k w[k] x[n + shift + tap_step * k], a [TAPS_BLOCK, BLOCK] tile of taps
    # by outputs per step, reduced over the taps at the end.
    pid = tl.program_id(0)
    row = pid // programs_per_row
    n = (pid % programs_per_row) * BLOCK + tl.arange(0, BLOCK)
    out_ok = n < n_out
    kk = tl.arange(0, TAPS_BLOCK)
    x_row = X + row.to(tl.int64) * stride_x_row
    w_row = W + (row % w_rows).to(tl.int64) * stride_w_row
    acc_dtype = Y.dtype.element_ty if Y.dtype.element_ty == tl.float64 else tl.float32
    acc = tl.zeros([TAPS_BLOCK, BLOCK], dtype=acc_dtype)
    for k0 in range(0, n_taps, TAPS_BLOCK):
        k = k0 + kk
        w = tl.load(w_row + k, mask=k < n_taps, other=0.0).to(acc_dtype)
        i = n[None, :] + shift + tap_step * k[:, None]
        ok = out_ok[None, :] & (k < n_taps)[:, None] & (i >= 0) & (i < n_in)
        x = tl.load(x_row + i, mask=ok, other=0.0).to(acc_dtype)
        acc += w[:, None] * x
    y = tl.sum(acc, axis=0)
    tl.store(Y + row.to(tl.int64) * n_out + n, y.to(Y.dtype.element_ty), mask=out_ok)


@triton.jit
def lag_products_kernel(
    P,  # pointer to the first operand, (rows, n_p), last dim contiguous
    Q,  # pointer to the second operand, (rows, n_q), last dim contiguous
    OUT,  # pointer to the partial sums, (rows, splits, n_lags), contiguous
    stride_p_row,
    stride_q_row,
    n_p,
    n_q,
    n_lags,
    shift,
    step,
    span,
    splits,
    lag_programs,
    BLOCK: tl.constexpr,
    LAG_BLOCK: tl.constexpr,
):
    # out[k] = sum_t p[t] q[t + shift - step * k] over t in this program's span of p.
    pid = tl.program_id(0)
    row = pid // (splits * lag_programs)
    split = (pid // lag_programs) % splits
    k = (pid % lag_programs) * LAG_BLOCK + tl.arange(0, LAG_BLOCK)
    lag_ok = k < n_lags
    p_row = P + row.to(tl.int64) * stride_p_row
    q_row = Q + row.to(tl.int64) * stride_q_row
    acc_dtype = OUT.dtype.element_ty
    acc = tl.zeros([LAG_BLOCK, BLOCK], dtype=acc_dtype)
    first = split * span
    last = tl.minimum(first + span, n_p)
    for t0 in range(first, last, BLOCK):
        t = t0 + tl.arange(0, BLOCK)
        p = tl.load(p_row + t, mask=t < last, other=0.0).to(acc_dtype)
        i = t[None, :] + shift - step * k[:, None]
        ok = lag_ok[:, None] & (t < last)[None, :] & (i >= 0) & (i < n_q)
        q = tl.load(q_row + i, mask=ok, other=0.0).to(acc_dtype)
        acc += p[None, :] * q
    out = OUT + (row.to(tl.int64) * splits + split) * n_lags + k
    tl.store(out, tl.sum(acc, axis=1), mask=lag_ok)


def _check_int32(*tensors):
    for tensor in tensors:
        if tensor.numel() >= 2**31:
            raise ValueError(
                f"tensors of 2**31 elements or more are not supported, got {tensor.shape}"
            )


def lfilter(x, a, b, reverse=0, clamp=0, launch=lambda kernel: kernel, lanes=LANES):
    """Filter each row of a 2-D ``x`` (last dim contiguous); row r uses filter r % filters
    of ``a`` (filters, order + 1), order >= 1, a0 != 0, and ``b`` (filters, n_b), n_b <=
    order + 1, both contiguous in the compute dtype, normalised by a0 in the kernels.
    ``reverse``: run backwards in time; ``clamp``: clamp the output to [-1, 1] (the
    recurrence runs on the unclamped values). ``lanes``: chunks per program (a power of
    two; tests make it small to cross many tiles). Returns ``(rows, time)`` of x's dtype."""
    rows, n_time = x.shape
    filters, n_a = a.shape
    order, n_b = n_a - 1, b.shape[1]
    if n_b > order + 1:
        raise ValueError(f"b has {n_b} taps, more than order + 1 = {order + 1}")
    y = torch.empty((rows, n_time), dtype=x.dtype, device=x.device)
    if y.numel() == 0:
        return y
    _check_int32(x, y)
    chunk = chunk_length(n_time, order)
    n_chunks = triton.cdiv(n_time, chunk)
    log2_chunk = chunk.bit_length() - 1  # chunk is a power of two
    programs_per_row = triton.cdiv(n_chunks, lanes)
    n_tiles = rows * programs_per_row
    grid = (n_tiles,)
    if order <= 2:
        tiles = torch.empty(n_tiles, 4, dtype=a.dtype, device=x.device)
        flags = torch.zeros(n_tiles + 1, dtype=torch.int32, device=x.device)
        launch(iir_single_pass_kernel)[grid](
            x, a, b, tiles, flags, y, x.stride(0), n_time, filters, order, n_b, chunk,
            n_chunks, programs_per_row, n_tiles, log2_chunk, REVERSE=int(reverse),
            CLAMP=int(clamp), LANES=lanes, num_warps=1,
        )  # fmt: skip
        return y
    order_block = max(triton.next_power_of_2(order), 2)
    if order <= MAX_REGISTER_ORDER:
        tiles = torch.empty(n_tiles, 2, order_block, dtype=a.dtype, device=x.device)
        flags = torch.zeros(n_tiles + 1, dtype=torch.int32, device=x.device)
        launch(iir_single_pass_wide_kernel)[grid](
            x, a, b, tiles, flags, y, x.stride(0), n_time, filters, order, n_b, chunk,
            n_chunks, programs_per_row, n_tiles, log2_chunk, lanes.bit_length() - 1,
            REVERSE=int(reverse), CLAMP=int(clamp), LANES=lanes, ORDER_BLOCK=order_block,
            num_warps=1,
        )  # fmt: skip
        return y
    constants = dict(REVERSE=int(reverse), LANES=lanes, ORDER_BLOCK=order_block, num_warps=1,
                     TAPS_BLOCK=max(triton.next_power_of_2(n_b), 2))  # fmt: skip
    kernel = iir_chunks_ring_kernel
    # zero-filled: the padding slots beyond the order are read (times zero) by the carry
    states = torch.zeros(rows, n_chunks, order_block, dtype=a.dtype, device=x.device)
    args = (x, a, b, states, y, x.stride(0), n_time, filters, order, n_b, chunk, n_chunks,
            programs_per_row)  # fmt: skip
    if n_chunks > 1:
        launch(kernel)[grid](*args, STORE_Y=0, CLAMP=0, **constants)
        launch(iir_carry_kernel)[(rows,)](
            states, a, filters, order, n_chunks, log2_chunk, ORDER_BLOCK=order_block,
            num_warps=1,
        )  # fmt: skip
    launch(kernel)[grid](*args, STORE_Y=1, CLAMP=int(clamp), **constants)
    return y


def conv_rows(x, w, n_out, shift, tap_step, launch=lambda kernel: kernel):
    """``y[r, n] = sum_k w[r % w_rows, k] x[r, n + shift + tap_step * k]`` for 2-D ``x``
    and ``w`` (last dims contiguous), zero outside x's rows. Returns ``(rows, n_out)`` of
    x's dtype (computed in float32, or float64)."""
    rows, n_in = x.shape
    w_rows, n_taps = w.shape
    y = torch.empty((rows, n_out), dtype=x.dtype, device=x.device)
    if y.numel() == 0:
        return y
    if n_taps == 0 or n_in == 0:
        return y.zero_()
    _check_int32(x, w, y)
    block = block_size(n_out, 256)
    programs_per_row = triton.cdiv(n_out, block)
    launch(conv_rows_kernel)[(rows * programs_per_row,)](
        x, w, y, x.stride(0), w.stride(0), n_in, n_taps, n_out, w_rows, shift, tap_step,
        programs_per_row, BLOCK=block, TAPS_BLOCK=TAP_BLOCK, num_warps=num_warps(block * 4),
    )  # fmt: skip
    return y


def lag_products(p, q, n_lags, shift, step, compute_dtype, launch=lambda kernel: kernel):
    """``out[r, k] = sum_t p[r, t] q[r, t + shift - step * k]`` for k < n_lags, 2-D ``p``
    and ``q`` (last dims contiguous, zero outside q's rows), in ``compute_dtype``; a fixed
    summation order (partials per time span, then summed)."""
    rows, n_p = p.shape
    if rows == 0 or n_p == 0 or n_lags == 0:
        return torch.zeros(rows, n_lags, dtype=compute_dtype, device=p.device)
    _check_int32(p, q)
    block = 256
    splits = min(triton.cdiv(n_p, block), MAX_SPLITS)
    span = triton.cdiv(triton.cdiv(n_p, splits), block) * block
    splits = triton.cdiv(n_p, span)
    lag_programs = triton.cdiv(n_lags, LAG_BLOCK)
    partials = torch.empty(rows, splits, n_lags, dtype=compute_dtype, device=p.device)
    launch(lag_products_kernel)[(rows * splits * lag_programs,)](
        p, q, partials, p.stride(0), q.stride(0), n_p, q.shape[1], n_lags, shift, step, span,
        splits, lag_programs, BLOCK=block, LAG_BLOCK=LAG_BLOCK, num_warps=4,
    )  # fmt: skip
    return partials.sum(1)


# The tensor arguments each kernel writes (everything else it only reads); the
# performance model (benchmarks/model) checks every launch against it.
WRITES = {
    "iir_chunks_ring_kernel": ("STATES", "Y"),
    "iir_carry_kernel": ("STATES",),
    "conv_rows_kernel": ("Y",),
    "lag_products_kernel": ("OUT",),
}
