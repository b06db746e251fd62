"""Spectral front-end: torchaudio fixtures, librosa, gradients, bad input."""

import math
import os
import subprocess
import sys

import pytest
import torch
from helpers import assert_close_to_reference, parity, parity_cases

import tritaudio
import tritaudio.functional as F
import tritaudio.transforms as T

SPECTRAL = [
    "Spectrogram",
    "MelSpectrogram",
    "MelScale",
    "AmplitudeToDB",
    "MFCC",
    "LFCC",
    "InverseSpectrogram",
    "GriffinLim",
]


def build(case):
    kwargs = dict(case["kwargs"])
    if "window_fn" in kwargs:
        kwargs["window_fn"] = getattr(torch, kwargs["window_fn"])
    return getattr(T, case["api"].split(".")[1])(**kwargs)


@pytest.mark.parametrize("api", SPECTRAL)
def test_transform_fixtures(backend, device, api):
    cases = parity_cases(f"transforms.{api}")
    assert cases
    for case in cases:
        x = parity()["inputs"][case["input"]].to(device)
        out = build(case).to(device)(x, **case["call_kwargs"])
        expected = case["output"]
        if expected.is_complex():
            out, expected = torch.view_as_real(out), torch.view_as_real(expected)
        what = f"{api} {case['kwargs']}"
        if api == "AmplitudeToDB" or (
            api in ("MFCC", "LFCC") and not case["kwargs"].get("log_mels")
        ):
            # dB outputs: within 1e-3 dB (DESIGN.md)
            assert (out.cpu() - expected).abs().max() <= 1e-3, what
        else:
            assert_close_to_reference(out, expected, rel=1e-4, what=what)


def test_functional_fixtures():
    for api in ("melscale_fbanks", "create_dct"):
        for case in parity_cases(f"functional.{api}"):
            out = getattr(F, api)(**case["kwargs"])
            assert_close_to_reference(out, case["output"], rel=1e-5, what=f"{api} {case['kwargs']}")


@pytest.mark.parametrize("htk", [True, False])
@pytest.mark.parametrize("norm", [None, "slaney"])
def test_mel_filterbank_matches_librosa(htk, norm):
    librosa = pytest.importorskip("librosa")
    for sr, n_fft, n_mels, fmin, fmax in [
        (16000, 400, 80, 0.0, 8000.0),
        (22050, 1024, 64, 30.0, 9000.0),
    ]:
        ours = F.melscale_fbanks(
            n_fft // 2 + 1, fmin, fmax, n_mels, sr, norm, "htk" if htk else "slaney"
        )
        theirs = librosa.filters.mel(
            sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm
        )
        assert_close_to_reference(
            ours.T, torch.from_numpy(theirs), rel=1e-4, what=f"{sr} {htk} {norm}"
        )


@pytest.mark.parametrize(
    ("mel_scale", "norm"),
    [("htk", None), ("slaney", "slaney"), ("slaney", None), ("htk", "slaney")],
)
def test_mel_spectrogram_matches_librosa(backend, device, mel_scale, norm):
    librosa = pytest.importorskip("librosa")
    waveform = parity()["inputs"]["speech16k"].double()
    module = T.MelSpectrogram(
        16000, n_fft=512, hop_length=160, n_mels=64, norm=norm, mel_scale=mel_scale
    )
    ours = module.to(device, torch.float64)(waveform.to(device))
    theirs = librosa.feature.melspectrogram(
        y=waveform[0].numpy(), sr=16000, n_fft=512, hop_length=160, n_mels=64, window="hann",
        center=True, pad_mode="reflect", power=2.0, htk=mel_scale == "htk", norm=norm,
    )  # fmt: skip
    assert_close_to_reference(
        ours[0], torch.from_numpy(theirs), rel=1e-4, what=f"{mel_scale} {norm}"
    )


def test_per_example_top_db(backend):
    quiet_and_loud = torch.stack([torch.full((4, 5), 1e-6), torch.full((4, 5), 1.0)])
    quiet_and_loud[:, 0, 0] *= 100  # each example's maximum, 20 dB above its floor
    # quiet: -60 dB with a -40 dB peak; loud: 0 dB with a +20 dB peak
    global_floor = T.AmplitudeToDB("power", top_db=30.0)(quiet_and_loud)
    assert global_floor[0].min() == -10.0  # torchaudio: the loud example's peak - 30 for all
    own_floor = T.AmplitudeToDB("power", top_db=30.0, per_example=True)(quiet_and_loud)
    assert own_floor[0].min() == pytest.approx(-60.0) and own_floor[0].max() == pytest.approx(-40.0)
    torch.testing.assert_close(own_floor[1], global_floor[1])


