"""The resample family's functions: resample and speed (torchaudio.functional's names).

The filter is checked once (`_resample_filter`) and applied by the Triton kernel
(kernels/resample.py) or the torch reference.
"""

import math
import numbers
import warnings
from collections import OrderedDict
from typing import NamedTuple

import torch

from tritaudio import _reference
from tritaudio._backend import backend_for
from tritaudio._checks import check_float_waveform, check_rate
from tritaudio._common import (
    MAX_LOWPASS_FILTER_WIDTH,
    MAX_TABLE_TAPS,
    as_rows,
    compute_dtype,
    resampled_length,
)

KAISER_BETA = 14.769656459379492  # torchaudio's default for sinc_interp_kaiser


_DEPRECATED_METHODS = {
    "sinc_interpolation": "sinc_interp_hann",
    "kaiser_window": "sinc_interp_kaiser",
}


class ResampleFilter(NamedTuple):
    """A checked resampling filter; rates reduced by their gcd."""

    orig: int
    new: int
    lowpass_filter_width: float
    rolloff: float
    kaiser: int
    beta: float


def _resample_filter(
    orig_freq,
    new_freq,
    lowpass_filter_width=6,
    rolloff=0.99,
    resampling_method="sinc_interp_hann",
    beta=None,
):
    """Check :func:`resample`'s arguments; None when the rates are equal."""
    orig, new = check_rate("orig_freq", orig_freq), check_rate("new_freq", new_freq)
    if isinstance(lowpass_filter_width, bool) or not isinstance(lowpass_filter_width, numbers.Real):
        raise TypeError(f"lowpass_filter_width must be a number, got {lowpass_filter_width!r}")
    if not lowpass_filter_width > 0 or not math.isfinite(lowpass_filter_width):
        raise ValueError(f"lowpass_filter_width must be positive, got {lowpass_filter_width}")
    if lowpass_filter_width > MAX_LOWPASS_FILTER_WIDTH:
        raise ValueError(
            f"lowpass_filter_width must be at most {MAX_LOWPASS_FILTER_WIDTH} zero crossings "
            f"(torchaudio's sharpest preset uses 64), got {lowpass_filter_width}"
        )
    if not isinstance(rolloff, numbers.Real) or not 0 < rolloff <= 1:
        raise ValueError(f"rolloff must be in (0, 1], got {rolloff!r}")
    if resampling_method in _DEPRECATED_METHODS:
        replacement = _DEPRECATED_METHODS[resampling_method]
        warnings.warn(
            f"resampling_method {resampling_method!r} is deprecated; use {replacement!r}",
            FutureWarning,
            stacklevel=3,
        )
        resampling_method = replacement
    if resampling_method not in ("sinc_interp_hann", "sinc_interp_kaiser"):
        raise ValueError(
            "resampling_method must be 'sinc_interp_hann' or 'sinc_interp_kaiser', "
            f"got {resampling_method!r}"
        )
    kaiser = resampling_method == "sinc_interp_kaiser"
    beta = KAISER_BETA if beta is None else beta
    if kaiser and (not isinstance(beta, numbers.Real) or not math.isfinite(beta)):
        raise ValueError(f"beta must be a finite number, got {beta!r}")
    if orig == new:
        return None
    gcd = math.gcd(orig, new)
    return ResampleFilter(
        orig // gcd, new // gcd, float(lowpass_filter_width), float(rolloff), int(kaiser),
        float(beta) if kaiser else 0.0,
    )  # fmt: skip


# Tables of the functional form, keyed by (filter, dtype, device); at most this many taps
# kept in all (the oldest go first).
_TABLE_CACHE_TAPS = 4 * MAX_TABLE_TAPS
_tables = OrderedDict()


def _table_taps(tables):
    return sum(table[0].numel() for table in tables if table is not None)


def resample_tables(spec, dtype, device):
    """The filter's forward and transposed polyphase tables (each ``(taps, first)`` or
    None when too large), in ``dtype`` on ``device``, built once per key and cached."""
    key = (spec, dtype, str(device))
    if key in _tables:
        _tables.move_to_end(key)
        return _tables[key]
    tables = tuple(
        _reference.resample_table(spec, transposed, dtype, device) for transposed in (False, True)
    )
    _tables[key] = tables
    while sum(_table_taps(value) for value in _tables.values()) > _TABLE_CACHE_TAPS:
        _tables.popitem(last=False)
    return tables


