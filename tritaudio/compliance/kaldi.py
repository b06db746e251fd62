"""Kaldi-compatible features: ``torchaudio.compliance.kaldi``'s functions, and batches.

``fbank``, ``mfcc`` and ``spectrogram`` take one ``(channels, time)`` waveform and return
torchaudio's (and Kaldi's ``compute-*-feats``) numbers, ``(frames, features)``; every
argument is torchaudio's, with its default. Beyond torchaudio:

- ``fbank_batch``, ``mfcc_batch`` and ``spectrogram_batch`` take ``(batch, time)`` rows
  and their ``lengths`` and return ``(features, num_frames)``: features
  ``(batch, frames, dim)``, where row ``b``'s first ``num_frames[b]`` frames equal the
  single function's output for ``waveforms[b, :lengths[b]]`` and the frames after them
  are zeros; ``frames`` is the count of a row of the full ``time`` (nothing waits for the
  GPU; lengths given as a tensor on the waveforms' device are not even copied). A row
  shorter than one frame, or than ``min_duration``, has no frames (the single functions
  raise, or return an empty tensor, as torchaudio does).
- ``generator`` (keyword): the ``torch.Generator`` that draws the dither (default:
  torch's global one). Dither adds ``dither * N(0, 1)`` independently to every sample of
  every frame, as Kaldi and torchaudio do; on the CPU, the draws of a single call are
  torchaudio's for the same seed.
- A 1-D waveform is taken as mono ``(1, time)``.
- On CUDA tensors one Triton kernel frames the rows (mirrored edges with snip_edges=False)
  and applies dither, DC removal, pre-emphasis, the window and the log energy
  (kernels/kaldi.py); cuFFT takes the FFT and the fused power / mel / log kernel
  (kernels/spectral.py) the filterbank. Everything is differentiable with respect to the
  waveform, on both paths.
- Bad arguments raise ValueError / TypeError naming the argument (torchaudio asserts).

Example:
    >>> import torch
    >>> from tritaudio.compliance import kaldi
    >>> waveform = torch.randn(1, 16000)
    >>> kaldi.fbank(waveform, num_mel_bins=80).shape
    torch.Size([98, 80])
    >>> features, num_frames = kaldi.fbank_batch(torch.randn(3, 16000), [16000, 8000, 300])
    >>> features.shape, num_frames.tolist()
    (torch.Size([3, 98, 23]), [98, 48, 0])
"""

import inspect

import torch

from tritaudio._checks import check_float_waveform
from tritaudio.compliance import _features
from tritaudio.compliance._features import (
    BLACKMAN,
    EPSILON,
    HAMMING,
    HANNING,
    POVEY,
    RECTANGULAR,
    WINDOWS,
    get_mel_banks,
    inverse_mel_scale,
    inverse_mel_scale_scalar,
    mel_scale,
    mel_scale_scalar,
    vtln_warp_freq,
    vtln_warp_mel_freq,
)

FRAME_ARGS = """
    Args:
        waveform (Tensor): ``(channels, time)`` (or ``(time,)``), floating point.
        blackman_coeff: the generalized Blackman window's constant.
        channel: the channel used (-1: the first, as 0).
        dither: standard deviation of the Gaussian noise added to each frame's samples
            (0: none).
        energy_floor: floor on the energy (absolute; 0: none), as ``ln(energy_floor)``.
        frame_length, frame_shift: in milliseconds (samples: ``int(rate * ms / 1000)``).
        min_duration: seconds; a shorter waveform gives an empty tensor.
        preemphasis_coefficient: ``x[j] -= c * x[j - 1]`` per frame, in [0, 1].
        raw_energy: the energy before pre-emphasis and window (else after them).
        remove_dc_offset: subtract each frame's mean.
        round_to_power_of_two: zero-pad each frame to the next power of two for the FFT.
        sample_frequency: the waveform's rate in Hz.
        snip_edges: only frames that fit in the signal (``1 + (n - size) // shift``), or
            ``(n + shift // 2) // shift`` frames over the signal mirrored at its ends.
        subtract_mean: subtract each feature's mean over the frames.
        window_type: ``'hamming'``, ``'hanning'``, ``'povey'``, ``'rectangular'`` or
            ``'blackman'``.
        generator: keyword only, the ``torch.Generator`` of the dither (beyond torchaudio).
"""
MEL_ARGS = """        high_freq: mel filters' upper edge in Hz (<= 0: offset from Nyquist).
        htk_compat: put the energy (MFCC: C0 or the energy) last instead of first.
        low_freq: mel filters' lower edge in Hz.
        num_mel_bins: triangular mel filters (> 3).
        use_energy: add the log energy as a feature.
        vtln_high, vtln_low: VTLN's inflection points (vtln_high < 0: offset from Nyquist).
        vtln_warp: VTLN warp factor (1: none).
"""


