"""The filtering family on both paths: torchaudio 2.11 fixtures, scipy.signal as the
outside oracle, float64 gradcheck through the Triton kernels, batches, edge cases, errors."""

import math

import numpy as np
import pytest
import scipy.signal as ss
import torch
from helpers import DATA, assert_close_to_reference

import tritaudio
import tritaudio.functional as F
import tritaudio.transforms as T

FIXTURES = torch.load(DATA / "filtering-torchaudio-2.11.pt", weights_only=True)
EFFECTS = {"contrast", "dcshift", "dither", "flanger", "overdrive", "phaser"}  # test_effects.py


IIR = {"lfilter", "filtfilt", "biquad", "overdrive"}


def _call(case, dtype=torch.float32):
    inputs = FIXTURES["inputs"]
    args = [inputs[a["input"]] if isinstance(a, dict) else a for a in case["args"]]
    args = [inputs[case["input"]], *args]
    args = [a.to(dtype) if torch.is_tensor(a) else a for a in args]
    module, name = case["api"].split(".")
    if case["seed"] is not None:
        torch.manual_seed(case["seed"])
    if module == "functional":
        return getattr(F, name)(*args, **case["kwargs"])
    return getattr(T, name)(**case["kwargs"])(*args)


def fixture_cases(effects):
    return [c for c in FIXTURES["cases"] if (c["api"].split(".")[1] in EFFECTS) == effects]


def check_fixture(case):
    """The case's output against torchaudio's (shared with test_effects.py)."""
    out = _call(case)
    what = f"{case['api']} {case['args']} {case['kwargs']}"
    rel = 1e-4
    name = case["api"].split(".")[1]
    if name in IIR or name.endswith("_biquad"):
        # Filters with poles near z = 1 (bass at 44.1 kHz) are ill-conditioned in float32:
        # there the bound is twice torchaudio's own float32 error against float64.
        with tritaudio.use_backend("torch"):
            exact = _call(case, torch.float64)
        own_error = (case["output"].double() - exact).abs().max() / exact.abs().max()
        rel = max(rel, 2 * own_error.item())
    assert_close_to_reference(out, case["output"], rel=rel, what=what)


@pytest.mark.parametrize("case", fixture_cases(False), ids=lambda c: c["api"].split(".")[1])
def test_torchaudio_fixtures(backend, case):
    check_fixture(case)


def _stable_filter(order, seed):
    """b, a (numpy float64) with poles of radius <= 0.9."""
    rng = np.random.default_rng(seed)
    poles = rng.uniform(0.3, 0.9, order) * np.exp(1j * rng.uniform(0, np.pi, order))
    pairs = order // 2
    roots = np.concatenate([poles[:pairs], poles[:pairs].conj(), poles.real[2 * pairs : order]])
    return rng.standard_normal(order + 1) * 0.5, np.real(np.poly(roots))


@pytest.mark.parametrize("order", [1, 2, 3, 8])
def test_lfilter_matches_scipy(backend, order):
    b, a = _stable_filter(order, order)
    x = torch.randn(2, 3, 201, dtype=torch.float64)
    out = F.lfilter(x, torch.tensor(a), torch.tensor(b), clamp=False)
    assert_close_to_reference(out, torch.tensor(ss.lfilter(b, a, x.numpy())), rel=1e-10)


@pytest.mark.parametrize("order", [1, 2, 3, 10])
def test_carry_across_tiles(order):
    # orders <= 8: one pass looking back over tiles of `lanes` chunks (4 here: 6 tiles per
    # row; orders <= 2 and 3-8 are two kernels); order 10: the ring and carry kernels.
    # Coefficients not normalised (the kernels divide by a0), clamped or not.
    from tritaudio.kernels import filtering as kernels

    b, a = ss.butter(order, 0.3)
    x = torch.randn(2, 700, dtype=torch.float64)
    a_rows, b_rows = 2.5 * torch.tensor(a)[None], 2.5 * torch.tensor(b)[None]
    for reverse, clamp in ((0, 0), (1, 1)):
        out = kernels.lfilter(x, a_rows, b_rows, reverse, clamp, lanes=4)
        signal = x.flip(-1) if reverse else x
        expected = torch.tensor(ss.lfilter(b, a, signal.numpy()))
        expected = expected.flip(-1) if reverse else expected
        expected = expected.clamp(-1, 1) if clamp else expected
        rel = 1e-12 if order <= 8 else 1e-10  # order 10 in direct form: ill-conditioned
        assert_close_to_reference(out, expected, rel=rel, what=f"reverse {reverse}")


