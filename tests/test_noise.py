"""add_noise / AddNoise (Triton kernels), Vol, Fade, Preemphasis, Deemphasis."""

import pytest
import torch
from helpers import assert_close_to_reference, parity, parity_cases

import tritaudio
import tritaudio.functional as F
import tritaudio.transforms as T


def add_noise64(waveform, noise, snr, lengths=None):
    """torchaudio's add_noise as published, in float64, outside the package."""
    waveform, noise, snr = waveform.double(), noise.double(), snr.double()
    if lengths is not None:
        mask = torch.arange(waveform.shape[-1]).expand(waveform.shape) < lengths.unsqueeze(-1)
        energy_signal = torch.linalg.vector_norm(waveform * mask, ord=2, dim=-1) ** 2
        energy_noise = torch.linalg.vector_norm(noise * mask, ord=2, dim=-1) ** 2
    else:
        energy_signal = torch.linalg.vector_norm(waveform, ord=2, dim=-1) ** 2
        energy_noise = torch.linalg.vector_norm(noise, ord=2, dim=-1) ** 2
    original_snr_db = 10 * (torch.log10(energy_signal) - torch.log10(energy_noise))
    scale = 10 ** ((original_snr_db - snr) / 20.0)
    return waveform + scale.unsqueeze(-1) * noise


def random(*shape, seed=0, device="cpu", dtype=torch.float32):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(device, dtype)


def test_add_noise_fixtures(backend, device):
    inputs = parity()["inputs"]
    for case in parity_cases("transforms.AddNoise"):
        args = [inputs[name].to(device) for name in [case["input"], *case["call_inputs"]]]
        out = T.AddNoise()(*args)
        assert_close_to_reference(out, case["output"], rel=1e-4, what=str(case["call_inputs"]))


@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("n_time", [1, 37, 5001])
def test_add_noise_matches_float64(backend, device, with_lengths, n_time):
    waveform, noise = (
        random(4, 3, n_time, device=device),
        random(4, 3, n_time, seed=1, device=device),
    )
    snr = torch.tensor([[0.0, 10.0, -5.0]] * 4, device=device)
    lengths = torch.randint(1, n_time + 1, (4, 3)).to(device) if with_lengths else None
    out = F.add_noise(waveform, noise, snr, lengths)
    expected = add_noise64(
        waveform.cpu(), noise.cpu(), snr.cpu(), None if lengths is None else lengths.cpu()
    )
    assert_close_to_reference(out, expected, what=f"{n_time} lengths={with_lengths}")


def test_measured_snr_is_the_requested_one(backend, device):
    waveform, noise = random(8, 16000, device=device), random(8, 16000, seed=1, device=device)
    snr = torch.linspace(-10, 30, 8, device=device)
    added = F.add_noise(waveform, noise, snr) - waveform
    measured = 10 * torch.log10(waveform.pow(2).sum(-1) / added.pow(2).sum(-1))
    torch.testing.assert_close(measured, snr, rtol=0, atol=1e-3)


def test_noise_and_snr_broadcast(backend, device):
    waveform = random(5, 2, 300, device=device)
    noise = random(1, 2, 300, seed=1, device=device)  # one noise for the whole batch
    snr = torch.full((5, 1), 6.0, device=device)
    out = F.add_noise(waveform, noise, snr)
    expected = add_noise64(waveform.cpu(), noise.expand(5, 2, 300).cpu(), snr.expand(5, 2).cpu())
    assert out.shape == (5, 2, 300)
    assert_close_to_reference(out, expected, what="broadcast")


def test_silent_noise_gives_the_clean_signal(backend, device):
    waveform = random(3, 100, device=device)
    noise = random(3, 100, seed=1, device=device)
    noise[1] = 0
    out = F.add_noise(waveform, noise, torch.zeros(3, device=device))
    assert torch.isfinite(out).all()
    assert torch.equal(out[1], waveform[1])
    silent = F.add_noise(
        torch.zeros(2, 50, device=device), noise[:2, :50], torch.zeros(2, device=device)
    )
    assert torch.equal(silent, torch.zeros(2, 50, device=device))


def test_add_noise_batch_equals_stacked_singles(backend, device):
    waveform, noise = random(4, 777, device=device), random(4, 777, seed=2, device=device)
    snr, lengths = torch.tensor([1.0, 2.0, 3.0, 4.0], device=device), torch.tensor([777, 5, 400, 0])
    lengths = lengths.to(device)
    batch = F.add_noise(waveform, noise, snr, lengths)
    for i in range(4):
        single = F.add_noise(
            waveform[i : i + 1], noise[i : i + 1], snr[i : i + 1], lengths[i : i + 1]
        )
        torch.testing.assert_close(batch[i : i + 1], single, rtol=1e-6, atol=1e-7)


