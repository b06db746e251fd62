"""tritaudio.compliance.kaldi: torchaudio 2.11's fixtures (tests/data/make_kaldi_fixtures.py)
on both paths, batches of mixed lengths against single calls, dither, gradients through the
Triton kernels, bad arguments."""

import math

import pytest
import torch
from helpers import DATA, assert_close_to_reference

import tritaudio
import tritaudio.functional as F
import tritaudio.transforms as T
from tritaudio.compliance import kaldi

FIXTURES = torch.load(DATA / "kaldi-torchaudio-2.11.pt", weights_only=True)
SIGNALS = FIXTURES["signals"]
FUNCTIONS = {"fbank": kaldi.fbank, "mfcc": kaldi.mfcc, "spectrogram": kaldi.spectrogram}
BATCHED = {"fbank": kaldi.fbank_batch, "mfcc": kaldi.mfcc_batch,
           "spectrogram": kaldi.spectrogram_batch}  # fmt: skip


def _case_id(case):
    options = ",".join(f"{key}={value}" for key, value in case["kwargs"].items())
    return f"{case['api']}-{case['signal']}-{options or 'defaults'}"


@pytest.mark.parametrize("case", FIXTURES["cases"], ids=_case_id)
def test_torchaudio_parity(case, backend, device):
    if "seed" in case:  # dither: torch's global generator, seeded as for torchaudio
        torch.manual_seed(case["seed"])
    signal = SIGNALS[case["signal"]]
    out = FUNCTIONS[case["api"]](signal.to(device), **case["kwargs"])
    ref = case["out"]
    assert out.dtype == ref.dtype
    what = _case_id(case)
    if case["signal"] == "mono64" and case["api"] != "mfcc":
        # float64 on both sides: the same numbers beyond float32's rounding (torchaudio's
        # mfcc builds its DCT in float32 whatever the dtype)
        assert_close_to_reference(out, ref, rel=1e-10, what=what)
        return
    # float32: within 1e-4 of the peak. Log filterbanks also within 1e-3 everywhere; the
    # log spectrogram's deepest bins (|X|^2 ~ 1e-7 of the peak) only within float32's
    # rounding of the FFT, ~1e-3 from the float64 value for torchaudio itself.
    assert_close_to_reference(out, ref, rel=1e-4, what=what)
    if case["api"] == "fbank" and case["kwargs"].get("use_log_fbank", True) and ref.numel():
        assert (out.cpu() - ref).abs().max() <= 1e-3, what


@pytest.mark.parametrize("options", [dict(use_log_fbank=False), dict(snip_edges=False)])
def test_float32_within_the_accuracy_contract_of_float64(backend, device, options):
    # linear filterbank energies within 1e-5 of the peak; log ones within 1e-4 (the log of
    # the quietest bands amplifies float32's FFT rounding)
    waveform = SIGNALS["mono"].to(device)
    out = kaldi.fbank(waveform, use_energy=True, **options)
    with tritaudio.use_backend("torch"):
        ref = kaldi.fbank(waveform.double().cpu(), use_energy=True, **options)
    assert_close_to_reference(out, ref, rel=1e-5 if "use_log_fbank" in options else 1e-4)
    if "use_log_fbank" not in options:
        assert (out.cpu().double() - ref).abs().max() < 1e-3


def test_mel_banks_and_warps():
    for case in FIXTURES["mel_banks"]:
        bins, centers = kaldi.get_mel_banks(*case["args"])
        ref_bins, ref_centers = case["out"]
        assert_close_to_reference(bins, ref_bins, rel=1e-6, what=str(case["args"]))
        assert_close_to_reference(centers, ref_centers, rel=1e-6, what=str(case["args"]))
    scales = FIXTURES["scales"]
    for case in FIXTURES["vtln"]:
        warped = kaldi.vtln_warp_freq(*case["args"], scales["freq"])
        assert_close_to_reference(warped, case["out"], rel=1e-6)
    assert_close_to_reference(kaldi.mel_scale(scales["freq"]), scales["mel_scale"], rel=1e-6)
    inverse = kaldi.inverse_mel_scale(scales["mel"])
    assert_close_to_reference(inverse, scales["inverse_mel_scale"], rel=1e-6)
    warped_mel = kaldi.vtln_warp_mel_freq(*FIXTURES["vtln"][0]["args"], scales["mel"])
    assert_close_to_reference(warped_mel, scales["vtln_warp_mel_freq"], rel=1e-6)
    assert kaldi.mel_scale_scalar(1000.0) == pytest.approx(1127.0 * math.log(1 + 1000 / 700))
    assert kaldi.inverse_mel_scale_scalar(kaldi.mel_scale_scalar(440.0)) == pytest.approx(440.0)


