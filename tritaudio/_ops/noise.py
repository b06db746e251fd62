"""The noise family's ops: gain (scale_rows), add_noise and add_white_noise, with their backwards
(kernels/noise.py).
"""

import math

import torch
from torch.library import triton_op, wrap_triton

from tritaudio import _reference
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
    waveform: torch.Tensor, noise: torch.Tensor, snr: torch.Tensor, lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, time) waveform and noise (row stride may be 0), (rows,) snr and int64
    lengths -> (mixed, energies (2, rows))."""
    energies = noise_kernels.noise_energies(waveform, noise, lengths, launch=wrap_triton)
    scale = _reference.noise_scale(energies[0], energies[1], snr.to(energies.dtype))
    return noise_kernels.add_scaled_noise(waveform, noise, scale, launch=wrap_triton), energies


def _noise_gradients(grad, waveform, noise, snr, lengths, energies, seed):
    """The shared backward of add_noise and add_white_noise."""
    energy_signal, energy_noise = energies
    scale = _reference.noise_scale(energy_signal, energy_noise, snr.to(energies.dtype))
    dot = noise_kernels.row_dots(grad, noise, energies.dtype, seed=seed, launch=wrap_triton)
    # scale is 0 where an energy is 0, and so are the coefficients; 1 avoids 0 / 0 there.
    coeff_signal = dot * scale / torch.where(scale != 0, energy_signal, 1.0)
    coeff_noise = dot * scale / torch.where(scale != 0, energy_noise, 1.0)
    coeffs = torch.stack([scale, coeff_signal, coeff_noise])
    grad_waveform, grad_noise = noise_kernels.add_noise_backward(
        grad, waveform, noise, lengths, coeffs, seed=seed, launch=wrap_triton
    )
    grad_snr = (-math.log(10) / 20 * dot * scale).to(snr.dtype)
    return grad_waveform, grad_noise, grad_snr


@triton_op("tritaudio::add_noise_backward", mutates_args={})
def add_noise_backward(
    grad: torch.Tensor,
    waveform: torch.Tensor,
    noise: torch.Tensor,
    snr: torch.Tensor,
    lengths: torch.Tensor,
    energies: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of :func:`add_noise`'s output with respect to waveform, noise and snr."""
    return _noise_gradients(grad, waveform, noise, snr, lengths, energies, None)


def _add_noise_setup(ctx, inputs, output):
    ctx.save_for_backward(*inputs, output[1])
    ctx.mark_non_differentiable(output[1])


def _add_noise_grad(ctx, grad, grad_energies):
    waveform, noise, snr, lengths, energies = ctx.saved_tensors
    grads = add_noise_backward(last_dim_contiguous(grad), waveform, noise, snr, lengths, energies)
    return *grads, None


add_noise.register_autograd(_add_noise_grad, setup_context=_add_noise_setup)


@triton_op("tritaudio::add_white_noise", mutates_args={})
def add_white_noise(
    waveform: torch.Tensor, snr: torch.Tensor, lengths: torch.Tensor, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """add_noise with white Gaussian noise generated in the kernels from ``seed`` (never
    stored): (rows, time) waveform, (rows,) snr (+inf: unchanged row) and int64 lengths."""
    energies = noise_kernels.noise_energies(waveform, None, lengths, seed=seed, launch=wrap_triton)
    scale = _reference.noise_scale(energies[0], energies[1], snr.to(energies.dtype))
    return noise_kernels.add_scaled_noise(
        waveform, None, scale, seed=seed, launch=wrap_triton
    ), energies


@triton_op("tritaudio::add_white_noise_backward", mutates_args={})
def add_white_noise_backward(
    grad: torch.Tensor,
    waveform: torch.Tensor,
    snr: torch.Tensor,
    lengths: torch.Tensor,
    energies: torch.Tensor,
    seed: int,
) -> torch.Tensor:
    """The gradient of :func:`add_white_noise` with respect to the waveform."""
    return _noise_gradients(grad, waveform, None, snr, lengths, energies, seed)[0]


def _add_white_noise_setup(ctx, inputs, output):
    waveform, snr, lengths, ctx.seed = inputs
    ctx.save_for_backward(waveform, snr, lengths, output[1])
    ctx.mark_non_differentiable(output[1])


def _add_white_noise_grad(ctx, grad, grad_energies):
    waveform, snr, lengths, energies = ctx.saved_tensors
    grad_waveform = add_white_noise_backward(
        last_dim_contiguous(grad), waveform, snr, lengths, energies, ctx.seed
    )
    return grad_waveform, None, None, None


add_white_noise.register_autograd(_add_white_noise_grad, setup_context=_add_white_noise_setup)
