"""Plain-torch Kaldi feature pipeline (torchaudio.compliance.kaldi's numbers), batched.

Rows of a ``(rows, time)`` batch each have their own length. Kaldi's frame ``f`` of a row
covers the samples ``[f * shift - offset, f * shift - offset + window_size)`` of the row
extended past its ends by mirroring with the edge sample repeated (``offset`` is 0 with
snip_edges, else ``window_size // 2 - shift // 2``). Frames past a row's count are zeros.
What kernels/kaldi.py computes; the CPU fallback and the tests' oracle.
"""

import math
from typing import NamedTuple

import torch

EPSILON = float(torch.finfo(torch.float32).eps)  # Kaldi's floor on every log
WINDOWS = ("hamming", "hanning", "povey", "rectangular", "blackman")


class FrameOptions(NamedTuple):
    """How a signal is cut into Kaldi frames and what each frame goes through."""

    window_size: int  # samples per frame
    window_shift: int  # samples between frame starts
    padded_size: int  # FFT length (window_size, or the next power of two)
    snip_edges: bool
    dither: float
    remove_dc_offset: bool
    raw_energy: bool
    preemphasis_coefficient: float
    energy_floor: float
    window_type: str
    blackman_coeff: float

    @property
    def offset(self) -> int:
        """Samples of the mirrored extension before frame 0 (negative: skipped samples)."""
        return 0 if self.snip_edges else self.window_size // 2 - self.window_shift // 2


def next_power_of_2(n: int) -> int:
    return 1 if n == 0 else 1 << (n - 1).bit_length()


def window_function(window_type, size, blackman_coeff, dtype, device=None):
    """Kaldi's analysis windows (symmetric), computed in float64 and cast to ``dtype``."""
    n = torch.arange(size, dtype=torch.float64, device=device)
    phase = 2 * math.pi * n / (size - 1)
    if window_type == "hanning":
        window = 0.5 - 0.5 * torch.cos(phase)
    elif window_type == "hamming":
        window = 0.54 - 0.46 * torch.cos(phase)
    elif window_type == "povey":  # Hann raised to 0.85: zero at both edges
        window = (0.5 - 0.5 * torch.cos(phase)).pow(0.85)
    elif window_type == "rectangular":
        window = torch.ones_like(n)
    elif window_type == "blackman":
        window = (
            blackman_coeff - 0.5 * torch.cos(phase) + (0.5 - blackman_coeff) * torch.cos(2 * phase)
        )
    else:
        raise ValueError(f"window_type must be one of {WINDOWS}, got {window_type!r}")
    return window.to(dtype)


def frame_counts(lengths, options):
    """Frames per row (any int tensor or int): a row shorter than one window has none."""
    size, shift = options.window_size, options.window_shift
    # snip_edges: the frames that fit; else one per shift, centred (rounded to nearest)
    count = 1 + (lengths - size) // shift if options.snip_edges else (lengths + shift // 2) // shift
    if isinstance(lengths, torch.Tensor):
        return torch.where(lengths >= size, count, 0)
    return count if lengths >= size else 0


def mirrored_index(u, lengths):
    """Index into a row of ``lengths`` samples of position ``u`` of its extension: ...,
    x[1], x[0] | x[0], ..., x[L - 1] | x[L - 1], x[L - 2], ..."""
    u = torch.where(u < 0, -u - 1, u)
    return torch.where(u >= lengths, 2 * lengths - 1 - u, u)


def raw_frames(x, lengths, n_frames, options):
    """(rows, n_frames, window_size) frames of the mirrored signals, before any
    processing (a view of one gathered extension per row)."""
    rows, n_time = x.shape
    size, shift = options.window_size, options.window_shift
    extent = max((n_frames - 1) * shift + size, size)
    u = torch.arange(extent, device=x.device) - options.offset
    index = mirrored_index(u.unsqueeze(0), lengths.unsqueeze(1)).clamp(0, max(n_time - 1, 0))
    if n_time == 0:
        return x.new_zeros(rows, n_frames, size)
    extended = x.gather(1, index)
    return extended.unfold(1, size, shift)[:, :n_frames]


def log_energy(frames, energy_floor):
    """ln of each frame's energy, floored at float32 eps and at ``energy_floor``."""
    energy = frames.pow(2).sum(-1).clamp(min=EPSILON).log()
    if energy_floor == 0.0:
        return energy
    return energy.clamp(min=math.log(energy_floor))


def kaldi_frames(x, lengths, n_frames, noise, options, valid=None):
    """What kernels/kaldi.py computes, less its zero padding to the FFT length: frames
    (rows, n_frames, window_size) after dither (``options.dither * noise``), DC removal,
    pre-emphasis and window, and their log energies (rows, n_frames). With ``valid``, a
    (rows, n_frames) mask, only those frames, packed: (kept, window_size) and (kept,)."""
    frames = raw_frames(x, lengths, n_frames, options)
    if valid is not None:
        frames = frames[valid]
        noise = None if noise is None else noise[valid]
    if noise is not None:
        frames = frames + options.dither * noise
    if options.remove_dc_offset:
        frames = frames - frames.mean(-1, keepdim=True)
    if options.raw_energy:
        energy = log_energy(frames, options.energy_floor)
    if options.preemphasis_coefficient != 0.0:
        previous = torch.cat((frames[..., :1], frames[..., :-1]), dim=-1)
        frames = frames - options.preemphasis_coefficient * previous
    window = window_function(
        options.window_type, options.window_size, options.blackman_coeff, x.dtype, x.device
    )
    frames = frames * window
    if not options.raw_energy:
        energy = log_energy(frames, options.energy_floor)
    return frames, energy


def dct_matrix(num_ceps, num_mel_bins, dtype, device=None):
    """(num_mel_bins, num_ceps) orthonormal DCT-II, Kaldi's (C0 weighted sqrt(1 / n))."""
    n = torch.arange(num_mel_bins, dtype=torch.float64, device=device).unsqueeze(1)
    k = torch.arange(num_ceps, dtype=torch.float64, device=device)
    dct = torch.cos(math.pi / num_mel_bins * (n + 0.5) * k) * math.sqrt(2.0 / num_mel_bins)
    dct[:, 0].fill_(math.sqrt(1.0 / num_mel_bins))  # traced without a lifted constant
    return dct.to(dtype)


def lifter_coefficients(num_ceps, cepstral_lifter, dtype, device=None):
    """Kaldi's cepstral liftering ``1 + L / 2 * sin(pi i / L)`` (C0 unchanged)."""
    i = torch.arange(num_ceps, dtype=torch.float64, device=device)
    return (1.0 + 0.5 * cepstral_lifter * torch.sin(math.pi * i / cepstral_lifter)).to(dtype)


def subtract_row_means(features, counts):
    """Each row's mean over its own frames subtracted (Kaldi's subtract_mean); frames past
    ``counts`` stay zero. ``features`` (rows, frames, dim)."""
    valid = torch.arange(features.shape[1], device=features.device) < counts.unsqueeze(1)
    valid = valid.unsqueeze(-1)
    sums = torch.where(valid, features, 0.0).sum(1, keepdim=True)
    means = sums / counts.clamp(min=1).view(-1, 1, 1).to(features.dtype)
    return torch.where(valid, features - means, 0.0)
