"""Resampling quality: tritaudio's filters (torchaudio's) next to soxr's VHQ.

    python benchmarks/resample_quality.py        # prints the markdown tables in the README

Three measures, each in dB (lower is better):
- tone error: a pure tone resampled, against the same tone computed at the target rate;
- alias: a tone the target rate cannot hold (above its Nyquist frequency), whose energy
  should vanish; for upsampling, the spectral images above the source's Nyquist frequency;
- clip error: a real clip band-limited with an FFT brick wall to 40 % of the lower rate
  (80 % of its Nyquist frequency), against its exact resampling (FFT interpolation).
Errors are RMS relative to the reference's RMS, over the signal minus 50 ms at each end
(edges depend on how each library pads).
"""

import math
import os
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

if __name__ == "__main__" and not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # the Triton column on a CPU

import tritaudio
import tritaudio.functional as F

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
RATE_PAIRS = [(44100, 16000), (16000, 48000), (48000, 44100), (22050, 16000)]
KAISER_BEST = dict(
    lowpass_filter_width=64,
    rolloff=0.9475937167399596,
    resampling_method="sinc_interp_kaiser",
    beta=14.769656459379492,
)
# name -> (resample options, backend, dtype); None: soxr.
METHODS = {
    "hann (default)": ({}, "torch", torch.float64),
    "kaiser best": (KAISER_BEST, "torch", torch.float64),
    "kaiser best, Triton float32": (KAISER_BEST, "triton", torch.float32),
    "soxr VHQ": None,
}


def resample(x, orig, new, method):
    """Resample a float64 numpy signal with a METHODS entry."""
    if METHODS[method] is None:
        return soxr.resample(x, orig, new, quality="VHQ")
    options, backend, dtype = METHODS[method]
    device = "cuda" if backend == "triton" and torch.cuda.is_available() else "cpu"
    with tritaudio.use_backend(backend):
        y = F.resample(torch.from_numpy(x).to(device, dtype), orig, new, **options)
    return y.cpu().double().numpy()


def _interior(rate):
    return slice(int(0.05 * rate), -int(0.05 * rate))


def relative_db(error, reference):
    return 20 * math.log10(np.sqrt(np.mean(error**2)) / np.sqrt(np.mean(reference**2)))


def tone_error_db(orig, new, method, fraction=0.4, seconds=1.0):
    """A tone at ``fraction`` of the lower rate (0.4: 80 % of its Nyquist frequency)."""
    freq = fraction * min(orig, new)
    x = np.sin(2 * np.pi * freq * np.arange(int(orig * seconds)) / orig)
    y = resample(x, orig, new, method)
    exact = np.sin(2 * np.pi * freq * np.arange(len(y)) / new)
    inner = _interior(new)
    return relative_db(y[inner] - exact[inner], exact[inner])


def alias_db(orig, new, method, seconds=1.0):
    """Energy left of what the target cannot represent, relative to the input tone."""
    if new < orig:
        freq = 0.5 * (new / 2 + orig / 2)  # between the two Nyquist frequencies
        x = np.sin(2 * np.pi * freq * np.arange(int(orig * seconds)) / orig)
        y = resample(x, orig, new, method)
        inner = _interior(new)
        return relative_db(y[inner], x[_interior(orig)])
    freq = 0.3 * orig  # an in-band tone; upsampling must not create its images
    x = np.sin(2 * np.pi * freq * np.arange(int(orig * seconds)) / orig)
    y = resample(x, orig, new, method)[_interior(new)]
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / new)
    images = spectrum[freqs > 0.55 * orig].sum()
    return 10 * math.log10(images / spectrum.sum())


def band_limited(x, rate, cutoff):
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(len(x), 1 / rate) > cutoff] = 0
    return np.fft.irfft(spectrum, len(x))


def clip_error_db(clip, new, method):
    samples, orig = sf.read(DATA / clip, dtype="float64", always_2d=True)
    # FFT interpolation is exact for a band-limited periodic signal whose period lasts a
    # whole number of samples at both rates.
    step = orig // math.gcd(orig, new)
    x = samples[: len(samples) // step * step, 0]
    x = band_limited(x, orig, 0.4 * min(orig, new))
    n_out = new * len(x) // orig
    exact = np.fft.irfft(np.fft.rfft(x), n_out) * (n_out / len(x))
    y = resample(x, orig, new, method)[:n_out]
    inner = _interior(new)
    return relative_db(y[inner] - exact[inner], exact[inner])


CLIP_CASES = [
    ("speech_en_22k.wav", 16000),
    ("chord_stereo_44k.wav", 16000),
    ("chord_stereo_44k.wav", 48000),
    ("pink_noise_48k.wav", 44100),
    ("sweep_8k.wav", 16000),
]


def tables():
    lines = ["| rates (Hz) | measure | " + " | ".join(METHODS) + " |"]
    lines.append("|---|---|" + "---|" * len(METHODS))
    for orig, new in RATE_PAIRS:
        for name, measure in (("tone error", tone_error_db), ("alias / image", alias_db)):
            cells = [f"{measure(orig, new, method):.1f}" for method in METHODS]
            lines.append(f"| {orig} -> {new} | {name} | " + " | ".join(cells) + " |")
    for clip, new in CLIP_CASES:
        orig = sf.info(str(DATA / clip)).samplerate
        cells = [f"{clip_error_db(clip, new, method):.1f}" for method in METHODS]
        lines.append(f"| {orig} -> {new} | {clip} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(tables())
