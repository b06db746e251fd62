"""Windowed framing with the padding fused into the reads, and its adjoint, overlap-add.

frame: frames[r, f, j] = window[j] * x'[f * hop + j - left], where x' is the signal with
``pad`` zeros on both sides (torchaudio's ``pad``) and indices outside x' are mapped by
the centering pad mode (reflect / replicate / circular) or read as zeros (constant). The
padded signal is never stored: one read of the waveform, one write of the frames.

overlap_add: out[r, p] = sum over frames f covering p of frames[r, f, p - f * hop] *
window[p - f * hop]: the adjoint of frame without padding (its backward), and the core of
the inverse STFT. fold_edges: the centering pad's adjoint, in place on the overlap-add.
"""

import torch
import triton
import triton.language as tl

from tritaudio._common import PAD_MODES, frame_count

from .launch import num_warps


@triton.jit
def signal_index(u, n_time, pad, MODE: tl.constexpr):
    """Sample index read for position ``u`` of the centered signal (u < 0 and u >= the
    length of the zero-padded signal are the centering pad), and whether it is a sample
    (False: a zero of ``pad`` or of constant centering)."""
    padded_time = n_time + 2 * pad
    if MODE == 1:  # reflect (without repeating the edge sample)
        u = tl.where(u < 0, -u, u)
        u = tl.where(u >= padded_time, 2 * (padded_time - 1) - u, u)
    elif MODE == 2:  # replicate
        u = tl.minimum(tl.maximum(u, 0), padded_time - 1)
    elif MODE == 3:  # circular
        u = ((u % padded_time) + padded_time) % padded_time
    t = u - pad
    return t, (u >= 0) & (u < padded_time) & (t >= 0) & (t < n_time)


@triton.jit
def frame_kernel(
    X,  # pointer to the signal, (rows, n_time), last dim contiguous
    WINDOW,  # pointer to the window zero-padded to n_fft, compute dtype
    FRAMES,  # pointer to the frames, (rows, n_frames, n_fft), contiguous, compute dtype
    stride_x_row,
    n_time,
    pad,
    left,
    n_fft,
    hop,
    n_frames,
    frame_blocks,
    MODE: tl.constexpr,
    BLOCK_F: tl.constexpr,
    BLOCK_J: tl.constexpr,
):
    # a tile of BLOCK_F frames of one row, n_fft samples each in steps of BLOCK_J (few or
    # no masked lanes: frame_step); int32 index math within the row (the launcher checked
    # its sizes), the row offsets in int64
    pid = tl.program_id(0)
    row = pid // frame_blocks
    f = (pid % frame_blocks) * BLOCK_F + tl.arange(0, BLOCK_F)
    in_frames = (f < n_frames)[:, None]
    signal = X + row.to(tl.int64) * stride_x_row
    frames = FRAMES + row.to(tl.int64) * n_frames * n_fft + f[:, None] * n_fft
    start = f[:, None] * hop - left
    for j0 in range(0, n_fft, BLOCK_J):
        j = j0 + tl.arange(0, BLOCK_J)
        in_frame = j < n_fft
        t, valid = signal_index(start + j[None, :], n_time, pad, MODE)
        x = tl.load(signal + t, mask=in_frames & in_frame[None, :] & valid, other=0.0)
        window = tl.load(WINDOW + j, mask=in_frame, other=0.0)
        windowed = x.to(window.dtype) * window[None, :]
        tl.store(frames + j[None, :], windowed, mask=in_frames & in_frame[None, :])