def test_add_noise_non_contiguous_and_empty(backend, device):
    base = random(6, 402, device=device)
    waveform, noise = base[::2, ::2], base[1::2, ::2]
    snr = torch.tensor([3.0, 7.0, 11.0], device=device)
    assert_close_to_reference(
        F.add_noise(waveform, noise, snr), add_noise64(waveform.cpu(), noise.cpu(), snr.cpu())
    )
    empty = F.add_noise(
        torch.empty(0, 10, device=device),
        torch.empty(0, 10, device=device),
        torch.empty(0, device=device),
    )
    assert empty.shape == (0, 10)


def test_add_noise_gradcheck_through_triton(device):
    def inputs(requires_grad=True):
        gen = torch.Generator().manual_seed(4)
        tensors = [
            torch.randn(3, 40, generator=gen),
            torch.randn(3, 40, generator=gen),
            torch.tensor([2.0, -4.0, 9.0]),
        ]
        return [t.to(device, torch.float64).requires_grad_(requires_grad) for t in tensors]

    lengths = torch.tensor([40, 17, 1], device=device)
    with tritaudio.use_backend("triton"):
        assert torch.autograd.gradcheck(F.add_noise, (*inputs(), lengths))
        assert torch.autograd.gradcheck(F.add_noise, tuple(inputs()))


def test_add_noise_gradients_match_reference(device):
    grads = []
    for name in ("torch", "triton"):
        waveform = random(2, 3, 500, device=device).requires_grad_()
        noise = random(2, 3, 500, seed=1, device=device).requires_grad_()
        snr = torch.tensor([[1.0, 5.0, 9.0], [0.0, -3.0, 20.0]], device=device, requires_grad=True)
        with tritaudio.use_backend(name):
            F.add_noise(
                waveform, noise, snr, torch.tensor([[500, 20, 300]] * 2, device=device)
            ).pow(2).sum().backward()
        grads.append((waveform.grad, noise.grad, snr.grad))
    for triton_grad, reference_grad in zip(grads[1], grads[0], strict=True):
        assert_close_to_reference(triton_grad, reference_grad.double(), rel=1e-5)


@pytest.mark.parametrize(
    ("shapes", "lengths", "snr_value", "match"),
    [
        (((2, 100), (2, 99), (2,)), None, 1.0, r"waveform \(2, 100\) and noise \(2, 99\)"),
        (((2, 100), (2, 3, 100), (2,)), None, 1.0, r"noise \(2, 3, 100\)"),
        (((2, 100), (3, 100), (2,)), None, 1.0, r"do not broadcast: waveform \(2,\), noise \(3,\)"),
        (((2, 100), (2, 100), (2,)), [101, 5], 1.0, r"lengths must be in \[0, 100\]"),
        (((2, 100), (2, 100), (2,)), [-1, 5], 1.0, r"lengths must be in \[0, 100\]"),
        (((2, 100), (2, 100), (2,)), None, float("nan"), "snr must be finite"),
        (((2, 100), (2, 100), (2,)), None, float("inf"), "snr must be finite"),
    ],
)
def test_add_noise_bad_input(backend, shapes, lengths, snr_value, match):
    waveform, noise, snr = (
        torch.zeros(shapes[0]),
        torch.zeros(shapes[1]),
        torch.full(shapes[2], snr_value),
    )
    lengths = None if lengths is None else torch.tensor(lengths)
    with pytest.raises(ValueError, match=match):
        F.add_noise(waveform, noise, snr, lengths)


def test_add_noise_type_errors(backend):
    with pytest.raises(TypeError, match="floating-point"):
        F.add_noise(torch.zeros(2, 5, dtype=torch.int16), torch.zeros(2, 5), torch.zeros(2))
    with pytest.raises(TypeError, match="lengths must be a real tensor"):
        F.add_noise(torch.zeros(2, 5), torch.zeros(2, 5), torch.zeros(2), torch.ones(2) * 1j)
    with pytest.raises(TypeError, match="snr must be a real"):
        F.add_noise(torch.zeros(2, 5), torch.zeros(2, 5), torch.zeros(2, dtype=torch.bool))


def test_torchaudio_error_wording_starts_the_messages(backend):
    # code written against torchaudio matches these (pytorch/audio's own tests do)
    with pytest.raises(ValueError, match="^Input leading dimensions don't match"):
        F.add_noise(torch.zeros(2, 5), torch.zeros(2, 3, 5), torch.zeros(2))
    with pytest.raises(ValueError, match="^Length dimensions of waveform and noise don't match"):
        F.add_noise(torch.zeros(2, 5), torch.zeros(2, 4), torch.zeros(2))


