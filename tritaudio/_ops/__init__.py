"""The Triton kernels as torch ops: one ``torch.library.triton_op`` per kernel, named
``tritaudio::<name>``, with autograd whose backward runs Triton kernels too.

triton_op makes the ops traceable by ``torch.compile`` (the kernels are inlined into the
graph) and gives them fake implementations for free.
"""

import math

import torch
from torch.library import triton_op, wrap_triton
from triton.runtime.interpreter import InterpretedFunction

from tritaudio import _reference
from tritaudio.kernels import framing, logmel, noise, spectral
from tritaudio.kernels import resample as resample_kernels

# triton.jit picks the interpreter when the kernels are decorated, i.e. at this import:
# TRITON_INTERPRET=1 must have been set before it. This records what triton decided.
INTERPRETED = isinstance(noise.scale_rows_kernel, InterpretedFunction)


def last_dim_contiguous(x):
    """``x`` itself when its last dim is contiguous (the kernels take other strides as
    arguments), else a contiguous copy."""
    return x if x.stride(-1) == 1 or x.shape[-1] <= 1 else x.contiguous()


@triton_op("tritaudio::scale_rows", mutates_args={})
def scale_rows(x: torch.Tensor, factor: float) -> torch.Tensor:
    """``factor * x`` for a 2-D ``x`` (rows, time) with its last dim contiguous."""
    return noise.scale_rows(x, factor, launch=wrap_triton)


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


