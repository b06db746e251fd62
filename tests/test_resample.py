"""Resample, functional.resample, Speed, SpeedPerturbation: both paths against torchaudio."""

import math
import os
import subprocess
import sys

import pytest
import torch
from helpers import DATA, assert_close_to_reference, parity, parity_cases

import tritaudio
import tritaudio.functional as F
import tritaudio.transforms as T

KAISER_BEST = dict(
    lowpass_filter_width=16,
    rolloff=0.85,
    resampling_method="sinc_interp_kaiser",
    beta=8.555,
)


def torchaudio_formula(x, orig, new, lowpass_filter_width=6, rolloff=0.99, kaiser=False, beta=None):
    """torchaudio's resampling as published (its filter table and strided conv1d), written
    as a dense (n_out, n_in) matrix in float64: every tap torchaudio applies, zeros too."""
    gcd = math.gcd(orig, new)
    orig, new = orig // gcd, new // gcd
    base = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base)
    n_in = x.shape[-1]
    n = torch.arange(math.ceil(new * n_in / orig), dtype=torch.float64)[:, None]
    k = torch.arange(n_in, dtype=torch.float64)[None, :]
    block = torch.div(n, new, rounding_mode="floor")
    in_table = (k >= block * orig - width) & (k < block * orig + orig + width)
    t = ((k - block * orig) / orig - (n - block * new) / new) * base
    t = t.clamp(-lowpass_filter_width, lowpass_filter_width)
    if kaiser:
        beta = torch.tensor(14.769656459379492 if beta is None else beta, dtype=torch.float64)
        window = torch.i0(beta * torch.sqrt(1 - (t / lowpass_filter_width) ** 2)) / torch.i0(beta)
    else:
        window = torch.cos(t * math.pi / lowpass_filter_width / 2) ** 2
    t = t * math.pi
    sinc = torch.where(t == 0, torch.ones_like(t), torch.sin(t) / t)
    matrix = torch.where(in_table, sinc * window * base / orig, 0.0)
    return x.double() @ matrix.T


@pytest.mark.parametrize(
    ("orig", "new"),
    [(16000, 8000), (8000, 11025), (3, 2), (2, 3), (11, 7), (16001, 16000), (1, 5), (7, 1)],
)
def test_matches_torchaudio_formula(backend, device, orig, new):
    x = torch.randn(2, 301, generator=torch.Generator().manual_seed(orig)).to(device)
    out = F.resample(x, orig, new)
    assert_close_to_reference(out, torchaudio_formula(x.cpu(), orig, new), what=f"{orig}->{new}")


def test_kaiser_matches_torchaudio_formula(backend, device):
    x = torch.randn(3, 257, generator=torch.Generator().manual_seed(1)).to(device)
    out = F.resample(x, 44100, 16000, **KAISER_BEST)
    expected = torchaudio_formula(x.cpu(), 44100, 16000, 16, 0.85, kaiser=True, beta=8.555)
    assert_close_to_reference(out, expected, what="kaiser")


def test_resample_fixtures(backend, device):
    for case in parity_cases("transforms.Resample"):
        x = parity()["inputs"][case["input"]].to(device)
        out = T.Resample(**case["kwargs"]).to(device)(x)
        assert_close_to_reference(out, case["output"], rel=1e-4, what=str(case["kwargs"]))


def test_functional_equals_transform(backend, device):
    for case in parity_cases("transforms.Resample"):
        if "lowpass_filter_width" in case["kwargs"]:
            continue  # the wide Kaiser filters are slow under the interpreter
        x = parity()["inputs"][case["input"]].to(device)
        kwargs = case["kwargs"]
        torch.testing.assert_close(F.resample(x, **kwargs), T.Resample(**kwargs).to(device)(x))


def test_speed_fixtures(backend, device):
    for case in parity_cases("transforms.Speed"):
        x = parity()["inputs"][case["input"]].to(device)
        out, lengths = T.Speed(**case["kwargs"])(x)
        assert lengths is None
        assert_close_to_reference(out, case["output"][0], rel=1e-4, what=str(case["kwargs"]))


