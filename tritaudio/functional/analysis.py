"""Analysis functions with torchaudio.functional's names: pitch, spectral centroid, sliding
CMN, voice activity, loudness, mu-law companding, edit and Frechet distances; beyond
torchaudio, ``vad_batch`` (vad per clip of a batch, on the device).

These are plain torch (on any device); ``spectral_centroid`` runs tritaudio's spectrogram,
so it takes the Triton path there, and ``vad_batch`` runs two Triton kernels there.
"""

import math
import numbers
import warnings
from collections.abc import Sequence

import torch

from tritaudio._backend import _constant_under_torch_compile
from tritaudio._reference import analysis as _reference


def _check_tensor(value, name, floating=True):
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if floating and (not value.is_floating_point() or value.is_complex()):
        raise TypeError(f"{name} must be a real floating-point tensor, got {value.dtype}")


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return value


@_constant_under_torch_compile
def _mu_law_constants(quantization_channels, dtype):
    """``mu`` and ``log1p(mu)`` as Python numbers with the values of torchaudio's 0-d tensors
    of ``dtype``, computed on the host (kernel scalars: no host-to-device copy per call;
    torch.compile takes them as constants)."""
    mu = torch.tensor(quantization_channels - 1.0, dtype=dtype)
    return mu.item(), torch.log1p(mu).item()


def mu_law_encoding(x: torch.Tensor, quantization_channels: int) -> torch.Tensor:
    """Encode a signal in [-1, 1] by mu-law companding into ``0 .. quantization_channels - 1``.

    Mirrors ``torchaudio.functional.mu_law_encoding`` (computed in ``x``'s dtype; integer
    input is converted to float32 with a warning, as torchaudio does).

    Args:
        x: the signal, any shape, scaled to [-1, 1].
        quantization_channels: number of levels, >= 2.

    Returns:
        int64 tensor of ``x``'s shape.

    Example:
        >>> import torch, tritaudio.functional as F
        >>> F.mu_law_encoding(torch.tensor([-1.0, 0.0, 1.0]), 256)
        tensor([  0, 128, 255])
    """
    _check_tensor(x, "x", floating=False)
    if x.is_complex():
        raise TypeError(f"x must be real, got {x.dtype}")
    _check_int("quantization_channels", quantization_channels, 2)
    if not x.is_floating_point():
        warnings.warn(
            "mu_law_encoding expects a floating-point x; converting to float32", stacklevel=2
        )
        x = x.to(torch.float)
    mu, log1p_mu = _mu_law_constants(quantization_channels, x.dtype)
    companded = torch.sign(x) * torch.log1p(mu * torch.abs(x)) / log1p_mu
    return ((companded + 1) / 2 * mu + 0.5).to(torch.int64)


def mu_law_decoding(x_mu: torch.Tensor, quantization_channels: int) -> torch.Tensor:
    """Decode mu-law levels ``0 .. quantization_channels - 1`` back to [-1, 1].

    Mirrors ``torchaudio.functional.mu_law_decoding`` (integer input decodes to float32).

    Args:
        x_mu: the levels, any shape.
        quantization_channels: number of levels, >= 2.

    Returns:
        floating-point tensor of ``x_mu``'s shape.

    Example:
        >>> import torch, tritaudio.functional as F
        >>> F.mu_law_decoding(torch.tensor([0, 255]), 256)
        tensor([-1.,  1.])
    """
    _check_tensor(x_mu, "x_mu", floating=False)
    if x_mu.is_complex():
        raise TypeError(f"x_mu must be real, got {x_mu.dtype}")
    _check_int("quantization_channels", quantization_channels, 2)
    if not x_mu.is_floating_point():
        x_mu = x_mu.to(torch.float)
    mu, log1p_mu = _mu_law_constants(quantization_channels, x_mu.dtype)
    x = x_mu / mu * 2 - 1.0
    return torch.sign(x) * (torch.exp(torch.abs(x) * log1p_mu) - 1.0) / mu


