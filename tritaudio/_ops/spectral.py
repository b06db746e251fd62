"""The spectral family's ops: frame / overlap_add (kernels/framing.py) and mel_power
(kernels/spectral.py), each other's adjoints.
"""

import math

import torch
from torch.library import triton_op, wrap_triton

from tritaudio import _reference
from tritaudio._cache import cached_table
from tritaudio._common import PAD_MODES, last_dim_contiguous
from tritaudio.kernels import framing, spectral


@triton_op("tritaudio::frame", mutates_args={})
def frame(
    x: torch.Tensor,
    window: torch.Tensor,
    n_fft: int,
    hop: int,
    pad: int,
    left: int,
    mode: int,
) -> torch.Tensor:
    """Windowed frames (rows, n_frames, n_fft) of (rows, time) ``x``, padding fused."""
    return framing.frame(x, window, n_fft, hop, pad, left, mode, launch=wrap_triton)


@triton_op("tritaudio::overlap_add", mutates_args={})
def overlap_add(frames: torch.Tensor, window: torch.Tensor, hop: int, out_len: int) -> torch.Tensor:
    """Windowed overlap-add of (rows, n_frames, n_fft) frames into (rows, out_len)."""
    return framing.overlap_add(frames, window, hop, out_len, launch=wrap_triton)


def fold_padding(padded, n_time, pad, left, mode):
    """The gradient of the padding the frame kernel reads through: (rows, n_time + 2 pad
    + 2 left) -> (rows, n_time). Each padded position adds to the sample it was read
    from; only the ``left`` edge samples on each side move."""
    # in place on ``padded`` (the overlap-add's fresh output): only the 2 x left edge
    # samples move, the result is a view (no copy of the whole gradient); one light
    # launch, or (differentiated again: a double backward) torch's in-place ops
    core = padded[:, left : padded.shape[1] - left]
    if not (torch.is_grad_enabled() and padded.requires_grad):
        fold_edges(padded, left, mode)
    elif left:
        head, tail = padded[:, :left], padded[:, padded.shape[1] - left :]
        if mode == PAD_MODES["reflect"]:
            core[:, 1 : left + 1] += head.flip(-1)
            core[:, -left - 1 : -1] += tail.flip(-1)
        elif mode == PAD_MODES["replicate"]:
            core[:, 0] += head.sum(-1)
            core[:, -1] += tail.sum(-1)
        elif mode == PAD_MODES["circular"]:
            core[:, -left:] += head.clone()
            core[:, :left] += tail.clone()
    return core[:, pad : pad + n_time]


@triton_op("tritaudio::fold_edges", mutates_args={"padded"})
def fold_edges(padded: torch.Tensor, left: int, mode: int) -> None:
    """The centering pad's adjoint in place on a contiguous (rows, n) ``padded``."""
    framing.fold_edges(padded, left, mode, launch=wrap_triton)


def _frame_setup(ctx, inputs, output):
    x, ctx.window, ctx.n_fft, ctx.hop, ctx.pad, ctx.left, ctx.mode = inputs
    ctx.n_time = x.shape[1]
    ctx.x_dtype = x.dtype


def frame_adjoint(grad, window, hop, n_time, pad, left, mode):
    """dL/dx (rows, n_time) from dL/dframes (rows, n_frames, n_fft): overlap-add, then the
    padding folded back onto the samples it was read from."""
    padded = overlap_add(grad, window, hop, n_time + 2 * pad + 2 * left)
    return fold_padding(padded, n_time, pad, left, mode)


def _frame_grad(ctx, grad):
    grad_x = frame_adjoint(grad, ctx.window, ctx.hop, ctx.n_time, ctx.pad, ctx.left, ctx.mode)
    return grad_x.to(ctx.x_dtype), None, None, None, None, None, None


def _overlap_add_setup(ctx, inputs, output):
    frames, ctx.window, ctx.hop, _ = inputs
    ctx.n_fft = frames.shape[-1]


def _overlap_add_grad(ctx, grad):
    # overlap-add is the adjoint of framing without padding, and the other way round
    frames_grad = frame(last_dim_contiguous(grad), ctx.window, ctx.n_fft, ctx.hop, 0, 0, 0)
    return frames_grad, None, None, None


frame.register_autograd(_frame_grad, setup_context=_frame_setup)


overlap_add.register_autograd(_overlap_add_grad, setup_context=_overlap_add_setup)


def bin_ranges(fb):
    """Per block of mel bands, the bins where the (constant) filterbank is non-zero: built
    once per filterbank."""
    build = lambda: spectral.nonzero_ranges(fb, spectral.BLOCK_MELS)
    return cached_table("bin_ranges", (fb,), (spectral.BLOCK_MELS,), build)


def mel_ranges(fb):
    """Per block of bins, the mel bands non-zero there: built once per filterbank."""
    build = lambda: spectral.nonzero_ranges(fb.t(), spectral.BLOCK_BINS)
    return cached_table("mel_ranges", (fb,), (spectral.BLOCK_BINS,), build)


