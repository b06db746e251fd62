"""The masking family's functions: mask_along_axis and mask_along_axis_iid (SpecAugment's draws)."""

import torch

from tritaudio import _reference

MAX_MASK_PARAM = 2**62  # lengths and starts drawn up to it stay within int64


def _mask_length(specgram, mask_param, axis, p, min_dims):
    """Check a masking call; the longest mask it may draw (torchaudio's rule)."""
    if not isinstance(specgram, torch.Tensor):
        raise TypeError(f"specgram must be a torch.Tensor, got {type(specgram).__name__}")
    dim = specgram.dim()
    if dim < min_dims:
        raise ValueError(
            f"the spectrogram needs at least {min_dims} dims, got shape {tuple(specgram.shape)}"
        )
    if axis not in (dim - 2, dim - 1):
        raise ValueError(
            f"Only Frequency and Time masking are supported: axis must be {dim - 2} "
            f"(frequency) or {dim - 1} (time) for a {dim}-D spectrogram, got {axis}"
        )
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if (
        isinstance(mask_param, bool)
        or not isinstance(mask_param, int)
        or not 0 <= mask_param <= MAX_MASK_PARAM
    ):
        raise ValueError(
            f"mask_param must be an int in [0, 2**62] (mask lengths are drawn as int64), "
            f"got {mask_param!r}"
        )
    return mask_param if p == 1.0 else min(mask_param, int(specgram.shape[axis] * p))


def mask_along_axis(
    specgram: torch.Tensor, mask_param: int, mask_value: float, axis: int, p: float = 1.0
) -> torch.Tensor:
    """Fill one random interval along ``axis`` with ``mask_value``, the same for every
    example.

    Mirrors ``torchaudio.functional.mask_along_axis`` and draws from torch's global
    generator exactly as it does (the same seed gives the same mask).

    Args:
        specgram: ``(..., freq, time)``, at least 2-D.
        mask_param: the interval's length is drawn from ``[0, mask_param)``.
        mask_value: the fill value.
        axis: ``dim - 2`` (frequency) or ``dim - 1`` (time).
        p: at most this fraction of the axis is masked.

    Returns:
        ``(..., freq, time)``.
    """
    mask_length = _mask_length(specgram, mask_param, axis, p, min_dims=2)
    if mask_length < 1:
        return specgram
    return _reference.mask_along_axis(specgram, mask_length, mask_value, axis)


def mask_along_axis_iid(
    specgrams: torch.Tensor,
    mask_param: int,
    mask_value: float | torch.Tensor,
    axis: int,
    p: float = 1.0,
) -> torch.Tensor:
    """Fill a random interval along ``axis`` with ``mask_value``, one per example.

    Mirrors ``torchaudio.functional.mask_along_axis_iid`` (same draws, same seed, same
    masks).

    Args:
        specgrams: ``(..., freq, time)``, at least 3-D.
        mask_param, axis, p: as in :func:`mask_along_axis`.
        mask_value: the fill value, a number or a tensor (no host sync).

    Returns:
        ``(..., freq, time)``.
    """
    mask_length = _mask_length(specgrams, mask_param, axis, p, min_dims=3)
    if mask_length < 1:
        return specgrams
    return _reference.mask_along_axis_iid(specgrams, mask_length, mask_value, axis)
