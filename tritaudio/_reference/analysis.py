"""Plain-torch analysis ops: pitch, CMN, loudness (with its K-weighting IIR) and VAD.

The CPU fallback of ``tritaudio.functional.analysis`` and the tests' oracle. Each function
computes what torchaudio 2.11 computes, vectorised where torchaudio loops.
"""

import math

import torch

IIR_CHUNK = 256  # samples per block of the all-pole recursion (see all_pole)


def _all_pole_tables(a1, a2, chunk, dtype, device):
    """For ``y[n] = v[n] - a1 y[n-1] - a2 y[n-2]`` on a block of ``chunk`` samples:
    the zero-state matrix ``H`` (``y = H v`` from rest) and the responses ``g`` (2, chunk)
    to the initial states ``y[-1] = 1`` and ``y[-2] = 1``. Built in float64."""
    h = [1.0, -a1]
    g1 = [-a1, -a1 * -a1 - a2]  # y[-1] = 1, y[-2] = 0
    g2 = [-a2, -a1 * -a2]  # y[-1] = 0, y[-2] = 1
    for _ in range(2, chunk):
        h.append(-a1 * h[-1] - a2 * h[-2])
        g1.append(-a1 * g1[-1] - a2 * g1[-2])
        g2.append(-a1 * g2[-1] - a2 * g2[-2])
    h = torch.tensor(h[:chunk], dtype=torch.float64)
    lag = torch.arange(chunk)[:, None] - torch.arange(chunk)[None, :]
    toeplitz = torch.where(lag >= 0, h[lag.clamp(min=0)], 0.0)
    g = torch.tensor([g1[:chunk], g2[:chunk]], dtype=torch.float64)
    return toeplitz.to(dtype=dtype, device=device), g.to(dtype=dtype, device=device)


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
    g = torch.tensor(CHANNEL_WEIGHTS[:channels], dtype=energy.dtype, device=energy.device)

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


def sliding_window_cmn(specgram, cmn_window, min_cmn_window, center, norm_vars):
    """torchaudio.functional.sliding_window_cmn on ``(..., time, freq)``: window sums as
    differences of float64 prefix sums (torchaudio keeps running sums in the input dtype)."""
    shape = specgram.shape
    n_frames, n_feats = shape[-2], shape[-1]
    x = specgram.reshape(math.prod(shape[:-2]), n_frames, n_feats)
    starts, ends = cmn_windows(n_frames, cmn_window, min_cmn_window, center)
    start = torch.tensor(starts, dtype=torch.int64, device=x.device)
    end = torch.tensor(ends, dtype=torch.int64, device=x.device)
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
    lifted = []
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
        floor = power - noise_reduction_amount * state["noise"]
        lifted.append(torch.sqrt(torch.maximum(torch.zeros_like(floor), floor)))
        if boot >= 0:
            state["boot_count"] = -1 if boot == s["boot_count_max"] else boot + 1
    buffer = x.new_zeros(x.shape[0], len(positions), dft_len >> 1, dtype=torch.float32)
    buffer[..., start:end] = torch.stack(lifted, dim=1) * state["cepstrum_window"]
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
