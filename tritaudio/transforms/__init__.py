"""nn.Modules with torchaudio.transforms' names and constructor signatures.

Each module checks its configuration once, keeps what it can precompute as buffers (they
follow ``.to(device, dtype)``), and calls ``tritaudio.functional``.

One module per family.
"""

from tritaudio.transforms.kaldi import KaldiFeatures
from tritaudio.transforms.logmel import LogMelSpectrogram
from tritaudio.transforms.masking import FrequencyMasking, SpecAugment, TimeMasking
from tritaudio.transforms.noise import (
    AdditiveNoise,
    AddNoise,
    Deemphasis,
    Fade,
    Preemphasis,
    Vol,
)
from tritaudio.transforms.resample import Resample, Speed, SpeedPerturbation
from tritaudio.transforms.spectral import (
    LFCC,
    MFCC,
    AmplitudeToDB,
    GriffinLim,
    InverseSpectrogram,
    MelScale,
    MelSpectrogram,
    Spectrogram,
)
from tritaudio.transforms.stretch import PitchShift, TimeStretch, TimeStretchWaveform

__all__ = [
    "LFCC",
    "MFCC",
    "AddNoise",
    "AdditiveNoise",
    "AmplitudeToDB",
    "Deemphasis",
    "Fade",
    "FrequencyMasking",
    "GriffinLim",
    "InverseSpectrogram",
    "KaldiFeatures",
    "LogMelSpectrogram",
    "MelScale",
    "MelSpectrogram",
    "PitchShift",
    "Preemphasis",
    "Resample",
    "SpecAugment",
    "Spectrogram",
    "Speed",
    "SpeedPerturbation",
    "TimeMasking",
    "TimeStretch",
    "TimeStretchWaveform",
    "Vol",
]