def test_speed_lengths():
    lengths = parity()["inputs"]["lengths"]
    _, out_lengths = F.speed(torch.zeros(2, 3, 3001), 16000, 0.9, lengths)
    # torchaudio: ceil(lengths * target / source) with (source, target) = (14400, 16000) / gcd.
    assert out_lengths.dtype == lengths.dtype
    assert torch.equal(out_lengths, torch.ceil(lengths * 10 / 9).to(lengths.dtype))
    _, module_lengths = T.Speed(16000, 0.9)(torch.zeros(2, 3, 3001), lengths)
    assert torch.equal(module_lengths, out_lengths)


def test_speed_perturbation_draws_like_torchaudio():
    factors = [0.9, 1.0, 1.1]
    x = torch.randn(1, 1000)
    module = T.SpeedPerturbation(16000, factors)
    torch.manual_seed(3)
    expected = [int(torch.randint(len(factors), ())) for _ in range(6)]
    torch.manual_seed(3)
    for index in expected:
        out, _ = module(x)
        assert torch.equal(out, T.Speed(16000, factors[index])(x)[0])


def test_equal_rates_return_the_input(backend):
    x = torch.randn(2, 100)
    assert F.resample(x, 16000, 16000) is x
    assert T.Resample(8000, 8000)(x) is x


@pytest.mark.parametrize("n_in", [0, 1, 2, 3, 17])
def test_short_and_empty_signals(backend, device, n_in):
    x = torch.randn(2, n_in, device=device)
    out = F.resample(x, 5, 3)
    assert out.shape == (2, math.ceil(3 * n_in / 5))
    assert_close_to_reference(out, torchaudio_formula(x.cpu(), 5, 3), what=f"length {n_in}")


def test_empty_batch(backend, device):
    assert F.resample(torch.empty(0, 3, 100, device=device), 3, 2).shape == (0, 3, 67)


def test_batch_equals_stacked_singles(backend, device):
    x = torch.randn(3, 2, 211, device=device)
    stacked = torch.stack([F.resample(item, 16000, 22050) for item in x])
    torch.testing.assert_close(F.resample(x, 16000, 22050), stacked, rtol=0, atol=1e-6)


def test_non_contiguous_input(backend, device):
    base = torch.randn(4, 3, 402, device=device)
    for x in (base[..., ::2], base.transpose(0, 1), base[1:3, :, 5:300]):
        assert not x.is_contiguous()
        expected = torchaudio_formula(x.cpu().reshape(-1, x.shape[-1]), 3, 4)
        assert_close_to_reference(F.resample(x, 3, 4).reshape(-1, expected.shape[-1]), expected)


@pytest.mark.parametrize(("dtype", "rel"), [(torch.float16, 3e-3), (torch.bfloat16, 2e-2)])
def test_half_precision_in_and_out(backend, device, dtype, rel):
    x = torch.randn(2, 300, device=device).to(dtype)
    out = F.resample(x, 4, 3)
    assert out.dtype == dtype
    assert_close_to_reference(out, torchaudio_formula(x.cpu().float(), 4, 3), rel=rel)


@pytest.mark.parametrize(("orig", "new", "fast_mode"), [(5, 3, False), (2, 5, True), (11, 7, True)])
def test_gradcheck_through_triton(device, orig, new, fast_mode):
    # fast_mode checks the Jacobian along random directions: fewer interpreted launches.
    x = torch.randn(2, 13, dtype=torch.float64, device=device, requires_grad=True)
    with tritaudio.use_backend("triton"):
        resample = lambda x: F.resample(x, orig, new)
        assert torch.autograd.gradcheck(resample, (x,), fast_mode=fast_mode)


def test_gradgradcheck_and_kaiser_gradient_through_triton(device):
    x = torch.randn(2, 19, dtype=torch.float64, device=device, requires_grad=True)
    kaiser = lambda x: F.resample(x, 4, 3, **KAISER_BEST)
    with tritaudio.use_backend("triton"):
        assert torch.autograd.gradgradcheck(lambda x: F.resample(x, 3, 2), (x,), fast_mode=True)
        assert torch.autograd.gradcheck(kaiser, (x,), fast_mode=True)


