"""Analysis family: pitch, spectral centroid, sliding CMN, VAD, loudness, mu-law,
InverseMelScale, edit and Frechet distances, against torchaudio 2.11 fixtures
(tests/data/make_analysis_fixtures.py), float64 references and scipy."""

import itertools
import math

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import torch
from helpers import DATA, assert_close_to_reference

import tritaudio.functional as F
import tritaudio.transforms as T
from tritaudio._reference import analysis as ref

_fixtures = None


def fixture(name):
    global _fixtures
    if _fixtures is None:
        _fixtures = torch.load(DATA / "analysis-torchaudio-2.11.pt", weights_only=True)
    return _fixtures["analysis"][name]


def assert_equal(out, expected, what):
    assert out.shape == expected.shape, f"{what}: {tuple(out.shape)} != {tuple(expected.shape)}"
    assert torch.equal(out.to(expected.dtype), expected), what


# --- mu-law -----------------------------------------------------------------------------


def test_mu_law_matches_torchaudio():
    speech, chord = fixture("speech")[:, :4000], fixture("chord")[:, :4000]
    assert_equal(F.mu_law_encoding(speech, 256), fixture("mu_law_encoding"), "encode 256")
    assert_equal(T.MuLawEncoding(16)(chord), fixture("mu_law_encoding_16"), "encode 16")
    assert F.mu_law_encoding(speech, 256).dtype == torch.int64
    decoded = T.MuLawDecoding()(torch.arange(256))
    assert_equal(decoded, fixture("mu_law_decoding"), "decode")


def test_mu_law_round_trip_and_edges():
    x = torch.linspace(-1, 1, 1001, dtype=torch.float64)
    y = F.mu_law_decoding(F.mu_law_encoding(x, 256), 256)
    # mu-law's step at |x| = 1 is the widest: (1 - exp(-log1p(255) / 127.5)) * 256 / 255
    assert (y - x).abs().max() < 0.05
    assert F.mu_law_encoding(torch.empty(0, 3), 256).shape == (0, 3)
    assert F.mu_law_decoding(x[::2], 256).shape == (501,)  # non-contiguous
    with pytest.warns(UserWarning, match="floating-point"):
        F.mu_law_encoding(torch.tensor([0, 1]), 256)


@pytest.mark.parametrize("channels", [1, 0, 2.5, True])
def test_mu_law_bad_channels(channels):
    with pytest.raises((TypeError, ValueError), match="quantization_channels"):
        F.mu_law_encoding(torch.zeros(3), channels)
    with pytest.raises((TypeError, ValueError), match="quantization_channels"):
        F.mu_law_decoding(torch.zeros(3), channels)


def test_mu_law_bad_input():
    with pytest.raises(TypeError, match="x"):
        F.mu_law_encoding([0.1], 256)
    with pytest.raises(TypeError, match="x_mu"):
        F.mu_law_decoding(torch.zeros(2, dtype=torch.complex64), 256)


# --- pitch ------------------------------------------------------------------------------


def test_detect_pitch_frequency_matches_torchaudio():
    out = F.detect_pitch_frequency(fixture("speech"), 16000)
    assert_close_to_reference(out, fixture("pitch_speech"), 1e-6, "pitch speech")
    out = F.detect_pitch_frequency(fixture("chord"), 44100, 0.02, 11, 60, 2000)
    assert_close_to_reference(out, fixture("pitch_chord"), 1e-6, "pitch chord")


def test_detect_pitch_frequency_of_a_tone():
    t = torch.arange(8000, dtype=torch.float64) / 8000
    tone = torch.sin(2 * math.pi * 200 * t)
    freq = F.detect_pitch_frequency(tone, 8000, win_length=5)
    # 8000 / 200 = 40 samples per period (nccf's column i is lag i + 1: torchaudio's +1)
    assert freq.dtype == torch.float32 and freq.dim() == 1
    assert torch.allclose(freq, torch.full_like(freq, 200.0), rtol=1e-6)


def test_detect_pitch_frequency_batch_is_stacked_singles():
    x = torch.randn(2, 3, 4001, generator=torch.Generator().manual_seed(1))
    out = F.detect_pitch_frequency(x, 16000, win_length=7)
    singles = torch.stack(
        [F.detect_pitch_frequency(r, 16000, win_length=7) for r in x.reshape(6, -1)]
    )
    assert torch.equal(out.reshape(6, -1), singles)