def test_filtfilt_sosfilt_and_convolutions_match_scipy(backend):
    x = torch.randn(2, 150, dtype=torch.float64)
    b, a = ss.butter(3, 0.2)
    out = F.filtfilt(x, torch.tensor(a), torch.tensor(b), clamp=False)
    # torchaudio's filtfilt: zero initial state, no edge padding (scipy's padlen=0, zi 0)
    expected = ss.lfilter(b, a, ss.lfilter(b, a, x.numpy())[:, ::-1])[:, ::-1].copy()
    assert_close_to_reference(out, torch.tensor(expected), rel=1e-10, what="filtfilt")
    sos = ss.butter(10, 0.1, output="sos")
    out = F.sosfilt(x, torch.tensor(sos))
    assert_close_to_reference(out, torch.tensor(ss.sosfilt(sos, x.numpy())), rel=1e-10)
    w = torch.randn(1, 13, dtype=torch.float64)
    for mode in ("full", "valid", "same"):
        expected = torch.tensor(ss.fftconvolve(x.numpy(), w.numpy(), mode=mode, axes=-1))
        if mode == "same":  # scipy centres "same" on the other side for even splits
            expected = torch.tensor(ss.convolve(x.numpy(), w.numpy(), mode="full"))[:, 6:156]
        assert_close_to_reference(F.convolve(x, w, mode), expected, rel=1e-10, what=mode)
        assert_close_to_reference(F.fftconvolve(x, w, mode), expected, rel=1e-10, what=mode)


def test_float32_accuracy_by_order():
    # The figures in tritaudio.functional.filtering's docstring (Triton path).
    bounds = {1: 2e-7, 2: 2e-7, 3: 5e-7, 4: 2e-6, 8: 1e-4}
    x = torch.randn(2, 2000, generator=torch.Generator().manual_seed(0)).double()
    with tritaudio.use_backend("triton"):
        for order, bound in bounds.items():
            for b, a in (ss.butter(order, 0.2), _stable_filter(order, 10 + order)):
                a32, b32 = torch.tensor(a).float(), torch.tensor(b).float()
                expected = ss.lfilter(b32.double().numpy(), a32.double().numpy(), x.numpy())
                out = F.lfilter(x.float(), a32, b32, clamp=False)
                assert_close_to_reference(out, torch.tensor(expected), rel=bound, what=order)


def _leaf(*shape, scale=1.0):
    return (scale * torch.randn(*shape, dtype=torch.float64)).requires_grad_()


def test_gradcheck_lfilter_through_triton():
    x, a, b = _leaf(2, 2, 37), _leaf(2, 3, scale=0.2), _leaf(2, 3)
    with torch.no_grad():
        a[:, 0] = 1.0 + a[:, 0].abs()
    with tritaudio.use_backend("triton"):

        def run(x, a, b):
            return F.lfilter(x, a, b, clamp=False)

        assert torch.autograd.gradcheck(run, (x, a, b), fast_mode=True)
        assert torch.autograd.gradcheck(lambda x: F.filtfilt(x, a, b, False), (x,), fast_mode=True)


def test_gradcheck_convolutions_and_deltas_through_triton():
    x, w = _leaf(2, 29), _leaf(2, 6)
    with tritaudio.use_backend("triton"):
        for mode in ("full", "same"):
            convolve = lambda x, w, mode=mode: F.convolve(x, w, mode)
            assert torch.autograd.gradcheck(convolve, (x, w), fast_mode=True)
        assert torch.autograd.gradcheck(F.fftconvolve, (x, w), fast_mode=True)
        assert torch.autograd.gradcheck(F.compute_deltas, (x,), fast_mode=True)


def test_gradients_agree_between_paths():
    x = torch.randn(3, 120, dtype=torch.float64)
    a = torch.tensor([1.3, -0.7, 0.2], dtype=torch.float64)
    b = torch.tensor([0.4, 0.1, -0.2], dtype=torch.float64)
    grads = []
    for name in ("torch", "triton"):
        leaves = [t.clone().requires_grad_() for t in (x, a, b)]
        with tritaudio.use_backend(name):
            F.lfilter(*leaves, clamp=False).pow(2).sum().backward()
        grads.append([t.grad for t in leaves])
    for ours, ref in zip(grads[1], grads[0], strict=True):
        assert_close_to_reference(ours, ref, rel=1e-9)


