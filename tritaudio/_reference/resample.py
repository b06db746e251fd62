"""Plain-torch reference of the resample family: the compact polyphase filter table and its
application as a few matrix products (or, for tables too large to keep, gathered windows
with the taps computed chunk by chunk).

With the rates reduced by their gcd to ``orig`` and ``new``, output ``n = m * new + p``
(block ``m``, phase ``p``) is ``sum_j x[m * orig + first[p] + j] * taps[p, j]``,
``first[p] = floor(p * orig / new) - width``: torchaudio's windowed sinc, only where it is
non-zero (its ``(new, orig + 2 * width)`` table is mostly zeros when ``orig > new``).
"""

import math

import torch

from tritaudio._common import LOW_PRECISION, MAX_TABLE_TAPS, resample_width, resampled_length

# Memory of one chunk of the table-less path, in elements of its temporaries.
_CHUNK_ELEMENTS = 2**19
# Outputs per chunk of the matrix products (their transposition stays in cache).
_PRODUCT_CHUNK = 2**18


def _rates(spec, transposed):
    """(input rate, output rate) of the filter or of its transpose (the backward pass)."""
    return (spec.new, spec.orig) if transposed else (spec.orig, spec.new)


def polyphase_taps(spec, phase, transposed=False, dtype=torch.float64):
    """The taps of the given phases: ``(len(phase), n_taps)`` in ``dtype``, computed in
    float64, and the phases' first input offsets (int64).

    ``spec`` is a ResampleFilter (gcd-reduced rates). ``transposed``: the taps of the
    backward pass, the same filter with the rates' roles swapped (input phase ``q``
    gathers output ``floor(q * new / orig) - width_out + i`` with weight ``taps[q, i]``).
    """
    in_rate, out_rate = _rates(spec, transposed)
    lpw = spec.lowpass_filter_width
    base = min(in_rate, out_rate) * spec.rolloff
    width, n_taps = resample_width(in_rate, out_rate, lpw, spec.rolloff)
    phase = phase.to(torch.int64)
    first = phase * in_rate // out_rate - width
    local = first[:, None] + torch.arange(n_taps, device=phase.device)
    # t * base from the exact integer numerator (local / in - phase / out) * in * out, so
    # that float64 keeps its digits at any rate.
    numerator = local * out_rate - phase[:, None] * in_rate
    scaled = numerator.to(torch.float64) * (base / (in_rate * out_rate))
    # scaled[p, j] = scaled[p, 0] + j * step: the sines and cosines by angle addition, from
    # one evaluation per phase and one per tap (16x fewer than per tap and phase).
    step = base / in_rate
    j = torch.arange(n_taps, dtype=torch.float64, device=phase.device)
    start = scaled[:, :1]
    sine = torch.sin(math.pi * start) * torch.cos(math.pi * step * j)
    sine += torch.cos(math.pi * start) * torch.sin(math.pi * step * j)
    angle = math.pi * scaled
    sinc = torch.where(scaled == 0, 1.0, sine / torch.where(scaled == 0, 1.0, angle))
    if spec.kaiser:
        u = scaled / lpw
        beta = torch.tensor(spec.beta, dtype=torch.float64, device=phase.device)
        window = torch.special.i0(beta * (1 - u * u).clamp(min=0).sqrt()) / torch.special.i0(beta)
    else:
        half = math.pi / (2 * lpw)
        window = torch.cos(half * start) * torch.cos(half * step * j)
        window -= torch.sin(half * start) * torch.sin(half * step * j)
        window *= window
    taps = sinc * window * (base / spec.orig)
    return taps.where(scaled.abs() <= lpw, 0.0).to(dtype), first


def resample_table(spec, transposed=False, dtype=torch.float64, device=None):
    """The whole polyphase table, ``(phases, n_taps)`` taps (tap-major in memory) and
    ``(phases,)`` int32 first offsets, or None when it would hold more than
    MAX_TABLE_TAPS taps (the taps are then
    computed where they are used)."""
    in_rate, out_rate = _rates(spec, transposed)
    _, n_taps = resample_width(in_rate, out_rate, spec.lowpass_filter_width, spec.rolloff)
    if out_rate * n_taps > MAX_TABLE_TAPS:
        return None
    phase = torch.arange(out_rate, device=device)
    taps, first = polyphase_taps(spec, phase, transposed, dtype)
    # stored tap-major (a (n_taps, phases) tensor, seen transposed): the kernels' lanes
    # read consecutive phases of one tap, consecutive addresses
    return taps.t().contiguous().t(), first.to(torch.int32)


def _in_compute_dtype(waveform):
    x = waveform.reshape(math.prod(waveform.shape[:-1]), waveform.shape[-1])
    return x.float() if waveform.dtype in LOW_PRECISION else x


def resample_with_table(waveform, spec, table=None):
    """Resample ``(..., time)`` with a ResampleFilter; ``(..., resampled_length(time))``.

    ``table``: :func:`resample_table`'s result (None: computed here, or taps computed
    chunk by chunk when too large). Memory: the input once more, the output, and tables of
    a few times ``new * n_taps`` taps, whatever the rates.
    """
    shape = waveform.shape
    x = _in_compute_dtype(waveform)
    if table is None:
        table = resample_table(spec, dtype=x.dtype, device=x.device)
    n_out = resampled_length(shape[-1], spec.orig, spec.new)
    if x.shape[0] * n_out == 0:
        out = x.new_zeros(x.shape[0], n_out)
    elif table is None:
        out = _resample_gathered(x, spec, n_out)
    else:
        taps, _ = table
        out = _resample_grouped(x, spec, taps.to(device=x.device, dtype=x.dtype), n_out)
    return out.reshape(*shape[:-1], n_out).to(waveform.dtype)