@triton_op("tritaudio::mel_power", mutates_args={})
def mel_power(
    spec: torch.Tensor,
    fb: torch.Tensor,
    power: float,
    has_log: int,
    log_multiplier: float,
    amin: float,
    offset: float,
    shift: float,
    save_mel: int,
    frames: torch.Tensor | None = None,
    out_frames: int = -1,
    dynamic_range: float = -1.0,
    per_example: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(log-)mel spectrogram (rows, n_mels, frames) from contiguous STFT pairs (rows, frames,
    freq, 2) and a contiguous filterbank (freq, n_mels) of the same dtype; also returns the
    projection before the log when ``save_mel`` (for the backward), else an empty tensor.

    ``frames``: the (rows, frames, n_fft) frames ``spec`` is the rfft of, when given: the
    gradient then goes to them (the rfft's adjoint folded into this op's backward, one
    inverse real FFT) and not to ``spec`` (pass ``rfft(frames.detach())``).

    ``out_frames`` >= 0: only the first ``out_frames`` frames are computed and returned
    (Whisper's dropped last frame). ``dynamic_range`` >= 0 (with a log): the output floored
    at its peak minus ``dynamic_range``, the peak of each row (``per_example``) or of the
    batch, from tile maxima the kernel stores (one more light launch, no host sync)."""
    log = (log_multiplier, amin, offset, shift) if has_log else None
    floor = (dynamic_range, bool(per_example)) if has_log and dynamic_range >= 0 else None
    return spectral.mel_power(
        spec, fb, bin_ranges(fb), power, log, bool(save_mel),
        None if out_frames < 0 else out_frames, floor, launch=wrap_triton,
    )  # fmt: skip


@triton_op("tritaudio::mel_power_backward", mutates_args={})
def mel_power_backward(
    grad: torch.Tensor,
    mel: torch.Tensor,
    spec: torch.Tensor,
    fb: torch.Tensor,
    power: float,
    has_log: int,
    log_multiplier: float,
    amin: float,
    offset: float,
    n_fft: int = 0,
    shift: float = 0.0,
    dynamic_range: float = -1.0,
    per_example: int = 1,
    peaks: torch.Tensor | None = None,
    tile_min: torch.Tensor | None = None,
) -> torch.Tensor:
    """dL/dspec of :func:`mel_power` from dL/dout; ``mel`` is the saved projection. With
    ``n_fft`` > 0, scaled by the rfft adjoint's bin weights (``spec`` the rfft of n_fft
    samples): ``irfft(result, n_fft, norm="forward")`` is then dL/dframes.

    ``dynamic_range`` >= 0 (with a log): ``grad`` is dL/d(the floored output) and the
    floor's backward runs in the kernels (torch.maximum's and amax's gradients, ties
    included), from ``peaks`` and ``tile_min`` as in kernels/spectral.floor_backward."""
    log = (log_multiplier, amin, offset, shift) if has_log else None
    floor_state = None
    if has_log and dynamic_range >= 0:
        floor = (dynamic_range, bool(per_example))
        floor_state = spectral.floor_backward(
            grad, mel, floor, log, peaks, tile_min, launch=wrap_triton
        )
    return spectral.mel_power_backward(
        grad, mel, spec, fb, mel_ranges(fb), power, log, n_fft, floor_state, launch=wrap_triton
    )


def rfft_adjoint_weights(n_fft, n_freq, like):
    """c[k]: 1 at DC and (even n_fft) Nyquist, 1/2 elsewhere, as (n_freq, 1) for pairs."""
    weights = torch.full((n_freq, 1), 0.5, dtype=like.dtype, device=like.device)
    weights[0] = 1.0
    if n_fft % 2 == 0:
        weights[n_fft // 2] = 1.0
    return weights


def frames_gradient(grad_spec_weighted, n_fft):
    """dL/dframes from the weighted pairs of :func:`mel_power_backward`: one C2R."""
    spectrum = torch.view_as_complex(grad_spec_weighted)
    return torch.fft.irfft(spectrum, n=n_fft, norm="forward")


def floor_gradient(grad, mel, log_multiplier, amin, offset, shift, dynamic_range, per_example):
    """dL/d(the log before the floor) from dL/d(the floored output): the log recomputed
    from the saved projection ``mel``, then autograd through the torch floor (its ties and
    the peak's share as torch.maximum / amax give them)."""
    create_graph = torch.is_grad_enabled()
    with torch.enable_grad():
        logged = log_multiplier * torch.log(torch.clamp(mel.detach(), min=amin) + offset) - shift
        logged = logged.detach().requires_grad_()
        out = _reference.dynamic_range_floor(logged, dynamic_range, bool(per_example))
        (grad_logged,) = torch.autograd.grad(out, logged, grad, create_graph=create_graph)
    return grad_logged


def _mel_power_setup(ctx, inputs, output):
    spec, fb, *params, frames, out_frames, dynamic_range, per_example = inputs
    ctx.save_for_backward(spec, fb, output[1], frames)
    # the saved projection gets no gradient: not a zero-filled one either
    ctx.mark_non_differentiable(output[1])
    ctx.set_materialize_grads(False)
    ctx.params = params[:-1]
    ctx.epilogue = out_frames, dynamic_range, per_example


def floored_backward(
    grad, mel, spec, fb, power, log_multiplier, amin, offset, shift, n_fft, floor, peaks,
    tile_min=None,
):  # fmt: skip
    """dL/dspec from dL/d(the floored log) ``grad``: the floor's backward in the kernels
    (``peaks`` / ``tile_min`` as in :func:`mel_power_backward`), or through the torch
    floor when the backward is itself differentiated or no ``peaks`` are known."""
    dynamic_range, per_example = floor
    params = (power, 1, log_multiplier, amin, offset, n_fft)
    if torch.is_grad_enabled() or peaks is None:  # the differentiable torch route
        grad = floor_gradient(
            grad, mel, log_multiplier, amin, offset, shift, dynamic_range, per_example
        )
        return mel_power_backward(grad.contiguous(), mel, spec, fb, *params)
    return mel_power_backward(
        grad.contiguous(), mel, spec, fb, *params, shift, dynamic_range, per_example, peaks,
        tile_min,
    )  # fmt: skip


def spectrum_gradient(
    grad, mel, spec, fb, power, has_log, log_multiplier, amin, offset, shift, n_fft, floor,
    peaks=None, tile_min=None,
):  # fmt: skip
    """dL/dspec from the gradient of mel_power's output: through the floor when ``floor``
    is (dynamic_range, per_example) (:func:`floored_backward`), else
    :func:`mel_power_backward`."""
    if floor is not None:
        return floored_backward(
            grad, mel, spec, fb, power, log_multiplier, amin, offset, shift, n_fft, floor,
            peaks, tile_min,
        )  # fmt: skip
    return mel_power_backward(
        grad.contiguous(), mel, spec, fb, power, has_log, log_multiplier, amin, offset, n_fft
    )


def _mel_power_grad(ctx, grad, grad_mel):
    # The projection before the log is saved for the backward only: no gradient reaches it.
    spec, fb, mel, frames = ctx.saved_tensors
    if grad is None:
        return (None,) * 13
    power, has_log, log_multiplier, amin, offset, shift = ctx.params
    out_frames, dynamic_range, per_example = ctx.epilogue
    if has_log and mel.numel() == 0:  # called without save_mel: recompute the projection
        mel, _ = mel_power(spec, fb, power, 0, 1.0, 0.0, 0.0, 0.0, 0, None, out_frames)
    n_fft = 0 if frames is None else frames.shape[-1]
    if n_fft and torch.is_grad_enabled():  # a double backward: spec from the frames
        spec = torch.view_as_real(torch.fft.rfft(frames))
    if has_log and dynamic_range >= 0:
        rows, n_mels, kept = grad.shape
        if mel.dim() == 1:  # y and the forward's tile extrema (spectral.split_saved)
            mel, peaks, tile_min = spectral.split_saved(mel, rows, n_mels, kept)
        else:  # recomputed y: no tile maxima, the torch floor
            peaks, tile_min = None, None
        floor = (dynamic_range, per_example)
    else:
        floor, peaks, tile_min = None, None, None
    grad_spec = spectrum_gradient(
        grad, mel, spec, fb, power, has_log, log_multiplier, amin, offset, shift, n_fft, floor,
        peaks, tile_min,
    )  # fmt: skip
    if frames is None:
        return (grad_spec, *(None,) * 12)
    return (None,) * 9 + (frames_gradient(grad_spec, n_fft), None, None, None)


def _mel_power_backward_setup(ctx, inputs, output):
    grad, _, spec, fb, *params = inputs
    ctx.save_for_backward(grad, spec, fb)
    ctx.params = params


def _mel_power_backward_grad(ctx, grad_grad_spec):
    # Second derivatives (rarely needed): autograd through the torch rendering of the
    # same function, with the saved projection recomputed from spec.
    grad, spec, fb = ctx.saved_tensors
    power, has_log, log_multiplier, amin, offset, n_fft = ctx.params[:6]
    log = _reference.LogScale(log_multiplier, amin, offset, 0.0, math.e) if has_log else None
    with torch.enable_grad():
        grad, spec = grad.detach().requires_grad_(), spec.detach().requires_grad_()
        out = _reference.mel_power(spec, fb, power, log)[..., : grad.shape[-1]]
        (grad_spec,) = torch.autograd.grad(out, spec, grad, create_graph=True)
        if n_fft > 0:
            grad_spec = grad_spec * rfft_adjoint_weights(n_fft, spec.shape[-2], spec)
        grad_grad, grad_spec2 = torch.autograd.grad(grad_spec, (grad, spec), grad_grad_spec)
    return grad_grad, None, grad_spec2, *(None,) * 12


mel_power.register_autograd(_mel_power_grad, setup_context=_mel_power_setup)


mel_power_backward.register_autograd(
    _mel_power_backward_grad, setup_context=_mel_power_backward_setup
)
