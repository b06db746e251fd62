"""Modelled stand-ins for torchaudio's compiled kernels that this machine lacks.

torchaudio's C++ extension is absent here: its ``_lfilter_core_loop`` (the IIR part of
lfilter, and of every biquad) falls back to a Python loop of tensor ops per sample, which
neither runs at the benchmark's size on the ``meta`` device in reasonable time nor is what
torchaudio runs on a GPU. On CUDA torchaudio 2.11 runs ``iir_cu_kernel`` (pytorch/audio,
src/libtorchaudio/iir_cuda.cu): one thread per (batch x channel) row, each stepping through
its samples in order. :func:`compiled_torchaudio` puts a stand-in in its place while the
model counts torchaudio's side: it records one kernel with the loop's HBM traffic (its
input and coefficients read once, the padded output written once; the reloads of values
the thread just stored are cache hits) and its dependent chain per thread,
``samples x (reload latency + order x FMA latency)`` cycles (``constants.TORCHAUDIO_IIR``),
which the estimate turns into the "latency" bound. Every row runs at once (up to 132 x
2048 rows), so the call takes one chain's time. On real tensors (the small runs, if
ever used for torchaudio) the stand-in also computes the loop's values, without mutating
its input (the Python fallback does, which breaks torchaudio's backward here).
"""

import contextlib

import torch
from torch.utils._python_dispatch import _disable_current_modes

from benchmarks.model.constants import TORCHAUDIO_IIR
from benchmarks.model.counter import active_recorder, extent_bytes

LFILTER_KERNEL = "torchaudio::_lfilter_core_loop (iir_cu_kernel, modelled)"


def lfilter_chain_cycles(n_samples, n_order) -> float:
    """Cycles of one thread's dependent chain in torchaudio's CUDA IIR loop: per sample a
    reload, then ``n_order - 1`` FMAs (``n_order`` = order + 1 coefficients, a0 left out)."""
    per_sample = TORCHAUDIO_IIR["reload_latency"] + (n_order - 1) * TORCHAUDIO_IIR["fma_latency"]
    return float(n_samples * per_sample)


def _lfilter_core_loop(windows, a_flipped, padded_out):
    """Stand-in for ``torch.ops.torchaudio._lfilter_core_loop(windows (batch, channels,
    time), a_flipped (channels, order + 1), padded_out (batch, channels, time + order))``."""
    n_samples, n_order = windows.shape[2], a_flipped.shape[1]
    recorder = active_recorder()
    if recorder is not None:
        recorder.record_modelled(
            LFILTER_KERNEL,
            read=extent_bytes(windows) + extent_bytes(a_flipped),
            write=extent_bytes(padded_out),
            chain_cycles=lfilter_chain_cycles(n_samples, n_order),
        )
    if padded_out.device.type == "meta":
        return padded_out
    with _disable_current_modes(), torch.no_grad():
        past = a_flipped[:, : n_order - 1]
        for i in range(n_samples):
            window = padded_out[:, :, i : i + n_order - 1]
            padded_out[:, :, i + n_order - 1] = windows[:, :, i] - (window * past).sum(-1)
    return padded_out


@contextlib.contextmanager
def compiled_torchaudio():
    """torchaudio with the modelled stand-ins of its compiled kernels (a no-op when
    torchaudio cannot be imported)."""
    try:
        from torchaudio.functional import filtering
    except ImportError:
        yield
        return
    original = filtering._lfilter_core_loop
    filtering._lfilter_core_loop = _lfilter_core_loop
    try:
        yield
    finally:
        filtering._lfilter_core_loop = original