def test_batch_equals_stacked_singles_and_non_contiguous(backend, device):
    module = T.MelSpectrogram(16000, n_fft=256, hop_length=64, n_mels=32).to(device)
    x = torch.randn(3, 2, 1601, device=device)
    stacked = torch.stack([module(item) for item in x])
    torch.testing.assert_close(module(x), stacked, rtol=1e-5, atol=1e-6)
    strided = torch.randn(2, 3202, device=device)[:, ::2]
    torch.testing.assert_close(module(strided), module(strided.contiguous()), rtol=1e-5, atol=1e-6)


def test_empty_batch(backend, device):
    out = T.Spectrogram(n_fft=64, hop_length=16).to(device)(torch.empty(0, 300, device=device))
    assert out.shape == (0, 33, 19)
    assert T.MelSpectrogram(n_fft=64, n_mels=8).to(device)(
        torch.empty(2, 0, 300, device=device)
    ).shape == (2, 0, 8, 10)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_inputs(backend, device, dtype):
    x = torch.randn(2, 4000, device=device)
    module = T.MelSpectrogram(16000, n_fft=400, hop_length=160, n_mels=40).to(device)
    out = module(x.to(dtype))
    # float16's power spectra come back in float32 (they overflow float16: issue 14 item 5)
    assert out.dtype == (torch.float32 if dtype == torch.float16 else dtype)
    assert_close_to_reference(out.float(), module(x.to(dtype).float()).double(), rel=1e-2)


def gradient_modules():
    return {
        "spectrogram power 1": T.Spectrogram(n_fft=32, hop_length=8, power=1.0),
        "spectrogram power 2": T.Spectrogram(n_fft=32, hop_length=8),
        "spectrogram complex": lambda x: torch.view_as_real(
            T.Spectrogram(n_fft=32, hop_length=8, power=None)(x)
        ),
        "mel": T.MelSpectrogram(8000, n_fft=32, hop_length=8, n_mels=6),
        "mfcc": T.MFCC(8000, n_mfcc=4, melkwargs=dict(n_fft=32, hop_length=8, n_mels=6)),
        "mfcc log_mels, magnitude": T.MFCC(
            8000, n_mfcc=4, log_mels=True, melkwargs=dict(n_fft=32, hop_length=8, power=1.0)
        ),
        "lfcc": T.LFCC(8000, n_filter=8, n_lfcc=4, speckwargs=dict(n_fft=32, hop_length=8)),
        "db": lambda x: T.AmplitudeToDB(top_db=40.0)(x.abs() + 0.1),
        "inverse": lambda x: T.InverseSpectrogram(n_fft=32, hop_length=8)(
            torch.complex(
                x[..., : 17 * 9].reshape(-1, 17, 9), x[..., 1 : 1 + 17 * 9].reshape(-1, 17, 9)
            )
        ),
    }


@pytest.mark.parametrize("name", list(gradient_modules()))
def test_gradcheck(name, device):
    module = gradient_modules()[name]
    if isinstance(module, torch.nn.Module):
        module = module.to(device, torch.float64)
    x = torch.randn(2, 160, dtype=torch.float64, device=device, requires_grad=True)
    with tritaudio.use_backend("triton"):
        assert torch.autograd.gradcheck(module, (x,), fast_mode=True)
        assert torch.autograd.gradgradcheck(module, (x,), fast_mode=True)


@pytest.mark.parametrize(
    "module",
    [
        T.Spectrogram(n_fft=32, hop_length=8, power=1.0),
        T.MelSpectrogram(8000, n_fft=32, hop_length=8, n_mels=6, power=1.0),
        T.MFCC(8000, n_mfcc=4, melkwargs=dict(n_fft=32, hop_length=8, n_mels=6, power=1.0)),
    ],
    ids=["spectrogram", "mel", "mfcc"],
)
def test_magnitude_gradient_at_zero_is_finite(backend, device, module):
    x = torch.zeros(1, 200, device=device, requires_grad=True)
    module.to(device)(x).sum().backward()
    assert torch.isfinite(x.grad).all()


FUSED_CASES = {
    "power": dict(power=2.0, n_mels=40),
    "magnitude, slaney": dict(power=1.0, n_mels=40, norm="slaney", mel_scale="slaney"),
    "power 0.7, window norm": dict(power=0.7, n_mels=24, normalized=True),
    "frame_length norm, 70 mels": dict(power=2.0, n_mels=70, normalized="frame_length"),
    "empty filters": dict(power=2.0, n_mels=100, f_min=2000.0, f_max=3000.0),
}
LOGS = {
    "none": None,
    "dB": F.LogScale(10.0, 1e-10, 0.0, 0.0),
    "log(x + 1e-6)": F.LogScale(1.0, 0.0, 1e-6, 0.0, math.e),
    "whisper log10": F.LogScale(1.0, 1e-10),
}