def _documented(*parts):
    def attach(function):
        function.__doc__ = function.__doc__.replace("{args}", "".join(parts).strip("\n"))
        return function

    return attach


def _single(rows_function, waveform, args):
    """A torchaudio-style call: one channel of ``waveform``, checked as torchaudio does."""
    del args["waveform"]
    generator = args.pop("generator")
    check_float_waveform(waveform, "waveform")
    if waveform.dim() == 1:
        waveform = waveform.unsqueeze(0)
    if waveform.dim() != 2:
        raise ValueError(f"waveform must be (channels, time), got {tuple(waveform.shape)}")
    channel = max(args.pop("channel"), 0)
    if channel >= waveform.shape[0]:
        raise ValueError(f"channel {channel} does not exist in {waveform.shape[0]} channel(s)")
    row = waveform[channel].unsqueeze(0)
    options = _features.frame_options(args)
    if options.window_size > row.shape[1]:
        raise ValueError(
            f"frame_length {args['frame_length']} ms ({options.window_size} samples) is longer "
            f"than the waveform ({row.shape[1]} samples)"
        )
    if row.shape[1] < args["min_duration"] * args["sample_frequency"]:
        return torch.empty(0, device=waveform.device, dtype=waveform.dtype)
    features, _ = rows_function(row, None, generator, args)
    return features[0]


def _bound_options(single, options):
    """Every argument of ``single`` (but waveform, channel, generator): its defaults with
    ``options`` over them; TypeError for an option it does not take."""
    parameters = inspect.signature(single).parameters
    names = set(parameters) - {"waveform", "channel", "generator"}
    unknown = sorted(set(options) - names)
    if unknown:
        raise TypeError(f"{single.__name__}_batch got unexpected options {unknown}")
    return {name: options.get(name, parameters[name].default) for name in names}


def _batch(single, rows_function, waveforms, lengths, generator, options):
    """A batched call: ``single``'s defaults, ``options`` over them (not ``channel``)."""
    args = _bound_options(single, options)
    check_float_waveform(waveforms, "waveforms")
    if waveforms.dim() != 2:
        raise ValueError(f"waveforms must be (batch, time), got {tuple(waveforms.shape)}")
    return rows_function(waveforms, lengths, generator, args)