BATCH_OPTIONS = [
    ("fbank", dict(use_energy=True, subtract_mean=True)),
    ("fbank", dict(snip_edges=False, raw_energy=False, use_energy=True, htk_compat=True)),
    ("mfcc", dict(snip_edges=False, use_energy=True)),
    ("spectrogram", dict(frame_length=20.0, frame_shift=7.0, window_type="hamming")),
]


@pytest.mark.parametrize(("api", "options"), BATCH_OPTIONS)
def test_batch_of_mixed_lengths_equals_singles(api, options, backend, device):
    torch.manual_seed(1)
    lengths = [2001, 937, 319, 0, 1499]  # 319 and 0: shorter than one frame
    window_size = int(16 * options.get("frame_length", 25.0))
    waveforms = torch.randn(len(lengths), max(lengths), device=device)
    features, num_frames = BATCHED[api](waveforms, torch.tensor(lengths), **options)
    single_full = FUNCTIONS[api](waveforms[:1], **options)
    assert features.shape[:2] == (len(lengths), single_full.shape[0])
    for row, length in enumerate(lengths):
        count = int(num_frames[row])
        if length >= window_size:
            single = FUNCTIONS[api](waveforms[row : row + 1, :length], **options)
            assert count == single.shape[0]
            assert_close_to_reference(features[row, :count], single, rel=1e-5, what=f"row {row}")
        else:
            assert count == 0
        assert features[row, count:].abs().max() == 0 if count < features.shape[1] else True


@pytest.mark.parametrize("chunk_samples", [1, 5000])  # one row, two rows per chunk
def test_torch_path_chunks_equal_one_pass(monkeypatch, chunk_samples):
    from tritaudio.compliance import _features

    torch.manual_seed(7)
    waveforms, lengths = torch.randn(5, 2001), torch.tensor([2001, 937, 319, 0, 1499])
    options = dict(use_energy=True, subtract_mean=True, snip_edges=False)
    with tritaudio.use_backend("torch"):
        whole, counts = kaldi.fbank_batch(waveforms, lengths, **options)
        monkeypatch.setattr(_features, "CHUNK_SAMPLES", chunk_samples)
        chunked, chunk_counts = kaldi.fbank_batch(waveforms, lengths, **options)
    assert torch.equal(counts, chunk_counts)
    torch.testing.assert_close(chunked, whole)


def test_batch_input_forms(backend, device):
    torch.manual_seed(2)
    waveforms = torch.randn(3, 2 * 1200, device=device)[:, ::2]  # non-contiguous rows
    features, num_frames = kaldi.fbank_batch(waveforms, [1200, 900, 700])
    contiguous, _ = kaldi.fbank_batch(waveforms.contiguous(), [1200, 900, 700])
    torch.testing.assert_close(features, contiguous)
    assert num_frames.tolist() == [6, 4, 2]
    half, _ = kaldi.fbank_batch(waveforms.half(), [1200, 900, 700])
    assert half.dtype == torch.float16
    assert (half.float() - features).abs().max() < 0.1  # float16 input's own rounding
    empty, counts = kaldi.fbank_batch(waveforms[:, :0], use_energy=True)
    assert empty.shape == (3, 0, 24) and counts.tolist() == [0, 0, 0]
    nan = waveforms.clone()
    nan[1, 300] = float("nan")
    out, _ = kaldi.fbank_batch(nan)
    assert out[1, :2].isnan().any() and not out[0].isnan().any() and not out[2].isnan().any()
    assert kaldi.fbank(waveforms[0], min_duration=1.0).shape == (0,)


def test_dither_seeded_and_distributed(backend, device):
    def spectrogram(seed, dither=0.5):
        generator = torch.Generator(device).manual_seed(seed)
        silence = torch.zeros(1, 16000, device=device)
        options = dict(dither=dither, remove_dc_offset=False, preemphasis_coefficient=0.0,
                       window_type="rectangular", energy_floor=0.0)  # fmt: skip
        return kaldi.spectrogram(silence, generator=generator, **options)

    first, again, other = spectrogram(7), spectrogram(7), spectrogram(8)
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert (first - other).abs().max() > 1
    # column 0: ln of each frame's energy, a sum of 400 squares of N(0, 0.5^2) draws:
    # mean 400 * 0.25, variance 2 * 400 * 0.25^2 (98 frames: 3 % and 15 % at ~3 sigma)
    energies = first[:, 0].double().exp()
    assert energies.mean().item() == pytest.approx(100.0, rel=0.03)
    assert energies.var().item() == pytest.approx(50.0, rel=0.45)
    torch.manual_seed(3)  # no generator: torch's global one
    default = kaldi.fbank(torch.zeros(1, 4000, device=device), dither=1.0)
    torch.manual_seed(3)
    torch.testing.assert_close(default, kaldi.fbank(torch.zeros(1, 4000, device=device),
                                                    dither=1.0))  # fmt: skip


