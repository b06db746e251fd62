"""Plain-torch implementations of every op: the CPU fallback and the tests' oracle.

Each function computes exactly what torchaudio computes, on any device and dtype.
"""

import math
from typing import NamedTuple

import torch


def gain(waveform: torch.Tensor, gain_db: float) -> torch.Tensor:
    """torchaudio.functional.gain: ``waveform * 10 ** (gain_db / 20)``."""
    if gain_db == 0:
        return waveform
    return waveform * 10 ** (gain_db / 20)


def resample_taps(orig, new, lowpass_filter_width, rolloff, kaiser, beta):
    """torchaudio's windowed-sinc filter, only where it is non-zero, as a polyphase table.

    ``orig`` and ``new`` are the gcd-reduced rates. Output ``n = m * new + p`` is
    ``sum_j x[m * orig + first[p] + j] * taps[p, j]``.

    Returns:
        (taps, first): float64 ``(new, n_taps)`` and int64 ``(new,)``. Its size grows with
        ``new`` only, not with the ratio (torchaudio's ``(new, orig + 2 * width)`` does).
    """
    base = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base)
    phase = torch.arange(new, dtype=torch.int64)
    first = phase * orig // new - width
    local = first[:, None] + torch.arange(2 * width + 2)
    # From small integers, so that t keeps its precision (as the kernels do).
    scaled = (local.double() / orig - phase.double()[:, None] / new) * base
    if kaiser:
        u = scaled / lowpass_filter_width
        beta = torch.tensor(float(beta), dtype=torch.float64)
        window = torch.special.i0(beta * (1 - u * u).clamp(min=0).sqrt()) / torch.special.i0(beta)
    else:
        window = torch.cos(scaled * math.pi / lowpass_filter_width / 2) ** 2
    taps = torch.sinc(scaled) * window * (base / orig)
    return taps.where(scaled.abs() <= lowpass_filter_width, 0.0), first


