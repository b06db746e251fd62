"""Phase vocoder kernel (torchaudio.functional.phase_vocoder's arithmetic, one pass).

One program per (row, block of bins). It walks the output frames in tiles of BLOCK_T: for
each output time ``step = t * rate`` it reads the two input frames around it, interpolates
their magnitudes and measures the phase advance between them (the bin's deviation from
its expected advance, wrapped to [-pi, pi], plus the expected advance); the output phase
is the first frame's phase plus the advances of every earlier output frame: a prefix sum
along time per bin (bins are independent), in float64 and carried from tile to tile. Each
output frame is written once; nothing between input and output goes through memory.
"""

import math

import torch
import triton
import triton.language as tl

from .launch import sm_count

PI = tl.constexpr(math.pi)


@triton.jit
def _c(value, like):
    # a constant in the dtype of ``like`` (a bare float literal is float32 in Triton)
    return tl.full((), value, like.dtype)


@triton.jit
def _atan(x):
    # atan(x) for 0 <= x <= 1 (what atan2 asks for), Cephes' atan (rational approximation
    # after reducing x > 0.66 to (x - 1) / (x + 1)): float64-accurate. Cephes' third range
    # (x > tan(3 pi / 8)) never occurs here, so it is left out (one division less).
    mid = x > _c(0.66, x)
    reduced = tl.where(mid, (x - 1.0) / (x + 1.0), x)
    offset = tl.where(mid, _c(0.7853981633974483, x), 0.0)
    more_bits = tl.where(mid, _c(3.061616997868383e-17, x), 0.0)
    z = reduced * reduced
    p = _c(-8.750608600031904e-1, x) * z - _c(1.6157537187333652e1, x)
    p = (p * z - _c(7.500855792314705e1, x)) * z - _c(1.2288666844901362e2, x)
    p = p * z - _c(6.485021904942025e1, x)
    q = (z + _c(2.4858464901423062e1, x)) * z + _c(1.6502700983169885e2, x)
    q = (q * z + _c(4.3288106049129027e2, x)) * z + _c(4.8539039963591370e2, x)
    q = q * z + _c(1.9455065714826139e2, x)
    return offset + (reduced * (z * p / q) + reduced + more_bits)


@triton.jit
def _atan2(y, x):
    # atan2 with torch.angle's conventions: angle(0) = 0, angle(-1 + 0j) = pi
    ay, ax = tl.abs(y), tl.abs(x)
    larger = tl.maximum(ay, ax)
    ratio = tl.minimum(ay, ax) / tl.where(larger > 0, larger, 1.0)
    angle = _atan(ratio)
    angle = tl.where(ay > ax, _c(PI / 2, x) - angle, angle)
    angle = tl.where(x < 0, _c(PI, x) - angle, angle)
    angle = tl.where(y < 0, -angle, angle)
    return tl.where((x == x) & (y == y), angle, x + y)  # NaN in, NaN out


@triton.jit
def _angle(re, im, dtype: tl.constexpr):
    # torch.angle, evaluated in float64 and rounded once: float32 results are the correctly
    # rounded ones (what the C library's atan2f gives torch on the CPU), nearly always.
    return _atan2(im.to(tl.float64), re.to(tl.float64)).to(dtype)


@triton.jit
def _abs(re, im, dtype: tl.constexpr):
    # |re + i im| in float64, rounded once (hypot's result); no overflow for float32 input
    re, im = re.to(tl.float64), im.to(tl.float64)
    return tl.sqrt(re * re + im * im).to(dtype)