@pytest.mark.filterwarnings("ignore:at least one")
@pytest.mark.parametrize("log", list(LOGS))
@pytest.mark.parametrize("case", list(FUSED_CASES))
def test_fused_mel_kernel_matches_float64_reference(backend, device, case, log):
    kwargs = dict(FUSED_CASES[case])
    module = T.MelSpectrogram(16000, n_fft=256, hop_length=64, **kwargs).to(device)
    x = parity()["inputs"]["speech16k"][:, :3000].repeat(2, 1)
    x[1] *= 0.01  # a quiet row: values near amin, different dB ranges
    fb = module.mel_scale.fb
    out = module.spectrogram.project(x.to(device), fb, LOGS[log])
    with tritaudio.use_backend("torch"):
        ref = module.to(torch.float64).spectrogram.project(x.double(), fb.double(), LOGS[log])
    if LOGS[log] is None:
        assert_close_to_reference(out, ref, rel=1e-5, what=case)
    else:  # log outputs: absolute error, in the log's own unit
        err = (out.cpu().double() - ref).abs().max().item()
        assert err <= 1e-4 * max(1.0, LOGS[log].multiplier), f"{case} {log}: {err}"


def test_mel_spectrogram_runs_the_fused_kernel(monkeypatch, device):
    # with a gradient (or an odd n_fft) the fused kernel over the STFT; without, for an
    # even n_fft, the folded DFT from the waveform
    from tritaudio.kernels import logmel, spectral

    calls = []
    for module, name in ((spectral, "mel_power"), (logmel, "log_mel_fold")):
        launcher = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda *a, f=launcher, n=name, **k: calls.append(n) or f(*a, **k)
        )  # fmt: skip
    monkeypatch.setattr(torch, "matmul", None)  # the projection must not be a matmul
    module = T.MelSpectrogram(16000, n_fft=128, n_mels=16).to(device)
    x = torch.randn(2, 1000, device=device)
    with tritaudio.use_backend("triton"):
        assert module(x.requires_grad_()).shape == (2, 16, 16)
        assert module(x.detach()).shape == (2, 16, 16)
    assert calls == ["mel_power", "log_mel_fold"]


def test_nonzero_ranges():
    from tritaudio.kernels.spectral import nonzero_ranges

    fb = torch.zeros(10, 5)
    fb[2:4, 0] = 1.0
    fb[7, 1] = 1.0
    fb[5, 4] = 1.0  # columns 2 and 3 are empty
    assert nonzero_ranges(fb, 2).tolist() == [[2, 8], [10, 10], [5, 6]]
    assert nonzero_ranges(fb.t(), 4).tolist() == [[0, 1], [1, 5], [5, 5]]


def test_mel_spectrogram_bad_filterbank(backend):
    with pytest.raises(ValueError, match="fb must be"):
        F.mel_spectrogram(
            torch.zeros(1, 400), torch.zeros(10, 4), 0, torch.ones(64), 64, 16, 64, 2.0, False
        )


@pytest.mark.parametrize(
    ("kwargs", "signal", "error", "match"),
    [
        (dict(n_fft=512), torch.zeros(1, 100), ValueError, "reflect padding"),
        (dict(n_fft=512, center=False), torch.zeros(1, 100), ValueError, "n_fft .512. is longer"),
        (dict(n_fft=64, hop_length=0), torch.zeros(1, 100), ValueError, "hop_length"),
        (dict(n_fft=64, win_length=80), torch.zeros(1, 100), ValueError, "win_length"),
        (dict(n_fft=64), torch.zeros(1, 100, dtype=torch.int16), TypeError, "floating-point"),
        (dict(n_fft=64), torch.zeros(1, 100, dtype=torch.complex64), TypeError, "real"),
        (dict(n_fft=64, normalized="peak"), torch.zeros(1, 100), ValueError, "normalized"),
    ],
)
def test_bad_input(backend, kwargs, signal, error, match):
    with pytest.raises(error, match=match):
        T.Spectrogram(**kwargs)(signal)


def test_other_bad_arguments():
    with pytest.raises(TypeError, match="complex"):
        T.InverseSpectrogram(n_fft=64)(torch.zeros(1, 33, 10))
    with pytest.raises(ValueError, match="top_db"):
        T.AmplitudeToDB(top_db=-1.0)
    with pytest.raises(ValueError, match="n_mfcc"):
        T.MFCC(n_mfcc=200)
    with pytest.raises(ValueError, match="momentum"):
        T.GriffinLim(momentum=1.0)
    with pytest.raises(ValueError, match="norm"):
        F.melscale_fbanks(201, 0.0, 8000.0, 40, 16000, norm="l2")


