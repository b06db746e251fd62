"""Plain-torch SoX-like effects (torchaudio's numbers): the implementation on both paths
(overdrive's DC blocker aside, which is an lfilter). Arguments are checked by
``tritaudio.functional.effects``.
"""

import math

import torch
import torch.nn.functional as F

from tritaudio._backend import _constant_under_torch_compile


def contrast(waveform, enhancement_amount):
    """torchaudio.functional.contrast: sin(x pi / 2 + c sin(2 pi x)), c = amount / 750."""
    phase = waveform * (math.pi / 2)
    return torch.sin(phase + enhancement_amount / 750.0 * torch.sin(phase * 4))


def dcshift(waveform, shift, limiter_gain):
    """torchaudio.functional.dcshift, out of place (torchaudio writes into its input)."""
    if limiter_gain is None or shift == 0:
        return (waveform + shift).clamp(-1, 1)
    threshold = 1.0 - (abs(shift) - limiter_gain)
    shifted = (waveform + shift).clamp(-1, 1)
    if shift > 0:
        peak = waveform > threshold
        limited = (waveform - threshold) * limiter_gain / (1 - threshold) + threshold + shift
        return torch.where(peak, limited.clamp(max=threshold), shifted)
    peak = waveform < -threshold
    limited = (waveform + threshold) * limiter_gain / (1 - threshold) - threshold + shift
    return torch.where(peak, limited.clamp(min=-threshold), shifted)


def _draw(high, generator):
    # torch.randint(high, [1]) as torchaudio draws it (0 when the range is empty)
    if high <= 0:
        return 0
    return int(torch.randint(high, [1], generator=generator))


def dither(waveform, density_function, noise_shaping, generator):
    """torchaudio.functional.dither: the same draws from ``generator`` (torch's global
    generator when None) give the same output. Without writing into the input."""
    shape = waveform.shape
    rows = waveform.reshape(-1, shape[-1])
    channels, n_time = rows.shape[0] - 1, rows.shape[-1] - 1
    channel = _draw(channels, generator) if channels > 0 else 0
    time = _draw(n_time, generator) if n_time > 0 else 0
    scaled = rows * (2**15 - 2)
    if density_function == "RPDF":
        dithered = scaled + (rows[channel, time] - 0.5)
    elif density_function == "GPDF":
        # torchaudio accumulates into a view of the input: a later draw of the same
        # sample reads the running sum. Reproduced on a copy of that one sample.
        total = rows[channel, time].clone()
        for _ in range(6):
            draw_channel = _draw(channels, generator)
            draw_time = _draw(n_time, generator)
            same = draw_channel == channel and draw_time == time
            total = total + (total if same else rows[draw_channel, draw_time])
        dithered = scaled + total
    else:
        window = torch.bartlett_window(n_time + 1, dtype=scaled.dtype, device=scaled.device)
        dithered = scaled + window
    quantised = torch.round(dithered) / 2**15
    if noise_shaping:
        if density_function == "GPDF":  # the error is taken against torchaudio's mutated input
            rows = rows.clone()
            rows[channel, time] = total
        error = quantised - rows
        quantised = quantised + F.pad(error, (1, 0))[:, : rows.shape[-1]]
    return quantised.reshape(shape)


def wave_table(wave_type, table_size, low, high, phase, integer, device):
    """torchaudio's modulation table for the flanger and the phaser (float64 math)."""
    offset = int(phase / math.pi / 2 * table_size + 0.5)
    point = (torch.arange(table_size, device=device) + offset) % table_size
    if wave_type == "SINE":
        d = (torch.sin(point.double() / table_size * 2 * math.pi) + 1) / 2
    else:
        d = point.double() * 2 / table_size
        quarter = torch.div(4 * point, table_size, rounding_mode="floor")
        d = torch.where(quarter == 0, d + 0.5, d)
        d = torch.where((quarter == 1) | (quarter == 2), 1.5 - d, d)
        d = torch.where(quarter == 3, d - 1.5, d)
    d = d * (high - low) + low
    if integer:
        return torch.where(d < 0, d - 0.5, d + 0.5).to(torch.int32)
    return d.to(torch.float32)


def overdrive_shape(waveform, gain, colour):
    """The overdrive's soft clipper: t - t^3 / 3 of t = gain x + colour, +-2/3 beyond +-1."""
    t = waveform * gain + colour
    return torch.where(t < -1, -2.0 / 3.0, torch.where(t > 1, 2.0 / 3.0, t - t**3 / 3))