def _apply_resample_filter(waveform, spec, tables=None):
    """Resample ``waveform`` (..., time) with a :class:`ResampleFilter` (not None).

    ``tables``: the filter's :func:`resample_tables` when the caller keeps them (a
    transform); used when in the waveform's compute dtype and on its device.
    """
    dtype, device = compute_dtype(waveform), waveform.device
    if tables is None or any(
        table is not None and (table[0].dtype != dtype or table[0].device != device)
        for table in tables
    ):
        tables = resample_tables(spec, dtype, device)
    if backend_for(waveform) == "torch":
        return _reference.resample_with_table(waveform, spec, tables[0])
    from tritaudio import _ops

    forward, backward = (table or (None, None) for table in tables)
    rows = _ops.resample(as_rows(waveform), *forward, *backward, *spec)
    return rows.reshape(*waveform.shape[:-1], rows.shape[-1])


def resample(
    waveform: torch.Tensor,
    orig_freq: int,
    new_freq: int,
    lowpass_filter_width: int = 6,
    rolloff: float = 0.99,
    resampling_method: str = "sinc_interp_hann",
    beta: float | None = None,
) -> torch.Tensor:
    """Resample a waveform with a band-limited (windowed-sinc) interpolation filter.

    Mirrors ``torchaudio.functional.resample``: the same filter and output length. The
    filter is kept as a compact polyphase table of its non-zero taps, built once per
    filter (cached), ``new * n_taps`` taps for the gcd-reduced rates (23 KB at 44.1 ->
    16 kHz); for tables beyond ``MAX_TABLE_TAPS`` (2**21 taps, e.g. 9999991 -> 10000019
    Hz) the taps are computed where they are used, so memory stays bounded for any rates
    (torchaudio's table for 16001 -> 16000 Hz is ~1 GB).

    Args:
        waveform: audio, shape ``(..., time)``, floating point.
        orig_freq, new_freq: the rates in Hz, positive integers.
        lowpass_filter_width: zero crossings of the sinc on each side; wider is sharper
            (at most 1024).
        rolloff: cut-off as a fraction of the lower Nyquist frequency, in (0, 1].
        resampling_method: ``"sinc_interp_hann"`` or ``"sinc_interp_kaiser"`` (the old
            names ``"sinc_interpolation"`` / ``"kaiser_window"`` work, with a warning).
        beta: the Kaiser window's shape; default 14.769656459379492.

    Returns:
        shape ``(..., ceil(new_freq * time / orig_freq))`` with the rates gcd-reduced,
        evaluated as torchaudio does (the quotient rounded to float32 first: see
        ``tritaudio._common.resampled_length``); ``waveform`` itself when the rates are
        equal.

    Example:
        >>> import torch, tritaudio.functional as F
        >>> F.resample(torch.zeros(2, 44100), 44100, 16000).shape
        torch.Size([2, 16000])
    """
    check_float_waveform(waveform)
    spec = _resample_filter(
        orig_freq, new_freq, lowpass_filter_width, rolloff, resampling_method, beta
    )
    return waveform if spec is None else _apply_resample_filter(waveform, spec)


def _speed_rates(orig_freq, factor):
    """torchaudio's (source, target) rates for a speed change, gcd-reduced."""
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not factor > 0:
        raise ValueError(f"factor must be a positive number, got {factor!r}")
    if not math.isfinite(factor):
        raise ValueError(f"factor must be finite, got {factor!r}")
    check_rate("orig_freq", orig_freq)
    source, target = int(factor * orig_freq), int(orig_freq)
    if source <= 0:
        raise ValueError(f"factor {factor} is too small for orig_freq {orig_freq}")
    gcd = math.gcd(source, target)
    return source // gcd, target // gcd