@triton_op("tritaudio::add_noise", mutates_args={})
def add_noise(
    waveform: torch.Tensor, noise: torch.Tensor, snr: torch.Tensor, lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, time) waveform and noise (row stride may be 0), (rows,) snr and int64
    lengths -> (mixed, energies (2, rows))."""
    energies = noise.noise_energies(waveform, noise, lengths, launch=wrap_triton)
    scale = _reference.noise_scale(energies[0], energies[1], snr.to(energies.dtype))
    return noise.add_scaled_noise(waveform, noise, scale, launch=wrap_triton), energies


def _noise_gradients(grad, waveform, noise, snr, lengths, energies, seed):
    """The shared backward of add_noise and add_white_noise."""
    energy_signal, energy_noise = energies
    scale = _reference.noise_scale(energy_signal, energy_noise, snr.to(energies.dtype))
    dot = noise.row_dots(grad, noise, energies.dtype, seed=seed, launch=wrap_triton)
    # scale is 0 where an energy is 0, and so are the coefficients; 1 avoids 0 / 0 there.
    coeff_signal = dot * scale / torch.where(scale != 0, energy_signal, 1.0)
    coeff_noise = dot * scale / torch.where(scale != 0, energy_noise, 1.0)
    coeffs = torch.stack([scale, coeff_signal, coeff_noise])
    grad_waveform, grad_noise = noise.add_noise_backward(
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
    energies = noise.noise_energies(waveform, None, lengths, seed=seed, launch=wrap_triton)
    scale = _reference.noise_scale(energies[0], energies[1], snr.to(energies.dtype))
    return noise.add_scaled_noise(waveform, None, scale, seed=seed, launch=wrap_triton), energies


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


PAD_MODES = framing.PAD_MODES


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
    return framing.overlap_add(frames.contiguous(), window, hop, out_len, launch=wrap_triton)


def fold_padding(padded, n_time, pad, left, mode):
    """The gradient of the padding the frame kernel reads through: (rows, n_time + 2 pad
    + 2 left) -> (rows, n_time). Each padded position adds to the sample it was read
    from; only the ``left`` edge samples on each side move."""
    core = padded[:, left : padded.shape[1] - left].clone()
    if left:
        head, tail = padded[:, :left], padded[:, padded.shape[1] - left :]
        if mode == framing.PAD_MODES["reflect"]:
            core[:, 1 : left + 1] += head.flip(-1)
            core[:, -left - 1 : -1] += tail.flip(-1)
        elif mode == framing.PAD_MODES["replicate"]:
            core[:, 0] += head.sum(-1)
            core[:, -1] += tail.sum(-1)
        elif mode == framing.PAD_MODES["circular"]:
            core[:, -left:] += head
            core[:, :left] += tail
    return core[:, pad : pad + n_time]


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
) -> tuple[torch.Tensor, torch.Tensor]:
    """(log-)mel spectrogram (rows, n_mels, frames) from contiguous STFT pairs (rows, frames,
    freq, 2) and a contiguous filterbank (freq, n_mels) of the same dtype; also returns the
    projection before the log when ``save_mel`` (for the backward), else an empty tensor."""
    bin_ranges = spectral.nonzero_ranges(fb, spectral.BLOCK_MELS)
    log = (log_multiplier, amin, offset, shift) if has_log else None
    return spectral.mel_power(spec, fb, bin_ranges, power, log, bool(save_mel), launch=wrap_triton)


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
) -> torch.Tensor:
    """dL/dspec of :func:`mel_power` from dL/dout; ``mel`` is the saved projection."""
    mel_ranges = spectral.nonzero_ranges(fb.t(), spectral.BLOCK_BINS)
    log = (log_multiplier, amin, offset, 0.0) if has_log else None
    return spectral.mel_power_backward(
        grad, mel, spec, fb, mel_ranges, power, log, launch=wrap_triton
    )


def _mel_power_setup(ctx, inputs, output):
    spec, fb, *params = inputs
    ctx.save_for_backward(spec, fb, output[1])
    ctx.params = params[:-1]


def _mel_power_grad(ctx, grad, grad_mel):
    # The projection before the log is saved for the backward only: no gradient reaches it.
    spec, fb, mel = ctx.saved_tensors
    power, has_log, log_multiplier, amin, offset, _ = ctx.params
    if has_log and mel.numel() == 0:  # called without save_mel: recompute the projection
        mel, _ = mel_power(spec, fb, power, 0, 1.0, 0.0, 0.0, 0.0, 0)
    grad_spec = mel_power_backward(
        grad.contiguous(), mel, spec, fb, power, has_log, log_multiplier, amin, offset
    )
    return grad_spec, None, None, None, None, None, None, None, None


def _mel_power_backward_setup(ctx, inputs, output):
    grad, _, spec, fb, *params = inputs
    ctx.save_for_backward(grad, spec, fb)
    ctx.params = params


def _mel_power_backward_grad(ctx, grad_grad_spec):
    # Second derivatives (rarely needed): autograd through the torch rendering of the
    # same function, with the saved projection recomputed from spec.
    grad, spec, fb = ctx.saved_tensors
    power, has_log, log_multiplier, amin, offset = ctx.params
    log = _reference.LogScale(log_multiplier, amin, offset, 0.0, math.e) if has_log else None
    with torch.enable_grad():
        grad, spec = grad.detach().requires_grad_(), spec.detach().requires_grad_()
        out = _reference.mel_power(spec, fb, power, log)
        (grad_spec,) = torch.autograd.grad(out, spec, grad, create_graph=True)
        grad_grad, grad_spec2 = torch.autograd.grad(grad_spec, (grad, spec), grad_grad_spec)
    return grad_grad, None, grad_spec2, None, None, None, None, None, None


mel_power.register_autograd(_mel_power_grad, setup_context=_mel_power_setup)
mel_power_backward.register_autograd(
    _mel_power_backward_grad, setup_context=_mel_power_backward_setup
)


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
) -> tuple[torch.Tensor, torch.Tensor]:
    """(log-)mel spectrogram (rows, n_mels, frames) of (rows, time) ``x`` in one kernel, the
    DFT as tl.dot against windowed bases; ``window`` (n_fft,) and ``fb`` (n_fft // 2 + 1,
    n_mels) in the compute dtype. Also returns the projection before the log when
    ``save_mel``, else an empty tensor."""
    cos, sin = logmel.dft_bases(window, window.shape[0])
    bin_ranges = spectral.nonzero_ranges(fb, logmel.BLOCK_MELS)
    log = (log_multiplier, amin, offset, shift) if has_log else None
    return logmel.log_mel_dft(
        x, cos, sin, fb, bin_ranges, hop, pad, left, mode, power, log, bool(save_mel),
        precision, launch=wrap_triton,
    )  # fmt: skip


def _log_mel_dft_setup(ctx, inputs, output):
    x, window, fb, *params = inputs
    ctx.save_for_backward(x, window, fb, output[1])
    ctx.params = params
    ctx.x_dtype = x.dtype


def _log_mel_dft_grad(ctx, grad, grad_mel):
    # The backward needs the complex STFT, which the forward never stored: recomputed by
    # the framing kernel and cuFFT, then the fused backward, the adjoint of the real FFT
    # (n * ifft of the zero-extended gradient) and the framing's adjoint.
    x, window, fb, mel = ctx.saved_tensors
    hop, pad, left, mode, power, has_log, log_multiplier, amin, offset, *_ = ctx.params
    n_fft = window.shape[0]
    spec = torch.view_as_real(torch.fft.rfft(frame(x, window, n_fft, hop, pad, left, mode)))
    if has_log and mel.numel() == 0:  # called without save_mel: recompute the projection
        mel, _ = mel_power(spec, fb, power, 0, 1.0, 0.0, 0.0, 0.0, 0)
    grad_spec = mel_power_backward(
        grad.contiguous(), mel, spec, fb, power, has_log, log_multiplier, amin, offset
    )
    grad_spec = torch.view_as_complex(grad_spec)
    grad_spec = torch.nn.functional.pad(grad_spec, (0, n_fft - grad_spec.shape[-1]))
    grad_frames = torch.fft.ifft(grad_spec, norm="forward").real
    grad_x = frame_adjoint(grad_frames, window, hop, x.shape[1], pad, left, mode)
    return (grad_x.to(ctx.x_dtype),) + (None,) * 14


log_mel_dft.register_autograd(_log_mel_dft_grad, setup_context=_log_mel_dft_setup)


from tritaudio._ops.alignment import (  # noqa: E402, F401
    forced_align,
    rnnt_loss,
    rnnt_loss_backward,
    rnnt_loss_forward,
)
