"""The Triton kernels as torch ops: one ``torch.library.triton_op`` per kernel, named
``tritaudio::<name>``, with autograd whose backward runs Triton kernels too.

triton_op makes the ops traceable by ``torch.compile`` (the kernels are inlined into the
graph) and gives them fake implementations for free.
"""

import torch
from torch.library import triton_op, wrap_triton
from triton.runtime.interpreter import InterpretedFunction

from tritaudio.kernels import mix

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
