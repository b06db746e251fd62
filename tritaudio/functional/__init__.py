"""Pure functions with torchaudio.functional's names and signatures, one module per family.

Each function checks its arguments, flattens ``(..., time)`` to ``(rows, time)`` for the
kernels, and dispatches (once, through ``tritaudio._backend.backend_for``) to the Triton op
or the torch reference. Beyond torchaudio: ``add_white_noise``, ``colored_noise``,
``mel_spectrogram``, ``log_mel_spectrogram`` (with ``LogScale``) and ``time_stretch``.
"""

from tritaudio.functional.logmel import DECIBELS, log_mel_spectrogram
from tritaudio.functional.masking import mask_along_axis, mask_along_axis_iid
from tritaudio.functional.noise import (
    NOISE_COLORS,
    add_noise,
    add_white_noise,
    colored_noise,
    deemphasis,
    gain,
    preemphasis,
)
from tritaudio.functional.resample import resample, speed
from tritaudio.functional.spectral import (
    DB_to_amplitude,
    LogScale,
    amplitude_to_DB,
    create_dct,
    griffinlim,
    inverse_spectrogram,
    linear_fbanks,
    mel_spectrogram,
    melscale_fbanks,
    spectrogram,
)
from tritaudio.functional.stretch import phase_vocoder, pitch_shift, time_stretch

__all__ = [
    "DECIBELS",
    "NOISE_COLORS",
    "DB_to_amplitude",
    "LogScale",
    "add_noise",
    "add_white_noise",
    "amplitude_to_DB",
    "colored_noise",
    "create_dct",
    "deemphasis",
    "gain",
    "griffinlim",
    "inverse_spectrogram",
    "linear_fbanks",
    "log_mel_spectrogram",
    "mask_along_axis",
    "mask_along_axis_iid",
    "mel_spectrogram",
    "melscale_fbanks",
    "phase_vocoder",
    "pitch_shift",
    "preemphasis",
    "resample",
    "spectrogram",
    "speed",
    "time_stretch",
]

from tritaudio.functional.resample import resample_batch

__all__ += ["resample_batch"]
