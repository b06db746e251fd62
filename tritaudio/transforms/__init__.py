"""nn.Modules with torchaudio.transforms' names and constructor signatures.

Each module checks its configuration once, keeps what it can precompute as buffers (they
follow ``.to(device, dtype)``), and calls ``tritaudio.functional``.

One module per family.
"""

from tritaudio.transforms.alignment import RNNTLoss
from tritaudio.transforms.analysis import (
    InverseMelScale,
    Loudness,
    MuLawDecoding,
    MuLawEncoding,
    SlidingWindowCmn,
    SpectralCentroid,
    Vad,
)
from tritaudio.transforms.beamforming import MVDR, PSD, RTFMVDR, SoudenMVDR
from tritaudio.transforms.filtering import ComputeDeltas, Convolve, FFTConvolve
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
    "MVDR",
    "PSD",
    "RTFMVDR",
    "AddNoise",
    "AdditiveNoise",
    "AmplitudeToDB",
    "ComputeDeltas",
    "Convolve",
    "Deemphasis",
    "FFTConvolve",
    "Fade",
    "FrequencyMasking",
    "GriffinLim",
    "InverseMelScale",
    "InverseSpectrogram",
    "KaldiFeatures",
    "LogMelSpectrogram",
    "Loudness",
    "MelScale",
    "MelSpectrogram",
    "MuLawDecoding",
    "MuLawEncoding",
    "PitchShift",
    "Preemphasis",
    "RNNTLoss",
    "Resample",
    "SlidingWindowCmn",
    "SoudenMVDR",
    "SpecAugment",
    "SpectralCentroid",
    "Spectrogram",
    "Speed",
    "SpeedPerturbation",
    "TimeMasking",
    "TimeStretch",
    "TimeStretchWaveform",
    "Vad",
    "Vol",
]

from tritaudio.transforms.analysis import VadBatch

__all__ += ["VadBatch"]