GRAD_OPTIONS = [
    dict(),
    dict(raw_energy=False, snip_edges=False, subtract_mean=True),
    dict(
        raw_energy=False, preemphasis_coefficient=0, remove_dc_offset=False, window_type="hamming"
    ),
    dict(use_log_fbank=False, use_power=False, frame_length=10.0, frame_shift=15.0, snip_edges=0),
]
# 25-sample frames at 1 kHz, the log energy as a feature (unfloored: differentiable)
SMALL = dict(sample_frequency=1000.0, num_mel_bins=5, energy_floor=0.0, use_energy=True)


@pytest.mark.parametrize("options", GRAD_OPTIONS)
def test_gradcheck_through_triton(options, device):
    torch.manual_seed(4)
    x = torch.randn(2, 50, dtype=torch.float64, device=device, requires_grad=True)
    lengths = torch.tensor([50, 37])
    with tritaudio.use_backend("triton"):
        fbank = lambda w: kaldi.fbank_batch(w, lengths, **SMALL, **options)[0]
        assert torch.autograd.gradcheck(fbank, (x,), fast_mode=True)
        grad = torch.autograd.grad(fbank(x).pow(2).sum(), x)[0]
    assert grad[1, 37:].abs().max() == 0  # nothing reaches samples past a row's length
    with tritaudio.use_backend("torch"):
        reference = torch.autograd.grad(fbank(x).pow(2).sum(), x)[0]
    assert_close_to_reference(grad, reference, rel=1e-10)


def test_gradcheck_mfcc_spectrogram_triton(device):
    x = torch.randn(1, 60, dtype=torch.float64, device=device, requires_grad=True)
    with tritaudio.use_backend("triton"):
        mfcc = lambda w: kaldi.mfcc_batch(w, **SMALL, num_ceps=4)[0]
        spectrogram = lambda w: kaldi.spectrogram_batch(
            w, [47], snip_edges=False, sample_frequency=1000.0, energy_floor=0.0
        )[0]
        assert torch.autograd.gradcheck(mfcc, (x,), fast_mode=True)
        assert torch.autograd.gradcheck(spectrogram, (x,), fast_mode=True)


def test_gradcheck_frame_op_dense(device):
    """The Triton op itself, both outputs, with dither noise and a mirrored edge: every
    Jacobian entry for one setting, random projections for the others."""
    from tritaudio._ops import kaldi as kaldi_ops

    x = torch.randn(1, 17, dtype=torch.float64, device=device, requires_grad=True)
    lengths = torch.tensor([17], device=device)
    counts = torch.tensor([4], device=device)  # snip_edges=False, 8 samples, shift 4
    noise = torch.randn(1, 4, 8, dtype=torch.float64, device=device)
    window = torch.hann_window(8, periodic=False, dtype=torch.float64, device=device) + 0.1

    def frames(w, raw_energy, preemphasis):
        return kaldi_ops.kaldi_frames(w, lengths, counts, noise, window, 4, 8, 4, 0, 0.3, 1,
                                      raw_energy, preemphasis, 0.5)  # fmt: skip

    for n in (16, 15):  # the FFT's own backward (one inverse real FFT)
        frames_n = torch.randn(3, n, dtype=torch.float64, device=device, requires_grad=True)
        assert torch.autograd.gradcheck(kaldi_ops.RealFFTPairs.apply, (frames_n,))
    settings = ((0, 0.97), (1, 0.5), (0, 0.0))
    for dense, (raw_energy, preemphasis) in zip((True, False, False), settings, strict=True):
        function = lambda w: frames(w, raw_energy, preemphasis)  # noqa: B023
        assert torch.autograd.gradcheck(function, (x,), fast_mode=not dense)


