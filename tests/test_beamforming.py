"""Beamforming family: PSD, MVDR weights, RTF estimates, apply_beamforming and the modules,
against torchaudio 2.11 fixtures (tests/data/make_analysis_fixtures.py) and the math."""

import pytest
import torch
from helpers import DATA, assert_close_to_reference

import tritaudio
import tritaudio.functional as F
import tritaudio.transforms as T

_fixtures = None


def fixture(name):
    global _fixtures
    if _fixtures is None:
        _fixtures = torch.load(DATA / "analysis-torchaudio-2.11.pt", weights_only=True)
    return _fixtures["beamforming"][name]


def close(out, name, rel=1e-9):
    expected = fixture(name)
    assert out.dtype == expected.dtype, f"{name}: {out.dtype} != {expected.dtype}"
    assert_close_to_reference(torch.view_as_real(out), torch.view_as_real(expected), rel, name)


def one_hot(index=1):
    u = torch.zeros(2, 4, dtype=torch.float64)
    u[:, index] = 1
    return u


def test_psd_matches_torchaudio():
    x, mask_s = fixture("specgram"), fixture("mask_s")
    close(F.psd(x, mask_s), "psd_s")
    close(F.psd(x, fixture("mask_n")), "psd_n")
    close(F.psd(x), "psd_plain")
    close(F.psd(x, mask_s, normalize=False), "psd_unnormalized")
    close(T.PSD(multi_mask=True)(x, fixture("multi_mask")), "psd_module_multi")


def test_mvdr_weights_match_torchaudio():
    psd_s, psd_n = fixture("psd_s"), fixture("psd_n")
    close(F.mvdr_weights_souden(psd_s, psd_n, 0), "souden_int", 1e-8)
    close(F.mvdr_weights_souden(psd_s, psd_n, one_hot()), "souden_tensor", 1e-8)
    close(F.mvdr_weights_souden(psd_s, psd_n, 2, diagonal_loading=False), "souden_no_loading", 1e-8)
    rtf = F.rtf_power(psd_s, psd_n, 0)
    close(rtf, "rtf_power", 1e-8)
    close(F.rtf_power(psd_s, psd_n, one_hot(), n_iter=1), "rtf_power_1", 1e-8)
    close(F.rtf_power(psd_s, psd_n, 1, n_iter=5, diagonal_loading=False), "rtf_power_5", 1e-8)
    close(F.rtf_evd(psd_s), "rtf_evd", 1e-8)
    close(F.mvdr_weights_rtf(rtf, psd_n, 0), "mvdr_rtf", 1e-8)
    close(F.mvdr_weights_rtf(rtf, psd_n), "mvdr_rtf_none", 1e-8)
    close(F.mvdr_weights_rtf(rtf, psd_n, one_hot()), "mvdr_rtf_tensor", 1e-8)
    x = fixture("specgram")
    close(F.apply_beamforming(F.mvdr_weights_rtf(rtf, psd_n, 0), x), "apply_beamforming", 1e-8)
    close(T.SoudenMVDR()(x, psd_s, psd_n, 0), "souden_module", 1e-8)
    close(T.RTFMVDR()(x, rtf, psd_n, 0), "rtf_module", 1e-8)


@pytest.mark.parametrize("solution", ["ref_channel", "stv_evd", "stv_power"])
def test_mvdr_module_matches_torchaudio(solution):
    x = fixture("specgram").to(torch.complex64)
    mask_s, mask_n = fixture("mask_s").float(), fixture("mask_n").float()
    out = T.MVDR(ref_channel=1, solution=solution)(x, mask_s, mask_n)
    close(out, f"mvdr_{solution}", 1e-5)


def test_mvdr_online_matches_torchaudio():
    x = fixture("specgram").to(torch.complex64)
    mask_s, mask_n = fixture("mask_s").float(), fixture("mask_n").float()
    module = T.MVDR(online=True)
    close(module(x, mask_s, mask_n), "mvdr_online_1", 1e-5)
    close(module(x.flip(-1), mask_n, mask_s), "mvdr_online_2", 1e-5)
    with pytest.warns(UserWarning, match="mask_n"):
        T.MVDR()(x, mask_s)


def test_mvdr_is_distortionless_along_the_steering_vector():
    # w^H v = 1 for the RTF solution, whatever the noise PSD.
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(5, 3, 3, dtype=torch.complex128, generator=gen)
    psd_n = a @ a.conj().transpose(-1, -2) + torch.eye(3)
    v = torch.randn(5, 3, dtype=torch.complex128, generator=gen)
    w = F.mvdr_weights_rtf(v, psd_n, diagonal_loading=False, eps=0.0)
    assert torch.allclose((w.conj() * v).sum(-1), torch.ones(5, dtype=torch.complex128))


