"""Kaldi's per-frame processing (kernels/kaldi.py) as a torch op with a Triton backward
(first derivatives: a second backward raises)."""

import torch
from torch.library import triton_op, wrap_triton

from tritaudio._ops.spectral import overlap_add
from tritaudio._reference.kaldi import FrameOptions
from tritaudio.kernels import kaldi


def _options(window, padded_size, shift, snip_edges, dither, remove_dc, raw_energy, preemphasis,
             energy_floor):  # fmt: skip
    return FrameOptions(
        window.shape[0], shift, padded_size, bool(snip_edges), dither, bool(remove_dc),
        bool(raw_energy), preemphasis, energy_floor, "", 0.0,
    )  # fmt: skip


@triton_op("tritaudio::kaldi_frames", mutates_args={})
def kaldi_frames(
    x: torch.Tensor,
    lengths: torch.Tensor,
    counts: torch.Tensor,
    noise: torch.Tensor,
    window: torch.Tensor,
    n_frames: int,
    padded_size: int,
    shift: int,
    snip_edges: int,
    dither: float,
    remove_dc: int,
    raw_energy: int,
    preemphasis: float,
    energy_floor: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Kaldi frames (rows, n_frames, padded_size) and log energies (rows, n_frames) of
    (rows, time) ``x``; ``lengths`` / ``counts`` int64 (rows,), ``noise`` contiguous
    (rows, n_frames, window_size) or empty (no dither), ``window`` (window_size,) in the
    compute dtype."""
    options = _options(window, padded_size, shift, snip_edges, dither, remove_dc, raw_energy,
                       preemphasis, energy_floor)  # fmt: skip
    noise = noise if noise.numel() else None
    return kaldi.kaldi_frames(
        x, lengths, counts, noise, window, n_frames, options, launch=wrap_triton
    )


@triton_op("tritaudio::kaldi_frames_backward", mutates_args={})
def kaldi_frames_backward(
    grad_frames: torch.Tensor,
    grad_log_energy: torch.Tensor,
    x: torch.Tensor,
    lengths: torch.Tensor,
    counts: torch.Tensor,
    noise: torch.Tensor,
    window: torch.Tensor,
    padded_size: int,
    shift: int,
    snip_edges: int,
    dither: float,
    remove_dc: int,
    raw_energy: int,
    preemphasis: float,
    energy_floor: float,
) -> torch.Tensor:
    """dL/draw frames (rows, n_frames, window_size) of :func:`kaldi_frames`."""
    options = _options(window, padded_size, shift, snip_edges, dither, remove_dc, raw_energy,
                       preemphasis, energy_floor)  # fmt: skip
    noise = noise if noise.numel() else None
    return kaldi.kaldi_frames_backward(
        grad_frames, grad_log_energy, x, lengths, counts, noise, window, options,
        launch=wrap_triton,
    )  # fmt: skip


def fold_mirrored(extended, lengths, n_time, offset, reach):
    """The adjoint of reading each row's mirrored extension: (rows, extent) gradients at
    extension positions u (signal position p = u - offset) -> (rows, n_time). Sample t of
    a row of length L was read at p = t, at p = -t - 1 (the left mirror, t < offset) and
    at p = 2L - 1 - t (the right mirror, L - reach <= t < L): a shifted copy plus two edge
    strips. Valid frames reach no further (L >= the window)."""
    extent = extended.shape[1]
    # direct reads: grad[t] = extended[t + offset] (zeros where that is outside it)
    padding = (max(-offset, 0), max(n_time + offset - extent, 0))
    shifted = torch.nn.functional.pad(extended, padding) if any(padding) else extended
    start = max(offset, 0)
    grad = shifted[:, start : start + n_time]
    t = torch.arange(n_time, device=extended.device)
    grad = torch.where(t < lengths.unsqueeze(1), grad, 0.0)
    if offset > 0:  # left mirror: u = offset - 1 - t for t < offset
        left = extended[:, :offset].flip(-1)
        grad = torch.cat((grad[:, :offset] + left[:, : min(offset, n_time)], grad[:, offset:]), 1)
    if reach == 0:
        return grad
    # right mirror: sample L - 1 - k was read at u = L + k + offset, k < reach
    k = torch.arange(min(reach, n_time), device=extended.device)
    u = lengths.unsqueeze(1) + k + offset
    target = lengths.unsqueeze(1) - 1 - k
    used = (u >= 0) & (u < extent) & (target >= 0)
    right = torch.where(used, extended.gather(1, u.clamp(0, extent - 1)), 0.0)
    return grad.scatter_add(1, target.clamp(min=0), right)


class RealFFTPairs(torch.autograd.Function):
    """``torch.view_as_real(torch.fft.rfft(frames))`` whose backward is one inverse real FFT:
    dL/dx[n] = Re sum_k G[k] exp(2 pi i k n / N) = N irfft(G with its interior bins
    halved)[n] (torch's own rfft backward goes through a full complex FFT and zero-filled
    buffers)."""

    @staticmethod
    def forward(ctx, frames):
        ctx.n = frames.shape[-1]
        return torch.view_as_real(torch.fft.rfft(frames))

    @staticmethod
    def backward(ctx, grad):
        grad = torch.view_as_complex(grad.contiguous())
        halved = grad * 0.5
        halved[..., 0] = grad[..., 0]
        if ctx.n % 2 == 0:
            halved[..., -1] = grad[..., -1]
        return torch.fft.irfft(halved, n=ctx.n) * ctx.n


def _kaldi_frames_setup(ctx, inputs, output):
    x, lengths, counts, noise, window, _, *ctx.scalars = inputs
    ctx.save_for_backward(x, lengths, counts, noise, window)


def _kaldi_frames_grad(ctx, grad_frames, grad_log_energy):
    x, lengths, counts, noise, window = ctx.saved_tensors
    shift, snip_edges = ctx.scalars[1:3]
    grad_raw = kaldi_frames_backward(
        grad_frames.contiguous(), grad_log_energy.contiguous(), x, lengths, counts, noise,
        window, *ctx.scalars,
    )  # fmt: skip
    _, n_frames, window_size = grad_raw.shape
    if n_frames == 0 or x.shape[1] == 0:
        grad_x = torch.zeros_like(x)
    else:
        ones = torch.ones(window_size, dtype=window.dtype, device=window.device)
        extended = overlap_add(grad_raw, ones, shift, (n_frames - 1) * shift + window_size)
        offset = 0 if snip_edges else window_size // 2 - shift // 2
        reach = 0 if snip_edges else window_size  # how far frames read past a row's end
        grad_x = fold_mirrored(extended, lengths, x.shape[1], offset, reach).to(x.dtype)
    return (grad_x,) + (None,) * 13


kaldi_frames.register_autograd(_kaldi_frames_grad, setup_context=_kaldi_frames_setup)