def test_reference_path_gradient_matches_triton(device):
    x = torch.randn(2, 3, 150, device=device, requires_grad=True)
    grad_out = torch.randn(2, 3, 128, device=device)
    grads = []
    for name in ("torch", "triton"):
        x.grad = None
        with tritaudio.use_backend(name):
            F.resample(x, 75, 64).backward(grad_out)
        grads.append(x.grad.clone())
    assert_close_to_reference(grads[1], grads[0].double(), what="grad")


def test_deprecated_method_names_warn(backend):
    x = torch.randn(1, 100)
    with pytest.warns(FutureWarning, match="sinc_interp_hann"):
        old = F.resample(x, 3, 2, resampling_method="sinc_interpolation")
    torch.testing.assert_close(old, F.resample(x, 3, 2))
    with pytest.warns(FutureWarning, match="sinc_interp_kaiser"):
        T.Resample(3, 2, resampling_method="kaiser_window")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(orig_freq=0, new_freq=16000), ValueError, "orig_freq must be positive"),
        (dict(orig_freq=16000, new_freq=-8000), ValueError, "new_freq must be positive"),
        (dict(orig_freq=16000.5, new_freq=8000), ValueError, "integer"),
        (dict(orig_freq="16000", new_freq=8000), TypeError, "orig_freq"),
        (dict(orig_freq=True, new_freq=8000), TypeError, "orig_freq"),
        (dict(orig_freq=16000, new_freq=8000, lowpass_filter_width=0), ValueError, "lowpass"),
        (dict(orig_freq=16000, new_freq=8000, lowpass_filter_width=-3), ValueError, "lowpass"),
        (dict(orig_freq=16000, new_freq=8000, rolloff=0.0), ValueError, "rolloff"),
        (dict(orig_freq=16000, new_freq=8000, rolloff=1.01), ValueError, "rolloff"),
        (dict(orig_freq=16000, new_freq=8000, resampling_method="linear"), ValueError, "method"),
        (
            dict(orig_freq=3, new_freq=2, resampling_method="sinc_interp_kaiser", beta=math.nan),
            ValueError,
            "beta",
        ),
    ],
)
def test_bad_arguments(backend, kwargs, error, match):
    with pytest.raises(error, match=match):
        F.resample(torch.zeros(1, 10), **kwargs)
    with pytest.raises(error, match=match):
        T.Resample(**kwargs)


def test_integer_waveforms_are_refused(backend):
    for module in (lambda x: F.resample(x, 2, 1), T.Resample(2, 1), T.Speed(16000, 1.1)):
        with pytest.raises(TypeError, match="floating-point"):
            module(torch.zeros(1, 10, dtype=torch.int16))


def test_bad_speed_factor():
    for factor in (0, -1.0, math.inf, 1e-6):
        with pytest.raises(ValueError, match="factor"):
            T.Speed(16000, factor)
    with pytest.raises(ValueError, match="at least one"):
        T.SpeedPerturbation(16000, [])


def test_module_moves_with_to_and_loads_torchaudio_state_dicts():
    assert T.Resample(44100, 16000).to(torch.float64).kernel.dtype == torch.float64
    module = T.Resample(44100, 16000, dtype=torch.float64)
    x = torch.randn(1, 441, dtype=torch.float64)
    with tritaudio.use_backend("torch"):
        assert_close_to_reference(module(x), torchaudio_formula(x, 44100, 16000), rel=1e-12)
    torchaudio_state = {"kernel": torch.zeros(160, 1, 475)}  # torchaudio's table layout
    T.Resample(44100, 16000).load_state_dict(torchaudio_state)
    assert "kernel" not in module.state_dict()


