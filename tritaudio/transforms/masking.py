"""The masking family's transforms: FrequencyMasking, TimeMasking, SpecAugment."""

import torch

from tritaudio import functional as F
from tritaudio.functional.masking import _mask_length


class _AxisMasking(torch.nn.Module):
    """Masks along frequency (axis 1 of a 3-D input) or time (axis 2)."""

    def __init__(self, mask_param: int, axis: int, iid_masks: bool, p: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        _mask_length(torch.zeros(1, 1), mask_param, 1, p, min_dims=2)  # checks mask_param
        self.mask_param = mask_param
        self.axis = axis
        self.iid_masks = iid_masks
        self.p = p

    def forward(self, specgram: torch.Tensor, mask_value: float = 0.0) -> torch.Tensor:
        axis = self.axis + specgram.dim() - 3
        mask = F.mask_along_axis_iid if self.iid_masks else F.mask_along_axis
        return mask(specgram, self.mask_param, mask_value, axis, p=self.p)


class FrequencyMasking(_AxisMasking):
    """Mask a random band of frequencies (SpecAugment).

    Mirrors ``torchaudio.transforms.FrequencyMasking``; see
    :func:`tritaudio.functional.mask_along_axis`.

    Args:
        freq_mask_param: the band's width is drawn from ``[0, freq_mask_param)``.
        iid_masks: one band per example (input of 3 dims or more) instead of one for all.

    Shape:
        ``(..., freq, time)`` -> ``(..., freq, time)``; ``forward(specgram, mask_value=0.0)``.
    """

    def __init__(self, freq_mask_param: int, iid_masks: bool = False) -> None:
        super().__init__(freq_mask_param, 1, iid_masks)


class TimeMasking(_AxisMasking):
    """Mask a random span of time steps (SpecAugment).

    Mirrors ``torchaudio.transforms.TimeMasking``.

    Args:
        time_mask_param: the span's length is drawn from ``[0, time_mask_param)``.
        iid_masks: one span per example (input of 3 dims or more) instead of one for all.
        p: at most this fraction of the time steps is masked, in [0, 1].

    Shape:
        ``(..., freq, time)`` -> ``(..., freq, time)``; ``forward(specgram, mask_value=0.0)``.
    """

    def __init__(self, time_mask_param: int, iid_masks: bool = False, p: float = 1.0) -> None:
        super().__init__(time_mask_param, 2, iid_masks, p=p)


class SpecAugment(torch.nn.Module):
    """Time masks, then frequency masks, as torchaudio applies them.

    Mirrors ``torchaudio.transforms.SpecAugment``.

    Args:
        n_time_masks, time_mask_param: how many time masks, and their longest length.
        n_freq_masks, freq_mask_param: how many frequency masks, and their widest width.
        iid_masks: masks per example for inputs of 3 dims or more.
        p: at most this fraction of an axis is masked by one mask.
        zero_masking: fill with 0 instead of the spectrogram's mean.

    Shape:
        ``(..., freq, time)`` -> ``(..., freq, time)``.
    """

    def __init__(
        self,
        n_time_masks: int,
        time_mask_param: int,
        n_freq_masks: int,
        freq_mask_param: int,
        iid_masks: bool = True,
        p: float = 1.0,
        zero_masking: bool = False,
    ) -> None:
        super().__init__()
        for mask_param in (time_mask_param, freq_mask_param):
            _mask_length(torch.zeros(1, 1), mask_param, 1, p, min_dims=2)
        self.n_time_masks = n_time_masks
        self.time_mask_param = time_mask_param
        self.n_freq_masks = n_freq_masks
        self.freq_mask_param = freq_mask_param
        self.iid_masks = iid_masks
        self.p = p
        self.zero_masking = zero_masking

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        mask_value = 0.0 if self.zero_masking else specgram.mean()
        time_dim = specgram.dim() - 1
        iid = specgram.dim() > 2 and self.iid_masks
        mask = F.mask_along_axis_iid if iid else F.mask_along_axis
        for _ in range(self.n_time_masks):
            specgram = mask(specgram, self.time_mask_param, mask_value, time_dim, p=self.p)
        for _ in range(self.n_freq_masks):
            specgram = mask(specgram, self.freq_mask_param, mask_value, time_dim - 1, p=self.p)
        return specgram
