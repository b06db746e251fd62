"""The Triton kernels as torch ops, one module per family: one ``torch.library.triton_op``
per kernel, named ``tritaudio::<name>``, with autograd whose backward runs Triton kernels too.

triton_op makes the ops traceable by ``torch.compile`` (the kernels are inlined into the
graph) and gives them fake implementations for free. Importing this package imports triton.
"""

from triton.runtime.interpreter import InterpretedFunction

from tritaudio._ops.logmel import log_mel_dft
from tritaudio._ops.noise import add_noise, add_white_noise, scale_rows
from tritaudio._ops.resample import resample, resample_backward
from tritaudio._ops.spectral import (
    PAD_MODES,
    fold_padding,
    frame,
    frame_adjoint,
    mel_power,
    mel_power_backward,
    overlap_add,
)
from tritaudio.kernels import noise as noise_kernels

# triton.jit picks the interpreter when the kernels are decorated, i.e. at this import:
# TRITON_INTERPRET=1 must have been set before it. This records what triton decided.
INTERPRETED = isinstance(noise_kernels.scale_rows_kernel, InterpretedFunction)

__all__ = [
    "INTERPRETED",
    "PAD_MODES",
    "add_noise",
    "add_white_noise",
    "fold_padding",
    "frame",
    "frame_adjoint",
    "log_mel_dft",
    "mel_power",
    "mel_power_backward",
    "overlap_add",
    "resample",
    "resample_backward",
    "scale_rows",
]

from tritaudio._ops.alignment import (  # noqa: E402
    forced_align,
    rnnt_loss,
    rnnt_loss_backward,
    rnnt_loss_forward,
)

__all__ += ["forced_align", "rnnt_loss", "rnnt_loss_backward", "rnnt_loss_forward"]

from tritaudio._ops.stretch import phase_vocoder  # noqa: E402

__all__ += ["phase_vocoder"]