def detect_pitch_frequency(
    waveform: torch.Tensor,
    sample_rate: int,
    frame_time: float = 10 ** (-2),
    win_length: int = 30,
    freq_low: int = 85,
    freq_high: int = 3400,
) -> torch.Tensor:
    """Pitch per frame from the normalised cross-correlation, median-smoothed.

    Mirrors ``torchaudio.functional.detect_pitch_frequency`` (the same lags, the same
    1 %-preference for short lags, the same median smoothing), with the lags computed
    together instead of in a Python loop.

    Args:
        waveform: ``(..., time)``, real floating point.
        sample_rate: Hz. frame_time: frame duration in seconds.
        win_length: median window in frames. freq_low, freq_high: search range in Hz.

    Returns:
        float32 ``(..., frames)`` in Hz, ``frames = ceil(time / ceil(sample_rate *
        frame_time)) - win_length + 1 + (win_length - 1) // 2``.
    """
    _check_tensor(waveform, "waveform")
    _check_positive("sample_rate", sample_rate)
    _check_positive("frame_time", frame_time)
    _check_int("win_length", win_length, 1)
    _check_positive("freq_low", freq_low)
    _check_positive("freq_high", freq_high)
    lags = math.ceil(sample_rate / freq_low)
    lag_min = math.ceil(sample_rate / freq_high)
    if lag_min >= lags // 2:
        raise ValueError(
            f"freq_high ({freq_high}) must be well above freq_low ({freq_low}): the shortest "
            f"lag {lag_min} must be below half the longest, {lags}"
        )
    if waveform.dim() == 0 or waveform.shape[-1] == 0:
        raise ValueError(f"waveform must have samples, got shape {tuple(waveform.shape)}")
    frames = math.ceil(waveform.shape[-1] / math.ceil(sample_rate * frame_time))
    if frames + (win_length - 1) // 2 < win_length:
        raise ValueError(
            f"waveform has {frames} frames, too few for the median window win_length={win_length}"
        )
    return _reference.detect_pitch_frequency(
        waveform, sample_rate, frame_time, win_length, freq_low, freq_high
    )


def sliding_window_cmn(
    specgram: torch.Tensor,
    cmn_window: int = 600,
    min_cmn_window: int = 100,
    center: bool = False,
    norm_vars: bool = False,
) -> torch.Tensor:
    """Sliding-window cepstral mean (and optionally variance) normalisation.

    Mirrors ``torchaudio.functional.sliding_window_cmn`` (Kaldi's apply-cmvn-sliding): the
    same windows, the window sums from float64 prefix sums instead of a loop over frames.
    Differentiable.

    Args:
        specgram: ``(..., time, freq)``, real floating point.
        cmn_window: window in frames. min_cmn_window: minimum window at the start (only
            when ``center`` is False). center: a centered window instead of a left one.
        norm_vars: also divide by the window's standard deviation.

    Returns:
        ``(..., time, freq)`` (a 2-D input with one frame returns ``(freq,)``, as
        torchaudio's squeeze does).
    """
    _check_tensor(specgram, "specgram")
    if specgram.dim() < 2:
        raise ValueError(f"specgram must be (..., time, freq), got shape {tuple(specgram.shape)}")
    _check_int("cmn_window", cmn_window, 0)
    _check_int("min_cmn_window", min_cmn_window, 0)
    return _reference.sliding_window_cmn(
        specgram, cmn_window, min_cmn_window, bool(center), bool(norm_vars)
    )


def spectral_centroid(
    waveform: torch.Tensor,
    sample_rate: int,
    pad: int,
    window: torch.Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
) -> torch.Tensor:
    """Magnitude-weighted mean frequency of each frame.

    Mirrors ``torchaudio.functional.spectral_centroid``; the magnitude spectrogram is
    tritaudio's (Triton framing kernel on CUDA). Differentiable.

    Args:
        waveform: ``(..., time)``, real floating point. sample_rate: Hz.
        pad, window, n_fft, hop_length, win_length: as :func:`spectrogram`.

    Returns:
        ``(..., frames)`` in Hz (NaN for an all-zero frame, as in torchaudio).
    """
    from tritaudio import functional as F

    _check_positive("sample_rate", sample_rate)
    specgram = F.spectrogram(
        waveform, pad=pad, window=window, n_fft=n_fft, hop_length=hop_length,
        win_length=win_length, power=1.0, normalized=False,
    )  # fmt: skip
    freqs = torch.linspace(
        0, sample_rate // 2, steps=1 + n_fft // 2, device=specgram.device, dtype=specgram.dtype
    ).reshape(-1, 1)
    return (freqs * specgram).sum(dim=-2) / specgram.sum(dim=-2)


