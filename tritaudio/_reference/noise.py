"""Plain-torch reference of the noise family: gain, add_noise, emphasis filters, fade curves."""

import math

import torch

from tritaudio._common import LOW_PRECISION


def gain(waveform: torch.Tensor, gain_db: float) -> torch.Tensor:
    """torchaudio.functional.gain: ``waveform * 10 ** (gain_db / 20)``."""
    if gain_db == 0:
        return waveform
    return waveform * 10 ** (gain_db / 20)


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
    wide = torch.float32 if waveform.dtype in LOW_PRECISION else None
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
    # a Python number as the base: no tensor of it copied to the device
    powers = torch.pow(float(coeff), lags.clamp(min=0).to(x.dtype)) * (lags >= 0)
    carry_weights = torch.pow(float(coeff), (steps + 1).to(x.dtype))
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
