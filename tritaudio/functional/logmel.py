"""The log-mel front-end: log_mel_spectrogram (LogMelSpectrogram's functional form), with its
``stft`` and single-kernel ``dft`` implementations (kernels/logmel.py).
"""

import torch

from tritaudio import _reference
from tritaudio._backend import backend_for
from tritaudio._common import DOT_PRECISIONS, PAD_MODES, as_rows, compute_dtype
from tritaudio.functional.spectral import (
    LogScale,
    _check_filterbank,
    _check_spectrogram_args,
    _frames,
    _full_window,
    _normalized_filterbank,
    mel_spectrogram,
)

DECIBELS = LogScale(10.0, 1e-10)  # of a power: AmplitudeToDB("power")


LOG_MEL_IMPLEMENTATIONS = ("auto", "stft", "dft")


def _check_log_mel_options(log, dynamic_range, implementation, precision):
    """The checks of :func:`log_mel_spectrogram`'s own arguments (also run by
    LogMelSpectrogram's constructor, to fail early)."""
    if implementation not in LOG_MEL_IMPLEMENTATIONS:
        raise ValueError(
            f"implementation must be one of {LOG_MEL_IMPLEMENTATIONS}, got {implementation!r}"
        )
    if precision not in DOT_PRECISIONS:
        raise ValueError(f"precision must be one of {DOT_PRECISIONS}, got {precision!r}")
    if not isinstance(log, LogScale):
        raise TypeError(f"log must be a LogScale, got {type(log).__name__}")
    if dynamic_range is not None and not dynamic_range >= 0:
        raise ValueError(f"dynamic_range must be >= 0 or None, got {dynamic_range}")


def log_mel_spectrogram(
    waveform: torch.Tensor,
    fb: torch.Tensor,
    pad: int,
    window: torch.Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
    power: float,
    normalized: bool | str,
    center: bool = True,
    pad_mode: str = "reflect",
    log: LogScale = DECIBELS,
    dynamic_range: float | None = None,
    per_example: bool = True,
    drop_last_frame: bool = False,
    implementation: str = "auto",
    precision: str = "tf32x3",
) -> torch.Tensor:
    """Log-mel spectrogram: :func:`mel_spectrogram` with a log, an optional floor at the
    peak minus ``dynamic_range``, and Whisper's dropped last frame. The functional form of
    :class:`tritaudio.transforms.LogMelSpectrogram` (no torchaudio counterpart).

    Args:
        waveform, fb, pad, window, n_fft, hop_length, win_length, power, normalized, center,
            pad_mode: as in :func:`mel_spectrogram`.
        log: the :class:`LogScale` applied to the mel spectrogram (default dB).
        dynamic_range: keep values within this much of the peak (in the output's unit), or
            None.
        per_example: the peak of each ``(n_mels, frames)`` example, or (False) of the whole
            batch, as Whisper's ``log_mel_spectrogram`` does.
        drop_last_frame: drop the last STFT frame, as Whisper does.
        implementation: on the Triton path, ``"stft"`` (framing kernel, cuFFT, the fused
            power / mel / log kernel), ``"dft"`` (one kernel from the waveform: for n_fft a
            multiple of 4 the DFT folded by the real input's symmetry, the pairs (n, H - n)
            and the bin pairs (k, H - k), an eighth of the dense products, as tl.dot;
            otherwise the dense DFT, only the bins the filters use), or ``"auto"`` (the
            default: ``"dft"`` for n_fft a multiple of 4 without a gradient, else
            ``"stft"``; chosen from the model, whisper 64 x 30 s forward: dft tf32x3 5.9x
            torchaudio, stft 2.7x, modelled on an H200, not measured). Both write the
            output already trimmed (``drop_last_frame``) and, without a gradient, apply the
            ``dynamic_range`` floor from per-tile maxima the kernel stores, in one light
            in-place pass over the tiles below the floor.
        precision: the ``"dft"`` kernel's tl.dot precision: ``"tf32x3"`` (the default:
            error-compensated TF32 on tensor cores, for the DFT and the mel projection),
            ``"ieee"`` (float32 FMAs) or ``"tf32"`` (DFT in plain TF32, less accurate; the
            mel projection tf32x3). Float32 error against a float64 reference on 2 s of
            speech, whisper preset, of the peak mel power (the contract: 1e-5): stft and
            the folded dft in ieee 8.8e-7 (interpreter); tf32x3 2.9e-7, tf32 8.1e-5 (the
            folded kernel's arithmetic emulated in torch: benchmarks/logmel_accuracy.py,
            which measures the kernels themselves on a GPU; not run on one yet).

    Returns:
        ``(..., n_mels, frames)`` (one frame fewer with ``drop_last_frame``).
    """
    _check_log_mel_options(log, dynamic_range, implementation, precision)
    if power is None:
        raise ValueError("log_mel_spectrogram needs a real power (> 0), got None")
    if backend_for(waveform) == "triton" and waveform.numel():
        # Whisper's epilogue in the kernels: the last frame never written, the floor from
        # per-tile maxima in one light in-place pass (no read of the whole output)
        _check_spectrogram_args(
            waveform, pad, window, n_fft, hop_length, win_length, power, center, pad_mode
        )
        _check_filterbank(fb, n_fft)
        # With a gradient, the floor stays a torch op on the trimmed output (its autograd
        # needs the values before the floor, which the kernel's in-place floor overwrites:
        # recomputing them costs more than the two torch ops)
        fused_floor = dynamic_range is not None and not (
            torch.is_grad_enabled() and waveform.requires_grad
        )
        epilogue = (
            int(drop_last_frame),
            float(dynamic_range) if fused_floor else -1.0,
            int(per_example),
        )
        if implementation == "auto":  # the folded DFT without a gradient (the model's pick)
            differentiable = torch.is_grad_enabled() and waveform.requires_grad
            implementation = "dft" if n_fft % 4 == 0 and not differentiable else "stft"
        run = _log_mel_dft if implementation == "dft" else _log_mel_stft
        out = run(
            waveform, fb, pad, window, n_fft, hop_length, power, normalized, center, pad_mode,
            log, precision, epilogue,
        )  # fmt: skip
        if dynamic_range is not None and not fused_floor:
            out = _reference.dynamic_range_floor(out, dynamic_range, per_example)
        return out
    out = mel_spectrogram(
        waveform, fb, pad, window, n_fft, hop_length, win_length, power, normalized, center,
        pad_mode, log,
    )  # fmt: skip
    if drop_last_frame:
        out = out[..., :-1]
    if dynamic_range is not None:
        out = _reference.dynamic_range_floor(out, dynamic_range, per_example)
    return out