def test_biquad_parameters_are_differentiable(backend):
    cutoff = torch.tensor(1000.0, dtype=torch.float64, requires_grad=True)
    x = 0.3 * torch.randn(1, 64, dtype=torch.float64)
    F.lowpass_biquad(x, 16000, cutoff).sum().backward()
    assert cutoff.grad is not None and torch.isfinite(cutoff.grad)


def test_batch_equals_stacked_singles(backend):
    x = 0.3 * torch.randn(4, 2, 77)
    a = torch.tensor([[1.0, -0.5, 0.1], [1.0, 0.3, 0.0]])
    b = torch.tensor([[0.2, 0.4, 0.2], [1.0, -1.0, 0.0]])
    batched = F.lfilter(x, a, b)
    singles = torch.stack([F.lfilter(item, a, b) for item in x])
    torch.testing.assert_close(batched, singles, rtol=0, atol=1e-6)
    w = torch.randn(4, 2, 9)
    singles = torch.stack([F.convolve(x[i], w[i]) for i in range(4)])
    torch.testing.assert_close(F.convolve(x, w), singles, rtol=0, atol=1e-5)


def test_per_example_coefficients(backend):
    # beyond torchaudio: (batch, channels, order + 1) coefficients, one filter per row
    x = 0.3 * torch.randn(3, 2, 50, dtype=torch.float64)
    a = torch.tensor([1.0, -0.6, 0.2], dtype=torch.float64) + 0.05 * torch.randn(3, 2, 3)
    b = torch.randn(3, 2, 3, dtype=torch.float64)
    out = F.lfilter(x, a, b, clamp=False)
    for i in range(3):
        for c in range(2):
            expected = ss.lfilter(b[i, c].numpy(), a[i, c].numpy(), x[i, c].numpy())
            assert_close_to_reference(out[i, c], torch.tensor(expected), rel=1e-10)


@pytest.mark.parametrize(("dtype", "rel"), [(torch.float16, 3e-3), (torch.bfloat16, 2e-2)])
def test_half_precision_in_and_out(backend, dtype, rel):
    x = 0.3 * torch.randn(2, 100)
    a, b = torch.tensor([1.0, -1.2, 0.5]), torch.tensor([0.3, 0.2, 0.1])
    out = F.lfilter(x.to(dtype), a, b)
    assert out.dtype == dtype
    expected = ss.lfilter(b.numpy(), a.numpy(), x.to(dtype).double().numpy())
    assert_close_to_reference(out, torch.tensor(expected).clamp(-1, 1), rel=rel)
    out = F.convolve(x.to(dtype), torch.ones(1, 5, dtype=dtype))
    assert out.dtype == dtype
    expected = ss.convolve(x.to(dtype).double().numpy(), np.ones((1, 5)))
    assert_close_to_reference(out, torch.tensor(expected), rel=rel)


def test_sosfilt_one_cascade_per_channel(backend):
    x = torch.randn(2, 3, 80, dtype=torch.float64)
    sos = torch.stack([torch.tensor(ss.butter(4, cut, output="sos")) for cut in (0.1, 0.2, 0.3)])
    out = F.sosfilt(x, sos)
    for c in range(3):
        expected = torch.tensor(ss.sosfilt(sos[c].numpy(), x[:, c].numpy()))
        assert_close_to_reference(out[:, c], expected, rel=1e-10, what=f"channel {c}")