def speed(
    waveform: torch.Tensor,
    orig_freq: int,
    factor: float,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Change the speed (and with it the pitch) of a waveform by ``factor``.

    Mirrors ``torchaudio.functional.speed``: resamples from ``int(factor * orig_freq)`` to
    ``orig_freq`` Hz, so the result plays ``factor`` times faster at ``orig_freq``.

    Args:
        waveform: audio, shape ``(..., time)``, floating point.
        orig_freq: the waveform's rate in Hz.
        factor: speed factor, > 0 (1.1 is 10 % faster and shorter).
        lengths: valid lengths of each waveform in the batch, shape ``(...)``, or None.

    Returns:
        ``(waveform, lengths)``: ``(..., new_time)`` and the lengths scaled the same way
        (``ceil``), or None when ``lengths`` is None.
    """
    source, target = _speed_rates(orig_freq, factor)
    return resample(waveform, source, target), _speed_lengths(lengths, source, target)


def _speed_lengths(lengths, source, target):
    """torchaudio's lengths after a speed change, its expression as written: the tensor
    arithmetic of ``ceil(lengths * target / source)`` (float32 for integer lengths). It
    can differ by one from the waveform's own length (:func:`resample`'s formula), in
    torchaudio too."""
    if lengths is None:
        return None
    return torch.ceil(lengths * target / source).to(lengths.dtype)


def resample_batch(
    waveforms: torch.Tensor,
    orig_freqs,
    new_freq: int,
    lengths: torch.Tensor | None = None,
    lowpass_filter_width: int = 6,
    rolloff: float = 0.99,
    resampling_method: str = "sinc_interp_hann",
    beta: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Resample a padded batch of clips with different source rates to one rate, in one
    call (beyond torchaudio, whose ``resample`` takes one rate per call).

    Row ``i`` (the first dim) is resampled from ``orig_freqs[i]`` to ``new_freq`` with
    :func:`resample`'s filter, as if alone: its samples past ``lengths[i]`` are ignored
    (taken as zeros), and its output is zero past its own resampled length. Rows sharing a
    rate are resampled together (one filter, one call per distinct rate).

    Args:
        waveforms: ``(batch, ..., time)``, floating point, clips padded to ``time``.
        orig_freqs: each clip's rate in Hz, ``(batch,)`` integers (a list or a tensor;
            read on the host, so a CUDA tensor costs one synchronisation).
        new_freq: the common target rate in Hz.
        lengths: each clip's valid length in samples, ``(batch,)`` integers (default:
            ``time`` for every clip).
        lowpass_filter_width, rolloff, resampling_method, beta: as :func:`resample`.

    Returns:
        ``(resampled, new_lengths)``: ``(batch, ..., max(new_lengths))`` and the int64
        ``(batch,)`` lengths, ``new_lengths[i] == resample(clip_i, orig_freqs[i],
        new_freq).shape[-1]``.

    Example:
        >>> import torch, tritaudio.functional as F
        >>> batch = torch.zeros(2, 48000)
        >>> out, n = F.resample_batch(batch, [48000, 16000], 16000, torch.tensor([48000, 16000]))
        >>> out.shape, n.tolist()
        (torch.Size([2, 16000]), [16000, 16000])
    """
    check_float_waveform(waveforms)
    if waveforms.dim() < 2:
        raise ValueError("waveforms must have shape (batch, ..., time)")
    batch, n_time = waveforms.shape[0], waveforms.shape[-1]
    rates = _batch_ints("orig_freqs", orig_freqs, batch)
    for rate in rates:
        check_rate("orig_freqs", rate)
    new_freq = check_rate("new_freq", new_freq)
    clip_lengths = [n_time] * batch if lengths is None else _batch_ints("lengths", lengths, batch)
    if any(not 0 <= n <= n_time for n in clip_lengths):
        raise ValueError(f"lengths must be in [0, {n_time}] (the padded time), got {clip_lengths}")
    new_lengths = []
    for rate, n in zip(rates, clip_lengths, strict=True):
        gcd = math.gcd(rate, new_freq)
        new_lengths.append(
            n if rate == new_freq else resampled_length(n, rate // gcd, new_freq // gcd)
        )
    n_out = max(new_lengths, default=0)
    out = waveforms.new_zeros(*waveforms.shape[:-1], n_out)
    for rate in sorted(set(rates)):
        index = [i for i, r in enumerate(rates) if r == rate]
        longest = max(clip_lengths[i] for i in index)
        clips = waveforms[index, ..., :longest]
        valid = torch.tensor([clip_lengths[i] for i in index], device=waveforms.device)
        time = torch.arange(longest, device=waveforms.device)
        inside = time < valid.view(-1, *[1] * (clips.dim() - 1))
        clips = clips * inside if any(clip_lengths[i] < longest for i in index) else clips
        resampled = resample(
            clips, rate, new_freq, lowpass_filter_width, rolloff, resampling_method, beta
        )
        for row, i in enumerate(index):
            out[i, ..., : new_lengths[i]] = resampled[row, ..., : new_lengths[i]]
    return out, torch.tensor(new_lengths, dtype=torch.int64, device=waveforms.device)


def _batch_ints(name, values, batch):
    """``values`` as ``batch`` Python ints (from a list or a 1-D integer tensor)."""
    if isinstance(values, torch.Tensor):
        if values.is_floating_point() and not bool((values == values.round()).all()):
            raise ValueError(f"{name} must hold whole numbers, got {values.tolist()}")
        values = values.reshape(-1).tolist()
    values = list(values)
    if len(values) != batch:
        raise ValueError(f"{name} must hold one value per clip ({batch}), got {len(values)}")
    if any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in values):
        raise TypeError(f"{name} must hold integers, got {values}")
    if any(v != int(v) for v in values):
        raise ValueError(f"{name} must hold whole numbers, got {values}")
    return [int(v) for v in values]
