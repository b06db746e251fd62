"""Plain-torch analysis ops: pitch, CMN, loudness (with its K-weighting IIR) and VAD.

The CPU fallback of ``tritaudio.functional.analysis`` and the tests' oracle. Each function
computes what torchaudio 2.11 computes, vectorised where torchaudio loops.
"""

import math

import torch

from tritaudio import _cache

IIR_CHUNK = 256  # samples per block of the all-pole recursion (see all_pole)


def _all_pole_tables(a1, a2, chunk, dtype, device):
    """For ``y[n] = v[n] - a1 y[n-1] - a2 y[n-2]`` on a block of ``chunk`` samples:
    the zero-state matrix ``H`` (``y = H v`` from rest) and the responses ``g`` (2, chunk)
    to the initial states ``y[-1] = 1`` and ``y[-2] = 1``: entries of the powers of the
    recursion's companion matrix ``M`` (``h[n] = M^n[0, 0]``, ``g[:, n] = M^(n+1)[0, :]``),
    built in float64 on ``device`` (no host-to-device copy), cached per filter."""

    def build():
        entries = (-a1, -a2, 1.0, 0.0)
        f64 = dict(dtype=torch.float64, device=device)
        step = torch.stack([torch.full((), v, **f64) for v in entries]).reshape(2, 2)
        rows = [torch.eye(2, **f64)[0]]  # the first rows of M^0 .. M^chunk, one at a time
        for _ in range(chunk):  # (by doubling they would lose digits: M is ill-conditioned)
            rows.append(rows[-1] @ step)
        powers = torch.stack(rows)
        h, g = powers[:chunk, 0], powers[1:].T
        lag = torch.arange(chunk, device=device)[:, None] - torch.arange(chunk, device=device)
        toeplitz = torch.where(lag >= 0, h[lag.clamp(min=0)], 0.0)
        return toeplitz.to(dtype), g.to(dtype).contiguous()

    return _cache.cached_table("all-pole tables", (), (a1, a2, chunk, dtype, device), build)


def all_pole(v, a1, a2, chunk=IIR_CHUNK):
    """``y[n] = v[n] - a1 y[n-1] - a2 y[n-2]`` along the last dim of ``v`` (rows, time),
    from rest. Exact block recursion: within a block of ``chunk`` samples the output is a
    lower-triangular Toeplitz matrix times the input plus the response to the two carried
    states, so the sequential part is one 2-vector update per block. Differentiable."""
    rows, n = v.shape
    if n == 0:
        return v.clone()
    toeplitz, g = _all_pole_tables(a1, a2, chunk, v.dtype, v.device)
    blocks = -(-n // chunk)
    padded = torch.nn.functional.pad(v, (0, blocks * chunk - n)).reshape(rows, blocks, chunk)
    zero_state = padded @ toeplitz.T  # (rows, blocks, chunk)
    out = []
    state = v.new_zeros(rows, 2)  # (y[-1], y[-2]) of the block
    for b in range(blocks):
        y = zero_state[:, b] + state @ g
        out.append(y)
        state = torch.stack([y[:, -1], y[:, -2]], dim=1)
    return torch.cat(out, dim=1)[:, :n]


def biquad(x, b0, b1, b2, a0, a1, a2, clamp=True):
    """torchaudio.functional.biquad on (rows, time): FIR ``b / a0`` then all-pole ``a / a0``,
    clamped to [-1, 1] as torchaudio's lfilter does by default."""
    b0, b1, b2, a1, a2 = b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0
    padded = torch.nn.functional.pad(x, (2, 0))
    v = b0 * x + b1 * padded[:, 1:-1] + b2 * padded[:, :-2]
    y = all_pole(v, a1, a2)
    return y.clamp(-1.0, 1.0) if clamp else y


def k_weighting_coefficients(sample_rate):
    """The two biquads torchaudio's loudness uses as BS.1770's K-weighting: a treble shelf
    (+4 dB, 1500 Hz, Q 1/sqrt(2)) and a high-pass (38 Hz, Q 0.5), from the audio EQ
    cookbook formulas, as (b0, b1, b2, a0, a1, a2) each."""
    w0 = 2 * math.pi * 1500.0 / sample_rate
    alpha = math.sin(w0) / 2 / (1 / math.sqrt(2))
    gain = 10 ** (4.0 / 40)
    root = 2 * math.sqrt(gain) * alpha
    minus, plus = (gain - 1) * math.cos(w0), (gain + 1) * math.cos(w0)
    shelf = (
        gain * ((gain + 1) + minus + root),
        -2 * gain * ((gain - 1) + plus),
        gain * ((gain + 1) + minus - root),
        (gain + 1) - minus + root,
        2 * ((gain - 1) - plus),
        (gain + 1) - minus - root,
    )
    w0 = 2 * math.pi * 38.0 / sample_rate
    alpha = math.sin(w0) / 2.0 / 0.5
    cos = math.cos(w0)
    highpass = ((1 + cos) / 2, -1 - cos, (1 + cos) / 2, 1 + alpha, -2 * cos, 1 - alpha)
    return shelf, highpass


CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)  # BS.1770: L, R, C, Ls, Rs


