"""The spectral family's functions: spectrogram and its inverse, mel / linear filterbanks,
dB, Griffin-Lim.

On the Triton path: the framing kernel, cuFFT, the fused power / mel / log kernel
(kernels/framing.py, kernels/spectral.py).
"""

import math
import warnings

import torch

from tritaudio import _reference
from tritaudio._backend import backend_for
from tritaudio._cache import cached_table
from tritaudio._checks import check_positive_real, check_real_waveform, check_stft_args
from tritaudio._common import LOW_PRECISION, PAD_MODES, as_rows, compute_dtype


def _stft_defaults(n_fft, hop_length, win_length, window, like):
    """torch.stft's defaults, which torchaudio's functions pass None on to: win_length
    n_fft, hop_length win_length // 4 (of n_fft: torch.stft's floor(n_fft / 4)), a
    rectangular window of win_length."""
    if win_length is None:
        win_length = n_fft
    if hop_length is None and isinstance(n_fft, int) and not isinstance(n_fft, bool):
        hop_length = n_fft // 4
    if window is None and isinstance(win_length, int) and win_length > 0:
        dtype = like.real.dtype if like.is_complex() else like.dtype
        window = torch.ones(win_length, dtype=dtype, device=like.device)
    return hop_length, win_length, window


def _real_result_dtype(dtype):
    """The dtype of a power / magnitude spectrum computed (in float32) from ``dtype``
    input: float32 for float16, whose range (65504) a power spectrum of ordinary audio
    exceeds; bfloat16 (float32's range) and the others keep theirs."""
    return torch.float32 if dtype == torch.float16 else dtype