@triton.jit
def overlap_add_kernel(
    FRAMES,  # pointer to the frames, (rows, n_frames, n_fft), any strides
    WINDOW,  # pointer to the window zero-padded to n_fft
    OUT,  # pointer to the output, (rows, out_len), contiguous
    stride_frames_row,
    stride_frames_frame,
    stride_frames_sample,
    n_frames,
    n_fft,
    hop,
    out_len,
    max_overlap,
    hop_blocks,
    BLOCK_Q: tl.constexpr,
    BLOCK_R: tl.constexpr,
):
    # The output as (hops, hop): out[q * hop + r], 0 <= r < hop, gathers frames q, q - 1,
    # ..., q - max_overlap + 1 at their samples r, r + hop, ... (a gather, not a scatter:
    # no atomics, the same result on every run). A tile is BLOCK_Q hops x BLOCK_R samples:
    # the frame of each term is q - k, no division per element; the window's BLOCK_R
    # values are loaded once per term for the whole tile. int32 index math within the row
    # (the launcher checked its sizes), the row offsets in int64.
    pid = tl.program_id(0)
    row = pid // hop_blocks
    q = (pid % hop_blocks) * BLOCK_Q + tl.arange(0, BLOCK_Q)
    # per hop (1-D): where its output starts, how much of it is in the output, and each
    # term's frame pointer; the 2-D work is one pointer add, one mask, a load and an FMA
    out_hops = OUT + row.to(tl.int64) * out_len + q * hop
    room = out_len - q * hop
    row_frames = FRAMES + row.to(tl.int64) * stride_frames_row
    for r0 in range(0, hop, BLOCK_R):
        r = r0 + tl.arange(0, BLOCK_R)
        acc = tl.zeros([BLOCK_Q, BLOCK_R], dtype=OUT.dtype.element_ty)
        for k in range(0, max_overlap):
            frame = q - k
            j = r + k * hop
            in_window = (r < hop) & (j < n_fft)
            window = tl.load(WINDOW + j, mask=in_window, other=0.0).to(acc.dtype)
            frame_ptrs = row_frames + frame * stride_frames_frame
            in_frames = (frame >= 0) & (frame < n_frames)
            valid = in_frames[:, None] & in_window[None, :]
            ptrs = frame_ptrs[:, None] + (j * stride_frames_sample)[None, :]
            value = tl.load(ptrs, mask=valid, other=0.0)
            acc += value.to(acc.dtype) * window[None, :]
        in_out = r[None, :] < tl.minimum(room, hop)[:, None]
        tl.store(out_hops[:, None] + r[None, :], acc, mask=in_out)


@triton.jit
def fold_edges_kernel(
    PADDED,  # pointer to the gradient of the centered signal, (rows, padded), contiguous
    padded,
    left,
    MODE: tl.constexpr,
    BLOCK: tl.constexpr,
):
    # The centering pad's adjoint, in place: each of the ``left`` samples on either side
    # adds onto the sample it was read from (the edges themselves are dropped after).
    # The sources lie outside the core, so they are never written; the two destinations
    # may overlap in a short core, hence the barrier between them.
    row = PADDED + tl.program_id(0).to(tl.int64) * padded
    end = padded - left  # the core is [left, end)
    if MODE == 2:  # replicate: the edge sample of the core takes every padded sample
        head = tl.zeros([BLOCK], dtype=PADDED.dtype.element_ty)
        tail = tl.zeros([BLOCK], dtype=PADDED.dtype.element_ty)
        for i0 in range(0, left, BLOCK):
            i = i0 + tl.arange(0, BLOCK)
            head += tl.load(row + i, mask=i < left, other=0.0)
            tail += tl.load(row + end + i, mask=i < left, other=0.0)
        tl.store(row + left, tl.load(row + left) + tl.sum(head, axis=0))
        tl.debug_barrier()
        tl.store(row + end - 1, tl.load(row + end - 1) + tl.sum(tail, axis=0))
    else:
        for i0 in range(0, left, BLOCK):
            i = i0 + tl.arange(0, BLOCK)
            mask = i < left
            if MODE == 1:  # reflect: sample left - 1 - i onto left + 1 + i
                source, target = left - 1 - i, left + 1 + i
            else:  # circular: sample i onto end - left + i
                source, target = i, end - left + i
            value = tl.load(row + source, mask=mask, other=0.0)
            tl.store(row + target, tl.load(row + target, mask=mask) + value, mask=mask)
        tl.debug_barrier()
        for i0 in range(0, left, BLOCK):
            i = i0 + tl.arange(0, BLOCK)
            mask = i < left
            if MODE == 1:  # reflect: sample end + i onto end - 2 - i
                source, target = end + i, end - 2 - i
            else:  # circular: sample end + i onto left + i
                source, target = end + i, left + i
            value = tl.load(row + source, mask=mask, other=0.0)
            tl.store(row + target, tl.load(row + target, mask=mask) + value, mask=mask)