def phaser_lags(sample_rate, n_time, delay_ms, mod_speed, sinusoidal, device):
    """The phaser's feedback lag at every sample (int64, (n_time,)) and its delay length.

    torchaudio's circular buffer, unrolled: sample i adds ``decay`` times the sum it
    computed ``lag[i] = delay - mod[i % mod_len] + 1`` samples before (zero before 0).
    """
    delay = int(delay_ms * 0.001 * sample_rate + 0.5)
    mod_len = int(sample_rate / mod_speed + 0.5)
    wave = "SINE" if sinusoidal else "TRIANGLE"
    table = wave_table(wave, mod_len, 1.0, float(delay), math.pi / 2, True, device)
    index = torch.arange(n_time, device=device) % mod_len
    return delay - table[index].long() + 1, delay


@_constant_under_torch_compile
def _host_phaser_lags(sample_rate, n_time, delay_ms, mod_speed, sinusoidal):
    """:func:`phaser_lags` on the host, as Python ints (a constant to torch.compile)."""
    lags, delay = phaser_lags(sample_rate, n_time, delay_ms, mod_speed, sinusoidal, "cpu")
    return lags.tolist(), delay


def phaser(waveform, sample_rate, gain_in, gain_out, delay_ms, decay, mod_speed, sinusoidal):
    """torchaudio.functional.phaser on (rows, time): s[i] = gain_in x[i] + decay s[i -
    lag[i]], out = clamp(gain_out s). Sequential over time (a Python loop of row ops)."""
    n_time = waveform.shape[-1]
    lags, delay = _host_phaser_lags(sample_rate, n_time, delay_ms, mod_speed, sinusoidal)
    if delay == 0:
        raise ValueError("delay_ms * sample_rate must give a delay of at least one sample")
    driven = waveform * gain_in
    out = []
    for i in range(n_time):
        previous = i - lags[i]
        feedback = out[previous] * decay if previous >= 0 else 0.0
        out.append(driven[:, i] + feedback)
    stacked = torch.stack(out, dim=1) if out else driven
    return (stacked * gain_out).clamp(-1, 1)


def flanger(waveform, sample_rate, delay, depth, regen, width, speed, phase, modulation, linear):
    """torchaudio.functional.flanger on (batch, channels, time), sequential over time."""
    batch, channels, n_time = waveform.shape
    feedback_gain, delay_gain = regen / 100, width / 100
    delay_min, delay_depth = delay / 1000, depth / 1000
    in_gain = 1.0 / (1 + delay_gain)
    delay_gain = delay_gain / (1 + delay_gain) * (1 - abs(feedback_gain))
    buffer_length = int((delay_min + delay_depth) * sample_rate + 0.5) + 2
    lfo_length = int(sample_rate / speed)
    wave = "SINE" if modulation == "sinusoidal" else "TRIANGLE"
    lfo = wave_table(wave, lfo_length, float(math.floor(delay_min * sample_rate + 0.5)),
                     buffer_length - 2.0, 3 * math.pi / 2, False, waveform.device)  # fmt: skip
    lfo = lfo.to(waveform.dtype)
    channel_offsets = (torch.arange(channels) * lfo_length * (phase / 100) + 0.5).long()
    buffers = waveform.new_zeros(batch, channels, buffer_length)
    last = waveform.new_zeros(batch, channels)
    channel_index = torch.arange(channels, device=waveform.device)
    position = 0
    out = []
    for i in range(n_time):
        position = (position + buffer_length - 1) % buffer_length
        delays = lfo[(i % lfo_length + channel_offsets) % lfo_length]
        frac = torch.frac(delays)
        whole = torch.floor(delays).long()
        written = waveform[:, :, i] + last * feedback_gain
        buffers = buffers.clone()
        buffers[:, :, position] = written
        taps = [buffers[:, channel_index, (position + whole + k) % buffer_length] for k in range(3)]
        d0, d1 = taps[0], taps[1]
        if linear:
            delayed = d0 + (d1 - d0) * frac
        else:
            d2 = taps[2] - d0
            d1 = d1 - d0
            delayed = d0 + ((d2 * 0.5 - d1) * frac + (d1 * 2 - d2 * 0.5)) * frac
        last = delayed
        out.append(waveform[:, :, i] * in_gain + delayed * delay_gain)
    stacked = torch.stack(out, dim=-1) if out else waveform.clone()
    return stacked.clamp(-1, 1)
