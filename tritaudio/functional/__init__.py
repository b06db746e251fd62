"""Pure functions with torchaudio.functional's names and signatures, one module per family.

Each function checks its arguments, flattens ``(..., time)`` to ``(rows, time)`` for the
kernels, and dispatches (once, through ``tritaudio._backend.backend_for``) to the Triton op
or the torch reference. Beyond torchaudio: ``add_white_noise``, ``colored_noise``,
``mel_spectrogram``, ``log_mel_spectrogram`` (with ``LogScale``) and ``time_stretch``.
"""

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
from tritaudio.functional.effects import contrast, dcshift, dither, flanger, overdrive, phaser
from tritaudio.functional.filtering import (
    allpass_biquad,
    band_biquad,
    bandpass_biquad,
    bandreject_biquad,
    bass_biquad,
    biquad,
    compute_deltas,
    convolve,
    deemph_biquad,
    equalizer_biquad,
    fftconvolve,
    filtfilt,
    highpass_biquad,
    lfilter,
    lowpass_biquad,
    riaa_biquad,
    sosfilt,
    treble_biquad,
)
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
    "TokenSpan",
    "add_noise",
    "add_white_noise",
    "allpass_biquad",
    "amplitude_to_DB",
    "apply_beamforming",
    "band_biquad",
    "bandpass_biquad",
    "bandreject_biquad",
    "bass_biquad",
    "biquad",
    "colored_noise",
    "compute_deltas",
    "contrast",
    "convolve",
    "create_dct",
    "dcshift",
    "deemph_biquad",
    "deemphasis",
    "detect_pitch_frequency",
    "dither",
    "edit_distance",
    "equalizer_biquad",
    "fftconvolve",
    "filtfilt",
    "flanger",
    "forced_align",
    "frechet_distance",
    "gain",
    "griffinlim",
    "highpass_biquad",
    "inverse_spectrogram",
    "lfilter",
    "linear_fbanks",
    "log_mel_spectrogram",
    "loudness",
    "lowpass_biquad",
    "mask_along_axis",
    "mask_along_axis_iid",
    "mel_spectrogram",
    "melscale_fbanks",
    "merge_tokens",
    "mu_law_decoding",
    "mu_law_encoding",
    "mvdr_weights_rtf",
    "mvdr_weights_souden",
    "overdrive",
    "phase_vocoder",
    "phaser",
    "pitch_shift",
    "preemphasis",
    "psd",
    "resample",
    "riaa_biquad",
    "rnnt_loss",
    "rtf_evd",
    "rtf_power",
    "sliding_window_cmn",
    "sosfilt",
    "spectral_centroid",
    "spectrogram",
    "speed",
    "time_stretch",
    "treble_biquad",
    "vad",
]

from tritaudio.functional.resample import resample_batch

__all__ += ["resample_batch"]

from tritaudio.functional.analysis import vad_batch  # noqa: E402

__all__ += ["vad_batch"]
