"""The noise family's ops: gain (scale_rows), add_noise and add_white_noise, with their backwards
(kernels/noise.py: one launch forward, one backward, nothing read back to the host).
"""

import torch
from torch.library import triton_op, wrap_triton

from tritaudio._common import last_dim_contiguous
from tritaudio.kernels import noise as noise_kernels


@triton_op("tritaudio::scale_rows", mutates_args={})
def scale_rows(x: torch.Tensor, factor: float) -> torch.Tensor:
    """``factor * x`` for a 2-D ``x`` (rows, time) with its last dim contiguous."""
    return noise_kernels.scale_rows(x, factor, launch=wrap_triton)


def _scale_rows_setup(ctx, inputs, output):
    ctx.factor = inputs[1]


def _scale_rows_backward(ctx, grad):
    return scale_rows(last_dim_contiguous(grad), ctx.factor), None


scale_rows.register_autograd(_scale_rows_backward, setup_context=_scale_rows_setup)


@triton_op("tritaudio::add_noise", mutates_args={})
def add_noise(
    waveform: torch.Tensor, noise: torch.Tensor, snr: torch.Tensor, lengths: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, time) waveform and noise (row stride may be 0), (rows,) snr and lengths of any
    real dtype (None: every sample) -> (mixed, partial energies (2, rows, blocks))."""
    return noise_kernels.add_noise(waveform, noise, snr, lengths, launch=wrap_triton)


@triton_op("tritaudio::add_noise_backward", mutates_args={})
def add_noise_backward(
    grad: torch.Tensor,
    waveform: torch.Tensor,
    noise: torch.Tensor,
    snr: torch.Tensor,
    lengths: torch.Tensor | None,
    partials: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of :func:`add_noise`'s output with respect to waveform, noise and snr."""
    return noise_kernels.add_noise_backward(
        grad, waveform, noise, snr, lengths, partials, launch=wrap_triton
    )


def _snr_gradient(grad_snr, snr):
    return grad_snr.to(snr.dtype) if snr.is_floating_point() else None


def _add_noise_setup(ctx, inputs, output):
    waveform, noise, snr, lengths = inputs
    ctx.has_lengths = lengths is not None
    ctx.save_for_backward(waveform, noise, snr, lengths, output[1])
    ctx.mark_non_differentiable(output[1])


def _add_noise_grad(ctx, grad, grad_partials):
    waveform, noise, snr, lengths, partials = ctx.saved_tensors
    lengths = lengths if ctx.has_lengths else None
    grad_waveform, grad_noise, grad_snr = add_noise_backward(
        last_dim_contiguous(grad), waveform, noise, snr, lengths, partials
    )
    return grad_waveform, grad_noise, _snr_gradient(grad_snr, snr), None


add_noise.register_autograd(_add_noise_grad, setup_context=_add_noise_setup)


@triton_op("tritaudio::add_white_noise", mutates_args={})
def add_white_noise(
    waveform: torch.Tensor, snr: torch.Tensor, lengths: torch.Tensor | None, seed: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """add_noise with white Gaussian noise generated in the kernels from ``seed`` (a
    one-element integer tensor on the waveform's device; the noise is never stored):
    (rows, time) waveform, (rows,) snr (+inf: unchanged row) and lengths."""
    return noise_kernels.add_noise(waveform, None, snr, lengths, seed=seed, launch=wrap_triton)


@triton_op("tritaudio::add_white_noise_backward", mutates_args={})
def add_white_noise_backward(
    grad: torch.Tensor,
    waveform: torch.Tensor,
    snr: torch.Tensor,
    lengths: torch.Tensor | None,
    partials: torch.Tensor,
    seed: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The gradients of :func:`add_white_noise` with respect to the waveform and the snr."""
    grad_waveform, _, grad_snr = noise_kernels.add_noise_backward(
        grad, waveform, None, snr, lengths, partials, seed=seed, launch=wrap_triton
    )
    return grad_waveform, grad_snr


def _add_white_noise_setup(ctx, inputs, output):
    waveform, snr, lengths, seed = inputs
    ctx.has_lengths = lengths is not None
    ctx.save_for_backward(waveform, snr, lengths, output[1], seed)
    ctx.mark_non_differentiable(output[1])


def _add_white_noise_grad(ctx, grad, grad_partials):
    waveform, snr, lengths, partials, seed = ctx.saved_tensors
    lengths = lengths if ctx.has_lengths else None
    grad_waveform, grad_snr = add_white_noise_backward(
        last_dim_contiguous(grad), waveform, snr, lengths, partials, seed
    )
    return grad_waveform, _snr_gradient(grad_snr, snr), None, None


add_white_noise.register_autograd(_add_white_noise_grad, setup_context=_add_white_noise_setup)