def test_psd_is_hermitian_and_sums_outer_products():
    x = fixture("specgram")[0]  # (channel, freq, time)
    out = F.psd(x)
    expected = torch.einsum("cft,dft->fcd", x, x.conj())
    assert torch.allclose(out, expected)
    assert torch.allclose(out, out.conj().transpose(-1, -2))
    strided = fixture("specgram").transpose(-1, -2).contiguous().transpose(-1, -2)
    assert torch.allclose(F.psd(strided, fixture("mask_s")), fixture("psd_s"))


def test_beamforming_gradcheck():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 2, 6, dtype=torch.complex128, generator=gen, requires_grad=True)
    mask = torch.rand(2, 6, dtype=torch.float64, generator=gen, requires_grad=True)
    torch.autograd.gradcheck(lambda s, m: F.psd(s, m), (x, mask))

    def souden(s, m):
        psd_s, psd_n = F.psd(s, m), F.psd(s, 1 - m)
        return F.apply_beamforming(F.mvdr_weights_souden(psd_s, psd_n, 0), s)

    def rtf(s, m):
        psd_s, psd_n = F.psd(s, m), F.psd(s, 1 - m)
        v = F.rtf_power(psd_s, psd_n, 1)
        return F.apply_beamforming(F.mvdr_weights_rtf(v, psd_n, 1), s)

    torch.autograd.gradcheck(souden, (x, mask))
    torch.autograd.gradcheck(rtf, (x, mask))


def test_batch_is_stacked_singles():
    psd_s, psd_n = fixture("psd_s"), fixture("psd_n")
    out = F.mvdr_weights_souden(psd_s, psd_n, 0)
    singles = torch.stack(
        [F.mvdr_weights_souden(s, n, 0) for s, n in zip(psd_s, psd_n, strict=True)]
    )
    assert torch.allclose(out, singles, rtol=1e-12, atol=1e-14)


def test_nan_propagates():
    x = fixture("specgram").clone()
    x[0, 0, 0, 0] = float("nan")
    out = F.psd(x, fixture("mask_s"))
    # channel 0 at frequency 0: its row and column of that PSD matrix, nothing else
    assert out[0, 0, 0].isnan().all() and out[0, 0, :, 0].isnan().all()
    assert not out[0, 0, 1:, 1:].isnan().any() and not out[0, 1:].isnan().any()
    assert not out[1].isnan().any()


def test_bad_inputs():
    psd_s, psd_n, x = fixture("psd_s"), fixture("psd_n"), fixture("specgram")
    with pytest.raises(TypeError, match="specgram"):
        F.psd(x.real)
    with pytest.raises(ValueError, match="mask"):
        F.psd(x, fixture("mask_s")[..., :-1])
    with pytest.raises(TypeError, match="psd_n"):
        F.mvdr_weights_souden(psd_s, psd_n.real, 0)
    with pytest.raises(ValueError, match="same shape"):
        F.mvdr_weights_souden(psd_s, psd_n[:, :-1], 0)
    with pytest.raises(ValueError, match="reference_channel"):
        F.mvdr_weights_souden(psd_s, psd_n, 4)
    with pytest.raises(TypeError, match="reference_channel"):
        F.mvdr_weights_souden(psd_s, psd_n, 0.5)
    with pytest.raises(ValueError, match="n_iter"):
        F.rtf_power(psd_s, psd_n, 0, n_iter=0)
    with pytest.raises(ValueError, match="rtf"):
        F.mvdr_weights_rtf(psd_s[..., 0, :-1], psd_n)
    with pytest.raises(ValueError, match="square"):
        F.rtf_evd(psd_s[..., :-1])
    with pytest.raises(ValueError, match="beamform_weights"):
        F.apply_beamforming(psd_s[..., 0], x[0])
    with pytest.raises(ValueError, match="solution"):
        T.MVDR(solution="svd")
    with pytest.raises(ValueError, match="complex"):
        T.MVDR()(x.real, fixture("mask_s"))


def test_the_triton_path_solves_without_reading_the_info(monkeypatch):
    # torch.linalg.solve reads the solver's info on the host (a sync on CUDA); the Triton
    # path calls solve_ex instead: the same numbers, bit for bit
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, 5, 8, dtype=torch.cdouble, generator=g)
    psd_s, psd_n = F.psd(x), F.psd(x.flip(-1))
    rtf = torch.randn(2, 5, 3, dtype=torch.cdouble, generator=g)

    def weights():
        return [
            F.mvdr_weights_souden(psd_s, psd_n, 0),
            F.mvdr_weights_rtf(rtf, psd_n, 1),
            F.rtf_power(psd_s, psd_n, 2),
        ]

    with tritaudio.use_backend("torch"):
        expected = weights()
    monkeypatch.setattr(torch.linalg, "solve", lambda *args: pytest.fail("linalg.solve called"))
    with tritaudio.use_backend("triton"):
        for got, want in zip(weights(), expected, strict=True):
            assert torch.equal(got, want)
