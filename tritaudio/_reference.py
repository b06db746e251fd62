"""Plain-torch implementations of every op: the CPU fallback and the tests' oracle.

Each function computes exactly what torchaudio computes, on any device and dtype.
"""

import torch


def gain(waveform: torch.Tensor, gain_db: float) -> torch.Tensor:
    """torchaudio.functional.gain: ``waveform * 10 ** (gain_db / 20)``."""
    if gain_db == 0:
        return waveform
    return waveform * 10 ** (gain_db / 20)
