"""Resampling beyond the common cases: torchaudio's exact output lengths, bounded memory
for any rates (taps on the fly beyond the table bound), refused filter widths, and
resample_batch (clips of different rates to one rate in one call)."""

import math
import struct
import sys

import pytest
import torch
from helpers import DATA, assert_close_to_reference
from test_resample import torchaudio_formula

import tritaudio
import tritaudio._reference.resample as reference_resample
import tritaudio.functional as F
import tritaudio.transforms as T
from tritaudio._common import MAX_LOWPASS_FILTER_WIDTH, resampled_length

RESAMPLE_MODULE = sys.modules["tritaudio.functional.resample"]  # the function shadows it
LENGTHS = torch.load(DATA / "torchaudio-2.11-resample-lengths.pt", weights_only=True)


def torchaudio_length(n_in, orig, new):
    """torchaudio 2.11's expression as it evaluates it: the Python-float quotient of the
    gcd-reduced rates, made a float32 tensor, ceil, then the slice of its conv1d output
    (which holds ``new * (n_in // orig + 1)`` samples)."""
    gcd = math.gcd(orig, new)
    orig, new = orig // gcd, new // gcd
    as_float32 = struct.unpack("f", struct.pack("f", new * n_in / orig))[0]
    return min(math.ceil(as_float32), new * (n_in // orig + 1))


RATE_PAIRS = [(44100, 16000), (11025, 16000), (48000, 44100), (22050, 16000), (16000, 48000),
              (8000, 22050), (16001, 16000), (32000, 44100), (96000, 44100),
              (44100, 8000)]  # fmt: skip


@pytest.mark.parametrize(("orig", "new"), RATE_PAIRS)
def test_lengths_match_torchaudio_formula_over_a_sweep(orig, new):
    gcd = math.gcd(orig, new)
    rng = torch.Generator().manual_seed(orig + new)
    sweep = list(range(0, 3000)) + torch.randint(3000, 2**25, (3000,), generator=rng).tolist()
    mismatched_exact = 0
    for n in sweep:
        expected = torchaudio_length(n, orig, new)
        assert resampled_length(n, orig // gcd, new // gcd) == expected, (orig, new, n)
        mismatched_exact += expected != -(-new * n // orig)
    if (orig, new) in ((44100, 16000), (11025, 16000)):
        assert mismatched_exact > 0  # the sweep does reach the float32 rounding


def test_lengths_match_torchaudio_fixtures(backend):
    for (orig, new, n), expected in zip(
        LENGTHS["cases"].tolist(), LENGTHS["lengths"].tolist(), strict=True
    ):
        gcd = math.gcd(orig, new)
        assert resampled_length(n, orig // gcd, new // gcd) == expected, (orig, new, n)
        if n <= 50000:  # the op itself, at short lengths (the interpreter is slow)
            assert F.resample(torch.zeros(1, n), orig, new).shape[-1] == expected
    assert (LENGTHS["lengths"][:2] == torch.tensor([154199, 68599])).all()


def test_issue_lengths_through_the_ops(backend):
    if backend == "triton":
        pytest.skip("425,011 samples: too slow under the interpreter")
    assert F.resample(torch.zeros(1, 425011), 44100, 16000).shape[-1] == 154199
    assert T.Resample(11025, 16000)(torch.zeros(1, 47269)).shape[-1] == 68599


def test_speed_lengths_match_torchaudio_fixtures():
    lengths = LENGTHS["speed_lengths_in"]
    for (factor, rate), expected in zip(LENGTHS["speed"], LENGTHS["speed_lengths"], strict=True):
        _, functional = F.speed(torch.zeros(1, 10), rate, factor, lengths)
        _, module = T.Speed(rate, factor)(torch.zeros(1, 10), lengths)
        assert torch.equal(functional, expected) and torch.equal(module, expected)


def test_features_uses_the_same_lengths():
    from tritaudio.cli.features import Extractor

    extractor = Extractor.__new__(Extractor)
    extractor.rate = 16000
    assert extractor.resampled_length(425011, 44100) == 154199


@pytest.mark.parametrize("width", [MAX_LOWPASS_FILTER_WIDTH + 1, 10**6])
def test_absurd_filter_widths_are_refused(backend, width):
    with pytest.raises(
        ValueError, match=f"lowpass_filter_width must be at most {MAX_LOWPASS_FILTER_WIDTH}"
    ):
        F.resample(torch.zeros(1, 100), 44100, 16000, lowpass_filter_width=width)
    with pytest.raises(ValueError, match="lowpass_filter_width"):
        T.Resample(44100, 16000, lowpass_filter_width=width)


def test_huge_coprime_rates_keep_no_table(backend, device):
    module = T.Resample(9999991, 10000019)
    assert module.kernel is None and module.kernel_t is None
    x = torch.randn(2, 301, generator=torch.Generator().manual_seed(5)).to(device)
    expected = torchaudio_formula(x.cpu(), 9999991, 10000019)
    assert_close_to_reference(F.resample(x, 9999991, 10000019), expected, what="functional")
    assert_close_to_reference(module.to(device)(x), expected, what="module")


@pytest.mark.parametrize(("orig", "new", "kwargs"), [
    (44100, 16000, {}), (2, 5, {}), (11, 7, dict(resampling_method="sinc_interp_kaiser")),
])  # fmt: skip
def test_taps_on_the_fly_equal_the_table(backend, device, monkeypatch, orig, new, kwargs):
    x = torch.randn(3, 257, generator=torch.Generator().manual_seed(2)).to(device)
    with_table = F.resample(x, orig, new, **kwargs)
    monkeypatch.setattr(reference_resample, "MAX_TABLE_TAPS", 0)
    RESAMPLE_MODULE._tables.clear()
    assert T.Resample(orig, new, **kwargs).kernel is None
    on_the_fly = F.resample(x, orig, new, **kwargs)
    RESAMPLE_MODULE._tables.clear()
    kaiser = "resampling_method" in kwargs
    expected = torchaudio_formula(x.cpu(), orig, new, kaiser=kaiser)
    assert_close_to_reference(on_the_fly, expected, what="on the fly")
    assert_close_to_reference(with_table, expected, what="table")


def test_gradient_on_the_fly_through_triton(device, monkeypatch):
    monkeypatch.setattr(reference_resample, "MAX_TABLE_TAPS", 0)
    RESAMPLE_MODULE._tables.clear()
    x = torch.randn(2, 13, dtype=torch.float64, device=device, requires_grad=True)
    with tritaudio.use_backend("triton"):
        assert torch.autograd.gradcheck(lambda x: F.resample(x, 5, 3), (x,), fast_mode=True)
    RESAMPLE_MODULE._tables.clear()


def test_resample_batch_equals_per_row(backend, device):
    rates = [44100, 16000, 22050, 44100, 8000]
    lengths = torch.tensor([441, 300, 257, 100, 0])
    x = torch.randn(5, 2, 441, generator=torch.Generator().manual_seed(3)).to(device)
    out, new_lengths = F.resample_batch(x, torch.tensor(rates), 16000, lengths)
    assert new_lengths.dtype == torch.int64 and out.shape == (5, 2, int(new_lengths.max()))
    for i, (rate, n) in enumerate(zip(rates, lengths.tolist(), strict=True)):
        single = F.resample(x[i, :, :n], rate, 16000)
        assert int(new_lengths[i]) == single.shape[-1]
        torch.testing.assert_close(out[i, :, : single.shape[-1]], single, rtol=1e-5, atol=1e-6)
        assert (out[i, :, single.shape[-1] :] == 0).all()


def test_resample_batch_without_lengths_and_bad_arguments(backend):
    x = torch.randn(2, 160)
    out, n = F.resample_batch(x, [16000, 8000], 16000)
    assert n.tolist() == [160, 320] and torch.equal(out[0, :160], x[0])
    torch.testing.assert_close(out[1], F.resample(x[1], 8000, 16000))
    with pytest.raises(ValueError, match="orig_freqs must hold one value per clip"):
        F.resample_batch(x, [16000], 16000)
    with pytest.raises(ValueError, match="lengths must be in"):
        F.resample_batch(x, [16000, 8000], 16000, torch.tensor([161, 3]))
    with pytest.raises(ValueError, match="orig_freqs must be positive"):
        F.resample_batch(x, [16000, 0], 16000)
    with pytest.raises(TypeError, match="orig_freqs"):
        F.resample_batch(x, ["a", 1], 16000)
    with pytest.raises(ValueError, match="shape"):
        F.resample_batch(torch.zeros(5), [1], 16000)