def _group_plan(orig, new, n_taps):
    """How :func:`_resample_grouped` splits the phases.

    ``c`` input blocks make a super-block of ``c * orig`` inputs and ``c * new`` phases
    (``c > 1`` only when ``orig`` is too small for a group's window); consecutive phases go
    in groups of ``group`` whose windows, ``n_taps`` plus the spread of their offsets, fit
    in ``k_max <= c * orig`` inputs, about 3 x ``n_taps``: each group is one matrix product
    reading a third of the input, against torchaudio's one product of
    ``orig + 2 * width`` mostly-zero taps per output.
    """
    group = max(1, math.ceil(2 * new * n_taps / orig))
    k_max = n_taps + (group - 1) * orig // new + 1
    c = max(1, math.ceil(k_max / orig))
    return c, min(group, c * new), k_max


def _resample_grouped(x, spec, taps, n_out):
    """The polyphase matrix products: group ``g`` of phases is ``A_g @ W_g`` with ``A_g``
    a strided view of the padded input (one row per super-block, ``k_max`` inputs, stride
    ``c * orig``: no copy) and ``W_g`` its ``(k_max, group)`` taps."""
    orig, new = spec.orig, spec.new
    rows, n_in = x.shape
    n_taps = taps.shape[1]
    width = resample_width(orig, new, spec.lowpass_filter_width, spec.rolloff)[0]
    c, group, k_max = _group_plan(orig, new, n_taps)
    period_in, period_out = c * orig, c * new
    n_groups = -(-period_out // group)
    # super-phase s = q * new + p starts at q * orig + first[p] = s * orig // new - width
    s = torch.arange(period_out, device=x.device)
    first = s * orig // new
    group_start = first[(s // group) * group]
    weights = x.new_zeros(n_groups, group, k_max)
    offsets = (first - group_start)[:, None] + torch.arange(n_taps, device=x.device)
    weights[(s // group)[:, None], (s % group)[:, None], offsets] = taps[s % new]
    blocks = -(-n_out // period_out)
    per_row = max(blocks + -(-(n_taps + 1) // period_in), -(-(width + n_in) // period_in))
    row_length = per_row * period_in
    padded = x.new_empty(rows * row_length + k_max + period_in)
    padded_rows = padded[: rows * row_length].view(rows, row_length)
    padded_rows[:, :width].zero_()
    padded_rows[:, width : width + n_in] = x
    padded_rows[:, width + n_in :].zero_()
    padded[rows * row_length :].zero_()
    # Phase-major products, W_g (group, k_max) @ A_g^T (k_max, super-blocks), which MKL
    # runs several times faster than A_g @ W_g^T, on chunks of super-blocks whose
    # (phases, chunk) result stays in cache for its transposition into the output.
    n_blocks = rows * per_row
    out = x.new_empty(n_blocks, period_out)
    chunk = max(64, _PRODUCT_CHUNK // period_out)
    grad = x.requires_grad and torch.is_grad_enabled()
    for begin in range(0, n_blocks, chunk):
        size = min(chunk, n_blocks - begin)
        y = None if grad else x.new_empty(n_groups * group, size)
        products = []
        for g in range(n_groups):
            offset = begin * period_in + g * orig * group // new
            view = padded.as_strided((k_max, size), (1, period_in), offset)
            if grad:  # (out= products do not record a gradient)
                products.append(weights[g] @ view)
            else:
                torch.mm(weights[g], view, out=y[g * group : (g + 1) * group])
        y = torch.cat(products) if grad else y
        out[begin : begin + size] = y[:period_out].t()
    return out.view(rows, per_row * period_out)[:, :n_out]


def _resample_gathered(x, spec, n_out):
    """Without a table: chunks of phases, each phase's taps computed once and applied to
    every block of the signal through gathered input windows (masked at the signal's
    edges). Memory: a chunk of ``_CHUNK_ELEMENTS`` windowed samples, whatever the length."""
    orig, new = spec.orig, spec.new
    rows, n_in = x.shape
    _, n_taps = resample_width(orig, new, spec.lowpass_filter_width, spec.rolloff)
    out = x.new_empty(rows, n_out)
    blocks = -(-n_out // new)
    m = torch.arange(blocks, device=x.device)[:, None]
    tap = torch.arange(n_taps, device=x.device)
    chunk = max(1, _CHUNK_ELEMENTS // (n_taps * max(rows, 4) * blocks))
    for begin in range(0, min(new, n_out), chunk):
        phase = torch.arange(begin, min(new, begin + chunk), device=x.device)
        taps, first = polyphase_taps(spec, phase, dtype=x.dtype)
        n = m * new + phase  # (blocks, phases)
        valid = n < n_out
        k = (m * orig + first)[..., None] + tap  # (blocks, phases, taps)
        inside = (k >= 0) & (k < n_in)
        windows = x[:, k.clamp(0, n_in - 1)] * inside
        y = torch.einsum("rbpj,pj->rbp", windows, taps)
        out[:, n[valid]] = y[:, valid]
    return out