def loudness(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Gated loudness (LKFS) per ITU-R BS.1770-4.

    Mirrors ``torchaudio.functional.loudness``: torchaudio's K-weighting (a +4 dB shelf at
    1500 Hz and a 38 Hz high-pass, each clamped to [-1, 1] like its lfilter), 400 ms
    blocks with 75 % overlap, channel weights (1, 1, 1, 1.41, 1.41), absolute (-70 LKFS)
    and relative (-10 LU) gates. The IIR filters are a blocked recursion in plain torch.
    Differentiable.

    Args:
        waveform: ``(..., channels, time)`` with at most 5 channels, at least 400 ms.
        sample_rate: Hz.

    Returns:
        ``(...)`` loudness in LKFS.
    """
    _check_tensor(waveform, "waveform")
    sample_rate = _check_int("sample_rate", sample_rate, 1)
    if waveform.dim() < 2:
        raise ValueError(
            f"waveform must be (..., channels, time), got shape {tuple(waveform.shape)}"
        )
    if waveform.shape[-2] > 5:
        raise ValueError(f"at most 5 channels are supported, got {waveform.shape[-2]}")
    gate = round(0.4 * sample_rate)
    if waveform.shape[-1] < gate:
        raise ValueError(
            f"waveform must be at least one 400 ms block ({gate} samples), got {waveform.shape[-1]}"
        )
    return _reference.loudness(waveform, sample_rate)


def _vad_settings(sample_rate, trigger_time, search_time, allowed_gap, pre_trigger_time,
                  boot_time, noise_up_time, noise_down_time, measure_freq, measure_duration,
                  measure_smooth_time, hp_filter_freq, lp_filter_freq, hp_lifter_freq,
                  lp_lifter_freq):  # fmt: skip
    _check_positive("sample_rate", sample_rate)
    for name, value in (
        ("trigger_time", trigger_time), ("search_time", search_time),
        ("noise_up_time", noise_up_time), ("noise_down_time", noise_down_time),
        ("measure_freq", measure_freq), ("measure_smooth_time", measure_smooth_time),
        ("hp_lifter_freq", hp_lifter_freq), ("lp_lifter_freq", lp_lifter_freq),
    ):  # fmt: skip
        _check_positive(name, value)
    if measure_duration is not None:
        _check_positive("measure_duration", measure_duration)
    return _reference.vad_settings(
        sample_rate, trigger_time, search_time, allowed_gap, pre_trigger_time, boot_time,
        noise_up_time, noise_down_time, measure_freq, measure_duration, measure_smooth_time,
        hp_filter_freq, lp_filter_freq, hp_lifter_freq, lp_lifter_freq,
    )  # fmt: skip


def vad(
    waveform: torch.Tensor,
    sample_rate: int,
    trigger_level: float = 7.0,
    trigger_time: float = 0.25,
    search_time: float = 1.0,
    allowed_gap: float = 0.25,
    pre_trigger_time: float = 0.0,
    boot_time: float = 0.35,
    noise_up_time: float = 0.1,
    noise_down_time: float = 0.01,
    noise_reduction_amount: float = 1.35,
    measure_freq: float = 20.0,
    measure_duration: float | None = None,
    measure_smooth_time: float = 0.4,
    hp_filter_freq: float = 50.0,
    lp_filter_freq: float = 6000.0,
    hp_lifter_freq: float = 150.0,
    lp_lifter_freq: float = 2000.0,
) -> torch.Tensor:
    """Trim silence before the first voice activity (sox's ``vad`` effect).

    Mirrors ``torchaudio.functional.vad``: the same cepstral measurement, adaptive noise
    estimate and trigger search, so the same trim point. The spectra of blocks of
    measurement positions are computed together (torchaudio runs two FFTs per position
    and channel in Python); the trigger search stays on the host.

    Args:
        waveform: ``(channels, time)`` or ``(time,)``; channels are one recording, trimmed
            at the earliest activity in any of them. The other arguments are torchaudio's.

    Returns:
        ``(..., trimmed time)``.
    """
    _check_tensor(waveform, "waveform")
    if waveform.dim() == 0:
        raise ValueError("waveform must have a time dimension, got a 0-d tensor")
    if waveform.dim() > 2:
        warnings.warn(
            f"vad expects (time,) or (channels, time), got {waveform.dim()} dims: all leading "
            "dims are treated as channels of one recording (as torchaudio does)",
            stacklevel=2,
        )
    settings = _vad_settings(
        sample_rate, trigger_time, search_time, allowed_gap, pre_trigger_time, boot_time,
        noise_up_time, noise_down_time, measure_freq, measure_duration, measure_smooth_time,
        hp_filter_freq, lp_filter_freq, hp_lifter_freq, lp_lifter_freq,
    )  # fmt: skip
    return _reference.vad(waveform, trigger_level, noise_reduction_amount, settings)


def vad_batch(
    waveforms: torch.Tensor,
    sample_rate: int,
    lengths: torch.Tensor | None = None,
    trigger_level: float = 7.0,
    trigger_time: float = 0.25,
    search_time: float = 1.0,
    allowed_gap: float = 0.25,
    pre_trigger_time: float = 0.0,
    boot_time: float = 0.35,
    noise_up_time: float = 0.1,
    noise_down_time: float = 0.01,
    noise_reduction_amount: float = 1.35,
    measure_freq: float = 20.0,
    measure_duration: float | None = None,
    measure_smooth_time: float = 0.4,
    hp_filter_freq: float = 50.0,
    lp_filter_freq: float = 6000.0,
    hp_lifter_freq: float = 150.0,
    lp_lifter_freq: float = 2000.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`vad` on each clip of a batch, on the device (beyond torchaudio, whose vad
    takes one recording).

    Clip ``b`` is ``waveforms[b, ..., :lengths[b]]``; its trim point is exactly
    :func:`vad`'s (torchaudio's) on that clip alone. Every measurement position of every
    clip goes through batched FFTs; the two sequential recurrences over positions (the
    per-bin noise tracker, whose rise/fall switch depends on the data, and the trigger's
    running mean with sox's search back) are one Triton kernel each on the Triton path, a
    loop over positions vectorised over the batch on the torch path. No host
    synchronisation on the Triton path: the output keeps the input's time length. (On
    CUDA, cuFFT and fused multiply-adds round differently from torchaudio on the CPU: a
    trim point can differ only where a measure is within float32 rounding of the level.)

    Args:
        waveforms: ``(batch, time)`` or ``(batch, channels, time)``, real floating point;
            the channels of a clip are one recording, trimmed at the earliest activity in
            any of them (as :func:`vad`).
        sample_rate: Hz.
        lengths: ``(batch,)`` integer samples per clip, in ``[0, time]``; default ``time``.
            Samples past a clip's length are never read into its result.
        trigger_level, ..., lp_lifter_freq: :func:`vad`'s (torchaudio's) arguments.

    Returns:
        ``(trimmed, lengths, start)``: ``trimmed`` has ``waveforms``' shape, clip ``b``'s
        kept samples ``waveforms[b, ..., start[b] : start[b] + lengths[b]]`` moved to the
        front and zeros after them (``vad(clip)`` is ``trimmed[b, ..., :lengths[b]]``);
        ``lengths`` and ``start`` are int64 ``(batch,)`` on the input's device. A clip that
        never triggers keeps its first ``pre_trigger_time`` (torchaudio's rule), so an
        all-silent clip has length 0 by default. NaN: a NaN sample makes every measurement
        from its position on measure 0 (torchaudio's NaN comparisons), so activity after
        it is not detected; kept NaN samples are passed through.

    Shape:
        ``(batch, [channels,] time)`` -> (the same, ``(batch,)``, ``(batch,)``).
    """
    from tritaudio._backend import backend_for

    _check_tensor(waveforms, "waveforms")
    if waveforms.dim() not in (2, 3):
        raise ValueError(
            "waveforms must be (batch, time) or (batch, channels, time), got shape "
            f"{tuple(waveforms.shape)}"
        )
    for name, value in (
        ("trigger_level", trigger_level), ("noise_reduction_amount", noise_reduction_amount)
    ):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number, got {value!r}")
    settings = _vad_settings(
        sample_rate, trigger_time, search_time, allowed_gap, pre_trigger_time, boot_time,
        noise_up_time, noise_down_time, measure_freq, measure_duration, measure_smooth_time,
        hp_filter_freq, lp_filter_freq, hp_lifter_freq, lp_lifter_freq,
    )  # fmt: skip
    x = waveforms if waveforms.dim() == 3 else waveforms[:, None]
    batch, n_time = x.shape[0], x.shape[-1]
    triton_path = backend_for(x) == "triton"
    lengths = _vad_lengths(lengths, batch, n_time, x.device, triton_path)
    if x.numel() == 0:  # no samples: nothing triggers (torchaudio's pre-trigger rule)
        never = torch.zeros(batch, dtype=torch.bool, device=x.device)
        zero = torch.zeros(batch, dtype=torch.int64, device=x.device)
        start, kept = _reference.trim_window(never, zero, zero, zero, lengths, settings)
        return waveforms.clone(), kept, start
    stages = {}
    if triton_path:
        from tritaudio._ops import analysis as ops

        stages = dict(noise_floor=ops.vad_noise_floor, trim=ops.vad_trim)
    trimmed, kept, start = _reference.vad_batch(
        x, lengths, trigger_level, noise_reduction_amount, settings, **stages
    )
    return trimmed.reshape(waveforms.shape), kept, start


def _vad_lengths(lengths, batch, n_time, device, triton_path):
    if lengths is None:
        return torch.full((batch,), n_time, dtype=torch.int64, device=device)
    if not isinstance(lengths, torch.Tensor):
        raise TypeError(f"lengths must be a torch.Tensor, got {type(lengths).__name__}")
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"lengths must be an integer tensor, got {lengths.dtype}")
    if lengths.shape != (batch,):
        raise ValueError(f"lengths must be (batch={batch},), got shape {tuple(lengths.shape)}")
    if lengths.device != device:
        raise ValueError(f"lengths must be on waveforms' device {device}, got {lengths.device}")
    inside = ((lengths >= 0) & (lengths <= n_time)).all()
    message = f"lengths must be in [0, {n_time}]"
    if triton_path:
        torch._assert_async(inside, message)  # no host synchronisation
    elif not bool(inside):
        raise ValueError(message)
    return lengths.to(torch.int64)