def torch_stft64(x, pad, window, n_fft, hop, center, pad_mode, onesided=True):
    """torch.stft in float64 on the zero-padded signal: the reference for the framing
    kernel's fused padding."""
    x = torch.nn.functional.pad(x.double().reshape(-1, x.shape[-1]), (pad, pad))
    return torch.stft(
        x, n_fft, hop, window=window.double(), center=center, pad_mode=pad_mode,
        onesided=onesided, return_complex=True,
    )  # fmt: skip


@pytest.mark.parametrize("pad_mode", ["reflect", "constant", "replicate", "circular"])
@pytest.mark.parametrize(("pad", "center"), [(0, True), (3, True), (5, False)])
def test_framing_pad_modes_match_torch_stft(backend, device, pad_mode, pad, center):
    x = torch.randn(2, 3, 157, generator=torch.Generator().manual_seed(0)).to(device)
    window = torch.hann_window(48, device=device)
    out = F.spectrogram(x, pad, window, 64, 16, 48, None, False, center, pad_mode)
    expected = torch_stft64(
        x.cpu(), pad, torch.nn.functional.pad(window.cpu(), (8, 8)), 64, 16, center, pad_mode
    )
    out = torch.view_as_real(out.reshape(-1, *out.shape[-2:]))
    assert_close_to_reference(out, torch.view_as_real(expected), what=f"{pad_mode} pad={pad}")


@pytest.mark.parametrize("pad_mode", ["reflect", "constant", "replicate", "circular"])
def test_framing_gradient_through_every_pad_mode(device, pad_mode):
    window = torch.hann_window(12, dtype=torch.float64, device=device)
    x = torch.randn(1, 24, dtype=torch.float64, device=device, requires_grad=True)

    def spec(x):
        return torch.view_as_real(
            F.spectrogram(x, 2, window, 16, 4, 12, None, False, True, pad_mode)
        )

    with tritaudio.use_backend("triton"):
        assert torch.autograd.gradcheck(spec, (x,))


def test_spectrogram_runs_the_framing_kernel(monkeypatch, device):
    from tritaudio import _reference

    monkeypatch.setattr(_reference, "spectrogram", None)  # calling it would fail
    with tritaudio.use_backend("triton"):
        out = T.MelSpectrogram(16000, n_fft=128, n_mels=16).to(device)(
            torch.randn(1, 1000, device=device)
        )
    assert out.shape == (1, 16, 16)


@pytest.mark.parametrize(
    ("n_fft", "hop", "win", "length", "pad", "onesided", "normalized"),
    [
        (64, 16, 64, None, 0, True, False),
        (64, 16, 48, 500, 0, True, True),
        (64, 20, 64, 490, 3, True, "frame_length"),
        (64, 16, 64, None, 0, False, False),
        (33, 7, 30, None, 0, True, False),
    ],
)
def test_inverse_spectrogram_matches_torch_istft(
    backend, device, n_fft, hop, win, length, pad, onesided, normalized
):
    x = torch.randn(2, 500, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).to(
        device
    )
    window = torch.hann_window(win, dtype=torch.float64, device=device)
    spec = F.spectrogram(x, pad, window, n_fft, hop, win, None, normalized, onesided=onesided)
    out = F.inverse_spectrogram(
        spec, length, pad, window, n_fft, hop, win, normalized, onesided=onesided
    )
    with tritaudio.use_backend("torch"):
        expected = F.inverse_spectrogram(
            spec, length, pad, window, n_fft, hop, win, normalized, onesided=onesided
        )
    assert_close_to_reference(out, expected, rel=1e-10)
    if length == 500:
        assert_close_to_reference(out, x, rel=1e-10, what="round trip")


def test_inverse_spectrogram_runs_the_overlap_add_kernel(monkeypatch, device):
    from tritaudio import _reference

    monkeypatch.setattr(_reference, "inverse_spectrogram", None)  # calling it would fail
    x = torch.randn(1, 800, device=device)
    with tritaudio.use_backend("triton"):
        spec = T.Spectrogram(n_fft=64, hop_length=16, power=None).to(device)(x)
        out = T.InverseSpectrogram(n_fft=64, hop_length=16).to(device)(spec, length=800)
    assert_close_to_reference(out, x, rel=1e-5)


def test_inverse_spectrogram_refuses_unrecoverable_windows(backend):
    window = torch.hann_window(64)
    spec = F.spectrogram(torch.randn(1, 500), 0, window, 64, 16, 64, None, False, center=False)
    with pytest.raises((ValueError, RuntimeError), match="overlap"):
        F.inverse_spectrogram(spec, None, 0, window, 64, 16, 64, False, center=False)
    with pytest.raises(ValueError, match="frames"):
        F.inverse_spectrogram(spec[..., :10, :], None, 0, window, 64, 16, 64, False)


