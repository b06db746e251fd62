"""The Kaldi feature pipeline behind tritaudio.compliance.kaldi: argument checks, the mel
filters, and the dispatch (once per call, in ``_frames``) between the Triton kernels and
the torch reference. Rows are ``(batch, time)`` with per-row lengths throughout.
"""

import functools
import math
from typing import NamedTuple

import torch

from tritaudio import _reference
from tritaudio._backend import backend_for
from tritaudio._common import as_rows, compute_dtype
from tritaudio._reference import kaldi as reference
from tritaudio._reference.kaldi import FrameOptions

EPSILON = reference.EPSILON
MILLISECONDS_TO_SECONDS = 0.001
HAMMING, HANNING, POVEY, RECTANGULAR, BLACKMAN = reference.WINDOWS[:5]
WINDOWS = list(reference.WINDOWS)


def mel_scale_scalar(freq: float) -> float:
    """Hz -> mel, Kaldi's ``1127 ln(1 + f / 700)``."""
    return 1127.0 * math.log(1.0 + freq / 700.0)


def mel_scale(freq: torch.Tensor) -> torch.Tensor:
    """Hz -> mel (elementwise), ``torchaudio.compliance.kaldi.mel_scale``."""
    return 1127.0 * (1.0 + freq / 700.0).log()


def inverse_mel_scale_scalar(mel_freq: float) -> float:
    """mel -> Hz, ``700 (exp(m / 1127) - 1)``."""
    return 700.0 * (math.exp(mel_freq / 1127.0) - 1.0)


def inverse_mel_scale(mel_freq: torch.Tensor) -> torch.Tensor:
    """mel -> Hz (elementwise), ``torchaudio.compliance.kaldi.inverse_mel_scale``."""
    return 700.0 * ((mel_freq / 1127.0).exp() - 1.0)


def vtln_warp_freq(
    vtln_low_cutoff: float,
    vtln_high_cutoff: float,
    low_freq: float,
    high_freq: float,
    vtln_warp_factor: float,
    freq: torch.Tensor,
) -> torch.Tensor:
    """Kaldi's piecewise-linear VTLN warp of frequencies ``freq`` (Hz): ``f / warp``
    between the inflection points ``l = vtln_low_cutoff * max(1, warp)`` and
    ``h = vtln_high_cutoff * min(1, warp)``, linear to ``low_freq`` / ``high_freq``
    (fixed points) outside them, identity outside ``[low_freq, high_freq]``.
    Mirrors ``torchaudio.compliance.kaldi.vtln_warp_freq``.
    """
    if not vtln_low_cutoff > low_freq:
        raise ValueError(f"vtln_low_cutoff ({vtln_low_cutoff}) must be above low_freq ({low_freq})")
    if not vtln_high_cutoff < high_freq:
        raise ValueError(
            f"vtln_high_cutoff ({vtln_high_cutoff}) must be below high_freq ({high_freq})"
        )
    low = vtln_low_cutoff * max(1.0, vtln_warp_factor)
    high = vtln_high_cutoff * min(1.0, vtln_warp_factor)
    scale = 1.0 / vtln_warp_factor
    if not (low > low_freq and high < high_freq):
        raise ValueError(
            f"vtln_warp_factor {vtln_warp_factor} moves the inflection points ({low}, {high}) "
            f"outside ({low_freq}, {high_freq})"
        )
    scale_left = (scale * low - low_freq) / (low - low_freq)
    scale_right = (high_freq - scale * high) / (high_freq - high)
    warped = torch.where(
        freq < low,
        low_freq + scale_left * (freq - low_freq),
        torch.where(freq < high, scale * freq, high_freq + scale_right * (freq - high_freq)),
    )
    return torch.where((freq < low_freq) | (freq > high_freq), freq, warped)


def vtln_warp_mel_freq(
    vtln_low_cutoff: float,
    vtln_high_cutoff: float,
    low_freq,
    high_freq: float,
    vtln_warp_factor: float,
    mel_freq: torch.Tensor,
) -> torch.Tensor:
    """:func:`vtln_warp_freq` on mel frequencies. Mirrors torchaudio's function."""
    freq = inverse_mel_scale(mel_freq)
    warped = vtln_warp_freq(
        vtln_low_cutoff, vtln_high_cutoff, low_freq, high_freq, vtln_warp_factor, freq
    )
    return mel_scale(warped)