def test_load_resamples_on_request():
    path = DATA / "speech_en_22k.wav"
    native, rate = tritaudio.load(path)
    resampled, new_rate = tritaudio.load(path, sample_rate=16000)
    assert (rate, new_rate) == (22050, 16000)
    torch.testing.assert_close(resampled, F.resample(native, 22050, 16000))
    last, _ = tritaudio.load(DATA / "chord_stereo_44k.wav", channels_first=False, sample_rate=8000)
    first, _ = tritaudio.load(DATA / "chord_stereo_44k.wav", sample_rate=8000)
    assert last.shape == (24000, 2) and torch.equal(last, first.t())
    same, _ = tritaudio.load(path, sample_rate=22050)
    assert torch.equal(same, native)
    with pytest.raises(ValueError, match="normalize"):
        tritaudio.load(path, normalize=False, sample_rate=16000)
    with pytest.raises(ValueError, match="sample_rate"):
        tritaudio.load(path, sample_rate=0)


# Peak memory a call adds, measured in a fresh process: /proc/self/clear_refs resets the
# high-water mark of the resident set to its current size (Linux).
MEMORY_SCRIPT = """
import sys, torch, tritaudio, tritaudio.functional as F
orig, new, backend = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
seconds = float(sys.argv[4])
device = "cuda" if torch.cuda.is_available() else "cpu"
x = torch.randn(1, int(seconds * orig), device=device)
with tritaudio.use_backend(backend):
    F.resample(x[:, :1000], orig, new)  # warm-up: imports, kernel preparation
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    else:
        with open("/proc/self/status") as f:
            before = next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) * 1024
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    y = F.resample(x, orig, new)
    if device == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
    else:
        with open("/proc/self/status") as f:
            peak = next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) * 1024
extra = peak - before - y.numel() * y.element_size()
print(extra / 2**20)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc")
@pytest.mark.parametrize("backend_name", ["torch", "triton"])
@pytest.mark.parametrize(("orig", "new"), [(16001, 16000), (44100, 48000), (9999991, 10000019)])
def test_memory_does_not_grow_with_the_ratio(backend_name, orig, new):
    # 10 s, except at 10 MHz (no table: the taps are computed where used, slowly on a CPU,
    # and the interpreter is slower still): a table would be 1.3 GB at any duration.
    seconds = 10.0 if orig < 10**6 else (0.2 if backend_name == "torch" else 0.005)
    if torch.cuda.is_available():
        seconds = 10.0
    env = dict(os.environ, TRITON_INTERPRET=os.environ.get("TRITON_INTERPRET", "0"))
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(orig), str(new), backend_name, str(seconds)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    extra_mb = float(result.stdout.split()[-1])
    print(f"{orig}->{new} {backend_name} {seconds:g} s: {extra_mb:.1f} MB extra")
    assert extra_mb < 64, f"{orig}->{new} on {backend_name}: {extra_mb:.1f} MB extra"


def test_op_registration(device):
    from tritaudio import _ops

    checks = ("test_schema", "test_autograd_registration")
    if device == "cuda":  # fake-tensor tracing needs compiled (not interpreted) kernels
        checks += ("test_faketensor", "test_aot_dispatch_dynamic")
    from tritaudio.functional.resample import ResampleFilter, resample_tables

    x = torch.randn(2, 50, device=device, requires_grad=True)
    filter_args = (3, 2, 6.0, 0.99, 0, 0.0)
    forward, backward = resample_tables(ResampleFilter(*filter_args), torch.float32, x.device)
    filter_args = (*forward, *backward, *filter_args)
    for op, args in (
        (_ops.resample, (x, *filter_args)),
        (_ops.resample_backward, (x, 75, *filter_args)),
        (_ops.resample, (x, None, None, None, None, 3, 2, 6.0, 0.99, 1, 8.0)),  # on the fly
    ):
        result = torch.library.opcheck(op, args, test_utils=checks)
        assert set(result.values()) == {"SUCCESS"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="inductor compiles Triton ops on CUDA")
def test_torch_compile_fullgraph():
    x = torch.randn(2, 3, 4410, device="cuda")
    module = T.Resample(44100, 16000).cuda()
    compiled = torch.compile(module, fullgraph=True)
    assert_close_to_reference(compiled(x), torchaudio_formula(x.cpu(), 44100, 16000))
