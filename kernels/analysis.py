"""Analysis kernels: the two sequential stages of the batched voice activity detector.

vad_noise_floor: one program per (block of rows, block of spectrum bins). The smoothed
spectrum and the adaptive noise estimate of each bin live in registers; the program walks
the measurement positions (the noise estimate's rise/fall switch depends on the data, so
the recurrence has no closed-form scan) and writes the noise-reduced, cepstrum-windowed
band per position. The operations are torchaudio's float32 ones, in its order.

vad_trigger: one program per block of clips, their channels in registers: the trigger's
running mean over the positions, the first position where any channel of a clip reaches
the trigger level (the loop ends when every clip of the block has triggered or run out of
positions), then sox's search back from it for quieter bursts (over the search window,
newest first).

Both loops are latency-bound (one dependent step per position), so the launchers give
each program a wide block and few programs rather than many narrow ones.
"""

import triton
import triton.language as tl

from .launch import MAX_BLOCK, num_warps

BLOCK_ELEMENTS = 4096  # registers per program: rows x bins, or clips x channels
MAX_BLOCK_BINS = 1024
INT32_MAX = 2**31 - 1


@triton.jit
def vad_noise_floor_kernel(
    MAGNITUDES,  # pointer to the band magnitudes, (rows, n_frames, n_bins), contiguous
    MULT,  # pointer to the smoothing multiplier per position, (n_frames,), float32
    KEEP,  # pointer to its complement per position, (n_frames,), float32
    WINDOW,  # pointer to the cepstrum window, (n_bins,), float32
    OUT,  # pointer to the zeroed output, (rows, n_frames, half), contiguous
    n_rows,
    n_frames,
    n_bins,
    half,
    band_start,
    boot_end,
    up,
    down,
    keep_up,
    keep_down,
    reduction,
    BLOCK_R: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    r = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)[:, None]
    k = tl.program_id(1) * BLOCK_K + tl.arange(0, BLOCK_K)[None, :]
    mask = (r < n_rows) & (k < n_bins)
    window = tl.load(WINDOW + k, mask=k < n_bins, other=0.0)
    spectrum = tl.zeros([BLOCK_R, BLOCK_K], dtype=tl.float32)
    noise = tl.zeros([BLOCK_R, BLOCK_K], dtype=tl.float32)
    magnitudes = MAGNITUDES + r * n_frames * n_bins + k
    out = OUT + r * n_frames * half + band_start + k
    for t in range(0, n_frames):
        mult = tl.load(MULT + t)
        keep = tl.load(KEEP + t)
        magnitude = tl.load(magnitudes + t * n_bins, mask=mask, other=0.0)
        spectrum = spectrum * mult + magnitude * keep
        power = spectrum * spectrum
        rising = power > noise
        tracked = noise * tl.where(rising, up, down) + power * tl.where(rising, keep_up, keep_down)
        noise = tl.where(t <= boot_end, power, tracked)
        floor = tl.maximum(power - reduction * noise, 0.0, propagate_nan=tl.PropagateNan.ALL)
        tl.store(out + t * half, tl.sqrt_rn(floor) * window, mask=mask)


