"""The filtering kernels as torch ops (``tritaudio::lfilter_rows``, ``conv_rows``,
``lag_products``), with autograd whose backward runs the same kernels.

lfilter's gradients, with u the FIR part's output and g the output's gradient:
    g_u = the IIR recurrence run backwards in time on g   (the adjoint recurrence)
    g_x[t] = sum_k b[k] g_u[t + k]                         (the FIR part's adjoint)
    g_b[k] = sum_t g_u[t] x[t - k],   g_a[k] = -sum_t g_u[t] y[t - k]   (k >= 1)
summed over the rows that share a filter. a[0] is 1 after normalisation (by a0, outside
these ops when gradients are asked for, where autograd carries the gradient to a0; the
kernels divide by a0, so calls without gradients pass the coefficients as given).
"""

import torch
from torch.library import triton_op, wrap_triton

from tritaudio.kernels import filtering


def _direction(reverse):
    """The tap step that looks into the past of a pass run forwards (reverse 0) or
    backwards in time."""
    return -1 if reverse else 1


@triton_op("tritaudio::lfilter_rows", mutates_args={})
def lfilter_rows(
    x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, reverse: int, clamp: int = 0
) -> torch.Tensor:
    """IIR-filter each row of a 2-D ``x``: row r by filter r % filters of the (filters,
    order + 1) ``a`` and (filters, n_b) ``b``, contiguous in the compute dtype, normalised
    by a0 in the kernels (the gradients assume a0 = 1: normalise outside for them);
    backwards in time when ``reverse``; the output clamped to [-1, 1] when ``clamp`` (not
    differentiable then: for calls without gradients)."""
    return filtering.lfilter(x, a, b, reverse, clamp, launch=wrap_triton)


@triton_op("tritaudio::conv_rows", mutates_args={})
def conv_rows(
    x: torch.Tensor, w: torch.Tensor, n_out: int, shift: int, tap_step: int
) -> torch.Tensor:
    """``y[r, n] = sum_k w[r % w_rows, k] x[r, n + shift + tap_step * k]`` (zero outside
    x's rows), (rows, n_out)."""
    return filtering.conv_rows(x, w, n_out, shift, tap_step, launch=wrap_triton)


@triton_op("tritaudio::lag_products", mutates_args={})
def lag_products(
    p: torch.Tensor, q: torch.Tensor, n_lags: int, shift: int, step: int, groups: int
) -> torch.Tensor:
    """``out[f, k] = sum over rows r with r % groups == f of sum_t p[r, t] q[r, t + shift -
    step * k]``, (groups, n_lags) in p's dtype (float32 for half input). Not differentiable
    (it is used inside backward passes only)."""
    compute = torch.float64 if p.dtype == torch.float64 else torch.float32
    per_row = filtering.lag_products(p, q, n_lags, shift, step, compute, launch=wrap_triton)
    return per_row.reshape(-1, groups, n_lags).sum(0)


def _lfilter_setup(ctx, inputs, output):
    x, a, b, ctx.reverse, ctx.clamp = inputs
    ctx.save_for_backward(x, a, b, output)


def _lfilter_grad(ctx, grad):
    if ctx.clamp:
        raise RuntimeError("lfilter_rows with clamp=1 has no gradient: clamp outside it")
    x, a, b, y = ctx.saved_tensors
    filters, n_a = a.shape
    step = _direction(ctx.reverse)
    grad = grad.contiguous()
    identity = torch.zeros(filters, 1, dtype=b.dtype, device=b.device) + 1
    grad_u = lfilter_rows(grad, a, identity, 1 - ctx.reverse)
    grad_x = conv_rows(grad_u, b, x.shape[1], 0, step).to(x.dtype)
    grad_b = lag_products(grad_u, x, b.shape[1], 0, step, filters).to(b.dtype)
    grad_a = -lag_products(grad_u, y, n_a, 0, step, filters).to(a.dtype)
    grad_a[:, 0].fill_(0)  # a[0] is held at 1: the normalisation outside carries a0's gradient
    return grad_x, grad_a, grad_b, None, None


lfilter_rows.register_autograd(_lfilter_grad, setup_context=_lfilter_setup)


def _conv_setup(ctx, inputs, output):
    x, w, _, ctx.shift, ctx.tap_step = inputs
    ctx.save_for_backward(x, w)


def _conv_grad(ctx, grad):
    x, w = ctx.saved_tensors
    grad = grad.contiguous()
    grad_x = conv_rows(grad, w, x.shape[1], -ctx.shift, -ctx.tap_step).to(x.dtype)
    # g_w[f, k] = sum_n g[n] x[n + shift + tap_step k], over the rows using filter f
    grad_w = lag_products(grad, x, w.shape[1], ctx.shift, -ctx.tap_step, w.shape[0])
    return grad_x, grad_w.to(w.dtype), None, None, None


conv_rows.register_autograd(_conv_grad, setup_context=_conv_setup)