def loudness(waveform, sample_rate):
    """torchaudio.functional.loudness: gated BS.1770-4 loudness (LKFS) of
    ``(..., channels, time)``; ``(...)``."""
    shape = waveform.shape
    channels, n_time = shape[-2], shape[-1]
    x = waveform.reshape(-1, n_time)
    shelf, highpass = k_weighting_coefficients(sample_rate)
    x = biquad(biquad(x, *shelf), *highpass)
    gate = round(0.4 * sample_rate)
    step = round(gate * 0.25)
    energy = x.square().unfold(-1, gate, step).mean(-1)
    energy = energy.reshape(-1, channels, energy.shape[-1])  # (batch, channels, blocks)
    g = torch.full((channels,), CHANNEL_WEIGHTS[-1], dtype=energy.dtype, device=energy.device)
    g[:3].fill_(CHANNEL_WEIGHTS[0])  # CHANNEL_WEIGHTS[:channels], built on the device

    block_loudness = -0.691 + 10 * torch.log10((g[:, None] * energy).sum(-2))  # (batch, blocks)

    def gated_loudness(gated):
        mean_energy = (gated[:, None, :] * energy).sum(-1) / gated.sum(-1, keepdim=True)
        return -0.691 + 10 * torch.log10((g * mean_energy).sum(-1))

    absolute = block_loudness > -70.0
    relative = gated_loudness(absolute) - 10
    lkfs = gated_loudness(absolute & (block_loudness > relative[:, None]))
    return lkfs.reshape(shape[:-2])


