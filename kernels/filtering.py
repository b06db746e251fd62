"""Filtering kernels: an IIR filter (lfilter) as a chunked linear recurrence, a direct
convolution, and the lag products that the gradients of both reduce to.

lfilter. With coefficients normalised by a0, each row is filtered by
    u[t] = sum_{k < n_b} b[k] x[t - k]                  (FIR part)
    y[t] = u[t] - sum_{1 <= k <= order} a[k] y[t - k]   (IIR part)
The IIR part is a linear recurrence on the state s_t = (y[t-1], ..., y[t-order]), whose
transition is the companion matrix C of a. Time is cut into chunks of ``chunk`` samples
and solved as a chunked scan, each pass parallel over rows and chunks:
  1. every chunk runs the recurrence from a zero state (the FIR part fused in) and keeps
     only its final state (iir_chunks_kernel, STORE_Y = 0);
  2. the true state at each chunk's end is s_c = P s_{c-1} + local_c with P = C^chunk:
     for order <= 2 (every biquad) a tl.associative_scan over blocks of chunks of the
     pairs (P, local_c), composed as (M2 M1, M2 v1 + v2), with the last state of each
     block carried into the next (iir_carry_scan_kernel); for higher orders (N^2 + N
     values per pair) a sequential loop over chunks per row (iir_carry_kernel);
  3. every chunk runs again from its true initial state and writes y (STORE_Y = 1).
Each lane holds one chunk: the order-N recurrence costs O(N) per sample, where an
associative scan over companion-form pairs would carry N^2 + N values per element and
O(N^3) work per combine. REVERSE runs the same recurrence backwards in time: the adjoint
(the gradient with respect to the input) and filtfilt's second pass, without a flip.

conv_rows: y[r, n] = sum_k w[r % w_rows, k] x[r, n + shift + tap_step * k] (zero outside
the row), the direct convolution (tap_step -1) or correlation (+1) behind convolve, the
FIR gradients and compute_deltas. lag_products: out[r, k] = sum_t p[r, t] q[r, t + shift
- step * k], the coefficient and kernel gradients.
"""

import math

import torch
import triton
import triton.language as tl

from .launch import block_size, num_warps

MAX_CHUNK = 1024
LANES = 32  # chunks per program of the recurrence: one per thread of one warp
CARRY_ROWS = 16
LAG_BLOCK = 16
TAP_BLOCK = 16
MAX_SPLITS = 64
SCAN_BLOCK = 1024  # chunks per associative scan of the carry pass (order <= 2)


def chunk_length(n_time, order):
    """Samples per chunk: about sqrt(n_time), so that the per-chunk passes and the
    sequential carry pass over chunks take similar time; at least 16 and the order."""
    chunk = triton.next_power_of_2(max(math.isqrt(max(n_time, 1)), 16))
    return max(min(chunk, MAX_CHUNK), triton.next_power_of_2(order))


@triton.jit
def _time_index(t, n_time, REVERSE: tl.constexpr):
    # the memory index of logical time t (reversed: t = 0 is the row's last sample)
    if REVERSE:
        return n_time - 1 - t
    return t


@triton.jit
def iir_chunks_kernel(
    X,  # pointer to the input, (rows, time), last dim contiguous
    A,  # pointer to the normalised denominators, (filters, order + 1), contiguous
    B,  # pointer to the normalised numerators, (filters, n_b), contiguous
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
    LANES: tl.constexpr,
    ORDER_BLOCK: tl.constexpr,
    TAPS_BLOCK: tl.constexpr,
):
    # One lane per chunk. The past outputs live in a ring: y at local step j sits at slot
    # j % order, so step j weighs slot p with a[(j - p) mod order] (0 read as order).
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
    b = tl.load(B + filt * n_b + taps, mask=taps < n_b, other=0.0)
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
        a = tl.load(A + filt * (order + 1) + k, mask=slot_ok, other=0.0)
        y = u - tl.sum(history * a[None, :], axis=1)
        history = tl.where(slots[None, :] == j % order, y[:, None], history)
        if STORE_Y:
            y_ok = lane_ok & (t < n_time)
            tl.store(y_row + _time_index(t, n_time, REVERSE), y.to(Y.dtype.element_ty), mask=y_ok)
    if not STORE_Y:
        m = ((chunk - 1 - slots) % order + order) % order
        tl.store(
            state_rows[:, None] + m[None, :], history, mask=lane_ok[:, None] & slot_ok[None, :]
        )


