"""TimeStretch, phase_vocoder, time_stretch, TimeStretchWaveform, PitchShift, pitch_shift:
both paths against torchaudio's fixtures, librosa's phase vocoder, float64, pure tones."""

import math
import os
import subprocess
import sys

import librosa
import numpy as np
import pytest
import torch
from helpers import assert_close_to_reference, parity, parity_cases

import tritaudio
import tritaudio.functional as F
import tritaudio.transforms as T
from tritaudio.functional import stretch

SAMPLE_RATE = 16000


def float32_phase_tolerance(hop_length, n_frames):
    """Relative error float32 cannot avoid in torchaudio's phase vocoder: the phase is
    accumulated (cumsum, never wrapped) up to about ``pi * hop_length`` per frame for the
    highest bins, and a float32 phase of that size is only known to its ulp."""
    return math.pi * hop_length * n_frames * 2.0**-24


def same_frames_in_float32(n_frames, rate):
    """Whether float32 and float64 time steps ``arange(0, n_frames, rate)`` pick the same
    input frames. torchaudio takes them in the spectrogram's precision; near an integer
    (0.6 * 35 = 21 - 1e-6 in float32) the two floor to different frames, and a float64
    reference is then a different stretch, not a more precise one."""
    steps32 = torch.arange(0, n_frames, rate, dtype=torch.float32)
    steps64 = torch.arange(0, n_frames, rate, dtype=torch.float64)
    return steps32.shape == steps64.shape and torch.equal(steps32.long(), steps64.long())


def reference64(fn, *args, **kwargs):
    """The torch reference of the same math in float64."""
    args = [a.double() if isinstance(a, torch.Tensor) else a for a in args]
    with tritaudio.use_backend("torch"):
        return fn(*args, **kwargs)


def tone(freq, seconds=1.0, rate=SAMPLE_RATE):
    t = torch.arange(int(seconds * rate), dtype=torch.float64) / rate
    return torch.sin(2 * math.pi * freq * t).float()[None]


def tone_frequency(waveform, rate=SAMPLE_RATE, edge=2000):
    """The frequency of the strongest peak, edges excluded: Hann window, 16x zero-padded
    FFT, parabolic interpolation of the log magnitude (error << 0.1 Hz for a clean tone)."""
    y = waveform.reshape(-1)[edge:-edge].double()
    spectrum = torch.fft.rfft(y * torch.hann_window(len(y), dtype=torch.float64), n=16 * len(y))
    magnitude = spectrum.abs()
    k = int(magnitude[1:-1].argmax()) + 1
    left, centre, right = magnitude[k - 1 : k + 2].log().tolist()
    offset = 0.5 * (left - right) / (left - 2 * centre + right)
    return (k + offset) * rate / (16 * len(y))


# --- torchaudio's fixtures ----------------------------------------------------------------


def test_time_stretch_fixtures(backend, device):
    for case in parity_cases("transforms.TimeStretch"):
        x = parity()["inputs"][case["input"]].to(device)
        out = T.TimeStretch(**case["kwargs"]).to(device)(x)
        assert out.dtype == case["output"].dtype
        as_real = torch.view_as_real
        assert_close_to_reference(
            as_real(out), as_real(case["output"]), rel=1e-4, what=str(case["kwargs"])
        )
        # The same torch ops as torchaudio in the same order: the same float32 numbers.
        assert torch.equal(out.cpu(), case["output"])


def torchaudio_float32_table_resample(x, orig, new, width=6, rolloff=0.99):
    """torchaudio's sinc_interp_hann resampling with the filter table built as its
    PitchShift builds it for float32 input: the tap positions ``t = -k / new + i / orig``
    rounded to float32 before the multiply by the cutoff (about 8000 at 16 kHz), which
    puts ~1e-3 rad of error into the taps. Written from torchaudio's published formula."""
    gcd = math.gcd(orig, new)
    orig, new = orig // gcd, new // gcd
    base = min(orig, new) * rolloff
    pad = math.ceil(width * orig / base)
    idx = torch.arange(-pad, pad + orig, dtype=torch.float32)[None, None] / orig
    t = torch.arange(0, -new, -1, dtype=torch.float32)[:, None, None] / new + idx
    t = (t * base).clamp(-width, width)
    window = torch.cos(t * math.pi / width / 2) ** 2
    t = t * math.pi
    taps = torch.where(t == 0, torch.tensor(1.0), t.sin() / t) * window * (base / orig)
    padded = torch.nn.functional.pad(x[:, None], (pad, pad + orig))
    y = torch.nn.functional.conv1d(padded, taps, stride=orig).transpose(1, 2)
    return y.reshape(x.shape[0], -1)[:, : math.ceil(new * x.shape[-1] / orig)]


