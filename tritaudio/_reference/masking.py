"""Plain-torch masking (the only implementation: masks are cheap elementwise ops)."""

import torch


def mask_along_axis(specgram, mask_length, mask_value, axis):
    """torchaudio.functional.mask_along_axis after its checks: one interval
    ``[start, start + length)`` along ``axis`` for every example, drawn from torch's global
    CPU generator as torchaudio draws it (length ~ U(0, mask_length), then start)."""
    size = specgram.shape[axis]
    length = torch.rand(1) * mask_length
    start = torch.rand(1) * (size - length)
    first, last = start.long(), start.long() + length.long()
    positions = torch.arange(size, device=specgram.device)
    mask = (positions >= first.to(specgram.device)) & (positions < last.to(specgram.device))
    if axis == specgram.dim() - 2:
        mask = mask.unsqueeze(-1)
    return specgram.masked_fill(mask, mask_value)


def mask_along_axis_iid(specgrams, mask_length, mask_value, axis):
    """torchaudio.functional.mask_along_axis_iid after its checks: an interval per example
    (every leading index), drawn on the spectrogram's device in its dtype."""
    batch = specgrams.shape[:-2]
    device, dtype = specgrams.device, specgrams.dtype
    length = torch.rand(batch, device=device, dtype=dtype) * mask_length
    start = torch.rand(batch, device=device, dtype=dtype) * (specgrams.shape[axis] - length)
    first = start.long()[..., None, None]
    last = (start.long() + length.long())[..., None, None]
    positions = torch.arange(specgrams.shape[axis], device=device, dtype=dtype)
    mask = (positions >= first) & (positions < last)
    along_last = specgrams.transpose(axis, -1)
    if isinstance(mask_value, torch.Tensor):
        masked = torch.where(mask, mask_value.to(dtype), along_last)
    else:
        masked = along_last.masked_fill(mask, mask_value)
    return masked.transpose(axis, -1)
