"""Shared test helpers: data paths, the parity fixtures, tolerance checks."""

from pathlib import Path

import torch

DATA = Path(__file__).parent / "data"
CLIPS = {
    "sweep_8k.wav": dict(rate=8000, channels=1, encoding="PCM_S", bits=16, dtype=torch.int16),
    "speech_en_22k.wav": dict(rate=22050, channels=1, encoding="PCM_S", bits=16, dtype=torch.int16),
    "pink_noise_48k.wav": dict(
        rate=48000, channels=1, encoding="PCM_S", bits=16, dtype=torch.int16
    ),
    "chord_stereo_44k.wav": dict(
        rate=44100, channels=2, encoding="PCM_S", bits=24, dtype=torch.int32
    ),
    "speech_en_16k.flac": dict(rate=16000, channels=1, encoding="FLAC", bits=16, dtype=torch.int16),
    "speech_en_16k.ogg": dict(
        rate=16000, channels=1, encoding="VORBIS", bits=0, dtype=torch.float32
    ),
    "speech_en_16k.mp3": dict(rate=16000, channels=1, encoding="MP3", bits=0, dtype=torch.float32),
}

_parity = None


def parity():
    """The torchaudio 2.11 outputs in tests/data/torchaudio-2.11.pt (see PARITY.md)."""
    global _parity
    if _parity is None:
        _parity = torch.load(DATA / "torchaudio-2.11.pt", weights_only=True)
    return _parity


def parity_cases(api):
    return [case for case in parity()["cases"] if case["api"] == api]


def assert_close_to_reference(out, ref, rel=1e-5, what=""):
    """The accuracy contract: max |out - ref| <= rel * max |ref| (ref in float64)."""
    assert out.shape == ref.shape, f"{what}: shape {tuple(out.shape)} != {tuple(ref.shape)}"
    out64, ref64 = out.detach().cpu().double(), ref.detach().cpu().double()
    if ref64.numel() == 0:
        return
    err = (out64 - ref64).abs()
    bound = rel * ref64.abs().max().item()
    worst = int(err.argmax())
    assert err.max().item() <= bound, (
        f"{what}: max error {err.max().item():.3e} > {bound:.3e} at flat index {worst} "
        f"(out {out64.flatten()[worst].item():.8g}, ref {ref64.flatten()[worst].item():.8g})"
    )