def nccf(waveform, sample_rate, frame_time, freq_low):
    """torchaudio's normalised cross-correlation of (rows, time), ``(rows, frames, lags)``:
    ``sum(s1 * s2) / (eps + |s1|)^2 / (eps + |s2|)^2`` between each frame and the same frame
    shifted by each lag 1..lags (torchaudio's normalisation, energies not their root)."""
    eps = 1e-9
    lags = math.ceil(sample_rate / freq_low)
    frame_size = math.ceil(sample_rate * frame_time)
    n_time = waveform.shape[-1]
    n_frames = math.ceil(n_time / frame_size)
    padded = torch.nn.functional.pad(waveform, (0, lags + n_frames * frame_size - n_time))
    # spans[r, i] = padded[r, i * frame_size : i * frame_size + frame_size + lags]
    spans = padded.unfold(-1, frame_size + lags, frame_size)[:, :n_frames]
    frames = spans[..., :frame_size]
    frames_norm = (eps + torch.linalg.vector_norm(frames, dim=-1)).pow(2)
    out = []
    # A block of frames at a time: the shifted windows are (block, lags, frame_size).
    block = max(1, 2**22 // max(1, lags * frame_size * waveform.shape[0]))
    for start in range(0, n_frames, block):
        span = spans[:, start : start + block]
        shifted = span.unfold(-1, frame_size, 1)[..., 1 : lags + 1, :]
        dots = (shifted * frames[:, start : start + block, None, :]).sum(-1)
        norms = (eps + torch.linalg.vector_norm(shifted, dim=-1)).pow(2)
        out.append(dots / frames_norm[:, start : start + block, None] / norms)
    return torch.cat(out, dim=1)


def pitch_lags(nccf_values, sample_rate, freq_high):
    """Per frame, the best lag (torchaudio's rule: the best lag below half the range wins
    when within 1 % of the overall best), plus torchaudio's offset of 1."""
    lag_min = math.ceil(sample_rate / freq_high)
    best_values, best_indices = torch.max(nccf_values[..., lag_min:], -1)
    half_values, half_indices = torch.max(
        nccf_values[..., lag_min : nccf_values.shape[-1] // 2], -1
    )
    take_half = half_values > 0.99 * best_values
    return torch.where(take_half, half_indices, best_indices) + lag_min + 1


def median_smoothing(indices, win_length):
    """Running median (the lower one for even windows) over ``win_length`` frames after
    repeating the first frame ``(win_length - 1) // 2`` times on the left (torchaudio's)."""
    pad = (win_length - 1) // 2
    padded = torch.cat([indices[..., :1].expand(*indices.shape[:-1], pad), indices], dim=-1)
    return padded.unfold(-1, win_length, 1).median(-1).values


def detect_pitch_frequency(waveform, sample_rate, frame_time, win_length, freq_low, freq_high):
    """torchaudio.functional.detect_pitch_frequency on ``(..., time)``: ``(..., frames)``."""
    shape = waveform.shape
    rows = waveform.reshape(-1, shape[-1])
    values = nccf(rows, sample_rate, frame_time, freq_low)
    indices = median_smoothing(pitch_lags(values, sample_rate, freq_high), win_length)
    freq = sample_rate / (1e-9 + indices.to(torch.float))
    return freq.reshape(*shape[:-1], freq.shape[-1])


def cmn_windows(n_frames, cmn_window, min_cmn_window, center):
    """torchaudio's sliding CMN window ``[start, end)`` for each frame, as two int lists."""
    starts, ends = [], []
    for t in range(n_frames):
        if center:
            start = t - cmn_window // 2
            end = start + cmn_window
        else:
            start = t - cmn_window
            end = t + 1
        if start < 0:
            end -= start
            start = 0
        if not center and end > t:
            end = max(t + 1, min_cmn_window)
        if end > n_frames:
            start = max(start - (end - n_frames), 0)
            end = n_frames
        starts.append(start)
        ends.append(end)
    return starts, ends


def cmn_window_bounds(n_frames, cmn_window, min_cmn_window, center, device):
    """:func:`cmn_windows`' rules on int64 tensors built on ``device`` (no host-to-device
    copy): ``(start, end)``, each ``(n_frames,)``."""
    t = torch.arange(n_frames, device=device)
    start = t - (cmn_window // 2 if center else cmn_window)
    end = start + cmn_window if center else t + 1
    end = torch.where(start < 0, end - start, end)
    start = start.clamp(min=0)
    if not center:
        end = torch.where(end > t, (t + 1).clamp(min=min_cmn_window), end)
    start = torch.where(end > n_frames, (start - (end - n_frames)).clamp(min=0), start)
    return start, end.clamp(max=n_frames)


def sliding_window_cmn(specgram, cmn_window, min_cmn_window, center, norm_vars):
    """torchaudio.functional.sliding_window_cmn on ``(..., time, freq)``: window sums as
    differences of float64 prefix sums (torchaudio keeps running sums in the input dtype)."""
    shape = specgram.shape
    n_frames, n_feats = shape[-2], shape[-1]
    x = specgram.reshape(math.prod(shape[:-2]), n_frames, n_feats)
    start, end = cmn_window_bounds(n_frames, cmn_window, min_cmn_window, center, x.device)
    count = (end - start).to(torch.float64)[None, :, None]
    x64 = x.to(torch.float64)
    prefix = torch.nn.functional.pad(x64.cumsum(1), (0, 0, 1, 0))
    total = prefix[:, end] - prefix[:, start]
    out = x64 - total / count
    if norm_vars:
        prefix_sq = torch.nn.functional.pad(x64.square().cumsum(1), (0, 0, 1, 0))
        total_sq = prefix_sq[:, end] - prefix_sq[:, start]
        variance = total_sq / count - total.square() / count.square()
        out = torch.where(count == 1, 0.0, out * variance.pow(-0.5))
    out = out.to(specgram.dtype).reshape(shape)
    return out.squeeze(0) if len(shape) == 2 else out


def _hann_scaled(n, device):
    # torchaudio fills 2 / sqrt(n) into a float32 buffer, then multiplies by the window.
    return torch.full((n,), 2.0 / math.sqrt(float(n)), device=device) * torch.hann_window(
        n, device=device
    )


def vad_settings(sample_rate, trigger_time, search_time, allowed_gap, pre_trigger_time,
                 boot_time, noise_up_time, noise_down_time, measure_freq, measure_duration,
                 measure_smooth_time, hp_filter_freq, lp_filter_freq, hp_lifter_freq,
                 lp_lifter_freq):  # fmt: skip
    """The integer sizes and time constants of sox's vad, as torchaudio derives them."""
    if measure_duration is None:
        measure_duration = 2.0 / measure_freq
    measure_len = int(sample_rate * measure_duration + 0.5)
    dft_len = 16
    while dft_len < measure_len:
        dft_len *= 2
    period = int(sample_rate / measure_freq + 0.5)
    measures_len = math.ceil(search_time * measure_freq)
    fixed_pre_trigger = int(pre_trigger_time * sample_rate + 0.5)
    spectrum_start = max(int(hp_filter_freq / sample_rate * dft_len + 0.5), 1)
    spectrum_end = min(int(lp_filter_freq / sample_rate * dft_len + 0.5), dft_len // 2)
    cepstrum_start = math.ceil(sample_rate * 0.5 / lp_lifter_freq)
    cepstrum_end = min(math.floor(sample_rate * 0.5 / hp_lifter_freq), dft_len // 4)
    if cepstrum_end <= cepstrum_start:
        raise ValueError(
            f"the lifter band is empty: cepstrum_start {cepstrum_start} >= cepstrum_end "
            f"{cepstrum_end} (check hp_lifter_freq, lp_lifter_freq and sample_rate)"
        )
    if spectrum_end <= spectrum_start:
        raise ValueError(
            f"the filter band is empty: spectrum_start {spectrum_start} >= spectrum_end "
            f"{spectrum_end} (check hp_filter_freq, lp_filter_freq and sample_rate)"
        )
    return dict(
        measure_len=measure_len,
        dft_len=dft_len,
        period=period,
        measures_len=measures_len,
        gap_len=int(allowed_gap * measure_freq + 0.5),
        fixed_pre_trigger=fixed_pre_trigger,
        samples_len=fixed_pre_trigger + measures_len * period + measure_len,
        spectrum_band=(spectrum_start, spectrum_end),
        cepstrum_band=(cepstrum_start, cepstrum_end),
        noise_up_mult=math.exp(-1.0 / (noise_up_time * measure_freq)),
        noise_down_mult=math.exp(-1.0 / (noise_down_time * measure_freq)),
        smooth_mult=math.exp(-1.0 / (measure_smooth_time * measure_freq)),
        trigger_mult=math.exp(-1.0 / (trigger_time * measure_freq)),
        boot_count_max=int(boot_time * measure_freq - 0.5),
    )


VAD_BLOCK = 32  # measurements computed together before the (sequential) trigger logic


def _vad_measures(x, positions, s, state, noise_reduction_amount):
    """Cepstral power measurements at ``positions`` (a block), advancing the smoothed and
    noise spectra in ``state`` (float32, as torchaudio computes). Returns (channels, P)."""
    measure_len, dft_len = s["measure_len"], s["dft_len"]
    start, end = s["spectrum_band"]
    cep_start, cep_end = s["cepstrum_band"]
    device = x.device
    index = torch.tensor(positions, device=device)[:, None] - measure_len
    frames = x[:, index + torch.arange(measure_len, device=device)]  # (C, P, measure_len)
    frames = (frames * state["spectrum_window"]).to(torch.float32)
    magnitudes = torch.fft.rfft(frames, n=dft_len)[..., start:end].abs()
    up = torch.tensor(s["noise_up_mult"], device=device)
    down = torch.tensor(s["noise_down_mult"], device=device)
    floors = []
    for p in range(len(positions)):
        boot = state["boot_count"]
        mult = boot / (1.0 + boot) if boot >= 0 else s["smooth_mult"]
        state["spectrum"] = state["spectrum"] * mult + magnitudes[:, p] * (1 - mult)
        power = state["spectrum"] ** 2
        if boot >= 0:
            state["noise"] = power.clone()
        else:
            noise_mult = torch.where(power > state["noise"], up, down)
            state["noise"] = state["noise"] * noise_mult + power * (1 - noise_mult)
        floors.append(power - noise_reduction_amount * state["noise"])
        if boot >= 0:
            state["boot_count"] = -1 if boot == s["boot_count_max"] else boot + 1
    buffer = x.new_zeros(x.shape[0], len(positions), dft_len >> 1, dtype=torch.float32)
    floor = torch.stack(floors, dim=1)  # the square roots once per block (same values)
    lifted = torch.sqrt(torch.maximum(torch.zeros_like(floor), floor))
    buffer[..., start:end] = lifted * state["cepstrum_window"]
    cepstrum = torch.fft.rfft(buffer)[..., cep_start:cep_end].abs().pow(2).sum(-1)
    return cepstrum.cpu().double()


def vad(waveform, trigger_level, noise_reduction_amount, settings):
    """torchaudio.functional.vad (sox's vad effect) on ``(..., time)``; ``settings`` from
    :func:`vad_settings`. The spectra of a block of measurement positions are computed at
    once; the trigger logic (a few numbers per position) runs on the host, as in sox."""
    import numpy as np

    s = settings
    shape = waveform.shape
    x = waveform.reshape(-1, shape[-1])
    n_channels, n_time = x.shape
    start, end = s["spectrum_band"]
    cep_start, cep_end = s["cepstrum_band"]
    measures_len, period = s["measures_len"], s["period"]
    state = dict(
        spectrum=torch.zeros(n_channels, end - start, device=x.device),
        noise=torch.zeros(n_channels, end - start, device=x.device),
        boot_count=0,
        spectrum_window=_hann_scaled(s["measure_len"], x.device),
        cepstrum_window=_hann_scaled(end - start, x.device),
    )
    level = np.float32(trigger_level)
    trigger_mult = s["trigger_mult"]
    measures = np.zeros((n_channels, measures_len), dtype=np.float32)
    mean = np.zeros(n_channels, dtype=np.float32)
    triggered, to_flush, flushed, pos = False, 0, 0, 0
    positions = list(range(s["measure_len"], n_time, period))
    for block in range(0, len(positions), VAD_BLOCK):
        chunk = positions[block : block + VAD_BLOCK]
        powers = _vad_measures(x, chunk, s, state, noise_reduction_amount)
        for p, pos in enumerate(chunk):  # noqa: B007 (pos: the last position, used below)
            index = (block + p) % measures_len
            for c in range(n_channels):
                power = float(powers[c, p])
                level_db = math.log(power / (cep_end - cep_start)) if power > 0 else -math.inf
                meas = max(0.0, 21 + level_db)
                measures[c, index] = meas
                mean[c] = mean[c] * np.float32(trigger_mult) + np.float32(
                    meas * (1.0 - trigger_mult)
                )
                triggered = triggered or bool(mean[c] >= level)
                if triggered:
                    to_flush = min(
                        max(to_flush, _flush_count(measures[c], index, level, s)), measures_len
                    )
            if triggered:
                flushed = (measures_len - to_flush) * period
                break
        if triggered:
            break
    if not triggered and n_time >= s["fixed_pre_trigger"]:
        kept = x[:, : s["fixed_pre_trigger"]]
    else:
        kept = x[:, max(pos - s["samples_len"] + flushed, 0) :]
    return kept.reshape(*shape[:-1], kept.shape[-1])


def _flush_count(measures, index, level, s):
    """sox's search back from the trigger for quieter bursts within the allowed gap."""
    n = len(measures)
    k, j_trigger, j_zero = index, n, n
    for j in range(n):
        if measures[k] >= level and j <= j_trigger + s["gap_len"]:
            j_zero = j_trigger = j
        elif measures[k] == 0 and j_trigger >= j_zero:
            j_zero = j
        k = (k + n - 1) % n
    return min(n - 1, j_zero)


# --- vad_batch: torchaudio's vad for each clip of a batch, in stages ----------------------
# (spectra, smoothed/noise spectra, cepstral measures, trigger, gather). The spectra and
# the cepstra are batched FFTs over every measurement position of every clip; the two
# sequential recurrences (the spectrum / noise-floor tracker per bin, whose up/down switch
# is data-dependent, and the trigger's running mean) walk the positions: here a loop over
# positions vectorised over the batch, in the Triton path one kernel each.


def vad_frame_counts(lengths, s):
    """Measurement positions torchaudio visits in a clip of ``lengths`` samples:
    ``len(range(measure_len, length, period))``, as an int64 tensor."""
    span = lengths - s["measure_len"] + s["period"] - 1
    return torch.div(span, s["period"], rounding_mode="floor").clamp(min=0)


def vad_coefficients(n_frames, s, device):
    """Per position, the spectrum smoothing multiplier and its complement as torchaudio
    rounds them to float32 (``t / (1 + t)`` while booting, then the smoothing constant;
    the complement taken in float64 first). Plain device ops: no host-to-device copy."""
    t = torch.arange(n_frames, dtype=torch.float64, device=device)
    boot_max = s["boot_count_max"]
    booting = t <= boot_max if boot_max >= 0 else torch.ones_like(t, dtype=torch.bool)
    mult = torch.where(booting, t / (1.0 + t), s["smooth_mult"])
    return mult.to(torch.float32), (1.0 - mult).to(torch.float32), booting


def vad_spectra(x, n_frames, s):
    """Band magnitudes of the windowed measurement frames of ``x`` (rows, time):
    ``(rows, n_frames, band)`` float32 (frame t ends at sample measure_len + t * period)."""
    measure_len, dft_len = s["measure_len"], s["dft_len"]
    start, end = s["spectrum_band"]
    window = _hann_scaled(measure_len, x.device)
    if n_frames == 0:
        return x.new_zeros(x.shape[0], 0, end - start, dtype=torch.float32)
    frames = x.unfold(-1, measure_len, s["period"])[:, :n_frames]
    frames = (frames * window).to(torch.float32)
    return torch.fft.rfft(frames, n=dft_len)[..., start:end].abs()


def vad_noise_floor(magnitudes, mult, keep, booting, s, noise_reduction_amount):
    """The smoothed spectrum and adaptive noise estimate per bin, position by position
    (torchaudio's float32 operations in its order), written as the noise-reduced,
    cepstrum-windowed band into a zeroed ``(rows, n_frames, dft_len // 2)`` buffer."""
    rows, n_frames, n_bins = magnitudes.shape
    start, end = s["spectrum_band"]
    device = magnitudes.device
    up, down = _f32(s["noise_up_mult"], device), _f32(s["noise_down_mult"], device)
    reduction = _f32(noise_reduction_amount, device)
    floor = torch.empty_like(magnitudes)
    spectrum = magnitudes.new_zeros(rows, n_bins)
    noise = magnitudes.new_zeros(rows, n_bins)
    for t in range(n_frames):
        spectrum = spectrum * mult[t] + magnitudes[:, t] * keep[t]
        power = spectrum**2
        noise_mult = torch.where(power > noise, up, down)
        noise = torch.where(booting[t], power, noise * noise_mult + power * (1 - noise_mult))
        floor[:, t] = power - reduction * noise
    # the square roots once, after the loop (elementwise: the same values)
    lifted = torch.sqrt(torch.maximum(magnitudes.new_zeros(()), floor))
    buffer = magnitudes.new_zeros(rows, n_frames, s["dft_len"] >> 1)
    buffer[..., start:end] = lifted * _hann_scaled(end - start, device)
    return buffer


def _f32(value, device):
    return torch.tensor(value, dtype=torch.float32).to(device)


def vad_measures(buffer, s):
    """torchaudio's measurement per position from the cepstrum of ``buffer``: the float32
    values its ring buffer holds and the float32 increment of its running mean,
    ``(rows, n_frames)`` each (the log and the clamp in float64, as in torchaudio)."""
    cep_start, cep_end = s["cepstrum_band"]
    if buffer.numel() == 0:  # (MKL's FFT rejects an empty batch)
        empty = buffer.new_zeros(buffer.shape[:-1])
        return empty, empty
    power = torch.fft.rfft(buffer)[..., cep_start:cep_end].abs().pow(2).sum(-1)
    power = power.to(torch.float64)
    # a NaN power (from NaN input) fails "> 0" and measures 0, as in torchaudio
    level_db = torch.where(power > 0, torch.log(power / (cep_end - cep_start)), -math.inf)
    measure = torch.clamp_min(21 + level_db, 0.0)
    increment = measure * (1.0 - s["trigger_mult"])
    return measure.to(torch.float32), increment.to(torch.float32)


def _flush_counts(window, level, s):
    """:func:`_flush_count` for each row of ``window`` (..., n): the measures at the
    trigger position and back from it, newest first (zeros before the clip)."""
    n = window.shape[-1]
    j_trigger = torch.full(window.shape[:-1], n, dtype=torch.int64, device=window.device)
    j_zero = j_trigger.clone()
    for j in range(n):  # the search window (search_time * measure_freq), not the clip
        value = window[..., j]
        take = (value >= level) & (j <= j_trigger + s["gap_len"])
        zero = ~take & (value == 0) & (j_trigger >= j_zero)
        j_trigger = torch.where(take, j, j_trigger)
        j_zero = torch.where(take | zero, j, j_zero)
    return j_zero.clamp(max=n - 1)


def vad_trim(measure, increment, frames, lengths, trigger_level, s):
    """Per clip, torchaudio's trim: ``(start, length)`` int64 ``(batch,)`` from the
    measures ``(batch, channels, n_frames)``, the positions and samples per clip."""
    batch, channels, n_frames = measure.shape
    device = measure.device
    level = _f32(trigger_level, device)
    decay = _f32(s["trigger_mult"], device)
    mean = measure.new_zeros(batch, channels)
    hits = torch.zeros(batch, channels, n_frames, dtype=torch.bool, device=device)
    for t in range(n_frames):
        mean = mean * decay + increment[..., t]
        hits[..., t] = mean >= level
    inside = torch.arange(n_frames, device=device) < frames[:, None]
    any_hit = hits.any(1) & inside  # (batch, n_frames)
    return _trim_from_hits(measure, hits, any_hit, frames, lengths, level, s)


def _trim_from_hits(measure, hits, any_hit, frames, lengths, level, s):
    batch, channels, n_frames = measure.shape
    device = measure.device
    n = s["measures_len"]
    triggered = any_hit.any(-1)
    t_star = any_hit.to(torch.int8).argmax(-1) if n_frames else frames.new_zeros(batch)
    if channels and n_frames:
        at_trigger = hits.gather(2, t_star[:, None, None].expand(batch, channels, 1))[..., 0]
        c_star = at_trigger.to(torch.int8).argmax(-1)
        back = t_star[:, None] - torch.arange(n, device=device)  # (batch, n)
        window = measure.gather(2, back.clamp(min=0)[:, None, :].expand(batch, channels, n))
        window = torch.where(back[:, None, :] >= 0, window, 0.0)
        counts = _flush_counts(window, level, s)
        counts = torch.where(torch.arange(channels, device=device) >= c_star[:, None], counts, 0)
        to_flush = counts.amax(-1)
    else:
        to_flush = frames.new_zeros(batch)
    return trim_window(triggered, t_star, to_flush, frames, lengths, s)


def trim_window(triggered, t_star, to_flush, frames, lengths, s):
    """torchaudio's kept span ``[start, start + length)`` from the trigger position, the
    measures flushed back and the clip's positions and samples (int64 tensors)."""
    measure_len, period, samples_len = s["measure_len"], s["period"], s["samples_len"]
    pre = s["fixed_pre_trigger"]
    flushed = (s["measures_len"] - to_flush) * period
    start_triggered = (measure_len + t_star * period - samples_len + flushed).clamp(min=0)
    last = torch.where(frames > 0, measure_len + (frames - 1) * period, 0)
    start_quiet = (last - samples_len).clamp(min=0)
    short = lengths < pre
    start = torch.where(triggered, start_triggered, torch.where(short, start_quiet, 0))
    length = torch.where(triggered | short, lengths - start, pre)
    return start, length


def gather_trimmed(x, start, length):
    """``x`` (batch, channels, time) shifted left by ``start`` per clip, zero past
    ``length``: the trimmed clips, padded to the input's time."""
    n_time = x.shape[-1]
    i = torch.arange(n_time, device=x.device)
    index = (start[:, None] + i).clamp(max=max(n_time - 1, 0))
    out = x.gather(2, index[:, None, :].expand(x.shape))
    return torch.where((i < length[:, None])[:, None, :], out, 0)


def vad_batch(x, lengths, trigger_level, noise_reduction_amount, settings,
              noise_floor=vad_noise_floor, trim=vad_trim):  # fmt: skip
    """torchaudio.functional.vad on each clip of ``x`` (batch, channels, time), clip b
    being ``x[b, :, :lengths[b]]``: (trimmed (batch, channels, time), lengths, starts).
    ``noise_floor`` and ``trim`` are the two sequential stages (the Triton path passes
    its kernels)."""
    s = settings
    batch, channels, n_time = x.shape
    n_frames = len(range(s["measure_len"], n_time, s["period"]))
    frames = vad_frame_counts(lengths, s)
    mult, keep, booting = vad_coefficients(n_frames, s, x.device)
    # the trim point is a selection: measured without autograd; the output is x's samples
    rows = x.detach().reshape(batch * channels, n_time)
    magnitudes = vad_spectra(rows, n_frames, s)
    buffer = noise_floor(magnitudes, mult, keep, booting, s, noise_reduction_amount)
    measure, increment = vad_measures(buffer, s)
    shape = (batch, channels, n_frames)
    start, length = trim(
        measure.reshape(shape), increment.reshape(shape), frames, lengths, trigger_level, s
    )
    return gather_trimmed(x, start, length), length, start
