"""The stretch family's op: the phase vocoder (kernels/stretch.py). Its backward recomputes
the torch reference's arithmetic and takes its vector-Jacobian product: the forward is one
kernel, the backward the reference's autograd on recomputed values."""

import torch
from torch.library import triton_op, wrap_triton

from tritaudio._reference import stretch as reference
from tritaudio.kernels import stretch as stretch_kernels


@triton_op("tritaudio::phase_vocoder", mutates_args={})
def phase_vocoder(spec: torch.Tensor, steps: torch.Tensor, advance: torch.Tensor) -> torch.Tensor:
    """(rows, bins, frames) complex ``spec``, the output frames' input times ``steps``
    (n_out,) and each bin's expected advance ``advance`` (bins,) -> (rows, bins, n_out)."""
    return stretch_kernels.phase_vocoder(spec, steps, advance, launch=wrap_triton)


def _phase_vocoder_setup(ctx, inputs, output):
    ctx.save_for_backward(*inputs)


def _phase_vocoder_backward(ctx, grad):
    spec, steps, advance = ctx.saved_tensors
    _, vjp = torch.func.vjp(lambda s: reference._vocode(s, steps, advance[:, None]), spec)
    return vjp(grad)[0], None, None


phase_vocoder.register_autograd(_phase_vocoder_backward, setup_context=_phase_vocoder_setup)