def resample_with_taps(waveform, orig, new, taps, first):
    """Apply :func:`resample_taps`' table to ``(..., time)``; ``(..., ceil(new * time / orig))``.

    Loops over the taps, so memory is a few times the output, whatever the rates.
    """
    shape = waveform.shape
    n_in = shape[-1]
    n_out = -(-new * n_in // orig)
    compute_dtype = torch.float32 if waveform.dtype in (torch.float16, torch.bfloat16) else None
    x = waveform.reshape(math.prod(shape[:-1]), n_in).to(compute_dtype or waveform.dtype)
    out = x.new_zeros(x.shape[0], n_out)
    if out.numel() == 0:
        return out.reshape(*shape[:-1], n_out).to(waveform.dtype)
    n = torch.arange(n_out, device=x.device)
    phase = n % new
    first = first.to(x.device)
    start = (n // new) * orig + first[phase]
    n_taps = taps.shape[1]
    pad_left = max(0, -int(start[0]))
    pad_right = max(0, int(start[-1]) + n_taps - n_in)
    x = torch.nn.functional.pad(x, (pad_left, pad_right))
    taps = taps.to(device=x.device, dtype=x.dtype)
    for j in range(n_taps):
        out = out + x[:, start + (pad_left + j)] * taps[phase, j]
    return out.reshape(*shape[:-1], n_out).to(waveform.dtype)


def noise_scale(energy_signal, energy_noise, snr):
    """torchaudio's noise scale ``10 ** ((10 log10(Es / En) - snr) / 20)`` per row, and 0
    where a row's noise (or signal) energy is 0: torchaudio returns inf / NaN there,
    tritaudio the clean signal. Safe to differentiate (no NaN through the unused branch).
    """
    counted = (energy_signal > 0) & (energy_noise > 0)
    signal = torch.where(counted, energy_signal, 1.0)
    noise = torch.where(counted, energy_noise, 1.0)
    original_snr_db = 10 * (torch.log10(signal) - torch.log10(noise))
    scale = 10 ** ((original_snr_db - snr) / 20.0)
    return torch.where(counted, scale, 0.0)


def add_noise(waveform, noise, snr, lengths=None):
    """torchaudio.functional.add_noise: noise scaled so that the signal-to-noise ratio over
    the first ``lengths`` samples is ``snr`` dB, added over the whole signal.

    Shapes broadcast: waveform and noise ``(..., time)``, snr and lengths ``(...)``.
    """
    n_time = waveform.shape[-1]
    # float16 / bfloat16 energies overflow: they are summed in float32, and the result is
    # returned in the waveform's dtype.
    wide = torch.float32 if waveform.dtype in (torch.float16, torch.bfloat16) else None
    signal, wide_noise = waveform.to(wide or waveform.dtype), noise.to(wide or noise.dtype)
    if lengths is not None:
        counted = torch.arange(n_time, device=waveform.device) < lengths.unsqueeze(-1)
        signal, wide_noise = signal * counted, wide_noise * counted
    scale = noise_scale(signal.pow(2).sum(-1), wide_noise.pow(2).sum(-1), snr)
    return (waveform + scale.unsqueeze(-1) * noise).to(waveform.dtype)


def preemphasis(waveform, coeff):
    """torchaudio.functional.preemphasis: ``y[t] = x[t] - coeff * x[t - 1]``."""
    waveform = waveform.clone()
    waveform[..., 1:] -= coeff * waveform[..., :-1]
    return waveform


def deemphasis(waveform, coeff, block=128):
    """torchaudio.functional.deemphasis: ``y[t] = x[t] + coeff * y[t - 1]`` (its lfilter),
    clamped to [-1, 1] as lfilter does by default.

    Block by block: inside a block the recursion is a lower-triangular matrix of powers
    of ``coeff``; the last output of a block carries into the next.
    """
    shape = waveform.shape
    x = waveform.reshape(math.prod(shape[:-1]), shape[-1])
    steps = torch.arange(block, device=x.device)
    lags = steps[:, None] - steps[None, :]
    coeff = torch.tensor(coeff, dtype=x.dtype, device=x.device)
    powers = coeff ** lags.clamp(min=0).to(x.dtype) * (lags >= 0)
    carry_weights = coeff ** (steps + 1).to(x.dtype)
    blocks = []
    carry = x.new_zeros(x.shape[0])
    for start in range(0, shape[-1], block):
        chunk = x[:, start : start + block]
        n = chunk.shape[1]
        y = chunk @ powers[:n, :n].T + carry[:, None] * carry_weights[:n]
        carry = y[:, -1]
        blocks.append(y)
    y = torch.cat(blocks, dim=1) if blocks else x.clone()
    return y.clamp(-1, 1).reshape(shape)


def fade_curves(n_time, fade_in_len, fade_out_len, fade_shape, dtype, device):
    """torchaudio.transforms.Fade's two curves, (n_time,) each, built on ``device``."""
    fade_in = torch.linspace(0, 1, fade_in_len, dtype=dtype, device=device)
    fade_out = torch.linspace(0, 1, fade_out_len, dtype=dtype, device=device)
    if fade_shape == "linear":
        fade_out = -fade_out + 1
    elif fade_shape == "exponential":
        fade_in = torch.pow(2, fade_in - 1) * fade_in
        fade_out = torch.pow(2, -fade_out) * (1 - fade_out)
    elif fade_shape == "logarithmic":
        fade_in, fade_out = torch.log10(0.1 + fade_in) + 1, torch.log10(1.1 - fade_out) + 1
    elif fade_shape == "quarter_sine":
        fade_in = torch.sin(fade_in * math.pi / 2)
        fade_out = torch.sin(fade_out * math.pi / 2 + math.pi / 2)
    elif fade_shape == "half_sine":
        fade_in = torch.sin(fade_in * math.pi - math.pi / 2) / 2 + 0.5
        fade_out = torch.sin(fade_out * math.pi + math.pi / 2) / 2 + 0.5
    ones_in = torch.ones(n_time - fade_in_len, dtype=dtype, device=device)
    ones_out = torch.ones(n_time - fade_out_len, dtype=dtype, device=device)
    return torch.cat((fade_in, ones_in)).clamp_(0, 1), torch.cat((ones_out, fade_out)).clamp_(0, 1)


def mask_along_axis(specgram, mask_length, mask_value, axis):
    """torchaudio.functional.mask_along_axis after its checks: one interval
    ``[start, start + length)`` along ``axis`` for every example, drawn from torch's global
    CPU generator as torchaudio draws it (length ~ U(0, mask_length), then start)."""
    size = specgram.shape[axis]
    length = torch.rand(1) * mask_length
    start = torch.rand(1) * (size - length)
    first, last = start.long(), start.long() + length.long()
    positions = torch.arange(size, device=specgram.device)
    mask = (positions >= first.to(specgram.device)) & (positions < last.to(specgram.device))
    if axis == specgram.dim() - 2:
        mask = mask.unsqueeze(-1)
    return specgram.masked_fill(mask, mask_value)


def mask_along_axis_iid(specgrams, mask_length, mask_value, axis):
    """torchaudio.functional.mask_along_axis_iid after its checks: an interval per example
    (every leading index), drawn on the spectrogram's device in its dtype."""
    batch = specgrams.shape[:-2]
    device, dtype = specgrams.device, specgrams.dtype
    length = torch.rand(batch, device=device, dtype=dtype) * mask_length
    start = torch.rand(batch, device=device, dtype=dtype) * (specgrams.shape[axis] - length)
    first = start.long()[..., None, None]
    last = (start.long() + length.long())[..., None, None]
    positions = torch.arange(specgrams.shape[axis], device=device, dtype=dtype)
    mask = (positions >= first) & (positions < last)
    along_last = specgrams.transpose(axis, -1)
    if isinstance(mask_value, torch.Tensor):
        masked = torch.where(mask, mask_value.to(dtype), along_last)
    else:
        masked = along_last.masked_fill(mask, mask_value)
    return masked.transpose(axis, -1)


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
    frames = 1 + (padded - n_fft) // hop_length
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
    10), Whisper's log10, MFCC's ``log(y + 1e-6)`` (base e, amin 0, offset 1e-6)."""

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
    previous = torch.tensor(0.0, dtype=specgram.dtype, device=specgram.device)
    for _ in range(n_iter):
        rebuilt = stft(istft(specgram * angles))
        angles = rebuilt
        if momentum:
            angles = angles - previous * momentum
        angles = angles / (angles.abs() + 1e-16)
        previous = rebuilt
    waveform = istft(specgram * angles)
    return waveform.reshape(*shape[:-2], waveform.shape[-1])


PHASE_VOCODER_CHUNK = 2**20  # output elements per pass: bounds the intermediates' memory


def phase_vocoder(complex_specgrams, rate, phase_advance):
    """torchaudio.functional.phase_vocoder: ``(..., freq, frames)`` complex ->
    ``(..., freq, ceil(frames / rate))``.

    Output frame t reads the input at time ``t * rate``: its magnitude is interpolated
    linearly between the two frames around that time; its phase is the first frame's phase
    plus, for every earlier output frame, the phase advance measured between its two input
    frames (the deviation from the bin's expected advance ``phase_advance``, ``(freq, 1)``,
    wrapped to [-pi, pi]). Two zero frames are appended so the last reads stay in range.

    Bins are independent: large inputs go through in blocks of bins, with the same
    arithmetic per element (the same numbers) and a fraction of the intermediates' memory.
    """
    if rate == 1.0:
        return complex_specgrams
    shape = complex_specgrams.shape
    spec = complex_specgrams.reshape(math.prod(shape[:-2]), *shape[-2:])
    steps = torch.arange(0, shape[-1], rate, dtype=spec.real.dtype, device=spec.device)
    phase_advance = phase_advance.expand(shape[-2], 1)
    bins_per_pass = max(1, PHASE_VOCODER_CHUNK // max(1, spec.shape[0] * len(steps)))
    if bins_per_pass >= shape[-2]:
        stretched = _vocode(spec, steps, phase_advance)
    else:
        stretched = spec.new_empty(*spec.shape[:-1], len(steps))
        for start in range(0, shape[-2], bins_per_pass):
            bins = slice(start, start + bins_per_pass)
            stretched[:, bins] = _vocode(spec[:, bins], steps, phase_advance[bins])
    return stretched.reshape(*shape[:-2], *stretched.shape[-2:])


def _vocode(spec, steps, phase_advance):
    """The phase vocoder of (rows, bins, frames) ``spec`` at the output times ``steps``."""
    alphas = steps % 1.0
    first_phase = spec[..., :1].angle()
    spec = torch.nn.functional.pad(spec, [0, 2])
    before = spec.index_select(-1, steps.long())
    after = spec.index_select(-1, (steps + 1).long())
    deviation = after.angle() - before.angle() - phase_advance
    deviation = deviation - 2 * math.pi * torch.round(deviation / (2 * math.pi))
    advance = deviation + phase_advance
    phase = torch.cumsum(torch.cat([first_phase, advance[..., :-1]], dim=-1), -1)
    magnitude = alphas * after.abs() + (1 - alphas) * before.abs()
    return torch.polar(magnitude, phase)
