"""Pitch-shift speed and memory: tritaudio's PitchShift (Triton, torch reference) next to
torchaudio's, 16 x 4 s of 16 kHz audio, n_steps from -6 to 6.

On a GPU all three run on it; on a CPU the Triton kernels would run under the interpreter,
so only the reference and torchaudio are timed there. Each row records in extra_info the
peak memory from before the module is built through its first call (torchaudio's filter
table included: it is built on the first call), and the device.
"""

import pytest
import torch

import tritaudio
import tritaudio.transforms as T

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
BATCH, SECONDS, SAMPLE_RATE = 16, 4, 16000
STEPS = range(-6, 7)


def _torchaudio_pitch_shift(n_steps):
    torchaudio = pytest.importorskip("torchaudio")
    return torchaudio.transforms.PitchShift(SAMPLE_RATE, n_steps).to(DEVICE)


def _tritaudio_pitch_shift(backend):
    def build(n_steps):
        module = T.PitchShift(SAMPLE_RATE, n_steps).to(DEVICE)

        def shift(waveform):
            with tritaudio.use_backend(backend):
                return module(waveform)

        return shift

    return build


IMPLEMENTATIONS = {
    "tritaudio-triton": lambda: _tritaudio_pitch_shift("triton"),
    "tritaudio-reference": lambda: _tritaudio_pitch_shift("torch"),
    "torchaudio": lambda: _torchaudio_pitch_shift,
}


def _synchronized(fn, *args):
    def run():
        out = fn(*args)
        if DEVICE == "cuda":
            torch.cuda.synchronize()
        return out

    return run


def _resident_set(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(field))


def peak_memory(build, waveform):
    """Bytes allocated at the peak of building the module and its first call, above what
    was allocated before: CUDA's allocator statistics on a GPU; on Linux CPUs the peak
    resident set (VmHWM, reset through /proc/self/clear_refs). None where neither exists."""
    if DEVICE == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        module = build()
        _synchronized(module, waveform)()
        return module, torch.cuda.max_memory_allocated() - before
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        before = _resident_set("VmRSS")
    except OSError:
        before = None
    module = build()
    module(waveform)
    return module, None if before is None else _resident_set("VmHWM") - before


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("n_steps", STEPS)
def test_pitch_shift(benchmark, implementation, n_steps):
    if implementation == "tritaudio-triton" and DEVICE == "cpu":
        pytest.skip("the Triton kernels need a GPU to be timed")
    build = IMPLEMENTATIONS[implementation]()
    waveform = torch.randn(BATCH, SECONDS * SAMPLE_RATE, device=DEVICE)
    module, peak = peak_memory(lambda: build(n_steps), waveform)
    benchmark.group = f"PitchShift n_steps={n_steps}, {BATCH} x {SECONDS} s, {DEVICE}"
    benchmark(_synchronized(module, waveform))
    benchmark.extra_info["peak_MB"] = None if peak is None else peak / 2**20
    benchmark.extra_info["device"] = torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu"
