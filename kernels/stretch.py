"""Phase vocoder kernel (torchaudio.functional.phase_vocoder's arithmetic, one pass).

One program per (row, block of bins). It walks the output frames in tiles of BLOCK_T: for
each output time ``step = t * rate`` it takes the two input frames around it, interpolates
their magnitudes and measures the phase advance between them (the bin's deviation from
its expected advance, wrapped to [-pi, pi], plus the expected advance); the output phase
is the first frame's phase plus the advances of every earlier output frame: a prefix sum
along time per bin (bins are independent), in float64 and carried from tile to tile. Each
output frame is written once; nothing between input and output goes through memory.

Output t reads input frames floor(t * rate) and the next one, nondecreasing in t: a tile of
outputs reads a run of consecutive input frames, so each of a tile's BLOCK_F frames has its
angle and magnitude computed once and the outputs pick theirs with tl.gather (a tile takes
the outputs whose frames it holds: BLOCK_T of them, or fewer at rates above 1, the next
tile starting after them). At rates of ~1.7 and more, where outputs share few frames,
each output's two frames are loaded and computed on their own (DIRECT). Angles and
magnitudes are evaluated in float64 and rounded once to float32 (correctly rounded,
nearly always); the deviation's wrap is torchaudio's float32 arithmetic; the phase is
summed in float64 and rounded to float32 as torch's cumsum does on the CPU; its cosine
and sine come from an exact float64 reduction to [-pi/4, pi/4] and Cephes' float32
polynomials (within 2 ulp). float64 input stays float64 throughout.
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
def _atan2(y, x):
    # atan2 with torch.angle's conventions (angle(0) = 0, angle(-1 + 0j) = pi): Cephes' atan
    # (a rational function on [0, 0.66], ratios past 0.66 reduced to (r - 1) / (r + 1))
    # of the ratio r = min / max of |x| and |y|. The reduction is taken from |x| and |y|
    # themselves, (min - max) / (min + max): one division for both (Cephes' third range,
    # r > tan(3 pi / 8), never occurs; its extra bits of pi / 4, 3e-17, are left out).
    ay, ax = tl.abs(y), tl.abs(x)
    small = tl.minimum(ay, ax, propagate_nan=tl.PropagateNan.ALL)  # NaN in, NaN out
    large = tl.maximum(ay, ax, propagate_nan=tl.PropagateNan.ALL)
    mid = small > _c(0.66, x) * large
    num = tl.where(mid, small - large, small)
    den = tl.where(mid, small + large, large)
    r = num / tl.where(den > 0, den, 1.0)
    offset = tl.where(mid, _c(0.7853981633974483, x), 0.0)
    z = r * r
    p = _c(-8.750608600031904e-1, x) * z - _c(1.6157537187333652e1, x)
    p = (p * z - _c(7.500855792314705e1, x)) * z - _c(1.2288666844901362e2, x)
    p = p * z - _c(6.485021904942025e1, x)
    q = (z + _c(2.4858464901423062e1, x)) * z + _c(1.6502700983169885e2, x)
    q = (q * z + _c(4.3288106049129027e2, x)) * z + _c(4.8539039963591370e2, x)
    q = q * z + _c(1.9455065714826139e2, x)
    angle = offset + (r * (z * p / q) + r)
    angle = tl.where(ay > ax, _c(PI / 2, x) - angle, angle)
    angle = tl.where(x < 0, _c(PI, x) - angle, angle)
    return tl.where(y < 0, -angle, angle)


@triton.jit
def _angle_abs(re, im):
    # (torch.angle, torch.abs) of re + i im, each evaluated in float64 and rounded once:
    # float32 results are the correctly rounded ones, nearly always (no overflow either)
    x, y = re.to(tl.float64), im.to(tl.float64)
    return _atan2(y, x).to(re.dtype), tl.sqrt(x * x + y * y).to(re.dtype)


@triton.jit
def _cos_sin(phase):
    # (cos, sin) of a float32 phase of any size: reduced exactly enough (float64) to
    # r in [-pi/4, pi/4] and a quadrant, then Cephes' sinf / cosf polynomials in float32
    # (within 2 ulp of the exact values). float64: libdevice's cos and sin.
    if phase.dtype == tl.float64:
        cos, sin = tl.cos(phase), tl.sin(phase)
    else:
        cos, sin = _cos_sin_reduced(phase)
    return cos, sin


@triton.jit
def _cos_sin_reduced(phase):
    p = phase.to(tl.float64)
    quarter = tl.floor(p * _c(2 / math.pi, p) + 0.5)  # the nearest multiple of pi / 2
    r = (p - quarter * _c(math.pi / 2, p)).to(tl.float32)
    quadrant = (quarter - 4.0 * tl.floor(quarter * 0.25)).to(tl.float32)  # 0, 1, 2 or 3
    z = r * r
    sin = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r
    cos = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z
    cos = cos * z - 0.5 * z + 1.0
    odd = (quadrant == 1.0) | (quadrant == 3.0)
    sin, cos = tl.where(odd, cos, sin), tl.where(odd, sin, cos)
    sin = tl.where(quadrant >= 2.0, -sin, sin)
    cos = tl.where((quadrant == 1.0) | (quadrant == 2.0), -cos, cos)
    return cos, sin


@triton.jit
def _advance(before, after, expected):
    # the measured phase advance: the deviation from the expected one wrapped to [-pi, pi]
    deviation = after - before - expected
    two_pi = _c(2 * PI, deviation)
    deviation = deviation - two_pi * tl.floor(deviation / two_pi + 0.5)
    return deviation + expected


@triton.jit
def phase_vocoder_kernel(
    X,  # pointer to the spectrogram as real pairs, (rows, bins, frames, 2)
    STEPS,  # pointer to the output frames' input times, (n_out,), nondecreasing
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
    BLOCK_F: tl.constexpr,  # input frames a tile reads (from floor(steps[first]) on)
    DIRECT: tl.constexpr,  # 1: each output loads its own two frames (large rates)
):
    # For output frame t at input time s = steps[t], k = floor(s), a = s - k:
    #   magnitude = a |X[k + 1]| + (1 - a) |X[k]|          (frames past the end are 0)
    #   advance[t] = wrap(angle X[k + 1] - angle X[k] - adv) + adv
    #   phase[t] = angle X[0] + sum_{u < t} advance[u]
    # Tiles are (time, bin): bins are the fast axis (contiguous in the STFT's layout).
    pid = tl.program_id(0)
    row = pid // bin_blocks
    bins = (pid - row * bin_blocks) * BLOCK_B + tl.arange(0, BLOCK_B)
    bin_ok = (bins < n_bins)[None, :]
    part = tl.arange(0, 2)[None, None, :]  # real, imaginary
    x_row = X + row.to(tl.int64) * stride_x_row
    y_row = Y + row.to(tl.int64) * stride_y_row
    x_bins = (bins * stride_x_bin)[None, :, None] + part  # offsets in a row: int32 (checked)
    y_bins = (bins * stride_y_bin)[None, :, None] + part
    expected = tl.load(ADVANCE + bins * stride_advance, mask=bins < n_bins, other=0.0)[None, :]
    acc_dtype = expected.dtype
    first_frame = tl.load(x_row + x_bins, mask=bin_ok[:, :, None], other=0.0).to(acc_dtype)
    first_re, first_im = tl.split(first_frame)
    # The phase is summed in float64 and rounded once per output, as torch's cumsum sums
    # float32 on the CPU: no rounding error builds up along time.
    first_angle, _ = _angle_abs(first_re, first_im)
    carry = first_angle.to(tl.float64)  # (1, BLOCK_B): the phase so far
    y_offsets = (tl.arange(0, BLOCK_T) * stride_y_frame)[:, None, None] + y_bins
    f_range = tl.arange(0, BLOCK_F)
    x_offsets = (f_range * stride_x_frame)[:, None, None] + x_bins
    out_dtype = Y.dtype.element_ty
    first = pid * 0  # the tile's first output
    while first < n_out:
        t = first + tl.arange(0, BLOCK_T)
        step = tl.load(STEPS + t, mask=t < n_out, other=0.0).to(acc_dtype)
        # the tile's outputs: BLOCK_T, or (gather mode) those whose frames lie in the tile's
        # BLOCK_F frames from k0 = floor(steps[first]) on (steps nondecreasing: a prefix)
        count = tl.minimum(n_out - first, BLOCK_T)
        if not DIRECT:
            k0 = tl.load(STEPS + first).to(tl.int32)
            limit = (k0 + (BLOCK_F - 1)).to(acc_dtype)  # floor(step) + 1 <= k0 + BLOCK_F - 1
            if tl.load(STEPS + first + count - 1).to(acc_dtype) >= limit:
                count = tl.sum(((step < limit) & (t < n_out)).to(tl.int32), axis=0)
        t_ok = (t < first + count)[:, None]
        floor = tl.floor(step)
        alpha = (step - floor)[:, None]
        k = floor.to(tl.int32)[:, None]  # (BLOCK_T, 1); steps are >= 0
        if DIRECT:
            frame = x_row + (k * stride_x_frame)[:, :, None] + x_bins
            ok = t_ok & bin_ok
            before = tl.load(frame, mask=ok[:, :, None], other=0.0).to(acc_dtype)
            ok = ok & (k + 1 < n_frames)
            after = tl.load(frame + stride_x_frame, mask=ok[:, :, None], other=0.0).to(acc_dtype)
            before_re, before_im = tl.split(before)
            after_re, after_im = tl.split(after)
            angle_before, mag_before = _angle_abs(before_re, before_im)
            angle_after, mag_after = _angle_abs(after_re, after_im)
        else:
            # the tile's input frames k0 .. k0 + BLOCK_F - 1, each computed once
            k0 = tl.load(STEPS + first).to(tl.int32)
            ok = ((k0 + f_range) < n_frames)[:, None] & bin_ok
            frames = tl.load(
                x_row + k0 * stride_x_frame + x_offsets, mask=ok[:, :, None], other=0.0
            ).to(acc_dtype)
            frame_re, frame_im = tl.split(frames)
            angle, magnitude = _angle_abs(frame_re, frame_im)  # (BLOCK_F, BLOCK_B)
            # each output's frames in the tile (masked outputs clamped in range)
            index = tl.minimum(tl.maximum(k - k0, 0), BLOCK_F - 2) + tl.zeros_like(bins)[None, :]
            angle_before = tl.gather(angle, index, 0)
            angle_after = tl.gather(angle, index + 1, 0)
            mag_before = tl.gather(magnitude, index, 0)
            mag_after = tl.gather(magnitude, index + 1, 0)
        advance = _advance(angle_before, angle_after, expected)
        advance = tl.where(t_ok, advance, 0.0).to(tl.float64)
        inclusive = tl.cumsum(advance, axis=0)
        phase = (carry + (inclusive - advance)).to(acc_dtype)
        # the tile's total: the prefix sum at its last output (picked, not reduced again)
        last = count - 1 + tl.zeros_like(bins)[None, :]
        carry = carry + tl.gather(inclusive, last, 0)
        magnitude_t = alpha * mag_after + (1 - alpha) * mag_before
        cos, sin = _cos_sin(phase)
        out = tl.join(magnitude_t * cos, magnitude_t * sin).to(out_dtype)
        ok = t_ok & bin_ok
        tl.store(y_row + first * stride_y_frame + y_offsets, out, mask=ok[:, :, None])
        first += count


def _bin_block(rows, n_bins, device):
    """Bins per program: up to 64, down to 8 while a small batch gives fewer than 4
    programs per SM."""
    block = min(64, triton.next_power_of_2(max(n_bins, 1)))
    while block > 8 and rows * triton.cdiv(n_bins, block) < 4 * sm_count(device):
        block //= 2
    return block


# modelled warp-instructions per element (benchmarks/model, fitted on its census): an
# input frame's angle and magnitude (float64), an output's gathers, phase, cos / sin, store
FRAME_COST, OUTPUT_COST = 170, 85


def _time_tiles(n_frames, n_out):
    """(BLOCK_T, BLOCK_F, DIRECT) for ``n_out`` output frames at the input times
    ``arange(0, n_frames, rate)``: square tiles of 32 outputs and 32 frames where 32
    outputs read at most 32 frames (rates below ~0.97; 16 frames below ~0.45), else of 64
    and 64 (a tile then takes only the outputs whose frames it holds, ``(64 - 2) / rate``
    of them), or DIRECT (each output computes its own two frames) where that costs less
    (rates of ~1.7 and more: few frames are shared)."""
    # n_out = ceil(n_frames / rate), so rate < n_frames / (n_out - 1). Over a tile of T
    # outputs the step grows by (T - 1) * rate at most (plus the steps' float32 rounding);
    # floor() adds up to 1 and the second frame of the last output 1 more.
    rate = n_frames / max(n_out - 1, 1) * (1 + 1e-6) + n_frames * 2.0**-21
    for block_f in (16, 32):
        if math.ceil(31 * rate) + 2 <= block_f:
            return 32, block_f, 0
    fit = math.floor(62 / rate) + 1  # outputs of a tile of 64 frames
    if 64 * (FRAME_COST + OUTPUT_COST) / fit < 2 * FRAME_COST + OUTPUT_COST:
        return 64, 64, 0
    return 32, 16, 1


def phase_vocoder(spec, steps, advance, launch=lambda kernel: kernel):
    """torchaudio's phase vocoder of (rows, bins, frames) complex ``spec`` at the input
    times ``steps = arange(0, frames, rate)`` (n_out,), with ``advance`` (bins,) real:
    (rows, bins, n_out) complex, laid out as ``spec`` is (bins or frames contiguous)."""
    rows, n_bins, n_frames = spec.shape
    n_out = steps.shape[0]
    if spec.stride(-2) < spec.stride(-1):  # bins contiguous: keep it so (the irfft's layout)
        out = torch.empty(rows, n_out, n_bins, dtype=spec.dtype, device=spec.device)
        out = out.transpose(1, 2)
    else:
        out = torch.empty(rows, n_bins, n_out, dtype=spec.dtype, device=spec.device)
    if out.numel() == 0:
        return out
    block_t, block_f, direct = _time_tiles(n_frames, n_out)
    x, y = torch.view_as_real(spec), torch.view_as_real(out)
    for t, frames in ((x, n_frames + block_f), (y, n_out + block_t)):  # int32 offsets
        if t.stride(1) * n_bins + t.stride(2) * frames >= 2**31:
            raise ValueError(f"phase_vocoder: {n_bins} bins x {frames} frames is too large")
    block_b = _bin_block(rows, n_bins, spec.device)
    bin_blocks = triton.cdiv(n_bins, block_b)
    # about 4 elements of a (frames or outputs) x bins tile per thread: few registers
    warps = min(16, max(1, max(block_t, block_f) * block_b // 128))
    launch(phase_vocoder_kernel)[(rows * bin_blocks,)](
        x, steps, advance, y, x.stride(0), x.stride(1), x.stride(2), advance.stride(0),
        y.stride(0), y.stride(1), y.stride(2), n_bins, n_frames, n_out, bin_blocks,
        BLOCK_B=block_b, BLOCK_T=block_t, BLOCK_F=block_f, DIRECT=direct, num_warps=warps,
    )  # fmt: skip
    return out


# The tensor arguments each kernel writes (everything else it only reads); the
# performance model (benchmarks/model) checks every launch against it.
WRITES = {"phase_vocoder_kernel": ("Y",)}