def fold_edges(padded, left, mode, launch=lambda kernel: kernel):
    """The centering pad's adjoint in place on ``padded`` (rows, n) contiguous (the
    overlap-add's fresh output): the ``left`` samples on either side added onto the
    samples they were read from by ``mode`` (constant: nothing). Returns ``padded``."""
    rows, n = padded.shape
    if left == 0 or mode == PAD_MODES["constant"] or padded.numel() == 0:
        return padded
    block = min(triton.next_power_of_2(left), 1024)
    launch(fold_edges_kernel)[(rows,)](
        padded, n, left, MODE=mode, BLOCK=block, num_warps=num_warps(block)
    )
    return padded


FRAME_BLOCK = 32  # frames per program of frame_kernel


def frame_step(n_fft):
    """frame_kernel's step along a frame (and overlap_add_kernel's along a hop): the
    largest of 64, 32, 16 that leaves at most 1/32 of it in masked lanes (400 -> 16,
    512 -> 64, a hop of 160 -> 32), else 16."""
    for step in (64, 32):
        if triton.cdiv(n_fft, step) * step - n_fft <= n_fft // 32:
            return step
    return 16


def frame(x, window, n_fft, hop, pad, left, mode, launch=lambda kernel: kernel):
    """Windowed frames of each row of ``x`` (rows, n_time), last dim contiguous.

    ``window`` is zero-padded to ``n_fft`` already and sets the output dtype. Returns
    (rows, n_frames, n_fft).
    """
    rows, n_time = x.shape
    n_frames = frame_count(n_time, n_fft, hop, pad, left)
    frames = torch.empty((rows, n_frames, n_fft), dtype=window.dtype, device=x.device)
    if frames.numel() == 0:
        return frames
    if max(n_frames * n_fft, n_time + 2 * pad + 2 * left) >= 2**31:
        raise ValueError(f"a row of {n_frames} frames of {n_fft} samples is too long (2^31)")
    block_j = frame_step(n_fft)
    frame_blocks = triton.cdiv(n_frames, FRAME_BLOCK)
    launch(frame_kernel)[(rows * frame_blocks,)](
        x, window, frames, x.stride(0), n_time, pad, left, n_fft, hop, n_frames, frame_blocks,
        MODE=mode, BLOCK_F=FRAME_BLOCK, BLOCK_J=block_j,
        num_warps=num_warps(FRAME_BLOCK * block_j),
    )  # fmt: skip
    return frames


def overlap_add(frames, window, hop, out_len, launch=lambda kernel: kernel):
    """Windowed overlap-add of (rows, n_frames, n_fft) frames (any strides: e.g. the
    ``.real`` view of a complex tensor, read in place) into (rows, out_len)."""
    rows, n_frames, n_fft = frames.shape
    out = torch.empty((rows, out_len), dtype=frames.dtype, device=frames.device)
    if out.numel() == 0:
        return out
    if n_frames == 0:
        return out.zero_()
    block_r = frame_step(hop)
    n_hops = triton.cdiv(out_len, hop)
    block_q = 1024 // block_r  # tiles of 1024 samples
    extent = (n_frames - 1) * frames.stride(1) + (n_fft - 1) * frames.stride(2)
    if max(extent, (n_hops + block_q) * hop + n_fft) >= 2**31:
        raise ValueError(f"a row of {n_frames} frames of {n_fft} samples is too long (2^31)")
    hop_blocks = triton.cdiv(n_hops, block_q)
    launch(overlap_add_kernel)[(rows * hop_blocks,)](
        frames, window, out, *frames.stride(), n_frames, n_fft, hop, out_len, n_fft // hop + 1,
        hop_blocks,
        BLOCK_Q=block_q, BLOCK_R=block_r, num_warps=num_warps(block_q * block_r),
    )  # fmt: skip
    return out


# The tensor arguments each kernel writes (everything else it only reads); the
# performance model (benchmarks/model) checks every launch against it.
WRITES = {
    "frame_kernel": ("FRAMES",),
    "overlap_add_kernel": ("OUT",),
    "fold_edges_kernel": ("PADDED",),
}
