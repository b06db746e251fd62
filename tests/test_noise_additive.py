"""AdditiveNoise: random SNR per example, in-kernel white noise, colored noise, noise banks."""

import math

import pytest
import torch

import tritaudio
import tritaudio.transforms as T


def measured_snr_db(clean, noisy):
    return 10 * torch.log10(clean.double().pow(2).sum(-1) / (noisy - clean).double().pow(2).sum(-1))


def drawn_snr_db(seed, batch, low, high):
    """The SNRs AdditiveNoise draws first from a generator seeded with ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(batch, generator=generator, dtype=torch.float64)


@pytest.mark.parametrize("color", ["white", "pink", "brown", "blue", "violet"])
def test_measured_snr_is_the_drawn_snr(backend, device, color):
    clean = torch.randn(3, 4, 4000, generator=torch.Generator().manual_seed(1)).to(device)
    noisy = T.AdditiveNoise((-5.0, 25.0), color=color, seed=42)(clean)
    expected = drawn_snr_db(42, (3, 4), -5.0, 25.0)
    torch.testing.assert_close(measured_snr_db(clean, noisy).cpu(), expected, rtol=0, atol=0.1)


def test_noise_bank(backend, device):
    bank = torch.randn(5, 3000, generator=torch.Generator().manual_seed(2)).to(device)
    clean = torch.randn(6, 7000, generator=torch.Generator().manual_seed(3)).to(device)
    noisy = T.AdditiveNoise(7.5, noise=bank, seed=0)(clean)
    torch.testing.assert_close(
        measured_snr_db(clean, noisy).cpu(),
        torch.full((6,), 7.5, dtype=torch.float64),
        rtol=0,
        atol=0.1,
    )
    # each example's noise is one clip of the bank, scaled, rotated and repeated
    for added in (noisy - clean).double().cpu():
        period = added[:3000]
        torch.testing.assert_close(added[3000:6000], period, rtol=0, atol=1e-4)
        spectra = torch.fft.rfft(bank.double().cpu()) * torch.fft.rfft(period).conj()
        correlation = torch.fft.irfft(spectra, n=3000) / (
            bank.double().cpu().norm(dim=-1, keepdim=True) * period.norm()
        )
        assert correlation.abs().max() > 0.9999


def spectral_slope_db_per_octave(noise, sample_rate=16000, low=100.0, high=7000.0):
    """Slope of the noise's power spectrum (Welch average) against log2 frequency."""
    frames = noise.reshape(-1, noise.shape[-1]).unfold(-1, 1024, 512) * torch.hann_window(1024)
    power = torch.fft.rfft(frames.double()).abs().pow(2).mean(dim=(0, 1))
    freqs = torch.fft.rfftfreq(1024, 1 / sample_rate)
    band = (freqs >= low) & (freqs <= high)
    x, y = torch.log2(freqs[band].double()), 10 * torch.log10(power[band])
    x_centered = x - x.mean()
    return float((x_centered * (y - y.mean())).sum() / x_centered.pow(2).sum())


@pytest.mark.parametrize(
    ("color", "slope"),
    [("white", 0.0), ("pink", -3.0), ("brown", -6.0), ("blue", 3.0), ("violet", 6.0)],
)
def test_colored_noise_follows_its_slope(backend, device, color, slope):
    clean = 1e-3 * torch.randn(4, 2**15, generator=torch.Generator().manual_seed(5)).to(device)
    noisy = T.AdditiveNoise(-40.0, color=color, seed=9)(clean)  # the noise dominates
    measured = spectral_slope_db_per_octave((noisy - clean).cpu())
    assert abs(measured - slope) < 1.0, f"{color}: {measured:.2f} dB/octave"


def test_same_seed_same_output_other_seed_other_output(backend, device):
    clean = torch.randn(2, 1000, device=device)
    first = T.AdditiveNoise(seed=1)(clean)
    assert torch.equal(first, T.AdditiveNoise(seed=1)(clean))
    assert not torch.allclose(first, T.AdditiveNoise(seed=2)(clean))
    module = T.AdditiveNoise(seed=1)
    assert not torch.equal(module(clean), module(clean))  # a new draw at every call
    torch.manual_seed(0)
    global_first = T.AdditiveNoise()(clean)
    torch.manual_seed(0)
    assert torch.equal(global_first, T.AdditiveNoise()(clean))


