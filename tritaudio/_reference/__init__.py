"""Plain-torch implementations of every op: the CPU fallback and the tests' oracle.

Each function computes exactly what torchaudio computes, on any device and dtype.

One module per family; every name is importable from the package too.
"""

from tritaudio._reference.masking import mask_along_axis, mask_along_axis_iid
from tritaudio._reference.noise import (
    add_noise,
    deemphasis,
    fade_curves,
    gain,
    noise_scale,
    preemphasis,
)
from tritaudio._reference.resample import polyphase_taps, resample_table, resample_with_table
from tritaudio._reference.spectral import (
    LogScale,
    amplitude_to_db,
    create_dct,
    dynamic_range_floor,
    finish_spectrogram,
    griffinlim,
    hz_to_mel,
    inverse_spectrogram,
    linear_fbanks,
    mel_power,
    mel_to_hz,
    melscale_fbanks,
    spectrogram,
    spectrogram_norms,
    top_db_floor,
    triangular_filterbank,
)
from tritaudio._reference.stretch import PHASE_VOCODER_CHUNK, phase_vocoder

__all__ = [
    "PHASE_VOCODER_CHUNK",
    "LogScale",
    "add_noise",
    "amplitude_to_db",
    "create_dct",
    "deemphasis",
    "dynamic_range_floor",
    "fade_curves",
    "finish_spectrogram",
    "gain",
    "griffinlim",
    "hz_to_mel",
    "inverse_spectrogram",
    "linear_fbanks",
    "mask_along_axis",
    "mask_along_axis_iid",
    "mel_power",
    "mel_to_hz",
    "melscale_fbanks",
    "noise_scale",
    "phase_vocoder",
    "polyphase_taps",
    "preemphasis",
    "resample_table",
    "resample_with_table",
    "spectrogram",
    "spectrogram_norms",
    "top_db_floor",
    "triangular_filterbank",
]