def test_griffinlim_runs_the_kernels(monkeypatch, device):
    from tritaudio import _ops

    calls = {"frame": 0, "overlap_add": 0}
    for name in calls:
        op = getattr(_ops, name)
        monkeypatch.setattr(
            _ops,
            name,
            lambda *a, _op=op, _name=name: calls.__setitem__(_name, calls[_name] + 1) or _op(*a),
        )
    with tritaudio.use_backend("torch"):
        magnitudes = T.Spectrogram(n_fft=64, hop_length=16)(torch.randn(2, 800)).to(device)
    monkeypatch.setattr(torch, "stft", None)
    monkeypatch.setattr(torch, "istft", None)
    griffinlim = T.GriffinLim(n_fft=64, hop_length=16, n_iter=3, rand_init=False).to(device)
    with tritaudio.use_backend("triton"):
        out = griffinlim(magnitudes)
    assert out.shape == (2, 800)
    assert calls["frame"] == 3 and calls["overlap_add"] >= 4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="compiles real kernels: needs a GPU")
@pytest.mark.parametrize("name", ["mel", "mfcc"])
def test_torch_compile_fullgraph(name):
    # torchaudio's MelSpectrogram / MFCC break the graph (pytorch/audio #3601)
    module = {
        "mel": T.MelSpectrogram(16000, n_fft=400, hop_length=160, n_mels=80),
        "mfcc": T.MFCC(16000, n_mfcc=13, melkwargs=dict(n_fft=400, hop_length=160, n_mels=40)),
    }[name].cuda()
    x = torch.randn(2, 16000, device="cuda", requires_grad=True)
    compiled = torch.compile(module, fullgraph=True)
    out = compiled(x)
    torch.testing.assert_close(out, module(x), rtol=1e-4, atol=1e-4)
    (grad,) = torch.autograd.grad(out.square().sum(), x)
    (expected,) = torch.autograd.grad(module(x).square().sum(), x)
    torch.testing.assert_close(grad, expected, rtol=1e-4, atol=1e-3)