def test_pitch_shift_fixtures(backend, device):
    """Within 1e-3 of torchaudio, and the whole difference is torchaudio's filter table.

    torchaudio's PitchShift rounds its tap positions to float32 (see above): at 16 kHz the
    rates are large coprimes (n_steps 4: 20158 -> 16000 Hz) and its output is 2-3e-4 away
    from the exact filter. tritaudio's resampler computes the taps from exact integers.
    Applying torchaudio's rounded table to tritaudio's stretched signal gives torchaudio's
    output within 1e-6: the STFT, phase vocoder and inverse STFT match; tritaudio's output
    is the exact filter's within 1e-5."""
    for case in parity_cases("transforms.PitchShift"):
        kwargs, what = case["kwargs"], str(case["kwargs"])
        x = parity()["inputs"][case["input"]].to(device)
        expected = case["output"]
        out = T.PitchShift(**kwargs).to(device)(x)
        assert out.shape == x.shape and out.dtype == x.dtype
        assert_close_to_reference(out, expected, rel=1e-3, what=what)
        rates = stretch._pitch_shift_rates(kwargs["sample_rate"], kwargs["n_steps"])
        n_fft = kwargs.get("n_fft", 512)
        hop_length = kwargs.get("hop_length", n_fft // 4)
        window = torch.hann_window(n_fft, device=device)
        stretched = stretch._stretch(x, rates.rate, n_fft, n_fft, hop_length, window).cpu()
        rounded = torchaudio_float32_table_resample(stretched, rates.orig_freq, SAMPLE_RATE)
        fitted = stretch._fit_length(rounded, x.shape[-1])
        # The Triton path's phase vocoder kernel (atan2 and the phase sum in float64, rounded
        # once) is not torchaudio's float32 op sequence: 5e-5 there, 1e-6 on the torch path.
        rel = 1e-6 if backend == "torch" else 5e-5
        assert_close_to_reference(fitted, expected, rel=rel, what=f"{what}, rounded table")
        with tritaudio.use_backend("torch"):
            exact = F.resample(stretched.double(), rates.orig_freq, SAMPLE_RATE)
        exact = stretch._fit_length(exact, x.shape[-1])
        assert_close_to_reference(out, exact, rel=1e-5, what=f"{what}, exact table")


def test_phase_vocoder_matches_librosa():
    """librosa's phase vocoder (the algorithm torchaudio ported), float64. Rates whose time
    steps are exact in binary: elsewhere the two arange()s can round a step like 21.0 to
    either side of the integer and pick different frames."""
    generator = torch.Generator().manual_seed(0)
    specgram = torch.randn(2, 33, 50, dtype=torch.complex128, generator=generator)
    hop_length = 16
    phase_advance = torch.linspace(0, math.pi * hop_length, 33, dtype=torch.float64)[..., None]
    for rate in (0.5, 0.75, 1.25, 2.0, 3.0):
        out = F.phase_vocoder(specgram, rate, phase_advance)
        expected = librosa.phase_vocoder(specgram.numpy(), rate=rate, hop_length=hop_length)
        assert out.shape[-1] == math.ceil(50 / rate)
        np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=1e-10)


# --- float64 reference, lengths, shapes -------------------------------------------------