def test_odd_lengths_non_contiguous_and_empty(backend):
    a, b = torch.tensor([1.0, -0.9]), torch.tensor([0.5, 0.5])
    base = 0.3 * torch.randn(3, 4, 90, dtype=torch.float64)
    for x in (base[..., ::2], base.transpose(0, 1), base[..., 1:18], base[..., :1]):
        expected = torch.tensor(ss.lfilter(b.numpy(), a.numpy(), x.numpy()))
        assert_close_to_reference(F.lfilter(x, a.double(), b.double()), expected.clamp(-1, 1))
        taps = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64).expand(*x.shape[:-1], 3)
        expected = ss.convolve(x.reshape(-1, x.shape[-1]).numpy(), [[1.0, -2.0, 0.5]])
        out = F.convolve(x, taps).reshape(-1, x.shape[-1] + 2)
        assert_close_to_reference(out, torch.tensor(expected), what="convolve")
    assert F.lfilter(torch.empty(2, 0), a, b).shape == (2, 0)
    assert F.lfilter(torch.empty(0, 5), a, b).shape == (0, 5)
    assert F.convolve(torch.empty(0, 5), torch.ones(0, 3)).shape == (0, 7)
    assert F.compute_deltas(torch.empty(2, 0, 5)).shape == (2, 0, 5)


def test_nan_in_nan_out(backend):
    x = torch.zeros(1, 40)
    x[0, 5] = math.nan
    out = F.lfilter(x, torch.tensor([1.0, -0.5]), torch.tensor([1.0, 0.0]), clamp=False)
    assert torch.isnan(out[0, 5:]).all()
    if backend == "triton":  # the torch path's blocked products spread it over its block
        assert not torch.isnan(out[0, :5]).any()
    assert torch.isnan(F.convolve(x, torch.ones(1, 3))[0, 5:8]).all()


def test_bad_arguments():
    x = torch.zeros(2, 3, 10)
    a, b = torch.tensor([1.0, 0.5]), torch.tensor([1.0, 0.0])
    with pytest.raises(ValueError, match="same shape"):
        F.lfilter(x, a, torch.ones(3))
    with pytest.raises(ValueError, match="a0"):
        F.lfilter(x, torch.tensor([0.0, 0.5]), b)
    with pytest.raises(ValueError, match="unstable"):
        F.lfilter(x, torch.tensor([1.0, -1.5]), b)
    with pytest.raises(ValueError, match=r"\(\.\.\., 2, time\)"):
        F.lfilter(x, torch.ones(2, 2), torch.ones(2, 2))
    with pytest.raises(TypeError, match="a_coeffs"):
        F.lfilter(x, [1.0, 0.5], b)
    with pytest.raises(TypeError, match="waveform"):
        F.lfilter(x.long(), a, b)
    with pytest.raises(ValueError, match="mode"):
        F.convolve(x, x, mode="circular")
    with pytest.raises(ValueError, match="broadcast"):
        F.convolve(torch.zeros(2, 5), torch.zeros(3, 5))
    with pytest.raises(ValueError, match="number of dims"):
        F.fftconvolve(torch.zeros(2, 5), torch.zeros(5))
    with pytest.raises(ValueError, match="win_length"):
        F.compute_deltas(x, win_length=2)
    with pytest.raises(ValueError, match="sample_rate"):
        F.deemph_biquad(x, 22050)
    with pytest.raises(ValueError, match="Q"):
        F.lowpass_biquad(x, 16000, 1000.0, Q=0.0)
    with pytest.raises(ValueError, match="sos"):
        F.sosfilt(x, torch.zeros(2, 5))
    with pytest.raises(ValueError, match="mode"):
        T.FFTConvolve(mode="wrong")


def test_op_registration():
    from tritaudio._ops import filtering as ops

    checks = ("test_schema", "test_autograd_registration")
    x = torch.randn(2, 40, requires_grad=True)
    a = torch.tensor([[1.0, -0.5, 0.1]], requires_grad=True)
    b = torch.tensor([[0.5, 0.2, 0.1]], requires_grad=True)
    w = torch.randn(2, 4, requires_grad=True)
    for op, args in ((ops.lfilter_rows, (x, a, b, 0)), (ops.conv_rows, (x, w, 43, 0, -1))):
        result = torch.library.opcheck(op, args, test_utils=checks)
        assert set(result.values()) == {"SUCCESS"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="inductor compiles Triton ops on CUDA")
def test_torch_compile_fullgraph():
    x = 0.3 * torch.randn(4, 16000, device="cuda")
    a = torch.tensor([1.0, -1.2, 0.5], device="cuda")
    b = torch.tensor([0.3, 0.2, 0.1], device="cuda")
    compiled = torch.compile(lambda x: F.lfilter(x, a, b), fullgraph=True)
    torch.testing.assert_close(compiled(x), F.lfilter(x, a, b))
