"""The resample family's ops: resample and its transposed backward (kernels/resample.py).

The filter's polyphase tables (forward and transposed, tritaudio._reference.resample_table)
are op inputs, built once per filter by the caller; None for filters whose tables would be
too large (the kernel then computes the taps on the fly).
"""

import torch
from torch.library import triton_op, wrap_triton

from tritaudio._common import last_dim_contiguous
from tritaudio.kernels import resample as resample_kernels


def _table(taps, first):
    return None if taps is None else (taps, first)


@triton_op("tritaudio::resample", mutates_args={})
def resample(
    x: torch.Tensor,
    taps: torch.Tensor | None,
    first: torch.Tensor | None,
    taps_t: torch.Tensor | None,
    first_t: torch.Tensor | None,
    orig: int,
    new: int,
    lowpass_filter_width: float,
    rolloff: float,
    kaiser: int,
    beta: float,
) -> torch.Tensor:
    """Windowed-sinc resampling of each row of a 2-D ``x`` between gcd-reduced rates, with
    the filter's table ``(taps, first)`` (``taps_t, first_t``: its transpose, for the
    backward pass)."""
    filter_args = (orig, new, lowpass_filter_width, rolloff, kaiser, beta)
    table = _table(taps, first)
    return resample_kernels.resample(x, table, *filter_args, launch=wrap_triton)


@triton_op("tritaudio::resample_backward", mutates_args={})
def resample_backward(
    grad: torch.Tensor,
    n_in: int,
    taps: torch.Tensor | None,
    first: torch.Tensor | None,
    taps_t: torch.Tensor | None,
    first_t: torch.Tensor | None,
    orig: int,
    new: int,
    lowpass_filter_width: float,
    rolloff: float,
    kaiser: int,
    beta: float,
) -> torch.Tensor:
    """The transposed filter: the gradient of :func:`resample` with respect to ``x``."""
    filter_args = (orig, new, lowpass_filter_width, rolloff, kaiser, beta)
    table_t = _table(taps_t, first_t)
    return resample_kernels.resample_backward(grad, n_in, table_t, *filter_args, launch=wrap_triton)


def _resample_setup(ctx, inputs, output):
    ctx.n_in = inputs[0].shape[-1]
    ctx.filter_args = inputs[1:]


def _resample_grad(ctx, grad):
    grad_x = resample_backward(last_dim_contiguous(grad), ctx.n_in, *ctx.filter_args)
    return grad_x, *(None for _ in ctx.filter_args)


def _resample_backward_setup(ctx, inputs, output):
    ctx.filter_args = inputs[2:]


def _resample_backward_grad(ctx, grad):
    # The op is linear in grad, so its own gradient is the forward filter again.
    return resample(last_dim_contiguous(grad), *ctx.filter_args), *(None for _ in range(11))


resample.register_autograd(_resample_grad, setup_context=_resample_setup)


resample_backward.register_autograd(_resample_backward_grad, setup_context=_resample_backward_setup)