def _check_spectrogram_args(
    waveform, pad, window, n_fft, hop_length, win_length, power, center, pad_mode
):  # fmt: skip
    check_real_waveform(waveform)
    check_stft_args(n_fft, hop_length, win_length, window)
    if power is not None and not power > 0:
        raise ValueError(f"power must be > 0 or None, got {power}")
    n_time = waveform.shape[-1] + 2 * pad
    padded = n_time + (2 * (n_fft // 2) if center else 0)
    if pad_mode not in PAD_MODES:
        raise ValueError(f"pad_mode must be one of {tuple(PAD_MODES)}, got {pad_mode!r}")
    if n_fft > padded:
        raise ValueError(
            f"n_fft ({n_fft}) is longer than the padded signal ({padded} samples from "
            f"{waveform.shape[-1]})"
        )
    if center and pad_mode == "reflect" and n_fft // 2 >= n_time:
        raise ValueError(
            f"reflect padding of {n_fft // 2} samples needs a signal longer than that; got "
            f"{n_time} samples (use pad_mode='constant' or a smaller n_fft)"
        )


def spectrogram(
    waveform: torch.Tensor,
    pad: int,
    window: torch.Tensor | None,
    n_fft: int,
    hop_length: int | None,
    win_length: int | None,
    power: float | None,
    normalized: bool | str,
    center: bool = True,
    pad_mode: str = "reflect",
    onesided: bool = True,
    return_complex: bool | None = None,
) -> torch.Tensor:
    """Spectrogram (power, magnitude or complex) of a waveform.

    Mirrors ``torchaudio.functional.spectrogram``.

    Args:
        waveform: ``(..., time)``, real floating point.
        pad: zeros added on both sides first.
        window: ``(win_length,)``, zero-padded to ``n_fft`` on both sides by the STFT.
        n_fft, hop_length, win_length: frame size (FFT length), step and window length;
            ``hop_length`` / ``win_length`` / ``window`` None take torch.stft's defaults
            (``n_fft // 4``, ``n_fft``, a rectangular window), as torchaudio passes them on.
        power: 1 magnitude, 2 power, any exponent > 0, or None for the complex STFT.
        normalized: False, True / ``"window"`` (divide by the window's L2 norm) or
            ``"frame_length"`` (divide by sqrt(n_fft)).
        center: pad ``n_fft // 2`` on both sides with ``pad_mode`` so frame t is centered
            at ``t * hop_length``.
        pad_mode: ``"reflect"``, ``"constant"``, ``"replicate"`` or ``"circular"``.
        onesided: keep the ``n_fft // 2 + 1`` non-negative frequencies.
        return_complex: deprecated in torchaudio; ignored.

    Returns:
        ``(..., freq, frames)``, complex when ``power`` is None. float16 input gives a
        float32 result (a power spectrum overflows float16), bfloat16 a bfloat16 one.
    """
    if isinstance(waveform, torch.Tensor):
        hop_length, win_length, window = _stft_defaults(
            n_fft, hop_length, win_length, window, waveform
        )
    _check_spectrogram_args(
        waveform, pad, window, n_fft, hop_length, win_length, power, center, pad_mode
    )
    if waveform.dtype in LOW_PRECISION:
        # Beyond torchaudio (which fails, #2097): computed in float32, real results returned
        # in the input's dtype (complex ones as complex64).
        spec = spectrogram(
            waveform.float(), pad, window.float(), n_fft, hop_length, win_length, power,
            normalized, center, pad_mode, onesided,
        )  # fmt: skip
        return spec if spec.is_complex() else spec.to(_real_result_dtype(waveform.dtype))
    if backend_for(waveform) == "torch" or waveform.numel() == 0:
        spectrogram_args = (pad, window, n_fft, hop_length, win_length, power, normalized)
        return _reference.spectrogram(waveform, *spectrogram_args, center, pad_mode, onesided)
    frame_length_norm, window_norm = _reference.spectrogram_norms(normalized)
    frames = _frames(waveform, pad, window, n_fft, hop_length, center, pad_mode)
    spec = torch.fft.rfft(frames) if onesided else torch.fft.fft(frames)
    if frame_length_norm:
        spec = spec * n_fft**-0.5
    spec = spec.transpose(-1, -2).reshape(*waveform.shape[:-1], *spec.shape[-1:-3:-1])
    return _reference.finish_spectrogram(spec, window, window_norm, power)


def _full_window(window, n_fft, dtype):
    """The window zero-padded to ``n_fft``, centered, as torch.stft pads it (built once
    per window, n_fft and dtype)."""

    def build():
        offset = (n_fft - window.shape[0]) // 2
        padding = (offset, n_fft - window.shape[0] - offset)
        return torch.nn.functional.pad(window.detach().to(dtype), padding).contiguous()

    return cached_table("full_window", (window,), (n_fft, dtype), build)


def _check_filterbank(fb, n_fft):
    if fb.dim() != 2 or fb.shape[0] != n_fft // 2 + 1:
        raise ValueError(
            f"fb must be (n_fft // 2 + 1, n_mels) = ({n_fft // 2 + 1}, n_mels), "
            f"got {tuple(fb.shape)}"
        )


def _normalized_filterbank(fb, window, n_fft, power, normalized, dtype):
    """``fb`` in ``dtype`` with the STFT's normalisation folded in: a normalisation scales
    |X|, so |X|^power by scale**power (no sync, no graph break)."""
    frame_length_norm, window_norm = _reference.spectrogram_norms(normalized)

    def build():
        scaled = fb.to(dtype)
        if frame_length_norm:
            scaled = scaled * n_fft ** (-0.5 * power)
        if window_norm:
            scaled = scaled / window.to(dtype).pow(2.0).sum().pow(0.5 * power)
        return scaled.clone(memory_format=torch.contiguous_format)

    if fb.requires_grad or window.requires_grad:  # not a constant: no cache, no copy
        return build().contiguous()
    key = (n_fft, float(power), normalized, dtype)
    return cached_table("normalized_filterbank", (fb, window), key, build)


def _frames(waveform, pad, window, n_fft, hop_length, center, pad_mode):
    """Windowed STFT frames (rows, n_frames, n_fft) from the Triton framing kernel, in
    float32 (float64 for float64 input); the window zero-padded to n_fft, centered, as
    torch.stft does."""
    from tritaudio import _ops

    full_window = _full_window(window, n_fft, compute_dtype(waveform))
    left = n_fft // 2 if center else 0
    mode = PAD_MODES[pad_mode]
    return _ops.frame(as_rows(waveform), full_window, n_fft, hop_length, pad, left, mode)


LogScale = _reference.LogScale


def mel_spectrogram(
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
    log: LogScale | None = None,
) -> torch.Tensor:
    """Spectrogram projected on a filterbank, optionally followed by a log: what
    ``torchaudio.transforms.MelSpectrogram`` (then ``AmplitudeToDB`` without ``top_db``)
    computes, as one function (torchaudio.functional has none).

    On the Triton path, for ``n_fft`` a multiple of 4 without a gradient: one kernel from the
    waveform (the folded DFT of kernels/logmel.py, error-compensated TF32 on tensor cores,
    within 1e-5 of the peak of a float64 reference); otherwise the projection and the log
    run in one kernel over the complex STFT (kernels/spectral.py). The power spectrogram is
    never stored either way. (Chosen from the model: MelSpectrogram 32 x 10 s forward,
    modelled on an H200, not measured; benchmarks/results/README.md.)

    Args:
        waveform: ``(..., time)``, real floating point.
        fb: ``(n_fft // 2 + 1, n_mels)``, e.g. :func:`melscale_fbanks`.
        pad, window, n_fft, hop_length, win_length, power, normalized, center, pad_mode:
            as in :func:`spectrogram` (``power`` > 0, onesided).
        log: None, or a :class:`LogScale` applied to the projection, e.g.
            ``LogScale(10.0, 1e-10)`` for dB of a power spectrogram.

    Returns:
        ``(..., n_mels, frames)``; for float16 input float32 without ``log`` (the power
        overflows float16), the input's dtype with it.
    """
    if isinstance(waveform, torch.Tensor):
        hop_length, win_length, window = _stft_defaults(
            n_fft, hop_length, win_length, window, waveform
        )
    _check_spectrogram_args(
        waveform, pad, window, n_fft, hop_length, win_length, power, center, pad_mode
    )
    if power is None:
        raise ValueError("mel_spectrogram needs a real power (> 0), got None")
    _check_filterbank(fb, n_fft)
    if waveform.dtype in LOW_PRECISION:
        # computed in float32 and returned in the input's dtype, like spectrogram
        mel = mel_spectrogram(
            waveform.float(), fb.float(), pad, window.float(), n_fft, hop_length, win_length,
            power, normalized, center, pad_mode, log,
        )  # fmt: skip
        return mel.to(waveform.dtype if log is not None else _real_result_dtype(waveform.dtype))
    if backend_for(waveform) == "torch" or waveform.numel() == 0:
        spec = _reference.spectrogram(
            waveform, pad, window, n_fft, hop_length, win_length, power, normalized, center,
            pad_mode, True,
        )  # fmt: skip
        mel = torch.matmul(spec.transpose(-1, -2), fb.to(spec.dtype)).transpose(-1, -2)
        return mel if log is None else log(mel)
    from tritaudio import _ops

    log_args = (1, *log.natural()) if log is not None else (0, 1.0, 0.0, 0.0, 0.0)
    grads = torch.is_grad_enabled() and any(t.requires_grad for t in (waveform, window, fb))
    if n_fft % 4 == 0 and not grads:  # the folded DFT, one kernel from the waveform
        compute = compute_dtype(waveform)
        fb = _normalized_filterbank(fb, window, n_fft, power, normalized, compute)
        mel, _ = _ops.log_mel_dft(
            as_rows(waveform), _full_window(window, n_fft, compute), fb, hop_length, pad,
            n_fft // 2 if center else 0, PAD_MODES[pad_mode], float(power), *log_args, 0,
            "ieee" if compute == torch.float64 else "tf32x3",
        )  # fmt: skip
        return mel.reshape(*waveform.shape[:-1], *mel.shape[-2:])
    frames = _frames(waveform, pad, window, n_fft, hop_length, center, pad_mode)
    # the gradient goes from mel_power to the frames directly (the rfft's adjoint folded
    # into its backward), not through torch.fft's generic rfft backward
    spec = torch.view_as_real(torch.fft.rfft(frames.detach()))
    fb = _normalized_filterbank(fb, window, n_fft, power, normalized, spec.dtype)
    differentiable = torch.is_grad_enabled() and frames.requires_grad
    save_mel = log is not None and differentiable
    mel, _ = _ops.mel_power(
        spec, fb, float(power), *log_args, int(save_mel), frames if differentiable else None
    )
    return mel.reshape(*waveform.shape[:-1], *mel.shape[-2:])


def inverse_spectrogram(
    spectrogram: torch.Tensor,
    length: int | None,
    pad: int,
    window: torch.Tensor | None,
    n_fft: int,
    hop_length: int | None,
    win_length: int | None,
    normalized: bool | str,
    center: bool = True,
    pad_mode: str = "reflect",
    onesided: bool = True,
) -> torch.Tensor:
    """Waveform from a complex spectrogram by windowed overlap-add (inverse STFT).

    Mirrors ``torchaudio.functional.inverse_spectrogram``.

    Args:
        spectrogram: ``(..., freq, frames)``, complex.
        length: the output length (before removing ``pad``), or None.
        pad, window, n_fft, hop_length, win_length, normalized, center, onesided: as in
            :func:`spectrogram` (None: torch.istft's defaults); ``pad_mode`` is accepted
            and unused, as in torchaudio.

    Returns:
        ``(..., time)``.
    """
    if not isinstance(spectrogram, torch.Tensor) or not spectrogram.is_complex():
        raise TypeError("spectrogram must be a complex tensor (a spectrogram with power=None)")
    hop_length, win_length, window = _stft_defaults(
        n_fft, hop_length, win_length, window, spectrogram
    )
    check_stft_args(n_fft, hop_length, win_length, window)
    n_freq = n_fft // 2 + 1 if onesided else n_fft
    if spectrogram.dim() < 2 or spectrogram.shape[-2] != n_freq:
        raise ValueError(
            f"spectrogram must be (..., {n_freq}, frames) for n_fft={n_fft} "
            f"(onesided={onesided}), got {tuple(spectrogram.shape)}"
        )
    _check_inverse_length(spectrogram.shape[-1], length, n_fft, hop_length, center)
    if backend_for(spectrogram) == "torch" or spectrogram.numel() == 0:
        args = (length, pad, window, n_fft, hop_length, win_length, normalized, center, onesided)
        return _reference.inverse_spectrogram(spectrogram, *args)
    return _inverse_stft_triton(
        spectrogram, length, pad, window, n_fft, hop_length, normalized, center, onesided
    )


def _check_inverse_length(n_frames, length, n_fft, hop_length, center):
    if length is not None:
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise ValueError(f"length must be a non-negative int or None, got {length!r}")
        return
    samples = n_fft + hop_length * (n_frames - 1) - (2 * (n_fft // 2) if center else 0)
    if n_frames > 0 and samples <= 0:
        raise ValueError(
            f"length=None: the inverse STFT of {n_frames} frame(s) with n_fft={n_fft}, "
            f"hop_length={hop_length}, center={center} has no samples (center trims "
            f"n_fft // 2 = {n_fft // 2} on each side); pass the signal's length"
        )


NOLA_MESSAGE = "the window's overlap-add is zero somewhere (NOLA fails): the signal cannot be "


def _window_envelope(full_window, hop_length, n_frames, start, end):
    """The overlap-added squared window over output samples [start, end) of the inverse
    STFT, and whether it is non-zero there (NOLA): built once per key, the check a host
    read at build time only (then cached with the envelope: later calls read nothing).
    While tracing (torch.compile), where nothing is cached and no host read can be traced,
    the check is a device-side assert instead."""
    from tritaudio import _ops

    def build():
        n_fft = full_window.shape[0]
        full_len = n_fft + hop_length * (n_frames - 1)
        ones = full_window.new_ones(1, 1, 1).expand(1, n_frames, n_fft)  # read in place
        squared = full_window.pow(2)
        envelope = _ops.overlap_add(ones, squared, hop_length, full_len)[0, start:end]
        if torch.compiler.is_compiling():
            if envelope.numel():
                torch._assert_async(
                    envelope.abs().min() >= 1e-11, NOLA_MESSAGE + "recovered with this window"
                )
            return envelope.contiguous(), True
        recoverable = not (envelope.numel() and bool(envelope.abs().min() < 1e-11))
        return envelope.contiguous(), recoverable

    key = (hop_length, n_frames, start, end)
    return cached_table("window_envelope", (full_window,), key, build)


def _inverse_stft_triton(
    spectrogram, length, pad, window, n_fft, hop_length, normalized, center, onesided
):
    """torch.istft's arithmetic with the overlap-add kernel: inverse FFT of each frame,
    windowed overlap-add, division by the overlap-added squared window."""
    from tritaudio import _ops

    frame_length_norm, window_norm = _reference.spectrogram_norms(normalized)
    if window_norm:
        spectrogram = spectrogram * window.pow(2.0).sum().sqrt()
    batch, n_frames = spectrogram.shape[:-2], spectrogram.shape[-1]
    spec = spectrogram.reshape(-1, *spectrogram.shape[-2:]).transpose(-1, -2)
    frames = torch.fft.irfft(spec, n=n_fft) if onesided else torch.fft.ifft(spec).real
    if frame_length_norm:
        frames = frames * n_fft**0.5
    full_window = _full_window(window, n_fft, frames.dtype)
    full_len = n_fft + hop_length * (n_frames - 1)
    signal = _ops.overlap_add(frames, full_window, hop_length, full_len)
    start = n_fft // 2 if center else 0
    if length is not None:
        end = min(start + length + 2 * pad, full_len)
    else:
        end = full_len - n_fft // 2 if center else full_len
    envelope, recoverable = _window_envelope(full_window, hop_length, n_frames, start, end)
    signal = signal[:, start:end]
    if not recoverable:
        raise ValueError(
            NOLA_MESSAGE + f"recovered with this window, n_fft={n_fft}, hop_length={hop_length}"
        )
    signal = signal / envelope
    if length is not None and signal.shape[-1] < length + 2 * pad:
        signal = torch.nn.functional.pad(signal, (0, length + 2 * pad - signal.shape[-1]))
    if length is not None and pad > 0:
        signal = signal[:, pad:-pad]
    return signal.reshape(*batch, signal.shape[-1])


def _check_filterbank_args(n_freqs, f_min, f_max, n_filters, sample_rate, filters_name):
    """Filterbank arguments that would give NaN filters silently: a sample rate <= 0,
    non-finite band edges, no bins or no filters."""
    check_positive_real("sample_rate", sample_rate)
    for name, value in (("f_min", f_min), ("f_max", f_max)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite frequency in Hz, got {value!r}")
    for name, value in (("n_freqs", n_freqs), (filters_name, n_filters)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def melscale_fbanks(
    n_freqs: int,
    f_min: float,
    f_max: float,
    n_mels: int,
    sample_rate: int,
    norm: str | None = None,
    mel_scale: str = "htk",
) -> torch.Tensor:
    """Triangular mel filterbank.

    Mirrors ``torchaudio.functional.melscale_fbanks``: the same triangles (htk or slaney mel
    scale; slaney norm divides each triangle by its width, for constant energy per band),
    within 1e-4 of librosa's. Warns when a filter is all zero (too many bands).

    Args:
        n_freqs: frequency bins of the spectrogram, ``n_fft // 2 + 1``.
        f_min, f_max: the frequency range in Hz.
        n_mels: number of bands.
        sample_rate: the audio's rate in Hz.
        norm: None or ``"slaney"``.
        mel_scale: ``"htk"`` or ``"slaney"``.

    Returns:
        ``(n_freqs, n_mels)``: ``spectrogram.transpose(-1, -2) @ fb`` is the mel spectrogram.
    """
    _check_filterbank_args(n_freqs, f_min, f_max, n_mels, sample_rate, "n_mels")
    if norm not in (None, "slaney"):
        raise ValueError(f"norm must be None or 'slaney', got {norm!r}")
    if mel_scale not in ("htk", "slaney"):
        raise ValueError(f"mel_scale must be 'htk' or 'slaney', got {mel_scale!r}")
    fb = _reference.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm, mel_scale)
    if (fb.max(dim=0).values == 0.0).any():
        warnings.warn(
            f"at least one of the {n_mels} mel filters is all zero: n_mels is too high for "
            f"n_freqs={n_freqs}",
            stacklevel=2,
        )
    return fb


def linear_fbanks(
    n_freqs: int, f_min: float, f_max: float, n_filter: int, sample_rate: int
) -> torch.Tensor:
    """Triangular filterbank on a linear frequency scale (LFCC's).

    Mirrors ``torchaudio.functional.linear_fbanks``.

    Args:
        n_freqs: frequency bins of the spectrogram, ``n_fft // 2 + 1``.
        f_min, f_max: the frequency range in Hz.
        n_filter: number of filters.
        sample_rate: the audio's rate in Hz.

    Returns:
        ``(n_freqs, n_filter)``.
    """
    _check_filterbank_args(n_freqs, f_min, f_max, n_filter, sample_rate, "n_filter")
    return _reference.linear_fbanks(n_freqs, f_min, f_max, n_filter, sample_rate)


def create_dct(n_mfcc: int, n_mels: int, norm: str | None) -> torch.Tensor:
    """DCT-II matrix, to apply to mel bands (MFCC's last step).

    Mirrors ``torchaudio.functional.create_dct``.

    Args:
        n_mfcc: coefficients kept.
        n_mels: mel bands.
        norm: None or ``"ortho"``.

    Returns:
        ``(n_mels, n_mfcc)``: ``mel.transpose(-1, -2) @ dct`` gives the coefficients.
    """
    if norm not in (None, "ortho"):
        raise ValueError(f"norm must be None or 'ortho', got {norm!r}")
    return _reference.create_dct(n_mfcc, n_mels, norm)


def amplitude_to_DB(
    x: torch.Tensor,
    multiplier: float,
    amin: float,
    db_multiplier: float,
    top_db: float | None = None,
) -> torch.Tensor:
    """``multiplier * log10(max(x, amin)) - multiplier * db_multiplier``, floored at
    ``max - top_db``.

    Mirrors ``torchaudio.functional.amplitude_to_DB``, whose floor is taken over the last
    three dims of a packed batch (one maximum for a whole 3-D batch, pytorch/audio #994);
    ``transforms.AmplitudeToDB(per_example=True)`` floors each example by its own maximum.

    Args:
        x: ``(..., freq, time)`` (or any shape without ``top_db``).
        multiplier: 10 for power, 20 for amplitude.
        amin: the smallest value taken (avoids log10(0)).
        db_multiplier: ``log10(max(amin, ref))``.
        top_db: the dynamic range kept, in dB, or None.

    Returns:
        the shape of ``x``.
    """
    _check_top_db(top_db)
    return _reference.amplitude_to_db(x, multiplier, amin, db_multiplier, top_db)


def _check_top_db(top_db):
    """top_db: None or a number >= 0 (NaN would floor every value to NaN)."""
    if top_db is None:
        return
    if isinstance(top_db, bool) or not isinstance(top_db, (int, float)):
        raise TypeError(f"top_db must be a number or None, got {top_db!r}")
    if not top_db >= 0:
        raise ValueError(f"top_db must be positive value (>= 0, not NaN), got {top_db!r}")


def DB_to_amplitude(x: torch.Tensor, ref: float, power: float) -> torch.Tensor:
    """``ref * (10 ** (x / 10)) ** power``: the inverse of :func:`amplitude_to_DB`.

    Mirrors ``torchaudio.functional.DB_to_amplitude``.

    Args:
        x: values in dB, any shape.
        ref: the reference the dB were taken against.
        power: 1 for a power spectrogram, 0.5 for an amplitude one.

    Returns:
        the shape of ``x``.
    """
    return ref * torch.pow(torch.pow(10.0, 0.1 * x), power)


def _check_griffinlim_length(specgram, n_fft, hop_length, length):
    """Each iteration takes the STFT (reflect-centered) of the signal it rebuilds, which
    needs more than n_fft // 2 samples."""
    if not isinstance(specgram, torch.Tensor) or specgram.dim() < 2 or specgram.numel() == 0:
        return
    if length is not None:
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise ValueError(f"length must be a non-negative int or None, got {length!r}")
        samples, what = length, f"length={length}"
    else:
        samples = hop_length * (specgram.shape[-1] - 1) + n_fft - 2 * (n_fft // 2)
        what = f"length=None ({specgram.shape[-1]} frames, hop_length={hop_length})"
    if samples <= n_fft // 2:
        raise ValueError(
            f"{what}: Griffin-Lim's signal of {samples} samples is too short for the "
            f"reflect padding of n_fft // 2 = {n_fft // 2} samples; it needs at least "
            f"{n_fft // 2 + 1}"
        )


def griffinlim(
    specgram: torch.Tensor,
    window: torch.Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
    power: float,
    n_iter: int,
    momentum: float,
    length: int | None,
    rand_init: bool,
) -> torch.Tensor:
    """Waveform from a magnitude spectrogram, phase estimated by Griffin-Lim iterations.

    Mirrors ``torchaudio.functional.griffinlim`` (fast Griffin-Lim with ``momentum``).

    Args:
        specgram: ``(..., freq, frames)``, magnitudes raised to ``power``.
        window, n_fft, hop_length, win_length: as in :func:`spectrogram`.
        n_iter: iterations; momentum: in [0, 1); length: output length or None;
        rand_init: random initial phases (else zeros).

    Returns:
        ``(..., time)``.
    """
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    check_stft_args(n_fft, hop_length, win_length, window)
    _check_griffinlim_length(specgram, n_fft, hop_length, length)
    args = (window, n_fft, hop_length, win_length, power, n_iter, momentum, length, rand_init)
    if backend_for(specgram) == "torch" or specgram.numel() == 0:
        return _reference.griffinlim(specgram, *args)
    # the same iterations, with the framing and overlap-add kernels around each FFT
    stft_args = (window, n_fft, hop_length, win_length)
    stft = lambda waveform: spectrogram(waveform, 0, *stft_args, None, False)
    istft = lambda spec: inverse_spectrogram(spec, length, 0, *stft_args, False)
    return _reference.griffinlim(specgram, *args, stft=stft, istft=istft)
