"""File I/O on the CPU: tritaudio.load / save next to soundfile and torchaudio, on the
clips in ../shared/audio (tests/data holds copies of the same files)."""

import tempfile
from pathlib import Path

import soundfile as sf

import tritaudio
from benchmarks.cases import TORCHAUDIO, Case, Size, import_torchaudio

ROOT = Path(__file__).resolve().parents[2]
AUDIO = next(p for p in (ROOT.parent / "shared" / "audio", ROOT / "tests" / "data") if p.is_dir())
CLIPS = [
    "speech_en_22k.wav",
    "chord_stereo_44k.wav",
    "speech_en_16k.flac",
    "speech_en_16k.ogg",
    "speech_en_16k.mp3",
]
SAVED_CLIP = "chord_stereo_44k.wav"


def clip_size(name) -> Size:
    """A clip as a Size: its channels as the batch."""
    meta = sf.info(str(AUDIO / name))
    return Size(meta.channels, meta.frames / meta.samplerate, meta.samplerate, clip=name)


def _path(size, device):
    return (str(AUDIO / size.clip),)


def _soundfile_load(size, device):
    return lambda path: sf.read(path, dtype="float32", always_2d=True)


_OUTPUT_DIR = tempfile.TemporaryDirectory(prefix="tritaudio-bench-")


def _clip_and_target(size, device):
    waveform, rate = tritaudio.load(AUDIO / size.clip)
    return waveform, rate, str(Path(_OUTPUT_DIR.name) / f"{size.clip}.wav")


def _soundfile_save(size, device):
    def save(waveform, rate, path):
        sf.write(path, waveform.t().numpy(), rate, subtype="PCM_16")

    return save


def _torchaudio_save(size, device):
    torchaudio = import_torchaudio()
    return lambda waveform, rate, path: torchaudio.save(path, waveform, rate, bits_per_sample=16)


def _tritaudio_save(size, device):
    return lambda waveform, rate, path: tritaudio.save(path, waveform, rate, bits_per_sample=16)


_IO = dict(differentiable=False, device="cpu", ours="tritaudio", baseline=TORCHAUDIO,
           bytes_moved=None)  # fmt: skip

CASES = [
    Case(
        "io",
        "load",
        {
            "tritaudio": lambda size, device: tritaudio.load,
            "soundfile": _soundfile_load,
            TORCHAUDIO: lambda size, device: import_torchaudio().load,
        },
        make_inputs=_path,
        headline=clip_size("speech_en_16k.flac"),
        sizes=tuple(clip_size(name) for name in CLIPS),
        **_IO,
    ),
    Case(
        "io",
        "save 16-bit WAV",
        {"tritaudio": _tritaudio_save, "soundfile": _soundfile_save, TORCHAUDIO: _torchaudio_save},
        make_inputs=_clip_and_target,
        headline=clip_size(SAVED_CLIP),
        sizes=(clip_size(SAVED_CLIP),),
        **_IO,
    ),
]
