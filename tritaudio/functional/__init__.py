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

from tritaudio.functional.alignment import (
    TokenSpan,
    forced_align,
    merge_tokens,
    rnnt_loss,
)
from tritaudio.functional.analysis import (
    detect_pitch_frequency,
    edit_distance,
    frechet_distance,
    loudness,
    mu_law_decoding,
    mu_law_encoding,
    sliding_window_cmn,
    spectral_centroid,
    vad,
)
from tritaudio.functional.beamforming import (
    apply_beamforming,
    mvdr_weights_rtf,
    mvdr_weights_souden,
    psd,
    rtf_evd,
    rtf_power,
)

__all__ += [
    "TokenSpan",
    "apply_beamforming",
    "detect_pitch_frequency",
    "edit_distance",
    "forced_align",
    "frechet_distance",
    "loudness",
    "merge_tokens",
    "mu_law_decoding",
    "mu_law_encoding",
    "mvdr_weights_rtf",
    "mvdr_weights_souden",
    "psd",
    "rnnt_loss",
    "rtf_evd",
    "rtf_power",
    "sliding_window_cmn",
    "spectral_centroid",
    "vad",
]
