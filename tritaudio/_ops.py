"""The Triton kernels as torch ops: one ``torch.library.triton_op`` per kernel, named
``tritaudio::<name>``, with autograd whose backward runs Triton kernels too.

triton_op makes the ops traceable by ``torch.compile`` (the kernels are inlined into the
graph) and gives them fake implementations for free.
"""

import torch
from torch.library import triton_op, wrap_triton
from triton.runtime.interpreter import InterpretedFunction

from tritaudio.kernels import mix
from tritaudio.kernels import resample as resample_kernels

# triton.jit picks the interpreter when the kernels are decorated, i.e. at this import:
# TRITON_INTERPRET=1 must have been set before it. This records what triton decided.
INTERPRETED = isinstance(mix.scale_rows_kernel, InterpretedFunction)


def last_dim_contiguous(x):
    """``x`` itself when its last dim is contiguous (the kernels take other strides as
    arguments), else a contiguous copy."""
    return x if x.stride(-1) == 1 or x.shape[-1] <= 1 else x.contiguous()


@triton_op("tritaudio::scale_rows", mutates_args={})
def scale_rows(x: torch.Tensor, factor: float) -> torch.Tensor:
    """``factor * x`` for a 2-D ``x`` (rows, time) with its last dim contiguous."""
    return mix.scale_rows(x, factor, launch=wrap_triton)


def _scale_rows_setup(ctx, inputs, output):
    ctx.factor = inputs[1]


def _scale_rows_backward(ctx, grad):
    return scale_rows(last_dim_contiguous(grad), ctx.factor), None


scale_rows.register_autograd(_scale_rows_backward, setup_context=_scale_rows_setup)


@triton_op("tritaudio::resample", mutates_args={})
def resample(
    x: torch.Tensor,
    orig: int,
    new: int,
    lowpass_filter_width: float,
    rolloff: float,
    kaiser: int,
    beta: float,
) -> torch.Tensor:
    """Windowed-sinc resampling of each row of a 2-D ``x`` between gcd-reduced rates."""
    filter_args = (orig, new, lowpass_filter_width, rolloff, kaiser, beta)
    return resample_kernels.resample(x, *filter_args, launch=wrap_triton)


@triton_op("tritaudio::resample_backward", mutates_args={})
def resample_backward(
    grad: torch.Tensor,
    n_in: int,
    orig: int,
    new: int,
    lowpass_filter_width: float,
    rolloff: float,
    kaiser: int,
    beta: float,
) -> torch.Tensor:
    """The transposed filter: the gradient of :func:`resample` with respect to ``x``."""
    filter_args = (orig, new, lowpass_filter_width, rolloff, kaiser, beta)
    return resample_kernels.resample_backward(grad, n_in, *filter_args, launch=wrap_triton)


def _resample_setup(ctx, inputs, output):
    ctx.n_in = inputs[0].shape[-1]
    ctx.filter_args = inputs[1:]


def _resample_grad(ctx, grad):
    return resample_backward(last_dim_contiguous(grad), ctx.n_in, *ctx.filter_args), *(
        None for _ in ctx.filter_args
    )


def _resample_backward_setup(ctx, inputs, output):
    ctx.filter_args = inputs[2:]


def _resample_backward_grad(ctx, grad):
    # The op is linear in grad, so its own gradient is the forward filter again.
    return resample(last_dim_contiguous(grad), *ctx.filter_args), *(None for _ in range(7))


resample.register_autograd(_resample_grad, setup_context=_resample_setup)
resample_backward.register_autograd(_resample_backward_grad, setup_context=_resample_backward_setup)