def test_bad_arguments():
    waveform = torch.randn(1, 1000)
    with pytest.raises(ValueError, match="frame_length"):
        kaldi.fbank(waveform[:, :300])  # a 400-sample frame, 300 samples
    with pytest.raises(ValueError, match="frame_length"):
        kaldi.fbank(waveform, snip_edges=False, frame_length=100.0)
    with pytest.raises(ValueError, match="frame_shift"):
        kaldi.fbank(waveform, frame_shift=-10.0)
    with pytest.raises(ValueError, match="frame_shift"):
        kaldi.fbank_batch(waveform, frame_shift=0.01)
    with pytest.raises(ValueError, match="window_type"):
        kaldi.fbank(waveform, window_type="kaiser")
    with pytest.raises(ValueError, match="FFT length"):
        kaldi.spectrogram(waveform, round_to_power_of_two=False, frame_length=25.0625)
    bad = [
        (dict(preemphasis_coefficient=1.5), "preemphasis_coefficient"),
        (dict(num_mel_bins=3), "num_mel_bins"),
        (dict(high_freq=9000.0), "high_freq"),
        (dict(channel=1), "channel"),
        (dict(sample_frequency=0.0), "sample_frequency"),
        (dict(energy_floor=-1.0), "energy_floor"),
        (dict(vtln_warp=1.2, vtln_low=5.0), "vtln_low"),
    ]
    for options, name in bad:
        with pytest.raises(ValueError, match=name):
            kaldi.fbank(waveform, **options)
    with pytest.raises(ValueError, match="num_ceps"):
        kaldi.mfcc(waveform, num_ceps=30)
    with pytest.raises(TypeError, match="floating-point"):
        kaldi.fbank(torch.ones(1, 1000, dtype=torch.int16))
    with pytest.raises(TypeError, match="channel"):
        kaldi.fbank_batch(waveform, channel=0)
    with pytest.raises(TypeError, match="num_melbins"):
        kaldi.fbank_batch(waveform, num_melbins=40)
    with pytest.raises(ValueError, match="lengths"):
        kaldi.fbank_batch(waveform, [1001])
    with pytest.raises(ValueError, match="lengths"):
        kaldi.fbank_batch(waveform, [500, 500])
    with pytest.raises(ValueError, match="waveforms"):
        kaldi.fbank_batch(waveform[0])


def test_kaldi_features_module(backend, device):
    torch.manual_seed(5)
    waveforms = torch.randn(2, 3, 1600, device=device)
    lengths = torch.tensor([1600, 1200, 500, 1600, 401, 1000])
    module = T.KaldiFeatures("mfcc", num_ceps=10, snip_edges=False, use_energy=True)
    out = module(waveforms, lengths)
    frames = module.num_frames(lengths)
    assert out.shape == (2, 3, 10, 10) and frames.tolist() == [10, 8, 3, 10, 3, 6]
    assert module.num_frames(399) == 0 and (module.n_fft, module.hop_length) == (400, 160)
    rows = waveforms.reshape(6, 1600)
    for row in range(6):
        single = kaldi.mfcc(rows[row, : lengths[row]], num_ceps=10, snip_edges=False,
                            use_energy=True)  # fmt: skip
        assert_close_to_reference(out.reshape(6, 10, 10)[row, :, : frames[row]], single.T, 1e-5)
    with pytest.raises(ValueError, match="feature"):
        T.KaldiFeatures("plp")
    with pytest.raises(TypeError, match="num_cepstra"):
        T.KaldiFeatures("mfcc", num_cepstra=10)
    with pytest.raises(ValueError, match="window_type"):
        T.KaldiFeatures(window_type="hann")


def test_log_mel_spectrogram_kaldi_preset_is_fbank_without_per_frame_steps(backend, device):
    waveform = SIGNALS["mono"].to(device)
    out = T.LogMelSpectrogram.kaldi(n_mels=40).to(device)(waveform)[0]
    ref = kaldi.fbank(waveform, num_mel_bins=40, remove_dc_offset=False,
                      preemphasis_coefficient=0.0)  # fmt: skip
    assert_close_to_reference(out, ref.T, rel=1e-5)
    assert (out - ref.T).abs().max() < 1e-3


@pytest.mark.parametrize("feature", ["fbank", "kaldi-mfcc"])
def test_features_command(capsys, tmp_path, feature):
    from tritaudio import cli

    torch.manual_seed(6)
    corpus, out = tmp_path / "corpus", tmp_path / "feats"
    corpus.mkdir()
    for name, n_time in (("a", 8000), ("b", 5555), ("c", 3210)):  # one batch of three
        tritaudio.save(corpus / f"{name}.wav", 0.1 * torch.randn(1, n_time), 16000)
    args = ["features", corpus, "--out", out, "--feature", feature, "--n-mels", 40]
    args += ["--n-mfcc", 13, "--format", "pt", "--quiet"]
    assert cli.main([str(arg) for arg in args]) == 0
    capsys.readouterr()
    function = kaldi.fbank if feature == "fbank" else kaldi.mfcc
    options = dict(num_ceps=13) if feature == "kaldi-mfcc" else {}
    for name in "abc":
        waveform = tritaudio.load(corpus / f"{name}.wav")[0]
        features = torch.load(out / f"{name}.pt", weights_only=True)
        expected = function(waveform, num_mel_bins=40, **options).T.unsqueeze(0)
        assert_close_to_reference(features, expected, rel=1e-5, what=f"{feature} {name}")


def test_resample_waveform():
    waveform = torch.randn(2, 800)
    out = kaldi.resample_waveform(waveform, 16000, 8000)
    torch.testing.assert_close(out, F.resample(waveform, 16000, 8000))
