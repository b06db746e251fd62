"""Plain-torch reference of the spectral family: STFT and its inverse, filterbanks, dB / log
scales, the fused power / mel / log projection and Griffin-Lim.
"""

import math
from typing import NamedTuple

import torch

from tritaudio._common import frame_count


def spectrogram_norms(normalized):
    """torchaudio's ``normalized``: (frame_length_norm, window_norm)."""
    if isinstance(normalized, str):
        if normalized not in ("frame_length", "window"):
            raise ValueError(
                f"normalized must be a bool, 'window' or 'frame_length', got {normalized!r}"
            )
        return normalized == "frame_length", normalized == "window"
    if isinstance(normalized, bool):
        return False, normalized
    raise TypeError(f"normalized must be a bool or a str, got {type(normalized).__name__}")


def spectrogram(
    waveform, pad, window, n_fft, hop_length, win_length, power, normalized, center, pad_mode,
    onesided,
):  # fmt: skip
    """torchaudio.functional.spectrogram: ``(..., time)`` -> ``(..., freq, frames)``."""
    if pad > 0:
        waveform = torch.nn.functional.pad(waveform, (pad, pad), "constant")
    frame_length_norm, window_norm = spectrogram_norms(normalized)
    shape = waveform.shape
    if waveform.numel() == 0:
        return _empty_spectrogram(shape, n_fft, hop_length, power, center, onesided, waveform)
    spec = torch.stft(
        waveform.reshape(math.prod(shape[:-1]), shape[-1]),
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=window,
        center=center,
        pad_mode=pad_mode,
        normalized=frame_length_norm,
        onesided=onesided,
        return_complex=True,
    )
    return finish_spectrogram(
        spec.reshape(*shape[:-1], *spec.shape[-2:]), window, window_norm, power
    )


def finish_spectrogram(spec, window, window_norm, power):
    """The complex STFT to torchaudio's output: window normalisation, then magnitude to
    ``power`` (None keeps it complex)."""
    if window_norm:
        spec = spec / window.pow(2.0).sum().sqrt()
    if power is None:
        return spec
    return spec.abs() if power == 1.0 else spec.abs().pow(power)


def _empty_spectrogram(shape, n_fft, hop_length, power, center, onesided, waveform):
    """The spectrogram of an empty batch: torch.stft refuses a batch of 0 signals."""
    padded = shape[-1] + (2 * (n_fft // 2) if center else 0)
    frames = frame_count(padded, n_fft, hop_length, 0, 0)
    bins = n_fft // 2 + 1 if onesided else n_fft
    dtype = (waveform.new_zeros(()) * 1j).dtype if power is None else waveform.dtype
    return torch.empty(*shape[:-1], bins, frames, dtype=dtype, device=waveform.device)


def inverse_spectrogram(
    spectrogram, length, pad, window, n_fft, hop_length, win_length, normalized, center,
    onesided,
):  # fmt: skip
    """torchaudio.functional.inverse_spectrogram: ``(..., freq, frames)`` complex ->
    ``(..., time)``."""
    frame_length_norm, window_norm = spectrogram_norms(normalized)
    if window_norm:
        spectrogram = spectrogram * window.pow(2.0).sum().sqrt()
    shape = spectrogram.shape
    waveform = torch.istft(
        spectrogram.reshape(math.prod(shape[:-2]), *shape[-2:]),
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=window,
        center=center,
        normalized=frame_length_norm,
        onesided=onesided,
        length=length + 2 * pad if length is not None else None,
        return_complex=False,
    )
    if length is not None and pad > 0:
        waveform = waveform[:, pad:-pad]
    return waveform.reshape(*shape[:-2], waveform.shape[-1])


def hz_to_mel(freq, mel_scale):
    """Hz -> mel (htk: 2595 log10(1 + f / 700); slaney: linear below 1 kHz, log above)."""
    if mel_scale == "htk":
        return 2595.0 * math.log10(1.0 + freq / 700.0)
    mels = freq / (200.0 / 3)
    if freq >= 1000.0:
        mels = 15.0 + math.log(freq / 1000.0) / (math.log(6.4) / 27.0)
    return mels


def mel_to_hz(mels, mel_scale):
    """mel -> Hz for a tensor of mels, the inverse of :func:`hz_to_mel`."""
    if mel_scale == "htk":
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    freqs = mels * (200.0 / 3)
    above = mels >= 15.0
    return torch.where(above, 1000.0 * torch.exp(math.log(6.4) / 27.0 * (mels - 15.0)), freqs)


def triangular_filterbank(all_freqs, f_pts):
    """(n_freqs, n_filters) triangles with corners at ``f_pts`` (n_filters + 2 points)."""
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.min(down, up), min=0.0)


def melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm, mel_scale):
    """torchaudio.functional.melscale_fbanks: (n_freqs, n_mels)."""
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_pts = torch.linspace(hz_to_mel(f_min, mel_scale), hz_to_mel(f_max, mel_scale), n_mels + 2)
    f_pts = mel_to_hz(m_pts, mel_scale)
    fb = triangular_filterbank(all_freqs, f_pts)
    if norm == "slaney":
        fb = fb * (2.0 / (f_pts[2 : n_mels + 2] - f_pts[:n_mels])).unsqueeze(0)
    return fb


def linear_fbanks(n_freqs, f_min, f_max, n_filter, sample_rate):
    """torchaudio.functional.linear_fbanks: (n_freqs, n_filter)."""
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    return triangular_filterbank(all_freqs, torch.linspace(f_min, f_max, n_filter + 2))