@_documented(FRAME_ARGS)
def spectrogram(
    waveform: torch.Tensor,
    blackman_coeff: float = 0.42,
    channel: int = -1,
    dither: float = 0.0,
    energy_floor: float = 1.0,
    frame_length: float = 25.0,
    frame_shift: float = 10.0,
    min_duration: float = 0.0,
    preemphasis_coefficient: float = 0.97,
    raw_energy: bool = True,
    remove_dc_offset: bool = True,
    round_to_power_of_two: bool = True,
    sample_frequency: float = 16000.0,
    snip_edges: bool = True,
    subtract_mean: bool = False,
    window_type: str = POVEY,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Kaldi's ``compute-spectrogram-feats``: ``ln(max(|X|^2, eps))`` of each frame, the
    DC bin replaced by the frame's log energy.

    Mirrors ``torchaudio.compliance.kaldi.spectrogram``.

    {args}

    Returns:
        ``(frames, padded_window_size // 2 + 1)``.
    """
    return _single(_features.spectrogram_rows, waveform, dict(locals()))


@_documented(FRAME_ARGS, MEL_ARGS)
def fbank(
    waveform: torch.Tensor,
    blackman_coeff: float = 0.42,
    channel: int = -1,
    dither: float = 0.0,
    energy_floor: float = 1.0,
    frame_length: float = 25.0,
    frame_shift: float = 10.0,
    high_freq: float = 0.0,
    htk_compat: bool = False,
    low_freq: float = 20.0,
    min_duration: float = 0.0,
    num_mel_bins: int = 23,
    preemphasis_coefficient: float = 0.97,
    raw_energy: bool = True,
    remove_dc_offset: bool = True,
    round_to_power_of_two: bool = True,
    sample_frequency: float = 16000.0,
    snip_edges: bool = True,
    subtract_mean: bool = False,
    use_energy: bool = False,
    use_log_fbank: bool = True,
    use_power: bool = True,
    vtln_high: float = -500.0,
    vtln_low: float = 100.0,
    vtln_warp: float = 1.0,
    window_type: str = POVEY,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Kaldi's ``compute-fbank-feats``: mel filterbank energies of each frame (log by
    default), optionally with the frame's log energy.

    Mirrors ``torchaudio.compliance.kaldi.fbank``.

    {args}
        use_log_fbank: ``ln(max(mel, eps))`` (else the mel energies).
        use_power: filter the power spectrum (else the magnitude).

    Returns:
        ``(frames, num_mel_bins + use_energy)``.
    """
    return _single(_features.fbank_rows, waveform, dict(locals()))


@_documented(FRAME_ARGS, MEL_ARGS)
def mfcc(
    waveform: torch.Tensor,
    blackman_coeff: float = 0.42,
    cepstral_lifter: float = 22.0,
    channel: int = -1,
    dither: float = 0.0,
    energy_floor: float = 1.0,
    frame_length: float = 25.0,
    frame_shift: float = 10.0,
    high_freq: float = 0.0,
    htk_compat: bool = False,
    low_freq: float = 20.0,
    num_ceps: int = 13,
    min_duration: float = 0.0,
    num_mel_bins: int = 23,
    preemphasis_coefficient: float = 0.97,
    raw_energy: bool = True,
    remove_dc_offset: bool = True,
    round_to_power_of_two: bool = True,
    sample_frequency: float = 16000.0,
    snip_edges: bool = True,
    subtract_mean: bool = False,
    use_energy: bool = False,
    vtln_high: float = -500.0,
    vtln_low: float = 100.0,
    vtln_warp: float = 1.0,
    window_type: str = POVEY,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Kaldi's ``compute-mfcc-feats``: the DCT of the log mel energies, liftered; C0
    replaced by the log energy with ``use_energy``.

    Mirrors ``torchaudio.compliance.kaldi.mfcc``.

    {args}
        cepstral_lifter: liftering constant ``L`` (``1 + L / 2 sin(pi i / L)``; 0: none).
        num_ceps: cepstra kept, C0 included (<= num_mel_bins).

    Returns:
        ``(frames, num_ceps)``.
    """
    return _single(_features.mfcc_rows, waveform, dict(locals()))


def spectrogram_batch(waveforms, lengths=None, *, generator=None, **options):
    """:func:`spectrogram` of each row of ``(batch, time)`` ``waveforms`` (beyond
    torchaudio); ``options``: any of spectrogram's arguments but ``channel``.

    Args:
        waveforms: ``(batch, time)``, floating point.
        lengths: each row's length in samples (``(batch,)`` ints; default: all ``time``).
        generator: the dither's ``torch.Generator``.

    Returns:
        ``(features (batch, frames, padded_window_size // 2 + 1), num_frames (batch,))``.
    """
    return _batch(spectrogram, _features.spectrogram_rows, waveforms, lengths, generator,
                  options)  # fmt: skip


def fbank_batch(waveforms, lengths=None, *, generator=None, **options):
    """:func:`fbank` of each row of ``(batch, time)`` ``waveforms`` (beyond torchaudio);
    ``options``: any of fbank's arguments but ``channel``.

    Args:
        waveforms: ``(batch, time)``, floating point.
        lengths: each row's length in samples (``(batch,)`` ints; default: all ``time``).
        generator: the dither's ``torch.Generator``.

    Returns:
        ``(features (batch, frames, num_mel_bins + use_energy), num_frames (batch,))``.
    """
    return _batch(fbank, _features.fbank_rows, waveforms, lengths, generator, options)


def mfcc_batch(waveforms, lengths=None, *, generator=None, **options):
    """:func:`mfcc` of each row of ``(batch, time)`` ``waveforms`` (beyond torchaudio);
    ``options``: any of mfcc's arguments but ``channel``.

    Args:
        waveforms: ``(batch, time)``, floating point.
        lengths: each row's length in samples (``(batch,)`` ints; default: all ``time``).
        generator: the dither's ``torch.Generator``.

    Returns:
        ``(features (batch, frames, num_ceps), num_frames (batch,))``.
    """
    return _batch(mfcc, _features.mfcc_rows, waveforms, lengths, generator, options)


def resample_waveform(
    waveform: torch.Tensor,
    orig_freq: float,
    new_freq: float,
    lowpass_filter_width: int = 6,
    rolloff: float = 0.99,
    resampling_method: str = "sinc_interp_hann",
    beta: float | None = None,
) -> torch.Tensor:
    """Resample ``(..., time)`` from ``orig_freq`` to ``new_freq`` Hz.

    torchaudio's kaldi module had it (a wrapper of ``torchaudio.functional.resample``)
    until it was dropped; torchaudio 2.11 has only ``functional.resample``, which this
    calls (:func:`tritaudio.functional.resample`, the same numbers).

    Returns:
        ``(..., ceil(time * new_freq / orig_freq))``.
    """
    from tritaudio.functional import resample

    return resample(
        waveform, orig_freq, new_freq, lowpass_filter_width, rolloff, resampling_method, beta
    )


__all__ = [
    "BLACKMAN",
    "EPSILON",
    "HAMMING",
    "HANNING",
    "POVEY",
    "RECTANGULAR",
    "WINDOWS",
    "fbank",
    "fbank_batch",
    "get_mel_banks",
    "inverse_mel_scale",
    "inverse_mel_scale_scalar",
    "mel_scale",
    "mel_scale_scalar",
    "mfcc",
    "mfcc_batch",
    "resample_waveform",
    "spectrogram",
    "spectrogram_batch",
    "vtln_warp_freq",
    "vtln_warp_mel_freq",
]
