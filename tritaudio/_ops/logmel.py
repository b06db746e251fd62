"""The log-mel front-end's single-kernel op log_mel_dft (kernels/logmel.py)."""

import torch
from torch.library import triton_op, wrap_triton

from tritaudio._cache import cached_table
from tritaudio._ops.spectral import (
    bin_ranges,
    frame,
    frame_adjoint,
    frames_gradient,
    mel_power,
    spectrum_gradient,
)
from tritaudio.kernels import logmel


@triton_op("tritaudio::log_mel_dft", mutates_args={})
def log_mel_dft(
    x: torch.Tensor,
    window: torch.Tensor,
    fb: torch.Tensor,
    hop: int,
    pad: int,
    left: int,
    mode: int,
    power: float,
    has_log: int,
    log_multiplier: float,
    amin: float,
    offset: float,
    shift: float,
    save_mel: int,
    precision: str,
    drop_last: int = 0,
    dynamic_range: float = -1.0,
    per_example: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(log-)mel spectrogram (rows, n_mels, frames) of (rows, time) ``x`` in one kernel, the
    DFT as tl.dot (folded by the input's symmetry for n_fft a multiple of 4: kernels/logmel.py);
    ``window`` (n_fft,) and ``fb`` (n_fft // 2 + 1, n_mels) in the compute dtype. Also
    returns the projection before the log when ``save_mel``, else an empty tensor.
    ``drop_last``, ``dynamic_range``, ``per_example``: Whisper's epilogue in the kernel, as
    ``out_frames`` / ``dynamic_range`` / ``per_example`` of
    :func:`tritaudio._ops.spectral.mel_power`."""
    n_fft = window.shape[0]
    log = (log_multiplier, amin, offset, shift) if has_log else None
    floor = (dynamic_range, bool(per_example)) if has_log and dynamic_range >= 0 else None
    if n_fft % 4 == 0:  # the folded DFT: an eighth of the products
        build = lambda: logmel.fold_bases(window, n_fft)
        tables = cached_table("fold_bases", (window,), (n_fft, logmel.FOLD_BLOCK_K), build)
        build = lambda: logmel.fold_filterbank(fb)
        fb_tables = cached_table("fold_filterbank", (fb,), (logmel.FOLD_BLOCK_K,), build)
        return logmel.log_mel_fold(
            x, window, tables, fb_tables, fb.shape[1], hop, pad, left, mode, power, log,
            bool(save_mel), precision, bool(drop_last), floor, launch=wrap_triton,
        )  # fmt: skip
    build = lambda: logmel.dft_bases(window, n_fft)
    cos, sin = cached_table("dft_bases", (window,), (n_fft,), build)
    return logmel.log_mel_dft(
        x, cos, sin, fb, bin_ranges(fb), hop, pad, left, mode, power, log, bool(save_mel),
        precision, bool(drop_last), floor, launch=wrap_triton,
    )  # fmt: skip


def _log_mel_dft_setup(ctx, inputs, output):
    x, window, fb, *params = inputs
    # the output too: with a floor, its row maxima are the peaks the backward needs
    ctx.save_for_backward(x, window, fb, output[1], output[0])
    # the saved projection gets no gradient: not a zero-filled one either
    ctx.mark_non_differentiable(output[1])
    ctx.set_materialize_grads(False)
    ctx.params = params
    ctx.x_dtype = x.dtype


def _log_mel_dft_grad(ctx, grad, grad_mel):
    # The backward needs the complex STFT, which the forward never stored: recomputed by
    # the framing kernel and cuFFT, then the fused backward (the rfft adjoint's bin weights
    # folded in), one inverse real FFT and the framing's adjoint.
    x, window, fb, mel, out = ctx.saved_tensors
    if grad is None:
        return (None,) * 18
    hop, pad, left, mode, power, has_log, log_multiplier, amin, offset, shift = ctx.params[:10]
    drop_last, dynamic_range, per_example = ctx.params[-3:]
    n_fft = window.shape[0]
    spec = torch.view_as_real(torch.fft.rfft(frame(x, window, n_fft, hop, pad, left, mode)))
    peaks = None
    if has_log and mel.numel() == 0:  # called without save_mel: recompute the projection
        out_frames = spec.shape[1] - 1 if drop_last else -1
        mel, _ = mel_power(spec, fb, power, 0, 1.0, 0.0, 0.0, 0.0, 0, None, out_frames)
    elif has_log and dynamic_range >= 0:  # the floored output's row maxima: the peaks
        peaks = out.amax(dim=(1, 2)).reshape(-1, 1)
    floor = (dynamic_range, per_example) if has_log and dynamic_range >= 0 else None
    grad_spec = spectrum_gradient(
        grad, mel, spec, fb, power, has_log, log_multiplier, amin, offset, shift, n_fft, floor,
        peaks,
    )  # fmt: skip
    grad_frames = frames_gradient(grad_spec, n_fft)
    grad_x = frame_adjoint(grad_frames, window, hop, x.shape[1], pad, left, mode)
    return (grad_x.to(ctx.x_dtype),) + (None,) * 17


log_mel_dft.register_autograd(_log_mel_dft_grad, setup_context=_log_mel_dft_setup)