def create_dct(n_mfcc, n_mels, norm):
    """torchaudio.functional.create_dct: the DCT-II matrix, (n_mels, n_mfcc)."""
    n = torch.arange(float(n_mels))
    k = torch.arange(float(n_mfcc)).unsqueeze(1)
    dct = torch.cos(math.pi / float(n_mels) * (n + 0.5) * k)
    if norm is None:
        dct = dct * 2.0
    else:
        dct[0] *= 1.0 / math.sqrt(2.0)
        dct = dct * math.sqrt(2.0 / float(n_mels))
    return dct.t()


def amplitude_to_db(x, multiplier, amin, db_multiplier, top_db=None, per_example=False):
    """torchaudio.functional.amplitude_to_DB, with the floor of :func:`top_db_floor`."""
    x_db = multiplier * torch.log10(torch.clamp(x, min=amin))
    x_db = x_db - multiplier * db_multiplier
    return x_db if top_db is None else top_db_floor(x_db, top_db, per_example)


def top_db_floor(x_db, top_db, per_example=False):
    """``max(x_db, peak - top_db)``. torchaudio takes the peak over the last three dims of
    a packed batch (one value for a whole 3-D batch, #994); ``per_example`` takes each
    ``(freq, time)`` plane's own peak."""
    shape = x_db.shape
    if x_db.numel() == 0:  # no peak to floor at (torchaudio's reshape fails)
        return x_db
    if per_example:
        planes = x_db.reshape(-1, *shape[-2:]) if x_db.dim() >= 2 else x_db.reshape(1, 1, -1)
        floor = planes.amax(dim=(-2, -1), keepdim=True) - top_db
        return torch.max(planes, floor).reshape(shape)
    channels = shape[-3] if x_db.dim() > 2 else 1
    packed = x_db.reshape(-1, channels, shape[-2], shape[-1])
    floor = (packed.amax(dim=(-3, -2, -1)) - top_db).view(-1, 1, 1, 1)
    return torch.max(packed, floor).reshape(shape)


def dynamic_range_floor(x, dynamic_range, per_example=True):
    """``max(x, peak - dynamic_range)`` with the peak of each ``(..., freq, time)`` plane, or
    of the whole tensor (Whisper's batched clamp) when not ``per_example``."""
    if x.numel() == 0:
        return x
    if per_example:
        return top_db_floor(x, dynamic_range, per_example=True)
    return torch.maximum(x, x.amax() - dynamic_range)


class LogScale(NamedTuple):
    """``multiplier * log_base(max(y, amin) + offset) - shift``: dB (multiplier 10, base
    10), Whisper's log10, MFCC's ``log(y + 1e-6)`` (base e, amin 0, offset 1e-6). Beyond
    torchaudio: the log that ``functional.mel_spectrogram`` fuses into its kernel."""

    multiplier: float
    amin: float
    offset: float = 0.0
    shift: float = 0.0
    base: float = 10.0

    def __call__(self, y):
        log = torch.log10 if self.base == 10.0 else torch.log
        return self.multiplier * log(torch.clamp(y, min=self.amin) + self.offset) - self.shift

    def natural(self):
        """(multiplier of the natural log, amin, offset, shift): what the kernel takes."""
        return self.multiplier / math.log(self.base), self.amin, self.offset, self.shift


def mel_power(spec_pairs, fb, power, log):
    """What kernels/spectral.py computes: ``(rows, frames, freq, 2)`` STFT pairs ->
    ``(rows, n_mels, frames)``, ``log(|X|^power @ fb)`` (``log`` a
    :class:`LogScale` or None). Differentiable twice, with the kernel's zero gradient at
    ``X = 0``."""
    if power == 2.0:
        powers = spec_pairs.pow(2).sum(-1)
    else:
        powers = torch.linalg.vector_norm(spec_pairs, dim=-1).pow(power)
    y = torch.matmul(powers, fb).transpose(-1, -2)
    return y if log is None else log(y)


def griffinlim(
    specgram, window, n_fft, hop_length, win_length, power, n_iter, momentum, length, rand_init,
    stft=None, istft=None,
):  # fmt: skip
    """torchaudio.functional.griffinlim: (..., freq, frames) magnitudes -> (..., time).
    ``stft`` / ``istft`` replace torch.stft and torch.istft (the Triton path passes its
    own)."""
    stft_args = dict(n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window)
    if stft is None:
        stft = lambda x: torch.stft(
            x, center=True, pad_mode="reflect", normalized=False, onesided=True,
            return_complex=True, **stft_args,
        )  # fmt: skip
    if istft is None:
        istft = lambda spec: torch.istft(spec, length=length, **stft_args)
    momentum = momentum / (1 + momentum)
    shape = specgram.shape
    specgram = specgram.reshape(-1, *shape[-2:]).pow(1 / power)
    complex_dtype = (specgram.new_zeros(()) * 1j).dtype
    if rand_init:
        angles = torch.rand(specgram.shape, dtype=complex_dtype, device=specgram.device)
    else:
        angles = torch.full(specgram.shape, 1, dtype=complex_dtype, device=specgram.device)
    previous = specgram.new_zeros(())  # a fill, not a host-to-device copy
    for _ in range(n_iter):
        rebuilt = stft(istft(specgram * angles))
        angles = rebuilt
        if momentum:
            angles = angles - previous * momentum
        angles = angles / (angles.abs() + 1e-16)
        previous = rebuilt
    waveform = istft(specgram * angles)
    return waveform.reshape(*shape[:-2], waveform.shape[-1])