def get_mel_banks(
    num_bins: int,
    window_length_padded: int,
    sample_freq: float,
    low_freq: float,
    high_freq: float,
    vtln_low: float,
    vtln_high: float,
    vtln_warp_factor: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Kaldi's triangular mel filters, triangles in mel, in float32.

    Mirrors ``torchaudio.compliance.kaldi.get_mel_banks``. ``high_freq`` <= 0 and
    ``vtln_high`` < 0 are offsets from the Nyquist frequency.

    Returns:
        ``bins`` (num_bins, window_length_padded // 2) (the Nyquist bin is left out) and
        ``center_freqs`` (num_bins, 1) in Hz.
    """
    if num_bins <= 3:
        raise ValueError(f"num_mel_bins must be at least 4, got {num_bins}")
    if window_length_padded % 2:
        raise ValueError(f"window_length_padded must be even, got {window_length_padded}")
    nyquist = 0.5 * sample_freq
    if high_freq <= 0.0:
        high_freq += nyquist
    if not (0.0 <= low_freq < nyquist and 0.0 < high_freq <= nyquist and low_freq < high_freq):
        raise ValueError(
            f"bad low_freq {low_freq} / high_freq {high_freq} for the Nyquist frequency "
            f"{nyquist} (need 0 <= low_freq < high_freq <= Nyquist)"
        )
    mel_low, mel_high = mel_scale_scalar(low_freq), mel_scale_scalar(high_freq)
    mel_delta = (mel_high - mel_low) / (num_bins + 1)
    if vtln_high < 0.0:
        vtln_high += nyquist
    if vtln_warp_factor != 1.0 and not (
        low_freq < vtln_low < high_freq and 0.0 < vtln_high < high_freq and vtln_low < vtln_high
    ):
        raise ValueError(
            f"bad vtln_low {vtln_low} / vtln_high {vtln_high} for low_freq {low_freq} and "
            f"high_freq {high_freq}"
        )
    index = torch.arange(num_bins, dtype=torch.float32).unsqueeze(1)
    edges = [mel_low + (index + k) * mel_delta for k in range(3)]  # left, center, right
    if vtln_warp_factor != 1.0:
        warp = (vtln_low, vtln_high, low_freq, high_freq, vtln_warp_factor)
        edges = [vtln_warp_mel_freq(*warp, edge) for edge in edges]
    left, center, right = edges
    fft_bin_width = sample_freq / window_length_padded
    n_bins = window_length_padded // 2
    mel = mel_scale(fft_bin_width * torch.arange(n_bins, dtype=torch.float32)).unsqueeze(0)
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    if vtln_warp_factor == 1.0:
        bins = torch.clamp(torch.minimum(up, down), min=0.0)
    else:  # warping may reorder left, center and right
        rising = (mel > left) & (mel <= center)
        falling = (mel > center) & (mel < right)
        bins = torch.where(rising, up, torch.where(falling, down, 0.0))
    return bins, inverse_mel_scale(center)


@functools.lru_cache(maxsize=32)
def _filterbank(num_bins, padded_size, sample_freq, low, high, vtln_low, vtln_high, warp,
                dtype, device):  # fmt: skip
    """(padded_size // 2 + 1, num_bins) filters for the mel kernel (Nyquist row zero)."""
    bins, _ = get_mel_banks(num_bins, padded_size, sample_freq, low, high, vtln_low, vtln_high,
                            warp)  # fmt: skip
    return torch.nn.functional.pad(bins, (0, 1)).t().to(device=device, dtype=dtype).contiguous()


@functools.lru_cache(maxsize=32)
def _window(window_type, size, blackman_coeff, dtype, device):
    return reference.window_function(window_type, size, blackman_coeff, dtype, device)


def frame_options(args):
    """Frame geometry and per-frame processing from the shared arguments, checked."""
    rate = args["sample_frequency"]
    if not rate > 0:
        raise ValueError(f"sample_frequency must be > 0, got {rate}")
    window_shift = int(rate * args["frame_shift"] * MILLISECONDS_TO_SECONDS)
    window_size = int(rate * args["frame_length"] * MILLISECONDS_TO_SECONDS)
    if window_size < 2:
        raise ValueError(
            f"frame_length {args['frame_length']} ms is {window_size} samples at {rate} Hz; "
            "a frame needs at least 2"
        )
    if window_shift <= 0:
        raise ValueError(
            f"frame_shift {args['frame_shift']} ms is {window_shift} samples at {rate} Hz; "
            "it must be positive"
        )
    round_up = args["round_to_power_of_two"]
    padded_size = reference.next_power_of_2(window_size) if round_up else window_size
    if padded_size % 2:
        raise ValueError(
            f"the FFT length {padded_size} (frame_length) must be even: use "
            "round_to_power_of_two or another frame_length"
        )
    if not 0.0 <= args["preemphasis_coefficient"] <= 1.0:
        raise ValueError(
            f"preemphasis_coefficient must be in [0, 1], got {args['preemphasis_coefficient']}"
        )
    if args["window_type"] not in WINDOWS:
        raise ValueError(f"window_type must be one of {WINDOWS}, got {args['window_type']!r}")
    if not args["energy_floor"] >= 0.0:
        raise ValueError(f"energy_floor must be >= 0, got {args['energy_floor']}")
    return FrameOptions(
        window_size, window_shift, padded_size, bool(args["snip_edges"]), float(args["dither"]),
        bool(args["remove_dc_offset"]), bool(args["raw_energy"]),
        float(args["preemphasis_coefficient"]), float(args["energy_floor"]),
        args["window_type"], float(args["blackman_coeff"]),
    )  # fmt: skip


def _row_lengths(lengths, rows):
    """int64 (rows,) lengths on the rows' device; checked where they are on the CPU."""
    batch, n_time = rows.shape
    if lengths is None:
        return torch.full((batch,), n_time, dtype=torch.int64, device=rows.device)
    lengths = torch.as_tensor(lengths)
    if lengths.shape != (batch,) or lengths.is_floating_point() or lengths.is_complex():
        raise ValueError(f"lengths must be {batch} integers, got {tuple(lengths.shape)} "
                         f"{lengths.dtype}")  # fmt: skip
    if (
        lengths.device.type == "cpu"
        and batch
        and not (int(lengths.min()) >= 0 and int(lengths.max()) <= n_time)
    ):
        raise ValueError(f"lengths must be in [0, {n_time}], got {lengths.tolist()}")
    return lengths.to(device=rows.device, dtype=torch.int64)


def _frame_total(n_time, args, options):
    """Frames of the output: those of a row of all ``n_time`` samples."""
    if n_time < args["min_duration"] * args["sample_frequency"]:
        return 0
    return reference.frame_counts(n_time, options)


class Framed(NamedTuple):
    """Kaldi frames of a batch and what the rest of the pipeline needs to know of them."""

    frames: torch.Tensor  # (batch, frames, size) or, packed, (1, valid frames, size)
    log_energy: torch.Tensor  # (batch, frames) or (1, valid frames)
    counts: torch.Tensor  # (batch,) frames per row
    options: FrameOptions
    backend: str
    valid: torch.Tensor | None  # packed: the (batch, frames) mask of the frames kept


def _frames(rows, lengths, args, generator, backend):
    """The Kaldi frames of (batch, time) rows. Triton: (batch, frames, padded_size), every
    frame (zeros past a row's count). Torch: only the rows' own frames, packed as one row
    (1, kept frames, window_size) (the FFT zero-pads them), so no work goes to padding."""
    options = frame_options(args)
    compute = compute_dtype(rows)
    min_samples = args["min_duration"] * args["sample_frequency"]
    n_frames = _frame_total(rows.shape[1], args, options)
    counts = torch.where(lengths < min_samples, 0, reference.frame_counts(lengths, options))
    noise = None
    if options.dither != 0.0 and n_frames:
        shape = (rows.shape[0], n_frames, options.window_size)
        noise = torch.randn(shape, generator=generator, device=rows.device, dtype=compute)
    if backend == "torch":
        valid = torch.arange(n_frames, device=rows.device) < counts.unsqueeze(1)
        frames, log_energy = reference.kaldi_frames(
            rows.to(compute), lengths, n_frames, noise, options, valid
        )
        return Framed(frames[None], log_energy[None], counts, options, "torch", valid)
    from tritaudio._ops import kaldi as kaldi_ops

    window = _window(options.window_type, options.window_size, options.blackman_coeff,
                     compute, rows.device)  # fmt: skip
    frames, log_energy = kaldi_ops.kaldi_frames(
        rows, lengths, counts, rows.new_empty(0, dtype=compute) if noise is None else noise,
        window, n_frames, options.padded_size, options.window_shift, int(options.snip_edges),
        options.dither, int(options.remove_dc_offset), int(options.raw_energy),
        options.preemphasis_coefficient, options.energy_floor,
    )  # fmt: skip
    return Framed(frames, log_energy, counts, options, "triton", None)


def _spectrum(frames, padded_size, backend):
    """The real FFT of each frame zero-padded to ``padded_size``, as (re, im) pairs
    (batch, frames, padded_size // 2 + 1, 2)."""
    if frames.numel() == 0:  # MKL's FFT rejects empty batches
        return frames.new_zeros(*frames.shape[:-1], padded_size // 2 + 1, 2)
    if backend == "triton":  # cuFFT, and one inverse FFT for the backward
        from tritaudio._ops.kaldi import RealFFTPairs

        return RealFFTPairs.apply(frames)
    if frames.shape[-1] != padded_size:  # the torch path's frames (pad copies even by 0)
        frames = torch.nn.functional.pad(frames, (0, padded_size - frames.shape[-1]))
    return torch.view_as_real(torch.fft.rfft(frames))  # (rfft's own n= is slower on MKL)


def _mel_energies(frames, args, options, backend):
    """(batch, frames, num_mel_bins) (log) mel energies of the Kaldi frames."""
    fb = _filterbank(
        args["num_mel_bins"], options.padded_size, args["sample_frequency"], args["low_freq"],
        args["high_freq"], args["vtln_low"], args["vtln_high"], args["vtln_warp"], frames.dtype,
        frames.device,
    )  # fmt: skip
    spec = _spectrum(frames, options.padded_size, backend)
    power = 2.0 if args["use_power"] else 1.0
    if backend == "torch":
        log = _reference.LogScale(1.0, EPSILON, base=math.e) if args["use_log_fbank"] else None
        return _reference.mel_power(spec, fb, power, log).transpose(1, 2)
    from tritaudio import _ops

    use_log = int(args["use_log_fbank"])
    save_mel = use_log and torch.is_grad_enabled() and spec.requires_grad
    mel, _ = _ops.mel_power(spec, fb, power, use_log, 1.0, EPSILON, 0.0, 0.0, int(save_mel))
    return mel.transpose(1, 2)


def _finish(features, framed, subtract_mean, dtype):
    """(batch, frames, dim) features: unpacked, zeros past each row's frames, each row's
    mean subtracted if asked, in the input's dtype."""
    counts = framed.counts
    if framed.valid is not None:  # the torch path's packed frames back into their rows
        unpacked = features.new_zeros(*framed.valid.shape, features.shape[-1])
        features = unpacked.index_put((framed.valid,), features[0])
    if subtract_mean:
        return reference.subtract_row_means(features, counts).to(dtype)
    if framed.valid is None:
        valid = torch.arange(features.shape[1], device=features.device) < counts.unsqueeze(1)
        features = torch.where(valid.unsqueeze(-1), features, 0.0)
    return features.to(dtype)


def _with_energy(mel, log_energy, args):
    if not args["use_energy"]:
        return mel
    energy = log_energy.unsqueeze(-1)
    return torch.cat((mel, energy) if args["htk_compat"] else (energy, mel), dim=-1)


# The torch path runs a batch in chunks of about this many samples: a whole batch streams
# every intermediate (frames, spectra) through memory, while chunks stay in the CPU's caches
# (as torchaudio's per-utterance calls do).
CHUNK_SAMPLES = 2**18


def _dispatched(pipeline):
    """``pipeline(rows, lengths, generator, args, backend)`` with the backend chosen here,
    once per call. Triton: the whole batch. Torch: chunks of rows, each cut (on the CPU,
    where reading the lengths costs nothing) to its longest row, its output padded back to
    the batch's frames."""

    @functools.wraps(pipeline)
    def run(rows, lengths, generator, args):
        rows = as_rows(rows)
        lengths = _row_lengths(lengths, rows)
        backend = "torch" if rows.numel() == 0 else backend_for(rows)
        if backend == "triton":
            return pipeline(rows, lengths, generator, args, backend)
        n_frames = _frame_total(rows.shape[1], args, frame_options(args))
        per_chunk = max(1, CHUNK_SAMPLES // max(rows.shape[1], 1))
        chunks = []
        for i in range(0, rows.shape[0], per_chunk):
            chunk, chunk_lengths = rows[i : i + per_chunk], lengths[i : i + per_chunk]
            if rows.device.type == "cpu" and chunk.numel():
                chunk = chunk[:, : int(chunk_lengths.max())]
            features, counts = pipeline(chunk, chunk_lengths, generator, args, backend)
            padding = (0, 0, 0, n_frames - features.shape[1])
            chunks.append((torch.nn.functional.pad(features, padding), counts))
        if len(chunks) == 1:
            return chunks[0]
        return torch.cat([c[0] for c in chunks]), torch.cat([c[1] for c in chunks])

    return run


@_dispatched
def fbank_rows(rows, lengths, generator, args, backend):
    """fbank of (batch, time) rows: (features (batch, frames, dim), frame counts)."""
    framed = _frames(rows, lengths, args, generator, backend)
    mel = _mel_energies(framed.frames, args, framed.options, framed.backend)
    features = _with_energy(mel, framed.log_energy, args)
    return _finish(features, framed, args["subtract_mean"], rows.dtype), framed.counts


@_dispatched
def mfcc_rows(rows, lengths, generator, args, backend):
    """mfcc of (batch, time) rows: (features (batch, frames, num_ceps), frame counts)."""
    num_ceps, num_mel_bins = args["num_ceps"], args["num_mel_bins"]
    if num_ceps > num_mel_bins:
        raise ValueError(f"num_ceps ({num_ceps}) cannot exceed num_mel_bins ({num_mel_bins})")
    fbank_args = dict(args, use_log_fbank=True, use_power=True)
    framed = _frames(rows, lengths, args, generator, backend)
    mel = _mel_energies(framed.frames, fbank_args, framed.options, framed.backend)
    dct = reference.dct_matrix(num_ceps, num_mel_bins, mel.dtype, mel.device)
    ceps = torch.matmul(mel, dct)
    lifter = args["cepstral_lifter"]
    if lifter != 0.0:
        ceps = ceps * reference.lifter_coefficients(num_ceps, lifter, ceps.dtype, ceps.device)
    c0 = ceps[..., :1]
    if args["use_energy"]:
        c0 = framed.log_energy.unsqueeze(-1)
    if args["htk_compat"]:  # C0 (or the energy) last; C0 scaled by sqrt(2) as HTK's
        ceps = torch.cat((ceps[..., 1:], c0 if args["use_energy"] else c0 * math.sqrt(2)), -1)
    else:
        ceps = torch.cat((c0, ceps[..., 1:]), -1)
    return _finish(ceps, framed, args["subtract_mean"], rows.dtype), framed.counts


@_dispatched
def spectrogram_rows(rows, lengths, generator, args, backend):
    """spectrogram of (batch, time) rows: (features (batch, frames, bins), frame counts)."""
    framed = _frames(rows, lengths, args, generator, backend)
    spectrum = _spectrum(framed.frames, framed.options.padded_size, framed.backend)
    power = spectrum.pow(2).sum(-1).clamp(min=EPSILON).log()
    features = torch.cat((framed.log_energy.unsqueeze(-1), power[..., 1:]), dim=-1)
    return _finish(features, framed, args["subtract_mean"], rows.dtype), framed.counts
