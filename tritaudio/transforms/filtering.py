"""nn.Modules of the filtering family: Convolve, FFTConvolve, ComputeDeltas."""

import torch

from tritaudio.functional import filtering as F


class Convolve(torch.nn.Module):
    """Convolve two inputs along their last dim by the direct method.

    Mirrors ``torchaudio.transforms.Convolve``; see :func:`tritaudio.functional.convolve`.

    Args:
        mode: ``"full"``, ``"valid"`` or ``"same"``.

    Shape:
        ``x (..., N)``, ``y (..., M)`` -> ``(..., L)``, L set by ``mode``.
    """

    def __init__(self, mode: str = "full") -> None:
        super().__init__()
        if mode not in F.CONVOLVE_MODES:
            raise ValueError(f"mode must be one of {F.CONVOLVE_MODES}, got {mode!r}")
        self.mode = mode

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.convolve(x, y, mode=self.mode)


class FFTConvolve(Convolve):
    """Convolve two inputs along their last dim through FFTs.

    Mirrors ``torchaudio.transforms.FFTConvolve``; see
    :func:`tritaudio.functional.fftconvolve`.

    Args:
        mode: ``"full"``, ``"valid"`` or ``"same"``.

    Shape:
        ``x (..., N)``, ``y (..., M)`` -> ``(..., L)``, L set by ``mode``.
    """

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.fftconvolve(x, y, mode=self.mode)


class ComputeDeltas(torch.nn.Module):
    """Delta coefficients of a spectrogram along time.

    Mirrors ``torchaudio.transforms.ComputeDeltas``; see
    :func:`tritaudio.functional.compute_deltas`.

    Args:
        win_length: window length, >= 3.
        mode: padding mode at the edges.

    Shape:
        ``(..., freq, time)`` -> ``(..., freq, time)``.
    """

    def __init__(self, win_length: int = 5, mode: str = "replicate") -> None:
        super().__init__()
        self.win_length = win_length
        self.mode = mode

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        return F.compute_deltas(specgram, win_length=self.win_length, mode=self.mode)