def test_detect_pitch_frequency_bad_input():
    with pytest.raises(ValueError, match="win_length"):
        F.detect_pitch_frequency(torch.randn(500), 16000)
    with pytest.raises(ValueError, match="freq_high"):
        F.detect_pitch_frequency(torch.randn(4000), 16000, freq_low=1000, freq_high=1500)
    with pytest.raises(ValueError, match="sample_rate"):
        F.detect_pitch_frequency(torch.randn(4000), 0)
    with pytest.raises(TypeError, match="waveform"):
        F.detect_pitch_frequency(torch.zeros(4000, dtype=torch.int16), 16000)


# --- sliding-window CMN -----------------------------------------------------------------


@pytest.mark.parametrize("center", [False, True])
@pytest.mark.parametrize("norm_vars", [False, True])
def test_sliding_window_cmn_matches_torchaudio(center, norm_vars):
    expected = fixture(f"cmn_{int(center)}{int(norm_vars)}")
    module = T.SlidingWindowCmn(60, 20, center, norm_vars)
    assert_close_to_reference(module(fixture("mfcc")), expected, 1e-5, "cmn")


def _cmn_loop(x, cmn_window, min_cmn_window, center, norm_vars):
    # float64 oracle: each frame's window from torchaudio's rules, summed directly.
    starts, ends = ref.cmn_windows(x.shape[-2], cmn_window, min_cmn_window, center)
    out = torch.empty_like(x)
    for t, (s, e) in enumerate(zip(starts, ends, strict=True)):
        window = x[..., s:e, :]
        out[..., t, :] = x[..., t, :] - window.mean(-2)
        if norm_vars:
            var = window.square().mean(-2) - window.mean(-2).square()
            out[..., t, :] = 0 if e - s == 1 else out[..., t, :] / var.sqrt()
    return out


def test_cmn_window_bounds_on_the_device_follow_the_rules():
    for n, window, minimum, center in itertools.product(
        [1, 7, 40], [0, 3, 10, 60], [0, 5, 20, 100], [False, True]
    ):
        start, end = ref.cmn_window_bounds(n, window, minimum, center, "cpu")
        assert (start.tolist(), end.tolist()) == ref.cmn_windows(n, window, minimum, center)


