"""tritaudio.load / save next to soundfile and torchaudio on the clips in tests/data (CPU)."""

from pathlib import Path

import pytest
import soundfile as sf

import tritaudio

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
CLIPS = ["chord_stereo_44k.wav", "speech_en_16k.flac", "speech_en_16k.ogg", "speech_en_16k.mp3"]


def _torchaudio_load():
    torchaudio = pytest.importorskip("torchaudio")
    return torchaudio.load


LOADERS = {
    "tritaudio": lambda: tritaudio.load,
    "soundfile": lambda: lambda path: sf.read(path, dtype="float32", always_2d=True),
    "torchaudio": _torchaudio_load,
}


@pytest.mark.parametrize("library", LOADERS)
@pytest.mark.parametrize("clip", CLIPS)
def test_load(benchmark, clip, library):
    load = LOADERS[library]()
    benchmark.group = f"load {clip}"
    benchmark(load, str(DATA / clip))


@pytest.mark.parametrize("library", ["tritaudio", "soundfile"])
def test_save_wav16(benchmark, tmp_path, library):
    waveform, rate = tritaudio.load(DATA / "chord_stereo_44k.wav")
    path = str(tmp_path / "out.wav")
    if library == "tritaudio":
        save = lambda: tritaudio.save(path, waveform, rate, bits_per_sample=16)
    else:
        save = lambda: sf.write(path, waveform.t().numpy(), rate, subtype="PCM_16")
    benchmark.group = "save chord_stereo_44k as PCM_16 WAV"
    benchmark(save)
