"""Polyphase windowed-sinc resampling: one kernel for the forward pass and its transpose.

With the rates reduced by their gcd to ``in_rate`` and ``out_rate``, output ``n`` (block
``m = n // out_rate``, phase ``p = n % out_rate``) is
    y[n] = sum_j x[m * in_rate + first[p] + j] * taps[p, j],   j < n_taps,
torchaudio's filter where it is non-zero. The backward pass is the same sum with the rates'
roles swapped and the transposed table (tritaudio._reference.resample.polyphase_taps).

The taps come from a ``(out_rate, n_taps)`` table built once per filter (23 KB for
44.1 -> 16 kHz: L1/L2-resident; stored tap-major, so a warp's table loads are contiguous)
and ``first`` from a per-phase int32 table, so the hot loop is, per output and tap, one
gathered load of x and one FMA per row, and one table load shared by the tile's ROWS rows;
the x loads use immediate offsets (taps unrolled by TAPS). Tiles that
lie inside the signal take a loop without masks; the few at the edges mask. Only when the
table would exceed MAX_TABLE_TAPS (coprime rates such as 9999991 -> 10000019 Hz) are the
taps computed on the fly (sin, cos, divide per tap; int64 index math), so memory stays
bounded for any rates. No host synchronisation or host-to-device copy: the filter's
constants are scalar arguments.

float32 tables go to ``polyphase_dot_kernel`` instead (tensor cores, 3xTF32, so float32
accuracy): ``c`` periods make a super-block of ``c * in_rate`` inputs and ``c * out_rate``
phases; groups of G consecutive phases have windows inside K inputs (powers of two, K at
most MAX_DOT_K), so one group's outputs for M super-blocks of a row are one
``(M, K) @ (K, G)`` product: the M windows are K contiguous inputs each (coalesced), the
(K, G) weights a banded block built once per program from the compact table (no extra
memory). ``dot_plan`` picks G, K, M and c, or declines (windows too wide, index math past
int32, grids too large), when the FMA kernel above runs.
"""

import math

import torch
import triton
import triton.language as tl

from tritaudio._common import compute_dtype as compute_dtype_of
from tritaudio._common import resample_width, resampled_length

PI = tl.constexpr(math.pi)

# A program's tile: ROWS rows (sharing the table loads) by BLOCK outputs, ROWS * BLOCK
# at most MAX_TILE; BLOCK shrinks until the grid has WAVES programs per SM when it can.
MAX_ROWS = 8
MAX_TILE = 2048
MIN_BLOCK = 128
WAVES = 4
DEFAULT_SMS = 132  # H100 / H200, when not on CUDA (the interpreter, compile checks)
INT32_LIMIT = 2**31 - 1
# The tensor-core kernel (float32 tables): windows of at most MAX_DOT_K inputs, tiles of
# M pairs with M * K <= DOT_TILE (registers), up to MAX_DOT_TILES tiles per program (one
# weight block built per program), groups at most 5 % empty; 3xTF32 keeps float32 accuracy.
MAX_DOT_K = 256
MAX_DOT_M = 128
DOT_TILE = 16384
MAX_DOT_TILES = 8
MAX_GROUP_WASTE = 1.05
MAX_GRID_Y = 65535  # CUDA's limit on the grid's second and third axes
DOT_PRECISION = "tf32x3"

_sm_counts = {}


def sm_count(device):
    """Streaming multiprocessors of ``device`` (DEFAULT_SMS off CUDA), cached."""
    if device.type != "cuda":
        return DEFAULT_SMS
    index = device.index if device.index is not None else torch.cuda.current_device()
    if index not in _sm_counts:
        _sm_counts[index] = torch.cuda.get_device_properties(index).multi_processor_count
    return _sm_counts[index]