@pytest.mark.parametrize("rate", [0.625, 1.0, 1.3, 2.5])
def test_time_stretch_float64_reference(backend, device, rate):
    x = torch.randn(2, 1500, generator=torch.Generator().manual_seed(1)).to(device)
    out = F.time_stretch(x, rate, n_fft=64)
    assert out.shape == (2, round(1500 / rate))
    expected = reference64(F.time_stretch, x.cpu(), rate, n_fft=64)
    assert same_frames_in_float32(1500 // 16 + 1, rate)
    frames = math.ceil((1500 // 16 + 1) / rate)
    assert_close_to_reference(out, expected, rel=float32_phase_tolerance(16, frames))


@pytest.mark.parametrize("n_steps", [-7, -2.5, 0, 0.25, 4])
def test_pitch_shift_float64_reference(backend, device, n_steps):
    x = torch.randn(3, 1201, generator=torch.Generator().manual_seed(2)).to(device)
    out = F.pitch_shift(x, 8000, n_steps, n_fft=64)
    assert out.shape == x.shape
    expected = reference64(F.pitch_shift, x.cpu(), 8000, n_steps, n_fft=64)
    assert same_frames_in_float32(1201 // 16 + 1, 2 ** (-n_steps / 12))
    frames = math.ceil((1201 // 16 + 1) * 2 ** (n_steps / 12))
    assert_close_to_reference(out, expected, rel=float32_phase_tolerance(16, frames))


def test_functional_time_stretch_is_stft_phase_vocoder_istft():
    """time_stretch is torchaudio's pitch shift before its resampling, written out with
    torch.stft / torch.istft."""
    x = torch.randn(2, 3000, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    window = torch.hann_window(256, dtype=torch.float64)
    spec = torch.stft(x, 256, 64, window=window, return_complex=True)
    phase_advance = torch.linspace(0, math.pi * 64, 129, dtype=torch.float64)[..., None]
    stretched = F.phase_vocoder(spec, 1.7, phase_advance)
    expected = torch.istft(stretched, 256, 64, window=window, length=round(3000 / 1.7))
    torch.testing.assert_close(F.time_stretch(x, 1.7, n_fft=256), expected, rtol=0, atol=1e-12)


def test_zero_steps_gives_the_input_back(backend, device):
    x = torch.randn(2, 4000, generator=torch.Generator().manual_seed(4)).to(device)
    assert_close_to_reference(F.pitch_shift(x, SAMPLE_RATE, 0), x, rel=1e-5)
    assert_close_to_reference(F.time_stretch(x, 1.0), x, rel=1e-5)


def test_transforms_equal_functional(backend, device):
    x = torch.randn(2, 2000, generator=torch.Generator().manual_seed(5)).to(device)
    # PitchShift's hop_length defaults to win_length // 4, the functional's to n_fft // 4.
    module = T.PitchShift(SAMPLE_RATE, 2.5, n_fft=256, win_length=200).to(device)
    expected = F.pitch_shift(
        x, SAMPLE_RATE, 2.5, n_fft=256, win_length=200, hop_length=50,
        window=torch.hann_window(200, device=device),
    )  # fmt: skip
    torch.testing.assert_close(module(x), expected, rtol=0, atol=1e-6)
    stretch = T.TimeStretchWaveform(1.4, n_fft=128).to(device)
    torch.testing.assert_close(stretch(x), F.time_stretch(x, 1.4, n_fft=128), rtol=0, atol=0)
    torch.testing.assert_close(stretch(x, 0.8), F.time_stretch(x, 0.8, n_fft=128), rtol=0, atol=0)
    spec = F.spectrogram(x, 0, torch.hann_window(128, device=device), 128, 32, 128, None, False)
    advance = torch.linspace(0, math.pi * 32, 65, device=device)[..., None]
    torch.testing.assert_close(
        T.TimeStretch(32, 65)(spec, 1.3), F.phase_vocoder(spec, 1.3, advance), rtol=0, atol=0
    )


def test_batch_equals_stacked_singles(backend, device):
    x = torch.randn(2, 3, 1001, generator=torch.Generator().manual_seed(6)).to(device)
    for fn in (lambda w: F.pitch_shift(w, 8000, 3, n_fft=64), lambda w: F.time_stretch(w, 1.3, 64)):
        stacked = torch.stack([torch.stack([fn(row) for row in item]) for item in x])
        torch.testing.assert_close(fn(x), stacked, rtol=0, atol=1e-6)


def test_odd_and_non_contiguous_input(backend, device):
    base = torch.randn(3, 2, 803, generator=torch.Generator().manual_seed(7)).to(device)
    for x in (base[..., ::2], base.transpose(0, 1), base[1:3, :, 5:598]):
        assert not x.is_contiguous()
        out = F.pitch_shift(x, 8000, -1.5, n_fft=64)
        torch.testing.assert_close(out, F.pitch_shift(x.contiguous(), 8000, -1.5, n_fft=64))
        stretched = F.time_stretch(x, 0.7, n_fft=64)
        assert stretched.shape == (*x.shape[:-1], round(x.shape[-1] / 0.7))
        torch.testing.assert_close(stretched, F.time_stretch(x.contiguous(), 0.7, n_fft=64))


def test_empty_input(backend, device):
    assert F.pitch_shift(torch.empty(0, 2, 500, device=device), 8000, 2).shape == (0, 2, 500)
    assert F.time_stretch(torch.empty(0, 500, device=device), 2.0).shape == (0, 250)
    assert F.pitch_shift(torch.empty(2, 0, device=device), 8000, 2).shape == (2, 0)
    assert F.time_stretch(torch.empty(3, 0, device=device), 0.5).shape == (3, 0)
    empty_spec = torch.empty(0, 65, 10, dtype=torch.complex64, device=device)
    assert T.TimeStretch(n_freq=65)(empty_spec, 0.5).shape == (0, 65, 20)


@pytest.mark.parametrize(("dtype", "rel"), [(torch.float16, 5e-3), (torch.bfloat16, 3e-2)])
def test_half_precision_in_and_out(backend, device, dtype, rel):
    x = torch.randn(2, 1200, generator=torch.Generator().manual_seed(8)).to(device, dtype)
    out = F.pitch_shift(x, 8000, 2, n_fft=64)
    assert out.dtype == dtype
    assert_close_to_reference(out, F.pitch_shift(x.float(), 8000, 2, n_fft=64), rel=rel)
    assert F.time_stretch(x, 1.5, n_fft=64).dtype == dtype


# --- pure tones ---------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.5, 0.8, 1.25, 2.0])
def test_time_stretch_keeps_a_tone(backend, device, rate):
    if backend == "triton" and rate not in (0.5, 2.0):
        pytest.skip("two rates are enough under the interpreter")
    x = tone(440.0).to(device)
    out = F.time_stretch(x, rate)
    assert out.shape == (1, round(SAMPLE_RATE / rate))
    assert tone_frequency(out) == pytest.approx(440.0, rel=1e-2)


TRITON_STEPS = [-12, -5.5, 1, 6.75, 12]  # 1: 16951 -> 16000 Hz, coprime


@pytest.mark.parametrize("n_steps", [n / 4 for n in range(-48, 49, 3)] + [-5.5, 1])
def test_pitch_shift_moves_a_tone(backend, device, n_steps):
    if backend == "triton" and n_steps not in TRITON_STEPS:
        pytest.skip("a few steps are enough under the interpreter")
    x = tone(440.0).to(device)
    out = F.pitch_shift(x, SAMPLE_RATE, n_steps)
    assert out.shape == x.shape
    assert tone_frequency(out) == pytest.approx(440.0 * 2 ** (n_steps / 12), rel=1e-2)


def test_pitch_shift_by_bins_per_octave():
    x = tone(500.0)
    out = F.pitch_shift(x, SAMPLE_RATE, 5, bins_per_octave=24)
    assert tone_frequency(out) == pytest.approx(500.0 * 2 ** (5 / 24), rel=1e-3)


# --- memory -------------------------------------------------------------------------------

_MEMORY_SCRIPT = r"""
import sys, torch
import tritaudio, tritaudio.functional as F


def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(field))


def peak_extra(fn):
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset the peak resident set (VmHWM) to the current one
    before = status("VmRSS")
    fn()
    return status("VmHWM") - before


x = torch.randn(1, 16000)
with tritaudio.use_backend("torch"):
    F.pitch_shift(x, 16000, 1.0)  # one-time initialisations (FFT plans, imports)
    extras = [peak_extra(lambda: F.pitch_shift(x, 16000, float(n))) for n in sys.argv[1:]]
calibration = peak_extra(lambda: torch.ones(50 * 2**20 // 4))
print(calibration, *extras)
"""


def test_pitch_shift_memory_stays_small_on_the_torch_path():
    """Peak extra memory of pitch_shift on 1 s at 16 kHz, every half step in [-12, 12],
    torch path on the CPU: in a fresh interpreter, the growth of the peak resident set
    (Linux's VmHWM, reset through /proc/self/clear_refs before each call) above the
    resident set before the call. glibc's malloc is told to map every block of 64 KB or
    more on its own (MALLOC_MMAP_THRESHOLD_), so freed memory leaves the resident set and
    cannot hide the next call's allocations; a 50 MB tensor is measured as a check.
    torchaudio's filter table alone is up to 1 GB here (16000 x 1 x ~16500 float32)."""
    steps = [str(n / 2) for n in range(-24, 25)]
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="65536")
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, *steps],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    if result.returncode and "clear_refs" in result.stderr:
        pytest.skip(f"peak resident set cannot be reset here: {result.stderr[-200:]}")
    assert result.returncode == 0, result.stderr
    calibration, *extras = (int(v) for v in result.stdout.split())
    assert 49 * 2**20 <= calibration <= 52 * 2**20, f"a 50 MB tensor measured {calibration}"
    worst = max(range(len(extras)), key=extras.__getitem__)
    assert extras[worst] < 64 * 2**20, (
        f"n_steps={steps[worst]}: peak extra memory {extras[worst] / 2**20:.1f} MB"
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA memory statistics need a GPU")
def test_pitch_shift_memory_stays_small_on_the_gpu():
    x = torch.randn(1, 16000, device="cuda")
    for n_steps in [n / 4 for n in range(-48, 49)]:
        F.pitch_shift(x, SAMPLE_RATE, n_steps)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        F.pitch_shift(x, SAMPLE_RATE, n_steps)
        extra = torch.cuda.max_memory_allocated() - base
        assert extra < 64 * 2**20, f"n_steps={n_steps}: {extra / 2**20:.1f} MB"


# --- gradients ----------------------------------------------------------------------------


def test_gradcheck_through_the_triton_path():
    """Full Jacobians on a short signal, then random directions (fast_mode) on a longer
    one: every forward runs the framing, overlap-add and resampling kernels under the
    interpreter."""
    generator = torch.Generator().manual_seed(9)
    x = torch.randn(1, 20, dtype=torch.float64, generator=generator).requires_grad_(True)
    longer = torch.randn(2, 60, dtype=torch.float64, generator=generator).requires_grad_(True)
    with tritaudio.use_backend("triton"):
        assert torch.autograd.gradcheck(lambda w: F.pitch_shift(w, 50, 3, n_fft=8), (x,))
        for fn in (
            lambda w: F.time_stretch(w, 1.3, n_fft=16),
            lambda w: F.pitch_shift(w, 50, -2.5, n_fft=16),
        ):
            assert torch.autograd.gradcheck(fn, (longer,), fast_mode=True)


def test_gradcheck_on_the_torch_path():
    x = torch.randn(1, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
    x.requires_grad_(True)
    with tritaudio.use_backend("torch"):
        assert torch.autograd.gradcheck(lambda w: F.pitch_shift(w, 50, 3.5, n_fft=16), (x,))
        assert torch.autograd.gradcheck(lambda w: F.time_stretch(w, 0.8, n_fft=16), (x,))


def test_gradcheck_phase_vocoder():
    generator = torch.Generator().manual_seed(10)
    spec = torch.randn(2, 9, 12, dtype=torch.complex128, generator=generator)
    spec = (spec + 0.5 * spec / spec.abs()).requires_grad_(True)  # away from |S| = 0
    advance = torch.linspace(0, math.pi * 4, 9, dtype=torch.float64)[..., None]
    for rate in (0.7, 1.6):
        stretch = lambda s, rate=rate: F.phase_vocoder(s, rate, advance)
        assert torch.autograd.gradcheck(stretch, (spec,))


def test_phase_vocoder_in_blocks_of_bins_gives_the_same_numbers(monkeypatch):
    from tritaudio import _reference

    generator = torch.Generator().manual_seed(11)
    spec = torch.randn(3, 65, 80, dtype=torch.complex64, generator=generator)
    advance = torch.linspace(0, math.pi * 16, 65)[..., None]
    one_pass = F.phase_vocoder(spec, 0.8, advance)
    monkeypatch.setattr(_reference, "PHASE_VOCODER_CHUNK", 3 * 100 * 7)  # 7 bins per pass
    assert torch.equal(F.phase_vocoder(spec, 0.8, advance), one_pass)
    spec64 = spec[:1, :9, :12].to(torch.complex128)
    spec64 = (spec64 + 0.5 * spec64 / spec64.abs()).requires_grad_(True)
    monkeypatch.setattr(_reference, "PHASE_VOCODER_CHUNK", 15 * 2)  # 2 bins per pass
    assert torch.autograd.gradcheck(
        lambda s: F.phase_vocoder(s, 0.8, advance[:9].double()), (spec64,)
    )


# --- bad input ----------------------------------------------------------------------------


def test_bad_input():
    x = torch.randn(1, 1000)
    spec = F.spectrogram(x, 0, torch.hann_window(400), 400, 200, 400, None, False)
    advance = torch.linspace(0, math.pi * 200, 201)[..., None]
    for rate in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="rate"):
            F.phase_vocoder(spec, rate, advance)
        with pytest.raises(ValueError, match="rate"):
            F.time_stretch(x, rate)
        with pytest.raises(ValueError, match="rate"):
            T.TimeStretch(fixed_rate=rate)
        with pytest.raises(ValueError, match="rate"):
            T.TimeStretch()(spec, rate)
    with pytest.raises(TypeError, match="rate"):
        F.time_stretch(x, "fast")
    with pytest.raises(ValueError, match="n_freq=257"):
        T.TimeStretch(n_freq=257, fixed_rate=1.2)(spec)
    with pytest.raises(ValueError, match=r"\(201, 1\)"):
        F.phase_vocoder(spec, 1.2, advance[:100])
    with pytest.raises(TypeError, match="complex"):
        T.TimeStretch(fixed_rate=1.2)(spec.abs())
    with pytest.raises(TypeError, match="complex"):
        F.phase_vocoder(spec.abs(), 1.2, advance)
    with pytest.raises(ValueError, match="fixed_rate"):
        T.TimeStretch()(spec)
    with pytest.raises(ValueError, match="fixed_rate"):
        T.TimeStretchWaveform()(x)
    with pytest.raises(TypeError, match="real"):
        F.pitch_shift(spec, 16000, 2)
    with pytest.raises(TypeError, match="floating"):
        F.time_stretch(torch.zeros(1, 1000, dtype=torch.int16), 1.5)
    for bins in (0, -12, float("nan")):
        with pytest.raises(ValueError, match="bins_per_octave"):
            F.pitch_shift(x, 16000, 2, bins_per_octave=bins)
        with pytest.raises(ValueError, match="bins_per_octave"):
            T.PitchShift(16000, 2, bins_per_octave=bins)
    with pytest.raises(TypeError, match="n_steps"):
        F.pitch_shift(x, 16000, "up")
    with pytest.raises(ValueError, match="n_steps"):
        F.pitch_shift(x, 16000, float("inf"))
    with pytest.raises(ValueError, match="n_steps"):
        F.pitch_shift(x, 8, -60)  # 8 Hz / 32 rounds to a 0 Hz resampling rate
    with pytest.raises(ValueError, match="sample_rate"):
        F.pitch_shift(x, 0, 2)
    with pytest.raises(ValueError, match="window"):
        F.pitch_shift(x, 16000, 2, window=torch.hann_window(256))
    with pytest.raises(ValueError, match="hop_length"):
        F.time_stretch(x, 1.5, hop_length=0)
    with pytest.raises(ValueError, match="reflect"):
        F.time_stretch(torch.randn(1, 100), 1.5)  # shorter than half a frame


def test_extreme_rates_and_steps_name_the_argument():
    # issue 14, item 8: these reached OverflowError / ZeroDivisionError / RuntimeError
    x = torch.randn(1, 2000)
    spec = torch.zeros(1, 3, 4, dtype=torch.complex64)
    for rate in (1e300, 5e-324):
        with pytest.raises(ValueError, match=r"rate=.* rate must be in \["):
            F.time_stretch(x, rate)
    with pytest.raises(ValueError, match=r"rate=5e-324 .* frames"):
        F.phase_vocoder(spec, 5e-324, torch.zeros(3, 1))
    assert F.phase_vocoder(spec, 1e300, torch.zeros(3, 1)).shape == (1, 3, 1)  # torchaudio's
    with pytest.raises(ValueError, match=r"n_steps=1000000.0 .* must be in \[-13.9658, 17.0342\]"):
        F.pitch_shift(x, 16000, 1e6)
    with pytest.raises(ValueError, match="bins_per_octave=1e-300"):
        T.PitchShift(16000, 1, bins_per_octave=1e-300)