@pytest.mark.parametrize("n_frames", [1, 7, 40])
def test_sliding_window_cmn_float64_reference(n_frames):
    x = torch.randn(2, n_frames, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    for center in (False, True):
        for norm_vars in (False, True):
            out = F.sliding_window_cmn(x, 10, 4, center, norm_vars)
            expected = _cmn_loop(x, 10, 4, center, norm_vars)
            assert torch.allclose(out, expected, atol=1e-10), (center, norm_vars)


def test_sliding_window_cmn_shapes_and_grad():
    x = torch.randn(3, 20, 4, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(lambda v: F.sliding_window_cmn(v, 6, 3, False, True), (x,))
    assert F.sliding_window_cmn(torch.randn(1, 4)).shape == (4,)  # torchaudio's squeeze
    assert F.sliding_window_cmn(torch.randn(2, 0, 4)).shape == (2, 0, 4)
    strided = torch.randn(4, 30)[:, ::2].T  # (15, 4), non-contiguous
    assert torch.allclose(
        F.sliding_window_cmn(strided, 5), F.sliding_window_cmn(strided.contiguous(), 5)
    )
    with pytest.raises(ValueError, match="specgram"):
        F.sliding_window_cmn(torch.randn(5))
    with pytest.raises(ValueError, match="cmn_window"):
        F.sliding_window_cmn(torch.randn(5, 3), cmn_window=-1)


# --- spectral centroid ------------------------------------------------------------------


def test_spectral_centroid_matches_torchaudio(backend):
    out = T.SpectralCentroid(16000)(fixture("speech"))
    assert_close_to_reference(out, fixture("centroid_speech"), 1e-4, "speech")
    if backend == "triton":
        return  # one clip through the interpreter is enough
    out = T.SpectralCentroid(44100, n_fft=512, hop_length=128, pad=3)(fixture("chord"))
    assert_close_to_reference(out, fixture("centroid_chord"), 1e-4, "chord")


def test_spectral_centroid_of_a_tone(backend):
    t = torch.arange(4000, dtype=torch.float64) / 8000
    tone = torch.sin(2 * math.pi * 1000 * t)
    window = torch.hann_window(256, dtype=torch.float64)
    out = F.spectral_centroid(tone, 8000, 0, window, 256, 128, 256)
    # An exact bin (1000 Hz = bin 32 of 256 at 8 kHz) and Hann's symmetric leakage.
    assert torch.allclose(out[2:-2], torch.full_like(out[2:-2], 1000.0), rtol=1e-6)


def test_spectral_centroid_gradcheck_batch_nan(backend):
    x = torch.randn(2, 301, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    window = torch.hann_window(64, dtype=torch.float64)

    def centroid(v):
        return F.spectral_centroid(v, 8000, 0, window, 64, 32, 64)

    torch.autograd.gradcheck(centroid, (x.clone().requires_grad_(),), fast_mode=True)
    assert torch.equal(centroid(x), torch.stack([centroid(r) for r in x]))
    x[0, 100] = float("nan")
    out = centroid(x)
    assert out[0].isnan().any() and not out[1].isnan().any()


# --- loudness ---------------------------------------------------------------------------


@pytest.mark.parametrize("name,rate", [("speech", 16000), ("chord", 44100), ("pink", 48000)])
def test_loudness_matches_torchaudio(name, rate):
    out = T.Loudness(rate)(fixture(name))
    assert out.shape == () and out.dtype == torch.float32
    assert abs(out.item() - fixture(f"loudness_{name}").item()) < 1e-3  # dB


def test_k_weighting_biquads_match_scipy_lfilter():
    x = torch.randn(3, 5000, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    for coefficients in ref.k_weighting_coefficients(44100):
        b, a = coefficients[:3], coefficients[3:]
        expected = scipy.signal.lfilter(b, a, x.numpy(), axis=-1)
        out = ref.biquad(x, *coefficients, clamp=False)
        assert np.abs(out.numpy() - expected).max() < 1e-8 * np.abs(expected).max()


def test_loudness_of_a_full_scale_sine():
    # BS.1770: a 997 Hz sine at 0 dBFS in one channel reads -3.01 LKFS.
    t = torch.arange(48000, dtype=torch.float64) / 48000
    sine = torch.sin(2 * math.pi * 997 * t)[None] * 0.5  # -6.02 dBFS, no clamping
    assert abs(F.loudness(sine, 48000).item() - (-3.01 - 6.02)) < 0.05


def test_loudness_gradcheck_batch_nan():
    x = 0.1 * torch.randn(
        2, 2, 1900, dtype=torch.float64, generator=torch.Generator().manual_seed(5)
    )
    torch.autograd.gradcheck(
        lambda v: F.loudness(v, 4000), (x.clone().requires_grad_(),), fast_mode=True
    )
    out = F.loudness(x, 4000)
    assert out.shape == (2,)
    assert torch.allclose(out, torch.stack([F.loudness(r, 4000) for r in x]), atol=1e-12)
    strided = x.transpose(0, 1)  # non-contiguous (2, 2, time)
    assert torch.allclose(F.loudness(strided, 4000), F.loudness(strided.contiguous(), 4000))
    x[1, 0, 10] = float("nan")
    out = F.loudness(x, 4000)
    assert out[1].isnan() and not out[0].isnan()


def test_loudness_bad_input():
    with pytest.raises(ValueError, match="5 channels"):
        F.loudness(torch.zeros(6, 16000), 16000)
    with pytest.raises(ValueError, match="400 ms"):
        F.loudness(torch.zeros(1, 1000), 16000)
    with pytest.raises(ValueError, match="waveform"):
        F.loudness(torch.zeros(16000), 16000)
    with pytest.raises(TypeError, match="sample_rate"):
        F.loudness(torch.zeros(1, 16000), 16000.5)


# --- vad --------------------------------------------------------------------------------


def test_vad_matches_torchaudio():
    x = fixture("vad_input")
    out = T.Vad(16000)(x)
    assert_equal(out, fixture("vad_speech"), "vad")
    assert 0 < out.shape[-1] < x.shape[-1] and torch.equal(out, x[:, -out.shape[-1] :])
    out = F.vad(x, 16000, trigger_level=5.0, pre_trigger_time=0.1)
    assert_equal(out, fixture("vad_speech_pre"), "vad pre-trigger")


def test_vad_silence_and_channels():
    silence = torch.zeros(2, 8000)
    assert F.vad(silence, 16000).shape == (2, 0)  # never triggers: pre-trigger length 0
    x = fixture("vad_input")
    stereo = torch.cat([x, 0.5 * x])
    assert F.vad(stereo, 16000).shape[-1] == fixture("vad_speech").shape[-1]
    assert F.vad(x[0], 16000).shape == fixture("vad_speech").shape[1:]


def test_vad_bad_input():
    with pytest.raises(ValueError, match="cepstrum"):
        F.vad(torch.zeros(8000), 16000, hp_lifter_freq=3000.0)
    with pytest.raises(ValueError, match="measure_freq"):
        F.vad(torch.zeros(8000), 16000, measure_freq=0)
    with pytest.raises(TypeError, match="waveform"):
        F.vad(torch.zeros(8000, dtype=torch.int32), 16000)


def _clips_and_batch(clips, n_time, channels=None):
    """The clips padded with noise to n_time (what lies past a length must not matter)."""
    g = torch.Generator().manual_seed(1)
    rows = []
    for clip in clips:
        pad = torch.randn(*clip.shape[:-1], n_time - clip.shape[-1], generator=g)
        rows.append(torch.cat([clip, pad], dim=-1))
    lengths = torch.tensor([clip.shape[-1] for clip in clips])
    return torch.stack(rows), lengths


def _assert_batch_is_vad_per_clip(clips, out, lengths, start, **kwargs):
    for b, clip in enumerate(clips):
        expected = F.vad(clip, 16000, **kwargs)
        n = int(lengths[b])
        assert n == expected.shape[-1], f"clip {b}: length {n} != {expected.shape[-1]}"
        assert torch.equal(out[b, ..., :n], expected), f"clip {b}"
        assert torch.equal(clip[..., int(start[b]) : int(start[b]) + n], expected), f"clip {b}"
        assert not out[b, ..., n:].any(), f"clip {b}: padding"


def test_vad_batch_is_vad_per_clip(backend):
    x = fixture("vad_input")[0]  # 0.75 s of low noise, then speech
    # the fixture; one starting with voice; all silence; a shorter one
    clips = [x, x[12000:], torch.zeros(30000), x[6000:22000]]
    batch, lengths = _clips_and_batch(clips, x.shape[-1])
    out, kept, start = F.vad_batch(batch, 16000, lengths)
    assert out.shape == batch.shape and kept.dtype == start.dtype == torch.int64
    assert torch.equal(out[0, : kept[0]], fixture("vad_speech")[0])  # torchaudio's
    assert kept[2] == 0 and kept[1] > 0 and start[0] > start[1] > 0
    _assert_batch_is_vad_per_clip(clips, out, kept, start)


def test_vad_batch_channels_and_options(backend):
    x = fixture("vad_input")[0, 8000:20000]
    stereo = torch.stack([0.5 * x, x.flip(0)])  # channels trigger at different positions
    clips = [stereo, stereo[:, 5000:], stereo[:, :1000]]  # the last: shorter than pre-trigger
    batch, lengths = _clips_and_batch(clips, x.shape[-1])
    options = dict(trigger_level=5.0, pre_trigger_time=0.1, allowed_gap=0.1, search_time=0.5)
    out, kept, start = T.VadBatch(16000, **options)(batch, lengths)
    assert out.shape == batch.shape and kept[2] == 1000
    _assert_batch_is_vad_per_clip(clips, out, kept, start, **options)


def test_vad_batch_edges_and_nan():
    x = fixture("vad_input")[0, 8000:24000]
    nan = x.clone()
    nan[100] = math.nan  # every measurement from the first position on measures 0
    out, kept, start = F.vad_batch(torch.stack([x, nan]), 16000)
    assert kept[0] > 0 and kept[1] == 0 == F.vad(nan, 16000).shape[-1]
    nan_kept = F.vad_batch(nan[None], 16000, pre_trigger_time=0.1)[0]
    assert nan_kept[0, 100].isnan() and nan_kept[0, 1600:].eq(0).all()  # kept NaN passes
    for shape in ((0, 4000), (3, 0), (2, 0, 4000)):
        out, kept, start = F.vad_batch(torch.zeros(shape), 16000)
        assert out.shape == shape and kept.shape == start.shape == (shape[0],)
        assert not kept.any()
    out, kept, _ = F.vad_batch(x.double()[None], 16000)  # the input's dtype, as vad
    assert out.dtype == torch.float64 and torch.equal(out[0, : kept[0]], F.vad(x.double(), 16000))
    view = torch.zeros(2, 8000)[:, ::2]  # non-contiguous
    assert F.vad_batch(view, 16000)[0].shape == (2, 4000)
    # no measurement position (shorter than a measurement): torchaudio keeps the pre-trigger
    assert F.vad_batch(x[None, :1000], 16000)[1].tolist() == [0] == [F.vad(x[:1000], 16000).numel()]


def test_vad_batch_bad_input():
    x = torch.zeros(2, 4000)
    with pytest.raises(ValueError, match="waveforms"):
        F.vad_batch(torch.zeros(4000), 16000)
    with pytest.raises(TypeError, match="waveforms"):
        F.vad_batch(x.to(torch.int16), 16000)
    with pytest.raises(TypeError, match="lengths"):
        F.vad_batch(x, 16000, torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="lengths"):
        F.vad_batch(x, 16000, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="lengths"):
        F.vad_batch(x, 16000, torch.tensor([1, 4001]))
    with pytest.raises(ValueError, match="measure_freq"):
        F.vad_batch(x, 16000, measure_freq=-1.0)
    with pytest.raises(TypeError, match="trigger_level"):
        F.vad_batch(x, 16000, trigger_level="7")


# --- InverseMelScale --------------------------------------------------------------------


def test_inverse_mel_scale_matches_torchaudio():
    module = T.InverseMelScale(201, n_mels=40, sample_rate=16000)
    assert_close_to_reference(module(fixture("mel")), fixture("inverse_mel"), 1e-4, "inverse mel")


def test_inverse_mel_scale_is_the_float64_min_norm_solution():
    spec = torch.rand(2, 3, 65, 11, dtype=torch.float64)
    mel = T.MelScale(n_mels=16, sample_rate=8000, n_stft=65).double()(spec)
    inverse = T.InverseMelScale(65, n_mels=16, sample_rate=8000, driver="gelsd").double()
    out = inverse(mel)
    assert out.shape == spec.shape
    expected = torch.relu(torch.linalg.pinv(inverse.fb.T) @ mel)
    assert torch.allclose(out, expected, atol=1e-10)
    with pytest.raises(ValueError, match="n_mels"):
        inverse(torch.rand(3, 11))
    with pytest.raises(ValueError, match="driver"):
        T.InverseMelScale(65, driver="lu")


# --- distances --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a,b,expected",
    [
        ("kitten", "sitting", 3),
        ("", "abc", 3),
        ("abc", "", 3),
        ("", "", 0),
        ("flaw", "lawn", 2),
        (["the", "cat", "sat"], ["the", "cat", "sat", "down"], 1),
        ([1, 2, 3], [3, 2, 1], 2),
    ],
)
def test_edit_distance(a, b, expected):
    assert F.edit_distance(a, b) == expected
    assert F.edit_distance(b, a) == expected


def test_edit_distance_bad_input():
    with pytest.raises(TypeError, match="seq1"):
        F.edit_distance(3, "abc")


def test_frechet_distance_matches_scipy_sqrtm():
    gen = torch.Generator().manual_seed(6)
    a, b = (
        torch.randn(5, 5, generator=gen, dtype=torch.float64),
        torch.randn(5, 5, generator=gen, dtype=torch.float64),
    )
    sigma_x, sigma_y = a @ a.T + 0.1 * torch.eye(5), b @ b.T + 0.1 * torch.eye(5)
    mu_x, mu_y = (
        torch.randn(5, generator=gen, dtype=torch.float64),
        torch.randn(5, generator=gen, dtype=torch.float64),
    )
    root = scipy.linalg.sqrtm(sigma_x.numpy() @ sigma_y.numpy()).real
    expected = ((mu_x - mu_y) ** 2).sum() + torch.trace(sigma_x + sigma_y) - 2 * np.trace(root)
    out = F.frechet_distance(mu_x, sigma_x, mu_y, sigma_y)
    assert out.shape == () and abs(out.item() - expected.item()) < 1e-9 * abs(expected.item())
    assert abs(F.frechet_distance(mu_x, sigma_x, mu_x, sigma_x).item()) < 1e-9


def test_frechet_distance_bad_input():
    mu, sigma = torch.zeros(3), torch.eye(3)
    with pytest.raises(ValueError, match="mu_x"):
        F.frechet_distance(sigma, sigma, mu, sigma)
    with pytest.raises(ValueError, match="sigma_x"):
        F.frechet_distance(mu, torch.eye(4), mu, sigma)
    with pytest.raises(ValueError, match="mu_y"):
        F.frechet_distance(mu, sigma, torch.zeros(4), sigma)
    with pytest.raises(ValueError, match="sigma_y"):
        F.frechet_distance(mu, sigma, mu, torch.eye(3)[:2])
