"""LogMelSpectrogram: both implementations (STFT + fused kernel, single DFT kernel) against
torchaudio's fixtures, a float64 reference, Whisper's published formula; gradients, bad
input."""

import pytest
import torch
from helpers import parity, parity_cases

import tritaudio
import tritaudio.functional as F
import tritaudio.transforms as T

IMPLEMENTATIONS = ["stft", "dft"]  # and "auto", the default: one of these


def assert_log_mel_close(out, ref, unit_per_db, what):
    """Float32 log-mel against a float64 reference: in the power domain within 1e-5 of the
    peak (the accuracy contract), and within 1e-3 dB wherever float32 can resolve the
    value (within 60 dB of the peak: an FFT's rounding, like the DFT's, is relative to the
    peak)."""
    out, ref = out.detach().cpu().double(), ref.detach().cpu().double()
    assert out.shape == ref.shape, what
    power_out, power_ref = 10 ** (out / (10 * unit_per_db)), 10 ** (ref / (10 * unit_per_db))
    peak = power_ref.amax()
    assert (power_out - power_ref).abs().max() <= 1e-5 * peak, what
    resolved = power_ref >= peak * 1e-6
    db_error = (out - ref)[resolved].abs().max() / unit_per_db
    assert db_error <= 1e-3, f"{what}: {db_error:.2e} dB"


@pytest.mark.filterwarnings("ignore:at least one")
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_melspectrogram_fixtures_in_db(backend, device, implementation):
    cases = parity_cases("transforms.MelSpectrogram")
    assert cases
    for case in cases:
        x = parity()["inputs"][case["input"]].to(device)
        module = T.LogMelSpectrogram(**case["kwargs"], implementation=implementation)
        out = module.to(device)(x)
        expected = 10 * torch.log10(case["output"].double().clamp(min=1e-10))
        # the fixture is torchaudio's float32: its rounding bounds the agreement (1e-4)
        power_out, power_ref = 10 ** (out.cpu().double() / 10), 10 ** (expected / 10)
        assert (power_out - power_ref).abs().max() <= 1e-4 * power_ref.amax(), case["kwargs"]
        resolved = power_ref >= power_ref.amax() * 1e-6
        assert (out.cpu().double() - expected)[resolved].abs().max() <= 1e-3, case["kwargs"]


@pytest.mark.filterwarnings("ignore:at least one")
def test_amplitude_to_db_floor_semantics(backend, device):
    # LogMelSpectrogram(dynamic_range=80) = AmplitudeToDB("power", top_db=80) of the mel
    case = parity_cases("transforms.MelSpectrogram")[0]
    x = parity()["inputs"][case["input"]].to(device)
    mel = T.MelSpectrogram(**case["kwargs"]).to(device)(x)
    expected = T.AmplitudeToDB("power", top_db=80.0)(mel)
    out = T.LogMelSpectrogram(**case["kwargs"], dynamic_range=80.0).to(device)(x)
    assert (out - expected).abs().max() <= 1e-4  # (both through the folded DFT here)
    assert out.min() == pytest.approx(out.max().item() - 80.0)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize(
    "preset",
    [
        dict(),
        dict(n_fft=512, win_length=300, hop_length=128, n_mels=40, power=1.0, center=False),
        dict(n_fft=256, hop_length=100, n_mels=24, power=0.6, normalized=True, pad=7),
        dict(n_fft=256, n_mels=32, normalized="frame_length", pad_mode="constant"),
        dict(n_fft=256, n_mels=32, pad_mode="replicate", f_min=300.0, f_max=3000.0),
    ],
    ids=["default", "magnitude", "power 0.6", "frame_length", "band"],
)
def test_matches_float64_reference(backend, device, implementation, preset):
    x = parity()["inputs"]["speech16k"][:, :6001].repeat(2, 1)
    x[1] *= 1e-3
    module = T.LogMelSpectrogram(**preset, implementation=implementation)
    out = module.to(device)(x.to(device))
    with tritaudio.use_backend("torch"):
        ref = module.to(torch.float64)(x.double())
    assert_log_mel_close(out, ref, 1.0, f"{implementation} {preset}")