@triton.jit
def iir_carry_kernel(
    STATES,  # pointer to the chunks' states, (rows, n_chunks, ORDER_BLOCK), in place
    POWER,  # pointer to C^chunk per filter, (filters, ORDER_BLOCK, ORDER_BLOCK), zero-padded
    n_rows,
    n_filters,
    n_chunks,
    ROWS: tl.constexpr,
    ORDER_BLOCK: tl.constexpr,
):
    # s_c = P s_{c-1} + local_c over the chunks of ROWS rows: local states become true ones.
    rows = tl.program_id(0) * ROWS + tl.arange(0, ROWS)
    row_ok = rows < n_rows
    filt = rows % n_filters
    i = tl.arange(0, ORDER_BLOCK)
    power_ptrs = POWER + filt[:, None, None] * (ORDER_BLOCK * ORDER_BLOCK)
    power = tl.load(power_ptrs + i[None, :, None] * ORDER_BLOCK + i[None, None, :])
    state_ptrs = STATES + rows.to(tl.int64)[:, None] * n_chunks * ORDER_BLOCK + i[None, :]
    state = tl.zeros([ROWS, ORDER_BLOCK], dtype=power.dtype)
    for c in range(0, n_chunks - 1):
        ptrs = state_ptrs + c * ORDER_BLOCK
        local = tl.load(ptrs, mask=row_ok[:, None], other=0.0)
        state = tl.sum(power * state[:, None, :], axis=2) + local
        tl.store(ptrs, state, mask=row_ok[:, None])


@triton.jit
def _compose(a00, a01, a10, a11, a0, a1, b00, b01, b10, b11, b0, b1):
    # (M_b, v_b) after (M_a, v_a): the affine map x -> M_b (M_a x + v_a) + v_b, 2 x 2
    m00 = b00 * a00 + b01 * a10
    m01 = b00 * a01 + b01 * a11
    m10 = b10 * a00 + b11 * a10
    m11 = b10 * a01 + b11 * a11
    return m00, m01, m10, m11, b00 * a0 + b01 * a1 + b0, b10 * a0 + b11 * a1 + b1


@triton.jit
def iir_carry_scan_kernel(
    STATES,  # pointer to the chunks' states, (rows, n_chunks, 2), in place
    POWER,  # pointer to C^chunk per filter, (filters, 2, 2), zero-padded for order 1
    n_filters,
    n_chunks,
    BLOCK: tl.constexpr,
):
    # s_c = P s_{c-1} + local_c for order <= 2: an inclusive scan of (P, local_c) over
    # BLOCK chunks at a time, then the state the block before ended with, carried in.
    row = tl.program_id(0)
    power = POWER + (row % n_filters) * 4
    p00, p01 = tl.load(power), tl.load(power + 1)
    p10, p11 = tl.load(power + 2), tl.load(power + 3)
    offsets = tl.arange(0, BLOCK)
    row_states = STATES + row.to(tl.int64) * n_chunks * 2
    carry0 = tl.zeros([], dtype=p00.dtype)
    carry1 = tl.zeros([], dtype=p00.dtype)
    for c0 in range(0, n_chunks - 1, BLOCK):
        c = c0 + offsets
        ok = c < n_chunks - 1
        v0 = tl.load(row_states + 2 * c, mask=ok, other=0.0)
        v1 = tl.load(row_states + 2 * c + 1, mask=ok, other=0.0)
        ones = tl.full([BLOCK], 1.0, dtype=p00.dtype)
        m00, m01, m10, m11, v0, v1 = tl.associative_scan(
            (p00 * ones, p01 * ones, p10 * ones, p11 * ones, v0, v1), 0, _compose
        )
        s0 = m00 * carry0 + m01 * carry1 + v0
        s1 = m10 * carry0 + m11 * carry1 + v1
        tl.store(row_states + 2 * c, s0, mask=ok)
        tl.store(row_states + 2 * c + 1, s1, mask=ok)
        last = offsets == tl.minimum(n_chunks - 2 - c0, BLOCK - 1)
        carry0 = tl.sum(tl.where(last, s0, 0.0), axis=0)
        carry1 = tl.sum(tl.where(last, s1, 0.0), axis=0)


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