def _log_mel_stft(
    waveform, fb, pad, window, n_fft, hop_length, power, normalized, center, pad_mode, log,
    precision, epilogue,
):  # fmt: skip
    """The ``stft`` implementation on the Triton path: framing kernel, cuFFT, the fused
    power / mel / log kernel with the epilogue (as functional.mel_spectrogram, whose
    gradient route it shares)."""
    from tritaudio import _ops

    drop_last, dynamic_range, per_example = epilogue
    frames = _frames(waveform, pad, window, n_fft, hop_length, center, pad_mode)
    spec = torch.view_as_real(torch.fft.rfft(frames.detach()))
    fb = _normalized_filterbank(fb, window, n_fft, power, normalized, spec.dtype)
    differentiable = torch.is_grad_enabled() and frames.requires_grad
    out_frames = max(spec.shape[1] - 1, 0) if drop_last else -1
    out, _ = _ops.mel_power(
        spec, fb, float(power), 1, *log.natural(), int(differentiable),
        frames if differentiable else None, out_frames, dynamic_range, per_example,
    )  # fmt: skip
    return out.to(waveform.dtype).reshape(*waveform.shape[:-1], *out.shape[-2:])


def _log_mel_dft(
    waveform, fb, pad, window, n_fft, hop_length, power, normalized, center, pad_mode, log,
    precision, epilogue,
):  # fmt: skip
    from tritaudio import _ops

    compute = compute_dtype(waveform)
    fb = _normalized_filterbank(fb, window, n_fft, power, normalized, compute)
    full_window = _full_window(window, n_fft, compute)
    left = n_fft // 2 if center else 0
    rows = as_rows(waveform)
    save_mel = torch.is_grad_enabled() and rows.requires_grad
    out, _ = _ops.log_mel_dft(
        rows, full_window, fb, hop_length, pad, left, PAD_MODES[pad_mode], float(power), 1,
        *log.natural(), int(save_mel), "ieee" if compute == torch.float64 else precision,
        *epilogue,
    )  # fmt: skip
    return out.to(waveform.dtype).reshape(*waveform.shape[:-1], *out.shape[-2:])
