"""Filtering kernels: an IIR filter (lfilter) as a chunked linear recurrence, a direct
convolution, and the lag products that the gradients of both reduce to.

lfilter. With coefficients normalised by a0, each row is filtered by
    u[t] = sum_{k < n_b} b[k] x[t - k]                  (FIR part)
    y[t] = u[t] - sum_{1 <= k <= order} a[k] y[t - k]   (IIR part)
The IIR part is a linear recurrence on the state s_t = (y[t-1], ..., y[t-order]), whose
transition is the companion matrix C of a. Time is cut into chunks of ``chunk`` samples
and solved as a chunked scan, each pass parallel over rows and chunks:
  1. every chunk runs the recurrence from a zero state (the FIR part fused in) and keeps
     only its final state (iir_chunks_kernel, STORE_Y = 0; orders above 8:
     iir_chunks_ring_kernel);
  2. the true state at each chunk's end is s_c = P s_{c-1} + local_c with P = C^chunk
     (computed in the kernel by repeated squaring in float64):
     for order <= 2 (every biquad) a tl.associative_scan over blocks of chunks of the
     pairs (P, local_c), composed as (M2 M1, M2 v1 + v2), with the last state of each
     block carried into the next (iir_carry_scan_kernel); for higher orders (N^2 + N
     values per pair) a sequential loop over chunks per row (iir_carry_kernel);
  3. every chunk runs again from its true initial state and writes y (STORE_Y = 1), the
     clamp fused (CLAMP = 1).
Each lane holds one chunk: the order-N recurrence costs O(N) per sample (up to order 8
its past inputs and outputs in registers: one load, n_b + order FMAs), where an
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
def _time_index(t, n_time, REVERSE: tl.constexpr):
    # the memory index of logical time t (reversed: t = 0 is the row's last sample)
    if REVERSE:
        return n_time - 1 - t
    return t


@triton.jit
def _clamped(y, CLAMP: tl.constexpr):
    # y clamped to [-1, 1] when CLAMP (NaN stays NaN)
    if CLAMP:
        return tl.where(y != y, y, tl.minimum(tl.maximum(y, -1.0), 1.0))
    return y


@triton.jit
def _coefficient(row_ptr, k, n):
    # row_ptr[k] if k < n, else 0
    return tl.load(row_ptr + k, mask=k < n, other=0.0)


@triton.jit
def iir_chunks_kernel(
    X,  # pointer to the input, (rows, time), last dim contiguous
    A,  # pointer to the denominators, (filters, order + 1), contiguous
    B,  # pointer to the numerators, (filters, n_b), contiguous, n_b <= order + 1
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
    ORDER_BLOCK: tl.constexpr,  # 2, 4 or 8 (>= order)
):
    # Orders up to MAX_REGISTER_ORDER. One lane per chunk; the filter is run as one of
    # order ORDER_BLOCK (coefficients beyond the order are zero), its past inputs x1..x8
    # and outputs y1..y8 (x[t-k], y[t-k]) in registers, shifted each step: per sample one
    # load, n_b + order FMAs, (STORE_Y) one store. The next sample is loaded a step ahead.
    # STORE_Y = 0: start from zero, store the final state s[m] = y[chunk - 1 - m].
    # STORE_Y = 1: start from the state that STATES holds for the chunk before, store y.
    pid = tl.program_id(0)
    row = pid // programs_per_row
    chunks = (pid % programs_per_row) * LANES + tl.arange(0, LANES)
    lane_ok = chunks < n_chunks
    filt = row % n_filters
    a_row = A + filt * (order + 1)
    b_row = B + filt * n_b
    a0 = tl.load(a_row)  # the coefficients are normalised by a0 here
    a1, a2 = _coefficient(a_row, 1, order + 1) / a0, _coefficient(a_row, 2, order + 1) / a0
    b0, b1 = _coefficient(b_row, 0, n_b) / a0, _coefficient(b_row, 1, n_b) / a0
    b2 = _coefficient(b_row, 2, n_b) / a0
    acc_dtype = b0.dtype
    zero = tl.zeros([LANES], dtype=acc_dtype)
    x_row = X + row.to(tl.int64) * stride_x_row
    y_row = Y + row.to(tl.int64) * n_time
    state_rows = STATES + (row.to(tl.int64) * n_chunks + chunks) * ORDER_BLOCK
    start = chunks * chunk
    # the inputs before the chunk, x[start - k] (zero before the row)
    x1, x2 = _past_input(x_row, start, 1, n_time, lane_ok, zero, REVERSE), _past_input(x_row, start, 2, n_time, lane_ok, zero, REVERSE)
    x3, x4, x5, x6, x7, x8 = zero, zero, zero, zero, zero, zero
    y1, y2, y3, y4, y5, y6, y7, y8 = zero, zero, zero, zero, zero, zero, zero, zero
    a3, a4, a5, a6, a7, a8 = a2, a2, a2, a2, a2, a2  # (placeholders: read for ORDER_BLOCK 8)
    b3, b4, b5, b6, b7, b8 = b2, b2, b2, b2, b2, b2
    if ORDER_BLOCK >= 4:
        a3, a4 = _coefficient(a_row, 3, order + 1) / a0, _coefficient(a_row, 4, order + 1) / a0
        b3, b4 = _coefficient(b_row, 3, n_b) / a0, _coefficient(b_row, 4, n_b) / a0
        x3, x4 = _past_input(x_row, start, 3, n_time, lane_ok, zero, REVERSE), _past_input(x_row, start, 4, n_time, lane_ok, zero, REVERSE)
    if ORDER_BLOCK >= 8:
        a5, a6 = _coefficient(a_row, 5, order + 1) / a0, _coefficient(a_row, 6, order + 1) / a0
        a7, a8 = _coefficient(a_row, 7, order + 1) / a0, _coefficient(a_row, 8, order + 1) / a0
        b5, b6 = _coefficient(b_row, 5, n_b) / a0, _coefficient(b_row, 6, n_b) / a0
        b7, b8 = _coefficient(b_row, 7, n_b) / a0, _coefficient(b_row, 8, n_b) / a0
        x5, x6 = _past_input(x_row, start, 5, n_time, lane_ok, zero, REVERSE), _past_input(x_row, start, 6, n_time, lane_ok, zero, REVERSE)
        x7, x8 = _past_input(x_row, start, 7, n_time, lane_ok, zero, REVERSE), _past_input(x_row, start, 8, n_time, lane_ok, zero, REVERSE)
    if STORE_Y:
        # y[start - 1 - m] = the previous chunk's true state s[m], m < order
        carry_ok = lane_ok & (chunks > 0)
        orders = tl.zeros([LANES], dtype=tl.int32) + order
        previous = state_rows - ORDER_BLOCK
        y1 = tl.load(previous, mask=carry_ok & (orders > 0), other=0.0).to(acc_dtype)
        y2 = tl.load(previous + 1, mask=carry_ok & (orders > 1), other=0.0).to(acc_dtype)
        if ORDER_BLOCK >= 4:
            y3 = tl.load(previous + 2, mask=carry_ok & (orders > 2), other=0.0).to(acc_dtype)
            y4 = tl.load(previous + 3, mask=carry_ok & (orders > 3), other=0.0).to(acc_dtype)
        if ORDER_BLOCK >= 8:
            y5 = tl.load(previous + 4, mask=carry_ok & (orders > 4), other=0.0).to(acc_dtype)
            y6 = tl.load(previous + 5, mask=carry_ok & (orders > 5), other=0.0).to(acc_dtype)
            y7 = tl.load(previous + 6, mask=carry_ok & (orders > 6), other=0.0).to(acc_dtype)
            y8 = tl.load(previous + 7, mask=carry_ok & (orders > 7), other=0.0).to(acc_dtype)
    t = start
    x0 = tl.load(x_row + _time_index(t, n_time, REVERSE), mask=lane_ok & (t < n_time), other=0.0)
    for _ in range(0, chunk):
        t_next = t + 1
        x_next = tl.load(x_row + _time_index(t_next, n_time, REVERSE),
                         mask=lane_ok & (t_next < n_time), other=0.0)  # fmt: skip
        x0 = x0.to(acc_dtype)
        u = b0 * x0 + b1 * x1 + b2 * x2
        y = u - a1 * y1 - a2 * y2
        if ORDER_BLOCK >= 4:
            y = y + b3 * x3 + b4 * x4 - a3 * y3 - a4 * y4
        if ORDER_BLOCK >= 8:
            y = y + b5 * x5 + b6 * x6 + b7 * x7 + b8 * x8 - a5 * y5 - a6 * y6 - a7 * y7 - a8 * y8
            y8, y7, y6, y5 = y7, y6, y5, y4
            x8, x7, x6, x5 = x7, x6, x5, x4
        if ORDER_BLOCK >= 4:
            y4, y3 = y3, y2
            x4, x3 = x3, x2
        y2, y1 = y1, y
        x2, x1 = x1, x0
        if STORE_Y:
            y_ok = lane_ok & (t < n_time)
            tl.store(y_row + _time_index(t, n_time, REVERSE), _clamped(y, CLAMP).to(Y.dtype.element_ty), mask=y_ok)
        x0 = x_next
        t = t_next
    if not STORE_Y:
        # every slot (those beyond the order hold real past outputs: finite, times zero)
        tl.store(state_rows, y1, mask=lane_ok)
        tl.store(state_rows + 1, y2, mask=lane_ok)
        if ORDER_BLOCK >= 4:
            tl.store(state_rows + 2, y3, mask=lane_ok)
            tl.store(state_rows + 3, y4, mask=lane_ok)
        if ORDER_BLOCK >= 8:
            tl.store(state_rows + 4, y5, mask=lane_ok)
            tl.store(state_rows + 5, y6, mask=lane_ok)
            tl.store(state_rows + 6, y7, mask=lane_ok)
            tl.store(state_rows + 7, y8, mask=lane_ok)


@triton.jit
def _past_input(x_row, start, k, n_time, lane_ok, like, REVERSE: tl.constexpr):
    # x[start - k] of each lane (zero before the row's start), like's dtype
    lag = start - k
    ok = lane_ok & (lag >= 0)
    return tl.load(x_row + _time_index(lag, n_time, REVERSE), mask=ok, other=0.0).to(like.dtype)


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
            tl.store(y_row + _time_index(t, n_time, REVERSE), _clamped(y, CLAMP).to(Y.dtype.element_ty),
                     mask=y_ok)  # fmt: skip
    if not STORE_Y:
        m = ((chunk - 1 - slots) % order + order) % order
        tl.store(
            state_rows[:, None] + m[None, :], history, mask=lane_ok[:, None] & slot_ok[None, :]
        )


@triton.jit
def _companion_power(A, filt, order, log2_chunk, ORDER_BLOCK: tl.constexpr):
    # C^chunk (chunk = 2^log2_chunk) of the filter, (ORDER_BLOCK, ORDER_BLOCK) zero-padded,
    # by repeated squaring in float64: C maps the state (y[t-1], ..., y[t-order]) one step
    # on (zero input): first row -a[1..order], then the shift.
    i = tl.arange(0, ORDER_BLOCK)
    a_row = A + filt * (order + 1)
    a0 = tl.load(a_row).to(tl.float64)
    first = -tl.load(a_row + 1 + i, mask=i < order, other=0.0).to(tl.float64) / a0
    rows, cols = i[:, None], i[None, :]
    shift = tl.where((rows == cols + 1) & (rows < order), 1.0, 0.0).to(tl.float64)
    power = tl.where(rows == 0, first[None, :] + shift, shift)
    for _ in range(0, log2_chunk):
        power = tl.sum(power[:, :, None] * power[None, :, :], axis=1)
    return power


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
def _compose(a00, a01, a10, a11, a0, a1, b00, b01, b10, b11, b0, b1):
    # (M_b, v_b) after (M_a, v_a): the affine map x -> M_b (M_a x + v_a) + v_b, 2 x 2
    m00 = b00 * a00 + b01 * a10
    m01 = b00 * a01 + b01 * a11
    m10 = b10 * a00 + b11 * a10
    m11 = b10 * a01 + b11 * a11
    return m00, m01, m10, m11, b00 * a0 + b01 * a1 + b0, b10 * a0 + b11 * a1 + b1


@triton.jit
def _power2(c00, c01, c10, c11, log2_chunk):
    # the 2 x 2 matrix C^(2^log2_chunk), by repeated squaring (in C's dtype)
    for _ in range(0, log2_chunk):
        c00, c01, c10, c11 = (c00 * c00 + c01 * c10, c00 * c01 + c01 * c11,
                              c10 * c00 + c11 * c10, c10 * c01 + c11 * c11)  # fmt: skip
    return c00, c01, c10, c11


@triton.jit
def _biquad_pass(x_row, y_row, start, chunk, n_time, lane_ok, b0, b1, b2, a1, a2, y1, y2,
                 REVERSE: tl.constexpr, STORE_Y: tl.constexpr, CLAMP: tl.constexpr):  # fmt: skip
    # one pass of an order <= 2 recurrence over each lane's chunk from the state (y1, y2)
    # (y[start - 1], y[start - 2]); returns the state at the chunk's end
    x1 = _past_input(x_row, start, 1, n_time, lane_ok, y1, REVERSE)
    x2 = _past_input(x_row, start, 2, n_time, lane_ok, y1, REVERSE)
    t = start
    x0 = tl.load(x_row + _time_index(t, n_time, REVERSE), mask=lane_ok & (t < n_time), other=0.0)
    for _ in range(0, chunk):
        t_next = t + 1
        x_next = tl.load(x_row + _time_index(t_next, n_time, REVERSE),
                         mask=lane_ok & (t_next < n_time), other=0.0)  # fmt: skip
        x0 = x0.to(y1.dtype)
        y = b0 * x0 + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
        y2, y1 = y1, y
        x2, x1 = x1, x0
        if STORE_Y:
            tl.store(y_row + _time_index(t, n_time, REVERSE),
                     _clamped(y, CLAMP).to(y_row.dtype.element_ty), mask=lane_ok & (t < n_time))  # fmt: skip
        x0 = x_next
        t = t_next
    return y1, y2


@triton.jit
def _lane(values, lanes, index):
    # values[index] of a [LANES] tensor, as a scalar
    return tl.sum(tl.where(lanes == index, values, 0.0), axis=0)


@triton.jit
def iir_single_pass_kernel(
    X,  # pointer to the input, (rows, time), last dim contiguous
    A,  # pointer to the denominators, (filters, order + 1), contiguous, order <= 2
    B,  # pointer to the numerators, (filters, n_b), contiguous, n_b <= order + 1
    TILES,  # pointer to each tile's published states, (tiles, 4): aggregate, inclusive
    FLAGS,  # pointer to (tiles + 1) int32, zero-filled: tile status, then a ticket counter
    Y,  # pointer to the output, (rows, time), contiguous
    stride_x_row,
    n_time,
    n_filters,
    order,
    n_b,
    chunk,
    n_chunks,
    programs_per_row,
    n_tiles,
    log2_chunk,
    REVERSE: tl.constexpr,
    CLAMP: tl.constexpr,
    LANES: tl.constexpr,
):
    # Orders <= 2 in one launch, a chained scan with decoupled look-back. A tile is LANES
    # chunks of a row, one per lane, taken in launch order by a ticket (so a tile only
    # waits for tiles already running). Pass 1: each chunk from a zero state; the lanes'
    # local end states v_l are combined by an exclusive tl.associative_scan of the affine
    # maps (P, v_{l-1}), P = C^chunk, into (P^l, E_l); the tile's aggregate (its end state
    # from a zero start) is published (flag 1). Look-back: the state at the tile's start is
    # folded from the tiles before it in the row, their aggregates (times powers of
    # P^LANES) until one that has published its true end state (flag 2). The tile
    # publishes its own, then pass 2 runs every chunk from P^l s + E_l and stores y.
    # Coefficients are normalised by a0 here.
    tile = tl.atomic_add(FLAGS + n_tiles, 1)
    row = tile // programs_per_row
    block = tile % programs_per_row
    lanes = tl.arange(0, LANES)
    chunks = block * LANES + lanes
    lane_ok = chunks < n_chunks
    filt = row % n_filters
    a_row = A + filt * (order + 1)
    b_row = B + filt * n_b
    a0 = tl.load(a_row)
    a1, a2 = _coefficient(a_row, 1, order + 1) / a0, _coefficient(a_row, 2, order + 1) / a0
    b0 = _coefficient(b_row, 0, n_b) / a0
    b1, b2 = _coefficient(b_row, 1, n_b) / a0, _coefficient(b_row, 2, n_b) / a0
    dtype = b0.dtype
    zero = tl.zeros([LANES], dtype=dtype)
    x_row = X + row.to(tl.int64) * stride_x_row
    y_row = Y + row.to(tl.int64) * n_time
    start = chunks * chunk
    v0, v1 = _biquad_pass(x_row, y_row, start, chunk, n_time, lane_ok, b0, b1, b2, a1, a2,
                          zero, zero, REVERSE, 0, 0)  # fmt: skip
    # P = C^chunk, C = [[-a1, -a2], [1, 0]], squared in float64
    one = tl.full([], 1.0, tl.float64)
    p00, p01, p10, p11 = _power2(-a1.to(tl.float64), -a2.to(tl.float64), one, one * 0.0,
                                 log2_chunk)  # fmt: skip
    p00, p01, p10, p11 = p00.to(dtype), p01.to(dtype), p10.to(dtype), p11.to(dtype)
    # the exclusive scan: lane l's map (P, v_{l-1}), lane 0's the identity
    shift = lanes[:, None] == lanes[None, :] + 1
    w0 = tl.sum(tl.where(shift, v0[None, :], 0.0), axis=1)
    w1 = tl.sum(tl.where(shift, v1[None, :], 0.0), axis=1)
    first_lane = lanes == 0
    m00, m01, m10, m11, e0, e1 = tl.associative_scan(
        (tl.where(first_lane, 1.0, p00 + zero), tl.where(first_lane, 0.0, p01 + zero),
         tl.where(first_lane, 0.0, p10 + zero), tl.where(first_lane, 1.0, p11 + zero),
         w0, w1), 0, _compose,
    )  # fmt: skip
    # the tile's aggregate and P^LANES, from the last lane
    last = LANES - 1
    q00, q01 = _lane(m00, lanes, last), _lane(m01, lanes, last)
    q10, q11 = _lane(m10, lanes, last), _lane(m11, lanes, last)
    l0, l1 = _lane(e0, lanes, last), _lane(e1, lanes, last)
    u0, u1 = _lane(v0, lanes, last), _lane(v1, lanes, last)
    g0 = p00 * l0 + p01 * l1 + u0
    g1 = p10 * l0 + p11 * l1 + u1
    pb00, pb01 = p00 * q00 + p01 * q10, p00 * q01 + p01 * q11
    pb10, pb11 = p10 * q00 + p11 * q10, p10 * q01 + p11 * q11
    tl.store(TILES + tile * 4, g0)
    tl.store(TILES + tile * 4 + 1, g1)
    tl.atomic_xchg(FLAGS + tile, 1, sem="release")
    # look back over the row's earlier tiles
    first_tile = row * programs_per_row
    s0 = tl.zeros([], dtype=dtype)
    s1 = tl.zeros([], dtype=dtype)
    k00, k01 = tl.full([], 1.0, dtype), tl.zeros([], dtype=dtype)
    k10, k11 = tl.zeros([], dtype=dtype), tl.full([], 1.0, dtype)
    j = tile - 1
    going = j >= first_tile
    while going:
        flag = tl.atomic_add(FLAGS + j, 0, sem="acquire")
        while flag == 0:
            flag = tl.atomic_add(FLAGS + j, 0, sem="acquire")
        published = TILES + j * 4 + 2 * (flag - 1)
        h0 = tl.load(published, volatile=True)
        h1 = tl.load(published + 1, volatile=True)
        s0, s1 = s0 + k00 * h0 + k01 * h1, s1 + k10 * h0 + k11 * h1
        k00, k01, k10, k11 = (k00 * pb00 + k01 * pb10, k00 * pb01 + k01 * pb11,
                              k10 * pb00 + k11 * pb10, k10 * pb01 + k11 * pb11)  # fmt: skip
        j -= 1
        going = (flag == 1) & (j >= first_tile)
    # the tile's true end state, published for the tiles after it
    tl.store(TILES + tile * 4 + 2, pb00 * s0 + pb01 * s1 + g0)
    tl.store(TILES + tile * 4 + 3, pb10 * s0 + pb11 * s1 + g1)
    tl.atomic_xchg(FLAGS + tile, 2, sem="release")
    y1 = m00 * s0 + m01 * s1 + e0
    y2 = m10 * s0 + m11 * s1 + e1
    _biquad_pass(x_row, y_row, start, chunk, n_time, lane_ok, b0, b1, b2, a1, a2, y1, y2,
                 REVERSE, 1, CLAMP)  # fmt: skip


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
    constants = dict(REVERSE=int(reverse), LANES=lanes, ORDER_BLOCK=order_block, num_warps=1)
    if order <= MAX_REGISTER_ORDER:
        kernel = iir_chunks_kernel
        # every slot is written (the register kernel stores all ORDER_BLOCK of them)
        states = torch.empty(rows, n_chunks, order_block, dtype=a.dtype, device=x.device)
    else:
        kernel = iir_chunks_ring_kernel
        constants["TAPS_BLOCK"] = max(triton.next_power_of_2(n_b), 2)
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
    "iir_chunks_kernel": ("STATES", "Y"),
    "iir_chunks_ring_kernel": ("STATES", "Y"),
    "iir_carry_kernel": ("STATES",),
    "iir_single_pass_kernel": ("TILES", "FLAGS", "Y"),
    "conv_rows_kernel": ("Y",),
    "lag_products_kernel": ("OUT",),
}