def edit_distance(seq1: Sequence, seq2: Sequence) -> int:
    """Levenshtein distance (insertions, deletions, substitutions each cost 1).

    Mirrors ``torchaudio.functional.edit_distance``: strings give the character distance,
    lists of words the word distance.

    Args:
        seq1, seq2: sequences whose items compare with ``==``.

    Returns:
        int.

    Example:
        >>> import tritaudio.functional as F
        >>> F.edit_distance("kitten", "sitting")
        3
    """
    for name, value in (("seq1", seq1), ("seq2", seq2)):
        if not hasattr(value, "__len__") or not hasattr(value, "__getitem__"):
            raise TypeError(f"{name} must be a sequence, got {type(value).__name__}")
    previous = list(range(len(seq2) + 1))
    for i in range(1, len(seq1) + 1):
        current = [i] + [0] * len(seq2)
        for j in range(1, len(seq2) + 1):
            if seq1[i - 1] == seq2[j - 1]:
                current[j] = previous[j - 1]
            else:
                current[j] = 1 + min(previous[j - 1], current[j - 1], previous[j])
        previous = current
    return int(previous[-1])


def frechet_distance(mu_x, sigma_x, mu_y, sigma_y):
    """Frechet distance between two multivariate normal distributions.

    Mirrors ``torchaudio.functional.frechet_distance``:
    ``|mu_x - mu_y|^2 + tr(sigma_x + sigma_y - 2 sqrt(sigma_x sigma_y))``, the square root's
    trace from the eigenvalues of ``sigma_x @ sigma_y``.

    Args:
        mu_x, mu_y: ``(N,)`` means. sigma_x, sigma_y: ``(N, N)`` covariances.

    Returns:
        0-d tensor.
    """
    for name, value in (("mu_x", mu_x), ("sigma_x", sigma_x), ("mu_y", mu_y), ("sigma_y", sigma_y)):
        _check_tensor(value, name)
    if mu_x.dim() != 1:
        raise ValueError(f"mu_x must be one-dimensional, got shape {tuple(mu_x.shape)}")
    if sigma_x.dim() != 2 or sigma_x.shape != (mu_x.shape[0], mu_x.shape[0]):
        raise ValueError(
            f"sigma_x must be ({mu_x.shape[0]}, {mu_x.shape[0]}) to match mu_x, got "
            f"{tuple(sigma_x.shape)}"
        )
    if mu_y.shape != mu_x.shape:
        raise ValueError(
            f"mu_y must have mu_x's shape {tuple(mu_x.shape)}, got {tuple(mu_y.shape)}"
        )
    if sigma_y.shape != sigma_x.shape:
        raise ValueError(
            f"sigma_y must have sigma_x's shape {tuple(sigma_x.shape)}, got {tuple(sigma_y.shape)}"
        )
    mean_term = (mu_x - mu_y).square().sum()
    trace_term = sigma_x.trace() + sigma_y.trace()
    root_trace = torch.linalg.eigvals(sigma_x @ sigma_y).sqrt().real.sum()
    return mean_term + trace_term - 2 * root_trace
