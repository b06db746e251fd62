"""Filtering: lfilter (order 2 and order 8), a lowpass biquad, and fftconvolve with a
1 s impulse response, on both libraries' functional API with the same arguments.

torchaudio runs lfilter's recurrence as a loop over samples (its C++ loop on the CPU when
its extension is built, a Python loop of tensor ops otherwise and on the GPU); tritaudio's
Triton path runs it as a chunked scan, parallel over rows and chunks of time. Without its
extension torchaudio's lfilter backward fails (the Python loop writes into the FIR output
that its backward saved): its forward+backward rows then record that failure.
"""

import numpy as np
import torch

from benchmarks.cases import Case, Size, tritaudio_and_torchaudio

HEADLINE = Size(32, 10, 16000)


def _order8():
    """A stable order-8 filter: four pole pairs of radius 0.6-0.9, zeros on the circle."""
    angles = np.array([0.2, 0.5, 1.0, 2.0])
    poles = np.array([0.9, 0.8, 0.7, 0.6]) * np.exp(1j * angles)
    zeros = np.exp(1j * (angles + 0.3))
    a = np.real(np.poly(np.concatenate([poles, poles.conj()])))
    b = np.real(np.poly(np.concatenate([zeros, zeros.conj()]))) * 0.05
    return a.tolist(), b.tolist()


FILTERS = {
    "lfilter order 2": ([1.0, -1.8, 0.81], [0.01, 0.02, 0.01]),
    "lfilter order 8": _order8(),
}


def _lfilter(a, b):
    def build(library, size, device):
        a_coeffs = torch.tensor(a, device=device)
        b_coeffs = torch.tensor(b, device=device)
        return lambda waveform: library.functional.lfilter(waveform, a_coeffs, b_coeffs)

    return build


def _lowpass(library, size, device):
    return lambda waveform: library.functional.lowpass_biquad(waveform, size.sample_rate, 1000.0)


def _waveform_and_ir(size, device):
    waveform = torch.randn(size.batch, size.samples, device=device)
    decay = torch.exp(-torch.arange(size.sample_rate, device=device) / (0.1 * size.sample_rate))
    return waveform, (torch.randn(1, size.sample_rate, device=device) * decay)


CASES = [
    *[Case("filtering", name, tritaudio_and_torchaudio(_lfilter(a, b)), headline=HEADLINE)
      for name, (a, b) in FILTERS.items()],
    Case("filtering", "lowpass_biquad", tritaudio_and_torchaudio(_lowpass), headline=HEADLINE),
    Case(
        "filtering",
        "fftconvolve (1 s IR)",
        tritaudio_and_torchaudio(lambda library, size, device: library.functional.fftconvolve),
        make_inputs=_waveform_and_ir,
        grad_inputs=(0, 1),
        headline=HEADLINE,
    ),
]  # fmt: skip