def vad_noise_floor(magnitudes, mult, keep, window, out, band_start, boot_end, up, down,
                    keep_up, keep_down, reduction, launch=lambda k: k):  # fmt: skip
    """Fill ``out`` (rows, n_frames, half) (zeroed) from ``magnitudes`` (rows, n_frames,
    n_bins), both contiguous float32; the multipliers are float32-exact Python floats."""
    rows, n_frames, n_bins = magnitudes.shape
    half = out.shape[-1]
    if rows * n_frames * max(half, n_bins) >= 2**31:
        raise ValueError("vad's Triton kernel indexes with int32: input too large")
    block_k = min(max(triton.next_power_of_2(n_bins), 16), MAX_BLOCK_BINS)
    block_r = min(triton.next_power_of_2(rows), BLOCK_ELEMENTS // block_k)
    grid = (triton.cdiv(rows, block_r), triton.cdiv(n_bins, block_k))
    launch(vad_noise_floor_kernel)[grid](
        magnitudes, mult, keep, window, out, rows, n_frames, n_bins, half, band_start,
        min(boot_end, INT32_MAX), up, down, keep_up, keep_down, reduction,
        BLOCK_R=block_r, BLOCK_K=block_k, num_warps=num_warps(block_r * block_k),
    )  # fmt: skip
    return out


@triton.jit
def vad_trigger_kernel(
    MEASURE,  # pointer to the measures, (batch, channels, n_frames), float32, contiguous
    INCREMENT,  # pointer to the running mean's increments, the same layout
    FRAMES,  # pointer to the positions per clip, (batch,)
    T_STAR,  # pointer to the output trigger position per clip, (batch,), int32 (-1: none)
    TO_FLUSH,  # pointer to the output measures flushed back per clip, (batch,), int32
    n_batch,
    n_channels,
    n_frames,
    n_measures,
    gap,
    decay,
    level,
    BLOCK_B: tl.constexpr,
    BLOCK_C: tl.constexpr,
):
    b = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)
    c = tl.arange(0, BLOCK_C)[None, :]
    bmask = b < n_batch
    lanes = bmask[:, None] & (c < n_channels)
    base = b[:, None] * n_channels * n_frames + c * n_frames
    clip_frames = tl.load(FRAMES + b, mask=bmask, other=0).to(tl.int32)
    mean = tl.zeros([BLOCK_B, BLOCK_C], dtype=tl.float32)
    t_star = tl.zeros([BLOCK_B], dtype=tl.int32) - 1
    c_star = tl.zeros([BLOCK_B], dtype=tl.int32)
    # until every clip of the block has triggered or run out of positions
    t = tl.program_id(0) * 0
    searching = tl.max(((t_star < 0) & (t < clip_frames)).to(tl.int32), axis=0)
    while searching > 0:
        inside = t < clip_frames
        step = tl.load(INCREMENT + base + t, mask=lanes & inside[:, None], other=0.0)
        mean = mean * decay + step
        hit = (mean >= level) & lanes & inside[:, None]
        first = tl.min(tl.where(hit, c, BLOCK_C), axis=1)
        new = (first < BLOCK_C) & (t_star < 0)
        c_star = tl.where(new, first, c_star)
        t_star = tl.where(new, t, t_star)
        t += 1
        searching = tl.max(((t_star < 0) & (t < clip_frames)).to(tl.int32), axis=0)
    # sox's search back from the trigger (torchaudio's ring buffer: zeros before the clip)
    t_last = tl.maximum(t_star, 0)[:, None]
    j_trigger = tl.zeros([BLOCK_B, BLOCK_C], dtype=tl.int32) + n_measures
    j_zero = j_trigger
    for j in range(0, n_measures):
        frame = t_last - j
        value = tl.load(MEASURE + base + frame, mask=lanes & (frame >= 0), other=0.0)
        take = (value >= level) & (j <= j_trigger + gap)
        zero = (take == 0) & (value == 0.0) & (j_trigger >= j_zero)
        j_trigger = tl.where(take, j, j_trigger)
        j_zero = tl.where(take | zero, j, j_zero)
    counts = tl.minimum(j_zero, n_measures - 1)
    counts = tl.where(lanes & (c >= c_star[:, None]), counts, 0)
    tl.store(T_STAR + b, t_star, mask=bmask)
    tl.store(TO_FLUSH + b, tl.max(counts, axis=1), mask=bmask)


def vad_trigger(measure, increment, frames, t_star, to_flush, n_measures, gap, decay, level,
                launch=lambda k: k):  # fmt: skip
    """Fill ``t_star`` and ``to_flush`` (batch,) int32 from ``measure`` and ``increment``
    (batch, channels, n_frames), contiguous float32."""
    batch, channels, n_frames = measure.shape
    if channels > MAX_BLOCK:
        raise ValueError(f"vad_batch takes at most {MAX_BLOCK} channels, got {channels}")
    if measure.numel() >= 2**31 or n_measures >= 2**31:
        raise ValueError("vad's Triton kernel indexes with int32: input too large")
    block_c = triton.next_power_of_2(max(channels, 1))
    block_b = min(triton.next_power_of_2(batch), max(BLOCK_ELEMENTS // 4 // block_c, 1))
    launch(vad_trigger_kernel)[(triton.cdiv(batch, block_b),)](
        measure, increment, frames, t_star, to_flush, batch, channels, n_frames, n_measures,
        gap, decay, level, BLOCK_B=block_b, BLOCK_C=block_c,
        num_warps=num_warps(block_b * block_c),
    )  # fmt: skip
    return t_star, to_flush