def companion_power(a, chunk, order_block):
    """C^chunk for each filter, (filters, order_block, order_block) zero-padded, in a's
    dtype: C maps the state (y[t-1], ..., y[t-order]) one step on (zero input). Computed
    in float64 by repeated squaring (a few tiny matmuls, on the coefficients' device)."""
    filters, n = a.shape
    order = n - 1
    companion = torch.zeros(filters, order, order, dtype=torch.float64, device=a.device)
    companion[:, 0, :] = -a[:, 1:].double()
    companion[:, 1:, :-1] += torch.eye(order - 1, dtype=torch.float64, device=a.device)
    power = torch.linalg.matrix_power(companion, chunk)
    padded = torch.zeros(filters, order_block, order_block, dtype=a.dtype, device=a.device)
    padded[:, :order, :order] = power
    return padded


def lfilter(x, a, b, reverse=0, launch=lambda kernel: kernel, scan_block=SCAN_BLOCK):
    """Filter each row of a 2-D ``x`` (last dim contiguous); row r uses filter r % filters
    of the normalised ``a`` (filters, order + 1), a[:, 0] = 1 (not read), order >= 1, and
    ``b`` (filters, n_b), both contiguous in the compute dtype. ``reverse``: run backwards
    in time. ``scan_block``: chunks per scan of the carry pass (a power of two; tests make
    it small to cross blocks). Returns ``(rows, time)`` of x's dtype."""
    rows, n_time = x.shape
    filters, n_a = a.shape
    order, n_b = n_a - 1, b.shape[1]
    y = torch.empty((rows, n_time), dtype=x.dtype, device=x.device)
    if y.numel() == 0:
        return y
    _check_int32(x, y)
    chunk = chunk_length(n_time, order)
    n_chunks = triton.cdiv(n_time, chunk)
    order_block = max(triton.next_power_of_2(order), 2)
    taps_block = max(triton.next_power_of_2(n_b), 2)
    # zero-filled: the padding slots beyond the order are read (times zero) by the carry
    states = torch.zeros(rows, n_chunks, order_block, dtype=a.dtype, device=x.device)
    programs_per_row = triton.cdiv(n_chunks, LANES)
    grid = (rows * programs_per_row,)
    args = (x, a, b, states, y, x.stride(0), n_time, filters, order, n_b, chunk, n_chunks,
            programs_per_row)  # fmt: skip
    constants = dict(REVERSE=int(reverse), LANES=LANES, ORDER_BLOCK=order_block,
                     TAPS_BLOCK=taps_block, num_warps=1)  # fmt: skip
    if n_chunks > 1:
        launch(iir_chunks_kernel)[grid](*args, STORE_Y=0, **constants)
        power = companion_power(a, chunk, order_block)
        if order <= 2:
            block = min(triton.next_power_of_2(n_chunks - 1), scan_block)
            launch(iir_carry_scan_kernel)[(rows,)](
                states, power, filters, n_chunks, BLOCK=block, num_warps=num_warps(block * 4)
            )
        else:
            launch(iir_carry_kernel)[(triton.cdiv(rows, CARRY_ROWS),)](
                states, power, rows, filters, n_chunks, ROWS=CARRY_ROWS,
                ORDER_BLOCK=order_block, num_warps=1,
            )  # fmt: skip
    launch(iir_chunks_kernel)[grid](*args, STORE_Y=1, **constants)
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
    "iir_chunks_kernel": ("STATES", "Y"),
    "iir_carry_kernel": ("STATES",),
    "iir_carry_scan_kernel": ("STATES",),
    "conv_rows_kernel": ("Y",),
    "lag_products_kernel": ("OUT",),
}