def whisper_formula(audio, n_mels):
    """Whisper's log_mel_spectrogram from its published definition, in float64."""
    librosa = pytest.importorskip("librosa")
    audio = audio.double()
    window = torch.hann_window(400, dtype=torch.float64)
    stft = torch.stft(audio, 400, 160, window=window, return_complex=True)
    magnitudes = stft[..., :-1].abs() ** 2
    filters = torch.from_numpy(librosa.filters.mel(sr=16000, n_fft=400, n_mels=n_mels))
    mel_spec = filters.double() @ magnitudes
    log_spec = torch.clamp(mel_spec, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("n_mels", [80, 128])
def test_whisper_preset_matches_whisper(backend, device, implementation, n_mels):
    speech = parity()["inputs"]["speech16k"][0, :8000]
    batch = torch.stack([speech, 0.01 * speech.flip(0)])
    module = T.LogMelSpectrogram.whisper(n_mels, implementation=implementation).to(device)
    # one clip, and a batch floored per clip
    for clip in batch:
        out = module(clip.to(device))
        assert_log_mel_close(out, whisper_formula(clip, n_mels), 0.025, "whisper clip")
    stacked = torch.stack([whisper_formula(clip, n_mels) for clip in batch])
    assert_log_mel_close(module(batch.to(device)), stacked, 0.025, "whisper per example")
    # Whisper's own batched call: one peak for the whole batch
    module.per_example = False
    assert_log_mel_close(
        module(batch.to(device)), whisper_formula(batch, n_mels), 0.025, "whisper batch"
    )


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_kaldi_preset(backend, device, implementation):
    x = parity()["inputs"]["speech16k"][:, :4000]
    module = T.LogMelSpectrogram.kaldi(implementation=implementation).to(device)
    out = module(x.to(device))
    assert out.shape == (1, 80, 1 + (4000 - 400) // 160)  # snip_edges frames
    assert module.mel_spectrogram.n_fft == 512 and module.mel_spectrogram.win_length == 400
    with tritaudio.use_backend("torch"):
        ref = module.to(torch.float64)(x.double())
    assert_log_mel_close(out, ref, 10 / torch.log(torch.tensor(10.0)).item(), "kaldi")


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_batch_odd_lengths_non_contiguous_empty(backend, device, implementation):
    module = T.LogMelSpectrogram(16000, n_fft=256, hop_length=64, n_mels=32)
    module.implementation = implementation
    module = module.to(device)
    x = torch.randn(3, 2, 1601, device=device)
    stacked = torch.stack([module(item) for item in x])
    torch.testing.assert_close(module(x), stacked, rtol=1e-5, atol=1e-4)
    strided = torch.randn(2, 3202, device=device)[:, ::2]
    torch.testing.assert_close(module(strided), module(strided.contiguous()))
    assert module(torch.empty(0, 1601, device=device)).shape == (0, 32, 26)
    half = module(x[0].half())
    assert half.dtype == torch.float16
    assert (half.float() - module(x[0].half().float())).abs().max() <= 0.05


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_gradcheck(device, implementation):
    module = T.LogMelSpectrogram(8000, n_fft=32, hop_length=8, n_mels=6, dynamic_range=30.0)
    module.implementation = implementation
    module = module.to(device, torch.float64)
    x = torch.randn(2, 160, dtype=torch.float64, device=device, requires_grad=True)
    with tritaudio.use_backend("triton"):
        assert torch.autograd.gradcheck(module, (x,), fast_mode=True)
        if implementation == "stft":
            assert torch.autograd.gradgradcheck(module, (x,), fast_mode=True)


@pytest.mark.filterwarnings("ignore:at least one")
@pytest.mark.parametrize("n_fft", [132, 130])
def test_dft_folding_edge_cases(device, n_fft):
    # the folded DFT with n_fft / 4 odd, two frame tiles, two mel groups (> 128 bands) and
    # circular centering; n_fft not a multiple of 4 takes the dense kernel
    x = parity()["inputs"]["speech16k"][:, 3000:4300]
    module = T.LogMelSpectrogram(16000, n_fft=n_fft, hop_length=8, n_mels=136,
                                 pad_mode="circular", implementation="dft").to(device)  # fmt: skip
    with tritaudio.use_backend("triton"):
        out = module(x.to(device))
    assert out.shape == (1, 136, 1 + 1300 // 8)
    with tritaudio.use_backend("torch"):
        ref = module.to(torch.float64)(x.double().to(device))
    assert_log_mel_close(out, ref, 1.0, f"n_fft {n_fft}")


def test_auto_takes_dft_without_gradient_and_stft_with(monkeypatch, device):
    from tritaudio.functional import logmel

    calls = []
    for name in ("_log_mel_dft", "_log_mel_stft"):
        original = getattr(logmel, name)
        monkeypatch.setattr(logmel, name, lambda *a, f=original, n=name: calls.append(n) or f(*a))
    module = T.LogMelSpectrogram.whisper().to(device)
    assert module.implementation == "auto" and module.precision == "tf32x3"
    x = torch.randn(1, 4000, device=device)
    with tritaudio.use_backend("triton"):
        module(x)
        module(x.requires_grad_())
    assert calls == ["_log_mel_dft", "_log_mel_stft"]


def test_dft_gradient_equals_stft_gradient(device):
    x = torch.randn(2, 3000, device=device, requires_grad=True)
    grads = []
    for implementation in IMPLEMENTATIONS:
        module = T.LogMelSpectrogram.whisper(implementation=implementation).to(device)
        with tritaudio.use_backend("triton"):
            (grad,) = torch.autograd.grad(module(x).square().sum(), x)
        grads.append(grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-3, atol=1e-3 * grads[0].abs().max())


def test_dft_is_one_kernel_from_the_waveform(monkeypatch, device):
    from tritaudio import _ops

    monkeypatch.setattr(torch.fft, "rfft", None)  # no FFT in the forward
    monkeypatch.setattr(_ops, "frame", None)  # no frames written
    module = T.LogMelSpectrogram.whisper(implementation="dft").to(device)
    with tritaudio.use_backend("triton"):
        out = module(torch.randn(2, 4000, device=device))
    assert out.shape == (2, 80, 25)


@pytest.mark.parametrize("precision", ["ieee", "tf32x3", "tf32"])
def test_precisions_accepted(device, precision):
    module = T.LogMelSpectrogram.whisper(implementation="dft", precision=precision).to(device)
    with tritaudio.use_backend("triton"):
        out = module(torch.randn(1, 4000, device=device))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(implementation="fft"), ValueError, "implementation"),
        (dict(precision="bf16"), ValueError, "precision"),
        (dict(log=10.0), TypeError, "LogScale"),
        (dict(dynamic_range=-1.0), ValueError, "dynamic_range"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        T.LogMelSpectrogram(**kwargs)
    window, fb = torch.ones(64), torch.zeros(33, 8)
    with pytest.raises(error, match=match):
        F.log_mel_spectrogram(torch.zeros(1, 400), fb, 0, window, 64, 16, 64, 2.0, False, **kwargs)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_bad_input(backend, implementation):
    module = T.LogMelSpectrogram(n_fft=512, implementation=implementation)
    with pytest.raises(TypeError, match="floating-point"):
        module(torch.zeros(1, 1000, dtype=torch.int16))
    with pytest.raises(TypeError, match="real"):
        module(torch.zeros(1, 1000, dtype=torch.complex64))
    with pytest.raises(ValueError, match="reflect padding"):
        module(torch.zeros(1, 100))
    with pytest.raises(ValueError, match="power"):
        F.log_mel_spectrogram(torch.zeros(1, 400), torch.zeros(33, 8), 0, torch.ones(64), 64,
                              16, 64, None, False, implementation=implementation)  # fmt: skip


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("dynamic_range", [None, 8.0])
def test_nan_in_nan_out(backend, device, implementation, dynamic_range):
    # the kernels' max(y, amin) must keep NaN (it gave the floor, -100 dB, on the Triton path)
    x = parity()["inputs"]["speech16k"][:, :4000].repeat(2, 1)
    x[1, 2000] = float("nan")
    settings = dict(n_fft=256, hop_length=64, n_mels=32, dynamic_range=dynamic_range)
    module = T.LogMelSpectrogram(16000, **settings, implementation=implementation)
    out = module.to(device)(x.to(device)).cpu()
    assert torch.isfinite(out[0]).all()
    nan_frames = torch.isnan(out[1]).any(dim=0)
    assert nan_frames.any() and torch.isnan(out[1][:, nan_frames]).all()
    with tritaudio.use_backend("torch"):
        expected = module(x.to(device)).cpu()
    assert torch.equal(torch.isnan(out), torch.isnan(expected))
    whisper = T.LogMelSpectrogram.whisper(implementation=implementation).to(device)
    assert torch.isnan(whisper(x[1].to(device))).all()  # the per-clip peak is NaN too


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_gradcheck_whisper_epilogue(device, implementation):
    # the dropped last frame and the floor inside the kernels; the peak's share of the
    # floor's gradient as torch.maximum / amax give it (per clip and per batch)
    module = T.LogMelSpectrogram(
        8000, n_fft=32, hop_length=8, n_mels=6, dynamic_range=3.0, drop_last_frame=True,
        log=F.LogScale(0.25, 1e-10, 0.0, -1.0), implementation=implementation,
    ).to(device, torch.float64)  # fmt: skip
    x = torch.randn(2, 96, dtype=torch.float64, device=device)
    x[1, 40:] *= 1e-3  # values below the floor
    x.requires_grad_()
    with tritaudio.use_backend("triton"):
        for per_example in (True, False):
            module.per_example = per_example
            assert module(x).shape == (2, 6, 12)
            assert torch.autograd.gradcheck(module, (x,), fast_mode=True)


def test_floor_tiles_reads_only_tiles_below_the_floor():
    from tritaudio.kernels import spectral

    out = torch.arange(2 * 40 * 70, dtype=torch.float32).reshape(2, 40, 70) / 1000
    tile_max, tile_min = spectral.tile_extrema(2, 70, 40, 32, 32, out)
    tiles = out.new_zeros(2, 2 * 32, 3 * 32).fill_(float("nan"))
    tiles[:, :40, :70] = out
    blocks = tiles.reshape(2, 2, 32, 3, 32).permute(0, 3, 1, 2, 4).reshape(2, 6, -1)
    tile_max.copy_(blocks.nan_to_num(-1e9).amax(-1))
    tile_min.copy_(blocks.nan_to_num(1e9).amin(-1))
    tile_min[0, 0] = 1e9  # claims no value below the floor: that tile is left alone
    expected = torch.maximum(out, out.amax(dim=(1, 2), keepdim=True) - 1.0)
    expected[0, :32, :32] = out[0, :32, :32]
    floored = spectral.floor_tiles(out.clone(), tile_max, tile_min, (1.0, True), 32, 32)
    assert torch.equal(floored, expected)
    batch = spectral.floor_tiles(out.clone(), tile_max, tile_min, (1.0, False), 32, 32)
    expected = torch.maximum(out, out.amax() - 1.0)
    expected[0, :32, :32] = out[0, :32, :32]
    assert torch.equal(batch, expected)


@pytest.mark.parametrize("per_example", [1, 0])
def test_gradcheck_fused_floor_op(device, per_example):
    # the ops' own floor backward (the functional form floors in torch when differentiating)
    from tritaudio import _ops

    frames = torch.randn(2, 9, 16, dtype=torch.float64, device=device)
    frames[1, 4:] *= 1e-3
    frames.requires_grad_()
    fb = F.melscale_fbanks(9, 0.0, 4000.0, 5, 8000).to(device, torch.float64)

    def floored(frames):
        spec = torch.view_as_real(torch.fft.rfft(frames.detach()))
        log = (0.25 / torch.log(torch.tensor(10.0)).item(), 1e-10, 0.0, -1.0)
        return _ops.mel_power(spec, fb, 2.0, 1, *log, 1, frames, 8, 1.0, per_example)[0]

    with tritaudio.use_backend("triton"):
        out = floored(frames)
        assert out.shape == (2, 5, 8) and (out == out.amin()).sum() > 1  # floored values
        assert torch.autograd.gradcheck(floored, (frames,), fast_mode=True)