def test_integer_snr_and_floating_point_lengths_as_torchaudio(backend, device):
    # torchaudio's tutorial passes integer SNRs, its tests floating-point (torch.rand) lengths:
    # samples t < length count, so a length of 2.5 counts 3
    waveform, noise = random(3, 50, device=device), random(3, 50, seed=1, device=device)
    snr = torch.tensor([20, 10, 3], device=device)
    out = F.add_noise(waveform, noise, snr)
    expected = add_noise64(waveform.cpu(), noise.cpu(), snr.cpu())
    assert_close_to_reference(out, expected, what="integer snr")
    lengths = torch.tensor([2.5, 0.3, 50.0], device=device)
    out = T.AddNoise()(waveform, noise, snr.float(), lengths)
    expected = add_noise64(waveform.cpu(), noise.cpu(), snr.cpu(), lengths.cpu())
    assert_close_to_reference(out, expected, what="float lengths")
    int_lengths = torch.tensor([3, 1, 50], device=device)
    torch.testing.assert_close(out, F.add_noise(waveform, noise, snr.float(), int_lengths))


@pytest.mark.parametrize("api", ["Vol", "Fade", "Preemphasis", "Deemphasis"])
def test_fixtures(backend, device, api):
    cases = parity_cases(f"transforms.{api}")
    assert cases
    for case in cases:
        x = parity()["inputs"][case["input"]].to(device)
        out = getattr(T, api)(**case["kwargs"])(x)
        assert out.device == x.device
        assert_close_to_reference(out, case["output"], rel=1e-4, what=f"{api} {case['kwargs']}")


def test_deemphasis_inverts_preemphasis(backend, device):
    x = random(2, 3, 1001, device=device, dtype=torch.float64) * 0.1
    assert_close_to_reference(F.deemphasis(F.preemphasis(x, 0.9), 0.9), x, rel=1e-12)
    y = F.deemphasis(torch.full((1, 500), 0.5, device=device))
    assert y.max() == 1.0  # lfilter's clamp


@pytest.mark.parametrize(
    "shape", ["linear", "exponential", "logarithmic", "quarter_sine", "half_sine"]
)
def test_fade_keeps_dtype_and_device(backend, device, shape):
    x = random(2, 3, 500, device=device, dtype=torch.float64)
    out = T.Fade(100, 50, shape)(x)
    assert out.dtype == torch.float64 and out.device == x.device
    assert torch.equal(out[..., 100:450], x[..., 100:450])


def test_vol_and_fade_gradcheck_through_triton(device):
    x = torch.rand(2, 30, dtype=torch.float64, device=device).sub(0.5).requires_grad_()
    with tritaudio.use_backend("triton"):
        for module in (
            T.Vol(0.8),
            T.Vol(-3.0, "db"),
            T.Vol(0.5, "power"),
            T.Fade(10, 7, "half_sine"),
        ):
            assert torch.autograd.gradcheck(module, (x,)), module


def test_vol_runs_the_gain_kernel(monkeypatch, device):
    from tritaudio import _ops

    calls = []
    real = _ops.scale_rows
    monkeypatch.setattr(_ops, "scale_rows", lambda *args: calls.append(args[1]) or real(*args))
    with tritaudio.use_backend("triton"):
        T.Vol(0.25)(torch.ones(3, 10, device=device))
    assert calls == [0.25]


def test_bad_arguments():
    with pytest.raises(ValueError, match="amplitude gain must be >= 0"):
        T.Vol(-0.5)
    with pytest.raises(ValueError, match="power gain must be > 0"):
        T.Vol(0.0, "power")
    with pytest.raises(ValueError, match="gain_type"):
        T.Vol(1.0, "loudness")
    with pytest.raises(ValueError, match="fade_shape"):
        T.Fade(10, 10, "cubic")
    with pytest.raises(ValueError, match="fade_in_len"):
        T.Fade(-1)
    with pytest.raises(ValueError, match="do not fit"):
        T.Fade(10, 200)(torch.zeros(1, 100))
    with pytest.raises(ValueError, match="coeff"):
        T.Preemphasis(1.5)
    with pytest.raises(TypeError, match="floating-point"):
        F.deemphasis(torch.zeros(1, 10, dtype=torch.int32))


def test_extreme_gains_and_additive_noise_arguments():
    # issue 14, item 8: Vol(1e6, "db") overflowed; AdditiveNoise took seed=1.5 and a
    # (2, 0) bank to raw errors
    with pytest.raises(ValueError, match=r"gain must be in \[-6000, 6000\] dB"):
        T.Vol(1e6, "db")
    with pytest.raises(ValueError, match=r"gain_db must be in \[-6000, 6000\] dB"):
        F.gain(torch.ones(3), -1e6)
    with pytest.raises(TypeError, match="seed must be an int"):
        T.AdditiveNoise(seed=1.5)
    with pytest.raises(ValueError, match="noise bank is empty"):
        T.AdditiveNoise(noise=torch.zeros(2, 0))
