"""Mixing kernels: a gain applied to every row, and noise added at a signal-to-noise ratio.

add_noise (torchaudio.functional.add_noise) in one launch, pipelined: each program reduces
one block of a row to its partial energies (the signal's and the noise's, over the row's
first ``length`` samples) and publishes them, then mixes a block of the row before, whose
partials are all published: the row's noise scale from them and the SNR, and
``waveform + scale * noise``. The backward is one such launch too: partial sums of
``grad * noise``, then both input gradients (and the SNR's) with the coefficients computed
from both sets of partials. Nothing is read back to the host.

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

from .launch import num_warps, row_blocks, wait_at_least


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


# Philox-4x32-10 (Salmon et al. 2011; the same words as tl.randint4x for the same key and
# counter), written out so that the zero words of the counter (c1 = c2 = c3 = 0) cost
# nothing: the first round is one multiply (both halves) and an xor, the second one less.
PHILOX_A = tl.constexpr(0xD2511F53)
PHILOX_B = tl.constexpr(0xCD9E8D57)
PHILOX_KEY_A = tl.constexpr(0x9E3779B9)
PHILOX_KEY_B = tl.constexpr(0xBB67AE85)


@triton.jit
def _philox(key, counter):
    # the four 32-bit words of Philox-4x32-10 at (counter, 0, 0, 0), key the int64 ``key``
    k0 = (key & 0xFFFFFFFF).to(tl.uint32)
    k1 = ((key >> 32) & 0xFFFFFFFF).to(tl.uint32)
    c = counter.to(tl.uint32, bitcast=True)  # an int32 counter
    # round 1 (c1 = c2 = c3 = 0): c0 = k0 (a scalar), c1 = 0
    c2 = tl.math.umulhi(c, PHILOX_A) ^ k1
    c3 = tl.mul(c, PHILOX_A, sanitize_overflow=False)
    s0 = k0
    k0 = tl.add(k0, PHILOX_KEY_A, sanitize_overflow=False)
    k1 = tl.add(k1, PHILOX_KEY_B, sanitize_overflow=False)
    # round 2 (c0 a scalar, c1 = 0)
    c0 = tl.math.umulhi(c2, PHILOX_B) ^ k0
    c1 = tl.mul(c2, PHILOX_B, sanitize_overflow=False)
    c2 = c3 ^ (tl.math.umulhi(s0, PHILOX_A) ^ k1)
    s3 = tl.mul(s0, PHILOX_A, sanitize_overflow=False)
    k0 = tl.add(k0, PHILOX_KEY_A, sanitize_overflow=False)
    k1 = tl.add(k1, PHILOX_KEY_B, sanitize_overflow=False)
    # round 3 (c3 a scalar)
    _c0 = c0
    c0 = tl.math.umulhi(c2, PHILOX_B) ^ c1 ^ k0
    c1 = tl.mul(c2, PHILOX_B, sanitize_overflow=False)
    c2 = tl.math.umulhi(_c0, PHILOX_A) ^ (s3 ^ k1)
    c3 = tl.mul(_c0, PHILOX_A, sanitize_overflow=False)
    for _ in tl.static_range(7):  # rounds 4 .. 10
        k0 = tl.add(k0, PHILOX_KEY_A, sanitize_overflow=False)
        k1 = tl.add(k1, PHILOX_KEY_B, sanitize_overflow=False)
        _c0, _c2 = c0, c2
        c0 = tl.math.umulhi(_c2, PHILOX_B) ^ c1 ^ k0
        c2 = tl.math.umulhi(_c0, PHILOX_A) ^ c3 ^ k1
        c1 = tl.mul(_c2, PHILOX_B, sanitize_overflow=False)
        c3 = tl.mul(_c0, PHILOX_A, sanitize_overflow=False)
    return c0, c1, c2, c3


@triton.jit
def _to_float(word):
    # a Philox word as a float in [1, 2**32] (odd, so never 0): the uniform is it * 2**-32
    return (word | 1).to(tl.float32)


@triton.jit
def _minus_two_log(f, EXPONENT: tl.constexpr, SUMMED: tl.constexpr):
    # -2 ln(f * 2**-EXPONENT) for a positive normal float f, without libdevice: the
    # exponent from the bits, ln of the mantissa m in [1, 2) by a polynomial in m - 1:
    # degree 8 (max error 4e-7, float32 rounding included), or where only a sum of many is
    # wanted (SUMMED) degree 7 (2.2e-6)
    bits = f.to(tl.int32, bitcast=True)
    exponent = (bits >> 23).to(tl.float32)
    t = (bits & 0x7FFFFF | 0x3F800000).to(tl.float32, bitcast=True) - 1.0
    if SUMMED:
        p = tl.fma(t, -0.02805323153734207, 0.13153816759586334)
        p = tl.fma(t, p, -0.29621025919914246)
        p = tl.fma(t, p, 0.46834492683410645)
        p = tl.fma(t, p, -0.6615749001502991)
        p = tl.fma(t, p, 0.9996508359909058)
        p = tl.fma(t, p, -1.999994158744812)
    else:
        p = tl.fma(t, 0.016932489350438118, -0.08731694519519806)
        p = tl.fma(t, p, 0.21359558403491974)
        p = tl.fma(t, p, -0.3531945049762726)
        p = tl.fma(t, p, 0.4890664219856262)
        p = tl.fma(t, p, -0.6653047800064087)
        p = tl.fma(t, p, 0.9999271035194397)
        p = tl.fma(t, p, -1.9999990463256836)
    ln2 = 0.6931471805599453
    return tl.fma(t, p, tl.fma(exponent, -2.0 * ln2, 2.0 * ln2 * (127 + EXPONENT)))


@triton.jit
def _box_muller(radius_word, angle_word):
    # Both normals of a Box-Muller pair: r = sqrt(-2 ln u1), angle pi * v for v uniform in
    # [-1/2, 1/2) (bits 0-30 of the angle word) and the cosine's sign from bit 31: the
    # angle is uniform on the circle. sin / cos by polynomials (max error 2.2e-7).
    r = tl.sqrt(_minus_two_log(_to_float(radius_word), 32, False))
    v = (angle_word << 1).to(tl.int32, bitcast=True).to(tl.float32) * 2.3283064365386963e-10
    z = v * v
    s = tl.fma(z, 0.0778886079788208, -0.5983952879905701)
    s = tl.fma(z, s, 2.5500919818878174)
    s = tl.fma(z, s, -5.167710781097412)
    s = tl.fma(z, s, 3.1415927410125732) * v
    c = tl.fma(z, 0.22049111127853394, -1.3322376012802124)
    c = tl.fma(z, c, 4.0584611892700195)
    c = tl.fma(z, c, -4.934794902801514)
    c = tl.fma(z, c, 0.9999999403953552)
    sign = (angle_word & 0x80000000).to(tl.int32, bitcast=True)
    c = (c.to(tl.int32, bitcast=True) ^ sign).to(tl.float32, bitcast=True)
    return r * c, r * s


@triton.jit
def _white_noise(key, start, BLOCK: tl.constexpr):
    # BLOCK normals for samples start .. start + BLOCK - 1 (start a multiple of 4): one
    # Philox call per 4 samples (counter t // 4), all four of its words, both normals of
    # each pair.
    groups = (start >> 2).to(tl.int32) + tl.arange(0, BLOCK // 4)
    w0, w1, w2, w3 = _philox(key, groups)
    n0, n1 = _box_muller(w0, w1)
    n2, n3 = _box_muller(w2, w3)
    return tl.reshape(tl.join(tl.join(n0, n1), tl.join(n2, n3)), (BLOCK,))


@triton.jit
def _white_energy(key, start, counted, BLOCK: tl.constexpr):
    # the squares of the first ``counted`` samples of _white_noise(key, start, BLOCK),
    # summed per 8 samples (BLOCK // 8 values), mostly without the angles: a pair's
    # n1^2 + n2^2 is r^2 = -2 ln u1, and the four pairs of two Philox calls give
    # -2 ln(u1 u3 u1' u3'), one logarithm per 8 samples (equal to the squares' sum to ~1e-6
    # relative). The 8 samples that ``counted`` cuts, if any, are summed from their normals.
    pairs = tl.arange(0, BLOCK // 8)
    groups = (start >> 2).to(tl.int32) + tl.arange(0, BLOCK // 4)
    w0, _, w2, _ = _philox(key, groups)
    a0, b0 = tl.split(tl.reshape(_to_float(w0), (BLOCK // 8, 2)))
    a2, b2 = tl.split(tl.reshape(_to_float(w2), (BLOCK // 8, 2)))
    product = (a0 * a2) * (b0 * b2 * 5.421010862427522e-20)  # in [2**-64, 2**64]
    energy = _minus_two_log(product, 64, True)
    if counted < BLOCK:
        full = counted >> 3
        energy = tl.where(pairs < full, energy, 0.0)
        if (counted & 7) != 0:
            n = _white_noise(key, start + 8 * full, 16)
            n = tl.where(tl.arange(0, 16) < (counted & 7), n, 0.0)
            energy = tl.where(pairs == 0, energy + tl.sum(n * n, axis=0), energy)
    return energy


@triton.jit
def _row_length(LENGTHS, row, stride_lengths, n_time, HAS_LENGTHS: tl.constexpr):
    # Samples counted in the energies: torchaudio counts t < lengths[row] (any value).
    # Floating-point lengths count ceil(length) samples, NaN none; in [0, n_time].
    if HAS_LENGTHS:
        length = tl.load(LENGTHS + row * stride_lengths)
        if LENGTHS.dtype.element_ty.is_floating():
            length = tl.minimum(tl.maximum(length.to(tl.float64), 0.0), 4.0e18)
            length = tl.where(length == length, tl.ceil(length), 0.0)
        length = tl.minimum(tl.maximum(length.to(tl.int64), 0), n_time)
    else:
        length = n_time
    return length


@triton.jit
def _in_block(bound, start, BLOCK: tl.constexpr):
    # how many of the block's samples start .. start + BLOCK - 1 lie below ``bound``, int32
    return tl.minimum(tl.maximum(bound - start, 0), BLOCK).to(tl.int32)


@triton.jit
def _row_sum(P, n_blocks, BLOCK_P: tl.constexpr):
    # sum of P[0 .. n_blocks) in a fixed order (every program of a row gets the same sum);
    # volatile loads: the partials were published by other programs of this launch
    acc = tl.zeros((BLOCK_P,), dtype=P.dtype.element_ty)
    for first in range(0, n_blocks, BLOCK_P):
        offsets = first + tl.arange(0, BLOCK_P)
        acc += tl.load(P + offsets, mask=offsets < n_blocks, other=0.0, volatile=True)
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
def _pipeline_tiles(COUNTS, n_rows, blocks_per_row):
    # The two phases of a pipelined launch (grid: one more row of blocks than the input).
    # Programs are numbered by a ticket taken at their start (COUNTS[n_rows]), so every
    # lower ticket is already running. Ticket i reduces tile i (block i % blocks_per_row of
    # row i // blocks_per_row; if i is a tile) and then finishes tile i - blocks_per_row, a
    # tile of the row before, whose partials every program of that row has published with
    # a lower ticket: a program waits only on programs already running, never on a later
    # one (and the interpreter, running programs in order, never waits). The finishing pass
    # re-reads its tile one row of tiles after the first read (at 64 x 10 s, ~1.3 MB of
    # input later): from L2, so the input crosses DRAM once.
    # Every program runs both phases, masked off at the ends (the first row of tickets
    # finishes nothing, the last reduces nothing): all programs do the same work.
    # Returns (row reduced, whether it is one, row finished, whether it is one, block):
    # the rows clamped into range and int64 for the address math.
    ticket = tl.atomic_add(COUNTS + n_rows, 1)
    row = ticket // blocks_per_row  # int32: the launcher bounds the tile count
    block = ticket - row * blocks_per_row
    row = row.to(tl.int64)
    reduced = tl.minimum(row, n_rows - 1)
    finished = tl.maximum(row - 1, 0)
    return reduced, row < n_rows, finished, row >= 1, block


@triton.jit
def _energies(W, N, SEED, row, start, counted, stride_w_row, stride_n_row,
              acc_dtype: tl.constexpr, GENERATE: tl.constexpr, BLOCK: tl.constexpr):  # fmt: skip
    # (sum of w^2, sum of n^2) over the block's first ``counted`` samples
    offsets = tl.arange(0, BLOCK)
    if GENERATE:
        key = tl.load(SEED).to(tl.int64) + row
        if counted == BLOCK:
            # a block wholly counted (all but a row's last): 4 steps of BLOCK // 4 samples (8
            # per thread each), fewer live registers, sums accumulated per lane and reduced
            # across the block once at the end; no masks
            SUB: tl.constexpr = BLOCK // 4
            lanes = tl.arange(0, SUB)
            acc_w = tl.zeros((SUB,), dtype=acc_dtype)
            acc_n = tl.zeros((SUB // 8,), dtype=tl.float32)
            for first in tl.static_range(0, BLOCK, SUB):
                step = tl.load(W + (row * stride_w_row + start + first) + lanes).to(acc_dtype)
                acc_w += step * step
                acc_n += _white_energy(key, start + first, SUB, SUB)
            energy_signal = tl.sum(acc_w, axis=0)
            energy_noise = tl.sum(acc_n, axis=0).to(acc_dtype)
        else:
            mask = offsets < counted
            w = tl.load(W + (row * stride_w_row + start) + offsets, mask=mask, other=0.0)
            w = w.to(acc_dtype)
            energy_signal = tl.sum(w * w, axis=0)
            energy_noise = tl.sum(_white_energy(key, start, counted, BLOCK), axis=0).to(acc_dtype)
    else:
        mask = offsets < counted
        w = tl.load(W + (row * stride_w_row + start) + offsets, mask=mask, other=0.0)
        w = w.to(acc_dtype)
        n = tl.load(N + (row * stride_n_row + start) + offsets, mask=mask, other=0.0)
        n = n.to(acc_dtype)
        energy_signal = tl.sum(w * w, axis=0)
        energy_noise = tl.sum(n * n, axis=0)
    return energy_signal, energy_noise


@triton.jit
def _noise_block(N, SEED, row, stride_n_row, start, mask, GENERATE: tl.constexpr,
                 BLOCK: tl.constexpr):  # fmt: skip
    # The noise of one block of a row: loaded (0 where masked), or white noise regenerated
    # from the seed so that every pass (and the backward) sees the same samples without
    # storing them (finite everywhere: masked lanes are the caller's to drop).
    if GENERATE:
        noise = _white_noise(tl.load(SEED).to(tl.int64) + row, start, BLOCK)
    else:
        offsets = tl.arange(0, BLOCK)
        noise = tl.load(N + (row * stride_n_row + start) + offsets, mask=mask, other=0.0)
    return noise


@triton.jit
def add_noise_kernel(
    W,  # pointer to the signal, (rows, time), last dim contiguous
    N,  # pointer to the noise, (rows, time), last dim contiguous (row stride may be 0)
    SEED,  # pointer to the white noise's seed (one integer), when GENERATE
    SNR,  # pointer to the SNR per row in dB, any real dtype (row stride may be 0)
    LENGTHS,  # pointer to the samples counted per row (row stride may be 0), when HAS_LENGTHS
    PARTIALS,  # pointer to the partial energies, (2, rows, blocks_per_row), compute dtype
    COUNTS,  # pointer to (rows + 1) int32, zero-filled: partials published per row, a ticket
    Y,  # pointer to the output, (rows, time), contiguous
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
    # Pipelined (_pipeline_tiles): reduce a tile, then mix a tile of the row before.
    # partials[0, row, b] = sum of w^2 and partials[1, row, b] = sum of n^2 over block b,
    # counting samples t < lengths[row]; then y = w + scale[row] * n, the scale from the
    # row's partials summed in a fixed order (no atomics in the sums: results do not
    # depend on scheduling). Scalar index math in int64, the block's indices in int32.
    row, reducing, finish_row, finishing, block = _pipeline_tiles(COUNTS, n_rows, blocks_per_row)
    offsets = tl.arange(0, BLOCK)
    start = block.to(tl.int64) * BLOCK
    length = _row_length(LENGTHS, row, stride_lengths, n_time, HAS_LENGTHS)
    counted = tl.where(reducing, _in_block(length, start, BLOCK), 0)
    energy_signal, energy_noise = _energies(
        W, N, SEED, row, start, counted, stride_w_row, stride_n_row,
        PARTIALS.dtype.element_ty, GENERATE, BLOCK,
    )  # fmt: skip
    tl.store(PARTIALS + row * blocks_per_row + block, energy_signal, mask=reducing)
    tl.store(PARTIALS + (n_rows + row) * blocks_per_row + block, energy_noise, mask=reducing)
    tl.atomic_add(COUNTS + row, 1, mask=reducing, sem="release")
    # the mix of the row before
    wait_at_least(COUNTS + finish_row, tl.where(finishing, blocks_per_row, 0))
    mask = offsets < tl.where(finishing, _in_block(n_time, start, BLOCK), 0)
    scale, _, _ = _noise_scale(
        PARTIALS, SNR, finish_row, stride_snr, n_rows, blocks_per_row, BLOCK_P
    )
    w = tl.load(W + (finish_row * stride_w_row + start) + offsets, mask=mask, other=0.0)
    n = _noise_block(N, SEED, finish_row, stride_n_row, start, mask, GENERATE, BLOCK)
    y = w.to(scale.dtype) + scale * n.to(scale.dtype)
    tl.store(Y + (finish_row * n_time + start) + offsets, y.to(Y.dtype.element_ty), mask=mask)


@triton.jit
def add_noise_backward_kernel(
    G,  # pointer to the output's gradient, (rows, time), last dim contiguous
    W,  # pointer to the signal, (rows, time), last dim contiguous
    N,  # pointer to the noise, (rows, time), last dim contiguous (row stride may be 0)
    SEED,  # pointer to the white noise's seed (one integer), when GENERATE
    SNR,  # pointer to the SNR per row in dB (row stride may be 0)
    LENGTHS,  # pointer to the samples counted per row (row stride may be 0), when HAS_LENGTHS
    PARTIALS,  # pointer to the forward's partial energies, (2, rows, blocks_per_row)
    DOTS,  # pointer to the partial sums of g * n, (rows, blocks_per_row), compute dtype
    COUNTS,  # pointer to (rows + 1) int32, zero-filled: dots published per row, a ticket
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
    # Pipelined as add_noise_kernel: dots[row, b] = sum of g * n over block b (all
    # samples: the noise is added over the whole row, only its energy is measured over the
    # first length samples); then, with scale = sqrt(Es / En) * 10^(-snr / 20) and
    # d = sum(g * n):
    #   gw = g + (d * scale / Es) * w * counted,   gn = scale * g - (d * scale / En) * n * counted,
    #   gsnr = -ln(10) / 20 * d * scale,
    # counted marking t < lengths[row]. Generated noise has no gradient: GN is not written.
    row, reducing, finish_row, finishing, block = _pipeline_tiles(COUNTS, n_rows, blocks_per_row)
    offsets = tl.arange(0, BLOCK)
    start = block.to(tl.int64) * BLOCK
    acc_dtype = DOTS.dtype.element_ty
    mask = offsets < tl.where(reducing, _in_block(n_time, start, BLOCK), 0)
    g = tl.load(G + (row * stride_g_row + start) + offsets, mask=mask, other=0.0)
    n = _noise_block(N, SEED, row, stride_n_row, start, mask, GENERATE, BLOCK)
    dot = tl.sum(g.to(acc_dtype) * n.to(acc_dtype), axis=0)
    tl.store(DOTS + row * blocks_per_row + block, dot, mask=reducing)
    tl.atomic_add(COUNTS + row, 1, mask=reducing, sem="release")
    # the gradients of the row before
    row = finish_row
    wait_at_least(COUNTS + row, tl.where(finishing, blocks_per_row, 0))
    mask = offsets < tl.where(finishing, _in_block(n_time, start, BLOCK), 0)
    scale, signal, noise = _noise_scale(
        PARTIALS, SNR, row, stride_snr, n_rows, blocks_per_row, BLOCK_P
    )
    dot = _row_sum(DOTS + row * blocks_per_row, blocks_per_row, BLOCK_P)
    tl.store(GSNR + row, -0.11512925464970229 * dot * scale, mask=finishing & (block == 0))
    length = _row_length(LENGTHS, row, stride_lengths, n_time, HAS_LENGTHS)
    counted = offsets < _in_block(length, start, BLOCK)
    coeff_w = tl.where(counted, dot * scale / signal, 0.0)
    g = tl.load(G + (row * stride_g_row + start) + offsets, mask=mask, other=0.0)
    g = g.to(scale.dtype)
    w = tl.load(W + (row * stride_w_row + start) + offsets, mask=mask, other=0.0)
    gw = g + coeff_w * w.to(scale.dtype)
    out = (row * n_time + start) + offsets
    tl.store(GW + out, gw.to(GW.dtype.element_ty), mask=mask)
    if not GENERATE:
        coeff_n = tl.where(counted, dot * scale / noise, 0.0)
        n = tl.load(N + (row * stride_n_row + start) + offsets, mask=mask, other=0.0)
        gn = scale * g - coeff_n * n.to(scale.dtype)
        tl.store(GN + out, gn.to(GN.dtype.element_ty), mask=mask)


BLOCK_P = 64  # partial sums reduced per step by the mixing pass
# White noise costs ~30-40 instructions per sample (Philox, Box-Muller): blocks of 4096 to
# 16384 samples, 32 per thread, keep the per-program and reduction overheads small beside it.
GENERATE_BLOCKS = (4096, 16384)
MAX_TILES = 2**31 - 1  # tickets and grid dim 0 (the pipelined launches' 1-D grid)


def _layout(rows, n_time, device, generate):
    """(BLOCK, blocks_per_row, grid, num_warps) of the add_noise kernels; the forward's
    partials are laid out by it, and the backward uses the same. The grid is one row of
    blocks longer than the input (the pipeline's last finishing programs)."""
    if generate:
        block, blocks_per_row, _ = row_blocks(
            rows, n_time, device, max_block=GENERATE_BLOCKS[1], min_block=GENERATE_BLOCKS[0]
        )
        block = max(block, 128)  # 32 samples per thread, at least 128 per block (16 per step)
        blocks_per_row = triton.cdiv(n_time, block)
    else:
        block, blocks_per_row, _ = row_blocks(rows, n_time, device)
    while (rows + 1) * blocks_per_row > MAX_TILES:  # very long rows: bigger blocks
        block *= 2
        blocks_per_row = triton.cdiv(n_time, block)
    warps = min(max(block // 1024, 1), 16) if generate else num_warps(block)
    return block, blocks_per_row, ((rows + 1) * blocks_per_row,), warps


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
    (rows,), any real dtype (``lengths`` None: every sample). One launch (and the zeroing
    of its counters).
    """
    rows, n_time = w.shape
    compute_dtype = compute_dtype_of(w)
    y = torch.empty((rows, n_time), dtype=w.dtype, device=w.device)
    block, blocks_per_row, grid, warps = _layout(rows, n_time, w.device, n is None)
    partials = torch.empty(2, rows, blocks_per_row, dtype=compute_dtype, device=w.device)
    if y.numel() == 0:
        return y, partials
    counts = torch.zeros(rows + 1, dtype=torch.int32, device=w.device)
    noise, stride_n_row, seed, generate = _noise_args(w, n, seed)
    lengths, stride_lengths, has_lengths = _lengths_args(w, lengths)
    launch(add_noise_kernel)[grid](
        w, noise, seed, snr, lengths, partials, counts, y, w.stride(0), stride_n_row,
        snr.stride(0), stride_lengths, rows, n_time, blocks_per_row, GENERATE=generate,
        HAS_LENGTHS=has_lengths, BLOCK=block, BLOCK_P=BLOCK_P, num_warps=warps,
    )  # fmt: skip
    return y, partials


def add_noise_backward(g, w, n, snr, lengths, partials, seed=None, launch=lambda k: k):
    """Gradients of :func:`add_noise` for the output's gradient ``g``: (signal's, noise's
    (None for white noise), SNR's (rows,) in the compute dtype). One launch (and the
    zeroing of its counters)."""
    rows, n_time = w.shape
    compute_dtype = partials.dtype
    grad_w = torch.empty((rows, n_time), dtype=w.dtype, device=w.device)
    grad_n = None if n is None else torch.empty((rows, n_time), dtype=n.dtype, device=n.device)
    if grad_w.numel() == 0:
        return grad_w, grad_n, torch.zeros(rows, dtype=compute_dtype, device=w.device)
    grad_snr = torch.empty(rows, dtype=compute_dtype, device=w.device)  # written by block 0
    block, blocks_per_row, grid, warps = _layout(rows, n_time, w.device, n is None)
    assert partials.shape[-1] == blocks_per_row, "partials from another launch layout"
    dots = torch.empty(rows, blocks_per_row, dtype=compute_dtype, device=w.device)
    counts = torch.zeros(rows + 1, dtype=torch.int32, device=w.device)
    noise, stride_n_row, seed, generate = _noise_args(w, n, seed)
    lengths, stride_lengths, has_lengths = _lengths_args(w, lengths)
    launch(add_noise_backward_kernel)[grid](
        g, w, noise, seed, snr, lengths, partials, dots, counts, grad_w,
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
    "add_noise_kernel": ("PARTIALS", "COUNTS", "Y"),
    "add_noise_backward_kernel": ("DOTS", "COUNTS", "GW", "GN", "GSNR"),
}