def test_probability(backend, device):
    clean = torch.randn(200, 16, device=device)
    assert torch.equal(T.AdditiveNoise(p=0.0, seed=0)(clean), clean)
    noisy = T.AdditiveNoise(p=0.3, seed=0)(clean)
    changed = (noisy != clean).any(-1).float().mean().item()
    assert 0.2 < changed < 0.4
    unchanged = (noisy == clean).all(-1)
    assert unchanged.sum() > 0


def test_white_noise_is_generated_in_the_kernels(monkeypatch, device):
    def no_randn(*args, **kwargs):
        raise AssertionError("white noise was materialised with torch.randn")

    monkeypatch.setattr(torch, "randn", no_randn)
    clean = torch.ones(2, 500, device=device)
    with tritaudio.use_backend("triton"):
        noisy = T.AdditiveNoise(0.0, seed=3)(clean)
    torch.testing.assert_close(
        measured_snr_db(clean, noisy).cpu(), torch.zeros(2, dtype=torch.float64), rtol=0, atol=1e-3
    )


@pytest.mark.parametrize("color", ["white", "pink"])
def test_gradcheck_through_triton(device, color):
    x = torch.randn(2, 40, dtype=torch.float64, device=device, requires_grad=True)

    def noisy(x):
        return T.AdditiveNoise(3.0, color=color, seed=11)(x)

    with tritaudio.use_backend("triton"):
        assert torch.autograd.gradcheck(noisy, (x,))


def test_dtype_device_and_empty(backend, device):
    for dtype in (torch.float16, torch.bfloat16, torch.float64):
        clean = torch.randn(2, 300, device=device).to(dtype)
        noisy = T.AdditiveNoise(seed=0)(clean)
        assert noisy.dtype == dtype and noisy.device == clean.device
    assert T.AdditiveNoise(seed=0)(torch.empty(3, 0, device=device)).shape == (3, 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(snr_db=(20.0, 10.0)), "snr_db"),
        (dict(snr_db=math.nan), "snr_db"),
        (dict(color="green"), "color"),
        (dict(p=1.5), "p must be"),
        (dict(noise=torch.zeros(2, 100)), "energy"),
        (dict(noise=torch.zeros(0, 100)), "empty"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        T.AdditiveNoise(**kwargs)


def test_in_kernel_white_noise_statistics(device):
    # Philox-4x32 with all four outputs and both Box-Muller normals: zero mean, Gaussian
    # tails, no correlation between neighbours (within a group of four and across groups)
    # or between examples; the same seed gives the same noise. At 0 dB on a signal of ones
    # the added noise has unit power by construction, so its shape is what is tested.
    ones = torch.ones(4, 8000, device=device)
    with tritaudio.use_backend("triton"):
        noisy = tritaudio.functional.add_white_noise(ones, torch.zeros(4), 5)
        assert torch.equal(noisy, tritaudio.functional.add_white_noise(ones, torch.zeros(4), 5))
    n = (noisy - ones).double().cpu()
    flat = n.flatten()
    assert abs(flat.mean()) < 4 / flat.numel() ** 0.5
    assert abs((flat.abs() > 1.959964).double().mean() - 0.05) < 0.006  # two-sided 5 % tail
    assert abs((flat.abs() > 3.290527).double().mean() - 0.001) < 0.001  # 0.1 % tail
    for lag in (1, 2, 3, 4, 5):
        correlation = (n[:, lag:] * n[:, :-lag]).mean()
        assert abs(correlation) < 0.03, lag
    assert abs((n[0] * n[1]).mean()) < 0.05


def test_a_seeded_module_draws_on_the_device_from_its_own_generator():
    # (on a GPU) the draws of a seeded module come from a generator on the input's
    # device, seeded with its seed: the same sequence for the same seed, no host copy;
    # checked here through the draw itself, on the CPU's generator type
    device = torch.device("cpu")
    draws = []
    for seed in (5, 5, 6):
        module = T.AdditiveNoise((0.0, 30.0), seed=seed)
        generator = module._device_generator(device)
        draws.append([module._device_draws(4, device, generator)[:2] for _ in range(2)])
    (snr_a, _), (snr_b, _) = draws[0]
    assert not torch.equal(snr_a, snr_b)  # a sequence, not one draw repeated
    for (snr, seed), (snr_same, seed_same) in zip(draws[0], draws[1], strict=True):
        assert torch.equal(snr, snr_same) and torch.equal(seed, seed_same)
    assert not torch.equal(draws[0][0][0], draws[2][0][0])
    assert ((snr_a >= 0) & (snr_a <= 30)).all()