@triton.jit
def phase_vocoder_kernel(
    X,  # pointer to the spectrogram as real pairs, (rows, bins, frames, 2)
    STEPS,  # pointer to the output frames' input times, (n_out,)
    ADVANCE,  # pointer to each bin's expected phase advance over one hop, (bins,)
    Y,  # pointer to the output as real pairs, (rows, bins, n_out, 2)
    stride_x_row,
    stride_x_bin,
    stride_x_frame,
    stride_advance,
    stride_y_row,
    stride_y_bin,
    stride_y_frame,
    n_bins,
    n_frames,
    n_out,
    bin_blocks,
    BLOCK_B: tl.constexpr,
    BLOCK_T: tl.constexpr,
):
    # For output frame t at input time s = steps[t], k = floor(s), a = s - k:
    #   magnitude = a |X[k + 1]| + (1 - a) |X[k]|          (frames past the end are 0)
    #   advance[t] = wrap(angle X[k + 1] - angle X[k] - adv) + adv
    #   phase[t] = angle X[0] + sum_{u < t} advance[u]
    pid = tl.program_id(0).to(tl.int64)
    row = pid // bin_blocks
    bins = (pid % bin_blocks).to(tl.int32) * BLOCK_B + tl.arange(0, BLOCK_B)
    bin_mask = bins < n_bins
    x_bins = X + row * stride_x_row + (bins * stride_x_bin)[:, None]
    y_bins = Y + row * stride_y_row + (bins * stride_y_bin)[:, None]
    expected = tl.load(ADVANCE + bins * stride_advance, mask=bin_mask, other=0.0)[:, None]
    acc_dtype = expected.dtype
    first_re = tl.load(x_bins, mask=bin_mask[:, None], other=0.0).to(acc_dtype)
    first_im = tl.load(x_bins + 1, mask=bin_mask[:, None], other=0.0).to(acc_dtype)
    # The phase is summed in float64 and rounded once per output, as torch's cumsum sums
    # float32 on the CPU: no rounding error builds up along time.
    carry = _angle(first_re, first_im, acc_dtype).to(tl.float64)  # (BLOCK_B, 1): phase so far
    for first in range(0, n_out, BLOCK_T):
        t = first + tl.arange(0, BLOCK_T)
        t_mask = t < n_out
        step = tl.load(STEPS + t, mask=t_mask, other=0.0).to(acc_dtype)
        floor = tl.floor(step)
        alpha = (step - floor)[None, :]
        before_t = floor.to(tl.int32)[None, :]  # offsets in a row: int32 (checked)
        after_t = before_t + 1
        mask = bin_mask[:, None] & t_mask[None, :]
        before_mask = mask & (before_t < n_frames)
        after_mask = mask & (after_t < n_frames)
        before = x_bins + before_t * stride_x_frame
        after = x_bins + after_t * stride_x_frame
        before_re = tl.load(before, mask=before_mask, other=0.0).to(acc_dtype)
        before_im = tl.load(before + 1, mask=before_mask, other=0.0).to(acc_dtype)
        after_re = tl.load(after, mask=after_mask, other=0.0).to(acc_dtype)
        after_im = tl.load(after + 1, mask=after_mask, other=0.0).to(acc_dtype)
        deviation = _angle(after_re, after_im, acc_dtype) - _angle(before_re, before_im, acc_dtype)
        deviation = deviation - expected
        two_pi = _c(2 * PI, deviation)
        deviation = deviation - two_pi * tl.floor(deviation / two_pi + 0.5)
        advance = tl.where(mask, deviation + expected, 0.0).to(tl.float64)
        inclusive = tl.cumsum(advance, axis=1)
        phase = (carry + (inclusive - advance)).to(acc_dtype)
        carry = carry + tl.sum(advance, axis=1)[:, None]
        magnitude = alpha * _abs(after_re, after_im, acc_dtype) + (1 - alpha) * _abs(
            before_re, before_im, acc_dtype
        )
        cos = tl.cos(phase.to(tl.float64)).to(acc_dtype)
        sin = tl.sin(phase.to(tl.float64)).to(acc_dtype)
        out = y_bins + t[None, :] * stride_y_frame
        out_dtype = Y.dtype.element_ty
        tl.store(out, (magnitude * cos).to(out_dtype), mask=mask)
        tl.store(out + 1, (magnitude * sin).to(out_dtype), mask=mask)


def _bin_block(rows, n_bins, device):
    """Bins per program: up to 64, fewer when a small batch would not fill the GPU."""
    block = min(64, triton.next_power_of_2(max(n_bins, 1)))
    while block > 16 and rows * triton.cdiv(n_bins, block) < 2 * sm_count(device):
        block //= 2
    return block


def phase_vocoder(spec, steps, advance, launch=lambda kernel: kernel):
    """torchaudio's phase vocoder of (rows, bins, frames) complex ``spec`` at the input
    times ``steps`` (n_out,), with ``advance`` (bins,) real: (rows, bins, n_out) complex,
    laid out as ``spec`` is (bins or frames contiguous)."""
    rows, n_bins, n_frames = spec.shape
    n_out = steps.shape[0]
    if spec.stride(-2) < spec.stride(-1):  # bins contiguous: keep it so (the irfft's layout)
        out = torch.empty(rows, n_out, n_bins, dtype=spec.dtype, device=spec.device)
        out = out.transpose(1, 2)
    else:
        out = torch.empty(rows, n_bins, n_out, dtype=spec.dtype, device=spec.device)
    if out.numel() == 0:
        return out
    x, y = torch.view_as_real(spec), torch.view_as_real(out)
    for t, frames in ((x, n_frames), (y, n_out)):  # the kernel's offsets in a row are int32
        if t.stride(1) * n_bins + t.stride(2) * (frames + 1) >= 2**31:
            raise ValueError(f"phase_vocoder: {n_bins} bins x {frames} frames is too large")
    block_b = _bin_block(rows, n_bins, spec.device)
    bin_blocks = triton.cdiv(n_bins, block_b)
    launch(phase_vocoder_kernel)[(rows * bin_blocks,)](
        x, steps, advance, y, x.stride(0), x.stride(1), x.stride(2), advance.stride(0),
        y.stride(0), y.stride(1), y.stride(2), n_bins, n_frames, n_out, bin_blocks,
        BLOCK_B=block_b, BLOCK_T=32, num_warps=4,
    )  # fmt: skip
    return out


# The tensor arguments each kernel writes (everything else it only reads); the
# performance model (benchmarks/model) checks every launch against it.
WRITES = {"phase_vocoder_kernel": ("Y",)}
