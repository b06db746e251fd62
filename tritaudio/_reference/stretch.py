"""Plain-torch phase vocoder (both paths use it; it works in chunks to bound memory)."""

import math

import torch

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
