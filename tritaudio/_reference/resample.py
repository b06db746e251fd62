"""Plain-torch reference of the resample family: the compact windowed-sinc filter table and
its application.
"""

import math

import torch

from tritaudio._common import LOW_PRECISION, resampled_length


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
    n_out = resampled_length(n_in, orig, new)
    compute_dtype = torch.float32 if waveform.dtype in LOW_PRECISION else None
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