def tile(rows, length, sms):
    """(ROWS, BLOCK, programs per row block, num_warps) for ``rows`` signals of ``length``
    outputs: as many rows as fit (they share the table loads), then the largest BLOCK that
    still gives WAVES programs per SM (small batches fill the GPU)."""
    tile_rows = min(triton.next_power_of_2(max(rows, 1)), MAX_ROWS)
    block = MAX_TILE // tile_rows
    row_blocks = triton.cdiv(rows, tile_rows)
    while block > MIN_BLOCK and row_blocks * triton.cdiv(length, block) < WAVES * sms:
        block //= 2
    block = min(block, max(MIN_BLOCK, triton.next_power_of_2(max(length, 1))))
    warps = min(max(tile_rows * block // 512, 1), 8)
    return tile_rows, block, triton.cdiv(length, block), warps


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
def _tap_weight(numerator, lpw, t_scale, gain, beta, inv_i0e_beta, KAISER: tl.constexpr):
    # The tap at t * base = numerator * t_scale, numerator (as a float) the exact integer
    # (local / in_rate - phase / out_rate) * in_rate * out_rate (no cancellation).
    scaled = numerator * t_scale
    inside = tl.abs(scaled) <= lpw
    angle = tl.where(scaled == 0, 1.0, scaled * PI)
    sinc = tl.where(scaled == 0, 1.0, tl.sin(angle) / angle)
    if KAISER:
        u = scaled / lpw
        argument = beta * tl.sqrt(tl.maximum(1.0 - u * u, 0.0))
        window = _kaiser_window(argument, beta, inv_i0e_beta)
    else:
        half_cos = tl.cos(scaled * (PI * 0.5) / lpw)
        window = half_cos * half_cos
    return tl.where(inside, sinc * window * gain, 0.0)


@triton.jit
def polyphase_kernel(
    X,  # pointer to the input, (rows, n_in), last dim contiguous
    TAPS_TABLE,  # pointer to the (out_rate, n_taps) taps, strided (unused on the fly)
    FIRST,  # pointer to the (out_rate,) int32 first offsets (unused on the fly)
    Y,  # pointer to the output, (rows, n_out), contiguous
    stride_x_row,
    stride_phase,  # the table's strides: 1 and out_rate for its tap-major layout
    stride_tap,
    n_in,
    n_out,
    in_rate,
    out_rate,
    width,
    n_taps,  # a multiple of TAPS
    n_rows,
    blocks_per_row,
    lpw,
    t_scale,
    gain,
    beta,
    inv_i0e_beta,
    ON_THE_FLY: tl.constexpr,
    KAISER: tl.constexpr,
    ROWS: tl.constexpr,
    BLOCK: tl.constexpr,
    TAPS: tl.constexpr,
):
    pid = tl.program_id(0)
    row_block = pid // blocks_per_row
    n0 = (pid - row_block * blocks_per_row) * BLOCK
    n = n0 + tl.arange(0, BLOCK)
    out_mask = n < n_out
    n = tl.minimum(n, n_out - 1)  # lanes past the end recompute the last output
    rows = row_block * ROWS + tl.arange(0, ROWS)
    row_mask = rows < n_rows
    rows = tl.minimum(rows, n_rows - 1)  # so that loads need no row mask
    x_rows = X + rows.to(tl.int64)[:, None] * stride_x_row
    if ON_THE_FLY:
        n = n.to(tl.int64)
    block_index = n // out_rate
    phase = n - block_index * out_rate
    if ON_THE_FLY:  # noqa: SIM108 (a compile-time branch)
        first = (phase * in_rate) // out_rate - width
    else:
        first = tl.load(FIRST + phase)
    start = block_index * in_rate + first  # input of tap 0
    acc = tl.zeros([ROWS, BLOCK], dtype=TAPS_TABLE.dtype.element_ty)  # the compute dtype
    interior = (tl.min(start) >= 0) & (tl.max(start) + n_taps <= n_in)
    if ON_THE_FLY:
        numerator = (first * out_rate - phase * in_rate) - out_rate
        for j in range(0, n_taps):
            numerator += out_rate
            k = start + j
            weight = _tap_weight(
                numerator.to(acc.dtype), lpw, t_scale, gain, beta, inv_i0e_beta, KAISER
            )
            in_signal = (k >= 0) & (k < n_in)
            x = tl.load(x_rows + k[None, :], mask=in_signal[None, :], other=0.0)
            acc += x.to(acc.dtype) * weight[None, :]
    elif interior:
        # every tap of every output inside the signal: unmasked, pointers stepped by TAPS,
        # each tap an immediate offset.
        x_ptrs = x_rows + start[None, :]
        w_ptrs = TAPS_TABLE + phase * stride_phase
        for _ in range(0, n_taps, TAPS):
            for jj in tl.static_range(TAPS):
                weight = tl.load(w_ptrs)
                x = tl.load(x_ptrs + jj)
                acc += x.to(acc.dtype) * weight[None, :]
                w_ptrs += stride_tap
            x_ptrs += TAPS
    else:
        w_ptrs = TAPS_TABLE + phase * stride_phase
        for j in range(0, n_taps):
            k = start + j
            in_signal = (k >= 0) & (k < n_in)
            weight = tl.load(w_ptrs + j * stride_tap)
            x = tl.load(x_rows + k[None, :], mask=in_signal[None, :], other=0.0)
            acc += x.to(acc.dtype) * weight[None, :]
    y_ptrs = Y + rows.to(tl.int64)[:, None] * n_out + n[None, :]
    tl.store(y_ptrs, acc.to(Y.dtype.element_ty), mask=row_mask[:, None] & out_mask[None, :])


@triton.jit
def polyphase_dot_kernel(
    X,  # pointer to the input, (rows, n_in), last dim contiguous
    TAPS_TABLE,  # pointer to the (out_rate, n_taps) float32 taps, strided
    Y,  # pointer to the output, (rows, n_out), contiguous
    stride_x_row,
    stride_phase,
    stride_tap,
    n_in,
    n_out,
    in_rate,
    out_rate,
    width,
    n_taps,
    n_rows,
    n_super,  # super-blocks per row
    super_in,  # inputs of a super-block: c * in_rate
    super_out,  # phases (outputs) of a super-block: c * out_rate
    n_groups,  # groups of G phases per super-block
    PRECISION: tl.constexpr,
    M: tl.constexpr,
    G: tl.constexpr,
    K: tl.constexpr,
    TILES: tl.constexpr,
):
    # Program (group, chunk, row): one group of G consecutive super-phases, TILES tiles
    # of M consecutive super-blocks of one row. Its (K, G) weights are built once from
    # the compact table: column i is phase s = group * G + i, whose window starts
    # offset[i] inputs after the group's. Columns past the super-block (s >= super_out,
    # the last group's) are computed, never stored. Groups are the fastest grid axis:
    # neighbouring programs share their inputs in L2.
    group = tl.program_id(0)
    chunk = tl.program_id(1).to(tl.int64)  # (scalar tile math in int64: no overflow)
    row = tl.program_id(2).to(tl.int64)
    s = group * G + tl.arange(0, G)
    s_ok = s < super_out
    s_start = (s * in_rate) // out_rate  # floor(s * in / out): the window of s, less width
    g_start = (group * G * in_rate) // out_rate
    offset = s_start - g_start
    kk = tl.arange(0, K)
    kk_wide = kk.to(tl.int64)
    # (2-D index math only in int64 pointers and compares: no int32 products per element)
    w_ok = (kk[:, None] >= offset[None, :]) & (kk[:, None] < (offset + n_taps)[None, :])
    w_ptrs = (TAPS_TABLE + (s % out_rate) * stride_phase - offset * stride_tap)[None, :]
    weights = tl.load(w_ptrs + (kk_wide * stride_tap)[:, None], mask=w_ok, other=0.0)
    first_input = (g_start - width).to(tl.int64)  # of the group's window, in its super-block
    g_first = (group * G).to(tl.int64)
    m_range = tl.arange(0, M)
    s_wide = s.to(tl.int64)
    a_steps = m_range * super_in
    y_steps = m_range * super_out
    x_row = X + row * stride_x_row + first_input
    y_row = Y + row * n_out + g_first
    for t in tl.static_range(TILES):
        sb0 = (chunk * TILES + t) * M
        x_tile = x_row + sb0 * super_in
        y_tile = y_row + sb0 * super_out
        # every window and output of the tile inside the signal: no masks
        interior = (sb0 * super_in + first_input >= 0) & (sb0 + M <= n_super)
        interior = interior & ((sb0 + M - 1) * super_in + first_input + K <= n_in)
        interior = interior & ((sb0 + M - 1) * super_out + g_first + G <= n_out)
        a_ptrs = (x_tile + a_steps)[:, None] + kk_wide[None, :]
        y_ptrs = (y_tile + y_steps)[:, None] + (s_wide - g_first)[None, :]
        if interior:
            a = tl.load(a_ptrs, mask=(kk < K)[None, :], other=0.0)  # (all true)
            y = tl.dot(a.to(tl.float32), weights, input_precision=PRECISION)
            tl.store(y_ptrs, y.to(Y.dtype.element_ty), mask=s_ok[None, :])
        else:
            sb = sb0 + m_range
            start = sb * super_in + first_input
            low = tl.where(sb < n_super, -start, K)  # the window's taps inside the signal
            high = n_in - start
            a_ok = (kk[None, :] >= low[:, None]) & (kk[None, :] < high[:, None])
            a = tl.load(a_ptrs, mask=a_ok, other=0.0)
            y = tl.dot(a.to(tl.float32), weights, input_precision=PRECISION)
            y_count = n_out - sb * super_out - g_first
            y_count = tl.where(sb < n_super, tl.minimum(y_count, super_out - g_first), 0)
            y_ok = tl.arange(0, G)[None, :] < y_count[:, None]
            tl.store(y_ptrs, y.to(Y.dtype.element_ty), mask=y_ok)


def _dot_cost(group, k, m):
    """Warp-instructions per output of the dot kernel, roughly: the 3xTF32 products, per
    input of a window its load, address and splitting, per weight (once a tile) its
    gather and splitting, per output its store."""
    return k / 292 + (7 * k / group + 10 * k / m + 3) / 32


SMALL_PROGRAM_COST = 800  # warp-instructions of a (16, K) tile's program besides its dot


def _dot_warps(m, k):
    """Warps of a dot program: 1 or 2 for the small tiles of short signals (16 x K),
    else 4 or 8."""
    if m * k <= 2048:
        return 1 if m * k <= 1024 else 2
    return 4 if m * k <= DOT_TILE // 2 else 8


def _super_blocks(out_rate, group):
    """Periods per super-block: the fewest whose phases fill groups of ``group`` to within
    5 % (else the best fill), a multiple of 4 outputs where one is (aligned stores)."""
    best, best_waste = 1, math.inf
    for aligned in (True, False):  # super-blocks of a multiple of 4 outputs first
        for c in range(1, group + 1):
            if aligned and (c * out_rate) % 4:
                continue
            waste = triton.cdiv(c * out_rate, group) * group / (c * out_rate)
            if waste <= MAX_GROUP_WASTE:
                return c
            if waste < best_waste:
                best, best_waste = c, waste
    return best


def dot_plan(rows, n_in, n_out, in_rate, out_rate, width, n_taps, sms):
    """How :func:`polyphase_dot_kernel` tiles this filter, or None when it does not apply
    (windows wider than MAX_DOT_K, or index math beyond int32): ``(c, G, K, M, TILES,
    super-blocks per row, groups, grid)``; the grid is (group, chunk of TILES tiles, row).

    A super-block is ``c`` periods, ``c * in_rate`` inputs and ``c * out_rate`` phases;
    its phases are cut into groups of G whose windows all lie in K (a power of two)
    inputs, so that the outputs of one group for M (row, super-block) pairs are one
    ``(M, K) @ (K, G)`` product. G is the width with the fewest modelled instructions
    per output."""
    best = None
    for group in (16, 32, 64):
        k = max(16, triton.next_power_of_2(n_taps + triton.cdiv((group - 1) * in_rate, out_rate)))
        if k > MAX_DOT_K:
            continue
        m = min(MAX_DOT_M, max(16, DOT_TILE // k))
        c = _super_blocks(out_rate, group)
        n_groups = triton.cdiv(c * out_rate, group)
        n_super = triton.cdiv(n_out, c * out_rate)
        cost = _dot_cost(group, k, m)
        if n_super < m:  # a short signal (large coprime rates): a tile of its super-blocks
            m = max(16, triton.next_power_of_2(n_super))  # (tl.dot's M is at least 16)
            # small programs: their fixed cost (the weight block, the scalar index math)
            # counts, and the tile's rows past the signal
            cost = (_dot_cost(group, k, m) + SMALL_PROGRAM_COST / (group * m)) * m / n_super
        cost = cost * n_groups * group / (c * out_rate)
        if best is None or cost < best[0]:
            best = (cost, c, group, k, m, n_groups)
    if best is None:
        return None
    _, c, group, k, m, n_groups = best
    n_super = triton.cdiv(n_out, c * out_rate)
    reach = (n_super + m) * c * (in_rate + out_rate) + k  # the tiles' last input and output
    if max(n_groups * group * in_rate, reach) > INT32_LIMIT or rows > MAX_GRID_Y:
        return None
    m_tiles = triton.cdiv(n_super, m)  # per row
    # tiles per program: the most (one weight block each) that keep WAVES programs per SM
    # and pad the row's tiles by at most an eighth
    tiles = 1
    for more in (2, 4, 8):
        padded = triton.cdiv(m_tiles, more) * more
        if n_groups * rows * (padded // more) >= WAVES * sms and padded * 8 <= m_tiles * 9:
            tiles = more
    while triton.cdiv(m_tiles, tiles) > MAX_GRID_Y:
        tiles *= 2
    if tiles > MAX_DOT_TILES:
        return None
    # (a signal shorter than a super-block leaves the later groups without outputs)
    active = min(n_groups, triton.cdiv(n_out, group))
    return c, group, k, m, tiles, n_super, n_groups, (active, triton.cdiv(m_tiles, tiles), rows)


def filter_constants(spec_args):
    """The on-the-fly taps' scalar arguments, as Python floats (float32 in the kernel):
    (lpw, t_scale = base / (orig * new), gain = base / orig, beta, 1 / i0e(beta))."""
    orig, new, lowpass_filter_width, rolloff, kaiser, beta = spec_args
    base = min(orig, new) * rolloff
    if kaiser:
        inv_i0e_beta = 1.0 / torch.special.i0e(torch.tensor(beta, dtype=torch.float64)).item()
    else:
        beta, inv_i0e_beta = 0.0, 0.0
    return (float(lowpass_filter_width), base / (orig * new), base / orig, beta, inv_i0e_beta)


def _run(x, n_out, in_rate, out_rate, table, spec_args, launch):
    """Apply the filter (rates ``in_rate`` -> ``out_rate``) to each row of ``x``."""
    rows, n_in = x.shape
    y = torch.empty((rows, n_out), dtype=x.dtype, device=x.device)
    if y.numel() == 0:
        return y
    if n_in == 0:
        return y.zero_()
    width, n_taps = resample_width(in_rate, out_rate, spec_args[2], spec_args[3])
    fits_int32 = n_in + 2 * (in_rate + n_taps) < INT32_LIMIT and n_out < INT32_LIMIT
    on_the_fly = table is None or not fits_int32
    if on_the_fly:
        taps = first = torch.empty((0, 0), dtype=compute_dtype_of(x), device=x.device)
        n_taps = 2 * width + 2
    else:
        taps, first = table
        plan = dot_plan(rows, n_in, n_out, in_rate, out_rate, width, n_taps, sm_count(x.device))
        if taps.dtype == torch.float32 and plan is not None:
            c, group, k, m, tiles, n_super, n_groups, programs = plan
            launch(polyphase_dot_kernel)[programs](
                x, taps, y, x.stride(0), taps.stride(0), taps.stride(1), n_in, n_out, in_rate,
                out_rate, width, n_taps, rows, n_super, c * in_rate, c * out_rate, n_groups,
                PRECISION=DOT_PRECISION, M=m, G=group, K=k, TILES=tiles,
                num_warps=_dot_warps(m, k),
            )  # fmt: skip
            return y
    tile_rows, block, blocks_per_row, warps = tile(rows, n_out, sm_count(x.device))
    grid = (triton.cdiv(rows, tile_rows) * blocks_per_row,)
    launch(polyphase_kernel)[grid](
        x, taps, first, y, x.stride(0), taps.stride(0), taps.stride(1), n_in, n_out, in_rate,
        out_rate, width, n_taps, rows,
        blocks_per_row, *filter_constants(spec_args), ON_THE_FLY=int(on_the_fly),
        KAISER=int(spec_args[4]), ROWS=tile_rows, BLOCK=block,
        TAPS=8 if n_taps % 8 == 0 else 4, num_warps=warps,
    )  # fmt: skip
    return y


def resample(x, table, orig, new, lowpass_filter_width, rolloff, kaiser, beta, launch=lambda k: k):
    """Resample each row of a 2-D ``x`` (last dim contiguous) from ``orig`` to ``new``
    (gcd-reduced rates) with ``table = (taps, first)`` (tritaudio._reference.resample_table,
    in x's compute dtype, on its device) or None (taps on the fly).
    Returns ``(rows, resampled_length(n_in))``."""
    spec_args = (orig, new, lowpass_filter_width, rolloff, kaiser, beta)
    n_out = resampled_length(x.shape[1], orig, new)
    return _run(x, n_out, orig, new, table, spec_args, launch)


def resample_backward(
    grad_y, n_in, table_t, orig, new, lowpass_filter_width, rolloff, kaiser, beta,
    launch=lambda k: k,
):  # fmt: skip
    """The gradient of :func:`resample` with respect to its input, ``(rows, n_in)``, with
    the transposed table (``resample_table(..., transposed=True)``) or None."""
    spec_args = (orig, new, lowpass_filter_width, rolloff, kaiser, beta)
    return _run(grad_y, n_in, new, orig, table_t, spec_args, launch)


# The tensor arguments each kernel writes (everything else it only reads); the
# performance model (benchmarks/model) checks every launch against it.
WRITES = {"polyphase_kernel": ("Y",), "polyphase_dot_kernel": ("Y",)}