def test_mel_power_op_registration(device):
    from tritaudio import _ops

    checks = ("test_schema", "test_autograd_registration")
    if device == "cuda":  # fake-tensor tracing needs compiled (not interpreted) kernels
        checks += ("test_faketensor", "test_aot_dispatch_dynamic")
    spec = torch.randn(2, 7, 33, 2, device=device, requires_grad=True)
    fb = F.melscale_fbanks(33, 0.0, 8000.0, 20, 16000).to(device)
    log = (1, 4.34, 1e-10, 0.0, 0.0)
    mel = torch.rand(2, 20, 7, device=device)
    for op, args in (
        (_ops.mel_power, (spec, fb, 2.0, *log, 1)),
        (_ops.mel_power, (spec, fb, 2.0, *log, 0)),  # the backward recomputes the projection
        (_ops.mel_power, (spec, fb, 1.0, 0, 1.0, 0.0, 0.0, 0.0, 0)),
        (_ops.mel_power_backward, (mel, mel, spec, fb, 2.0, *log[:-1])),
    ):
        result = torch.library.opcheck(op, args, test_utils=checks)
        assert set(result.values()) == {"SUCCESS"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs ~20 GB of GPU memory")
def test_tensors_past_2_to_the_31_elements():
    # 64 clips x 10 min framed: more elements than an int32 offset can address
    from tritaudio import _ops

    n_fft, n_time = 4096, 600_000
    x = torch.randn(1, n_time, device="cuda")
    frames = _ops.frame(x, torch.ones(n_fft, device="cuda"), n_fft, 1, 0, 0, 0)
    assert frames.numel() > 2**31
    torch.testing.assert_close(frames[0, -1], x[0, -n_fft:])
    del frames
    spec = torch.zeros(1, n_time, n_fft // 2 + 1, 2, device="cuda")
    assert spec.numel() > 2**31
    spec[0, -1, :, 0] = 1.0
    fb = torch.ones(n_fft // 2 + 1, 16, device="cuda")
    mel, _ = _ops.mel_power(spec, fb, 2.0, 0, 1.0, 0.0, 0.0, 0.0, 0)
    assert mel[0, :, -1].eq(n_fft // 2 + 1).all() and mel[0, :, :-1].eq(0).all()


TRACE_FULLGRAPH = """
import sys, torch, tritaudio.functional, tritaudio.transforms as T
for module in list(sys.modules.values()):  # the GPU's path, on CPU: every family's dispatch
    if module.__name__.startswith("tritaudio.") and hasattr(module, "backend_for"):
        module.backend_for = lambda *tensors: "triton"
graphs = []

class Traced(Exception):
    pass

def trace_only(graph_module, inputs):
    graphs.append(graph_module)
    def run(*args):
        raise Traced  # tracing is the test; the kernels cannot run on CPU
    return run

for name, module in [
    ("mel", T.MelSpectrogram(16000, n_fft=256, n_mels=32)),
    ("mfcc", T.MFCC(16000, n_mfcc=13, melkwargs=dict(n_fft=256, n_mels=32))),
    ("logmel stft", T.LogMelSpectrogram.whisper(implementation="stft")),
    ("logmel dft", T.LogMelSpectrogram.whisper(implementation="dft")),
]:
    try:
        torch.compile(module, fullgraph=True, backend=trace_only)(torch.randn(2, 4000))
    except Traced:
        pass
    ops = [str(node.target) for node in graphs[-1].graph.nodes if "tritaudio" in str(node.target)]
    print(name, ops)
"""


def test_triton_path_traces_fullgraph():
    # Dynamo traces the Triton path (fake tensors through the triton_ops, nothing launched)
    # without a GPU: no graph break anywhere in the front-ends (torchaudio's break, #3601).
    environ = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    result = subprocess.run(
        [sys.executable, "-c", TRACE_FULLGRAPH], env=environ, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "mel ['tritaudio.log_mel_dft.default']"  # no gradient: the folded DFT
    assert lines[1] == "mfcc ['tritaudio.log_mel_dft.default']"
    assert lines[2] == "logmel stft ['tritaudio.frame.default', 'tritaudio.mel_power.default']"
    assert lines[3] == "logmel dft ['tritaudio.log_mel_dft.default']"


def test_op_gradients_without_the_saved_projection(device):
    # Called directly with save_mel=0, the ops' backward recomputes the projection.
    from tritaudio import _ops

    spec = torch.randn(1, 5, 17, 2, dtype=torch.float64, device=device, requires_grad=True)
    fb = F.melscale_fbanks(17, 0.0, 4000.0, 6, 8000).to(device, torch.float64)
    log = (1, 4.34, 1e-10, 0.0, 0.0)
    mel_power = lambda s: _ops.mel_power(s, fb, 2.0, *log, 0)[0]
    assert torch.autograd.gradcheck(mel_power, (spec,), fast_mode=True)
    x = torch.randn(1, 100, dtype=torch.float64, device=device, requires_grad=True)
    window = torch.hann_window(32, dtype=torch.float64, device=device)
    log_mel = lambda x: _ops.log_mel_dft(x, window, fb, 8, 0, 16, 1, 2.0, *log, 0, "ieee")[0]
    assert torch.autograd.gradcheck(log_mel, (x,), fast_mode=True)


# --- issue 14 (items 3, 5, 8, 10) and issue 17 (constant tables, the backward) ---


def nan_clip(n_time=4000, at=2000):
    """Two clips as (2, 1, time), the second with a NaN sample: (batch, channel) keeps
    torchaudio's top_db floor per clip (it takes one peak per 3-D pack)."""
    x = parity()["inputs"]["speech16k"][:, :n_time].repeat(2, 1)
    x[1, at] = float("nan")
    return x.unsqueeze(1)


@pytest.mark.parametrize(
    "make",
    [
        lambda: T.MFCC(16000, n_mfcc=13, melkwargs=dict(n_fft=256, hop_length=64, n_mels=32)),
        lambda: T.MFCC(16000, n_mfcc=13, log_mels=True, melkwargs=dict(n_fft=256, n_mels=32)),
        lambda: T.LFCC(16000, n_filter=32, n_lfcc=13, speckwargs=dict(n_fft=256)),
        lambda: (lambda m: lambda x: m.spectrogram.project(x, m.mel_scale.fb, F.DECIBELS))(
            T.MelSpectrogram(16000, n_fft=256, n_mels=32)
        ),
    ],
    ids=["mfcc", "mfcc log_mels", "lfcc", "mel + dB"],
)
def test_nan_in_nan_out(backend, device, make):
    # the log's max(y, amin) must not turn NaN into the floor (-100 dB) on the Triton path
    module = make()
    module = module.to(device) if isinstance(module, torch.nn.Module) else module
    out = module(nan_clip().to(device)).cpu()
    assert torch.isfinite(out[0]).all()
    assert torch.isnan(out[1]).any()
    with tritaudio.use_backend("torch"):
        expected = module(nan_clip().to(device)).cpu()
    assert torch.equal(torch.isnan(out), torch.isnan(expected))


def test_float16_power_spectra_are_float32(backend, device):
    # a 0.9-amplitude tone's power spectrum at n_fft 2048 passes float16's 65504
    t = torch.arange(16000, device=device) / 16000
    tone = (0.9 * torch.sin(2 * math.pi * 1000 * t)).unsqueeze(0)
    module = T.MelSpectrogram(16000, n_fft=2048, hop_length=512, n_mels=64).to(device)
    out = module(tone.half())
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert out.max() > 65504
    assert_close_to_reference(out, module(tone.half().float()).double(), rel=1e-5)
    spec = T.Spectrogram(n_fft=2048, hop_length=512).to(device)(tone.half())
    assert spec.dtype == torch.float32 and torch.isfinite(spec).all()
    assert T.Spectrogram(n_fft=256)(tone.bfloat16().cpu()).dtype == torch.bfloat16
    db = T.LogMelSpectrogram(16000, n_fft=2048, hop_length=512, n_mels=64).to(device)
    assert db(tone.half()).dtype == torch.float16  # dB values fit float16
    assert torch.isfinite(db(tone.half())).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize(
    "module",
    [
        T.MFCC(16000, n_mfcc=13, melkwargs=dict(n_fft=400, hop_length=160, n_mels=40)),
        T.LFCC(16000, n_filter=40, n_lfcc=13, speckwargs=dict(n_fft=400, hop_length=160)),
    ],
    ids=["mfcc", "lfcc"],
)
def test_cepstra_of_half_precision_inputs(backend, device, dtype, module):
    x = parity()["inputs"]["speech16k"][:, :4000].to(device, dtype)
    out = module.to(device)(x)
    assert out.dtype == dtype
    expected = module(x.float())
    tolerance = 0.02 if dtype == torch.float16 else 0.05  # the output's own rounding
    assert (out.float() - expected).abs().max() <= tolerance * expected.abs().max()


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: T.MelSpectrogram(sample_rate=0), ValueError, "sample_rate"),
        (lambda: T.MelSpectrogram(f_min=float("nan")), ValueError, "f_min"),
        (lambda: T.MelSpectrogram(f_max=float("inf")), ValueError, "f_max"),
        (lambda: T.MelScale(n_mels=0), ValueError, "n_mels"),
        (lambda: T.MelScale(f_min=9000.0), ValueError, "^Require f_min: 9000.0 <= f_max"),
        (lambda: T.LFCC(sample_rate=-1), ValueError, "sample_rate"),
        (lambda: T.AmplitudeToDB(top_db=float("nan")), ValueError, "^top_db must be positive"),
        (lambda: T.AmplitudeToDB(top_db=-1.0), ValueError, "^top_db must be positive"),
        (
            lambda: F.amplitude_to_DB(torch.ones(2), 10.0, 1e-10, 0.0, math.nan),
            ValueError,
            "top_db",
        ),
    ],
)
def test_parameters_that_gave_nan_silently(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_amplitude_to_db_of_empty_input(backend):
    for top_db in (None, 80.0):
        for per_example in (False, True):
            module = T.AmplitudeToDB(top_db=top_db, per_example=per_example)
            assert module(torch.zeros(2, 0)).shape == (2, 0)
            assert module(torch.zeros(3, 2, 0, 5)).shape == (3, 2, 0, 5)


def test_inverse_stft_and_griffinlim_of_one_frame(backend, device):
    # the spectrogram of a 1-sample signal has 1 frame; without `length` its inverse has
    # no samples left after the centering trim: a ValueError naming length
    x = torch.randn(1, 1, device=device)
    spec = T.Spectrogram(n_fft=64, hop_length=16, power=None, pad_mode="constant").to(device)(x)
    assert spec.shape == (1, 33, 1)
    inverse = T.InverseSpectrogram(n_fft=64, hop_length=16).to(device)
    with pytest.raises(ValueError, match="length"):
        inverse(spec)
    assert inverse(spec, length=1).shape == (1, 1)
    with pytest.raises(ValueError, match="length"):
        T.GriffinLim(n_fft=64, hop_length=16, n_iter=2).to(device)(spec.abs() ** 2)
    with pytest.raises(ValueError, match="length=1"):
        T.GriffinLim(n_fft=64, hop_length=16, n_iter=2, length=1).to(device)(spec.abs() ** 2)


def test_spectrogram_takes_torch_stft_defaults_for_none(backend, device):
    # torchaudio passes hop_length / win_length / window None on to torch.stft
    x = torch.randn(2, 1000, dtype=torch.float64, device=device)
    out = F.spectrogram(x, 0, None, 128, None, None, 2.0, False)
    expected = torch.stft(x.cpu(), 128, return_complex=True).abs() ** 2  # hop 32, no window
    assert_close_to_reference(out, expected, rel=1e-10)
    window = torch.hann_window(128, dtype=torch.float64, device=device)
    spec = F.spectrogram(x, 0, window, 128, None, None, None, False)
    assert spec.shape == (2, 65, 1 + 1000 // 32)
    back = F.inverse_spectrogram(spec, 1000, 0, window, 128, None, None, False)
    assert_close_to_reference(back, x, rel=1e-10)
    mel = F.mel_spectrogram(x, F.melscale_fbanks(65, 0.0, 8000.0, 16, 16000).double(), 0,
                            None, 128, None, None, 2.0, False)  # fmt: skip
    assert mel.shape == (2, 16, 1 + 1000 // 32)
    with pytest.raises(ValueError, match="window"):
        F.spectrogram(x, 0, torch.ones(100, device=device), 128, None, None, 2.0, False)


def count_calls(monkeypatch, module, name):
    calls = []
    original = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **k: calls.append(1) or original(*a, **k))
    return calls


@pytest.mark.parametrize("implementation", ["stft", "dft"])
def test_constant_tables_are_built_once(monkeypatch, device, implementation):
    from tritaudio.kernels import logmel, spectral

    ranges = count_calls(monkeypatch, spectral, "nonzero_ranges")
    bases = count_calls(monkeypatch, logmel, "fold_bases")  # the dft's (an even n_fft)
    fb_tables = count_calls(monkeypatch, logmel, "fold_filterbank")  # its ranges and flags
    module = T.LogMelSpectrogram(16000, n_fft=128, hop_length=32, n_mels=16)
    module.implementation = implementation
    module = module.to(device)
    x = torch.randn(2, 1000, device=device, requires_grad=True)
    with tritaudio.use_backend("triton"):
        for _ in range(3):
            module(x).sum().backward()
        assert len(ranges) + len(fb_tables) == 2 and len(bases) == (implementation == "dft")
        with torch.no_grad():
            module.mel_spectrogram.spectrogram.window.mul_(0.5)  # an edit rebuilds them
        out = module(x)
    assert len(bases) == 2 * (implementation == "dft")
    with tritaudio.use_backend("torch"):
        expected = module(x)
    assert (out - expected).abs().max() <= 1e-3


def test_inverse_stft_envelope_is_built_once(monkeypatch, device):
    from tritaudio import _ops

    calls = count_calls(monkeypatch, _ops, "overlap_add")
    module = T.InverseSpectrogram(n_fft=64, hop_length=16).to(device)
    spec = torch.randn(2, 33, 20, dtype=torch.complex64, device=device)
    with tritaudio.use_backend("triton"):
        first = module(spec)
        assert len(calls) == 2  # the signal and the envelope
        second = module(spec)
    assert len(calls) == 3 and torch.equal(first, second)


def autograd_nodes(tensor):
    seen, stack = set(), [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return {type(node).__name__ for node in seen}


def test_mel_backward_skips_the_generic_rfft_backward(device):
    module = T.MelSpectrogram(16000, n_fft=64, hop_length=16, n_mels=8).to(device)
    x = torch.randn(2, 500, device=device, requires_grad=True)
    with tritaudio.use_backend("triton"):
        out = module(x)
    nodes = autograd_nodes(out)
    assert not any("Fft" in name for name in nodes), nodes
    (grad,) = torch.autograd.grad(out.square().sum(), x)
    with tritaudio.use_backend("torch"):
        (expected,) = torch.autograd.grad(module(x).square().sum(), x)
    assert_close_to_reference(grad, expected, rel=1e-5)


@pytest.mark.parametrize("n_fft", [32, 33])
def test_rfft_adjoint_weights(device, n_fft):
    # irfft(c * g, norm="forward") is the adjoint of rfft, for even and odd n_fft
    from tritaudio._ops import spectral as ops

    frames = torch.randn(3, 5, n_fft, dtype=torch.float64, device=device, requires_grad=True)
    pairs = torch.randn(3, 5, n_fft // 2 + 1, 2, dtype=torch.float64, device=device)
    (expected,) = torch.autograd.grad(torch.view_as_real(torch.fft.rfft(frames)), frames, pairs)
    weighted = pairs * ops.rfft_adjoint_weights(n_fft, n_fft // 2 + 1, pairs)
    assert_close_to_reference(ops.frames_gradient(weighted, n_fft), expected, rel=1e-12)


def test_overlap_add_reads_strided_frames(device):
    from tritaudio import _ops

    frames = torch.randn(2, 9, 32, dtype=torch.complex64, device=device).real  # stride 2
    window = torch.hann_window(32, device=device)
    out = _ops.overlap_add(frames, window, 8, 96)
    expected = _ops.overlap_add(frames.contiguous(), window, 8, 96)
    assert torch.equal(out, expected)
    rebuilt = torch.zeros(2, 96, device=device)
    for f in range(9):
        rebuilt[:, f * 8 : f * 8 + 32] += frames[:, f] * window
    torch.testing.assert_close(out, rebuilt)
