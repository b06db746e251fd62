"""load / save / info / stream against soundfile's own decode, round trips, and bad input."""

import io
import os
import shutil
import stat
import struct
import subprocess
import sys
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch
from helpers import CLIPS, DATA
from hypothesis import given, settings
from hypothesis import strategies as st

import tritaudio
from tritaudio import AudioFileError, AudioMetaData, _decode


def soundfile_decode(path, dtype="float32"):
    # SoundFile.read rather than sf.read: sf.read seeks to 0 first, which moves libmpg123's
    # MP3 output by one float32 ulp.
    with sf.SoundFile(path) as sound_file:
        samples = sound_file.read(dtype=dtype, always_2d=True)
        return torch.from_numpy(samples.T.copy()), sound_file.samplerate


# --- reading the real clips -------------------------------------------------------------


@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_load_equals_soundfile_decode(clip):
    path = DATA / clip
    waveform, rate = tritaudio.load(path)
    expected, expected_rate = soundfile_decode(path)
    assert rate == expected_rate == CLIPS[clip]["rate"]
    assert waveform.dtype == torch.float32
    assert waveform.shape[0] == CLIPS[clip]["channels"]
    assert torch.equal(waveform, expected)


@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_load_without_normalize_gives_native_samples(clip):
    path = DATA / clip
    dtype = CLIPS[clip]["dtype"]
    waveform, _ = tritaudio.load(str(path), normalize=False)
    assert waveform.dtype == dtype
    expected, _ = soundfile_decode(path, str(dtype).removeprefix("torch."))
    assert torch.equal(waveform, expected)


@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_info_of_the_clips(clip):
    meta = tritaudio.info(DATA / clip)
    facts = CLIPS[clip]
    assert meta == AudioMetaData(
        sample_rate=facts["rate"],
        num_frames=sf.info(str(DATA / clip)).frames,
        num_channels=facts["channels"],
        bits_per_sample=facts["bits"],
        encoding=facts["encoding"],
    )
    assert "AudioMetaData(sample_rate=" in repr(meta)


def test_channels_last():
    first, _ = tritaudio.load(DATA / "chord_stereo_44k.wav")
    last, _ = tritaudio.load(DATA / "chord_stereo_44k.wav", channels_first=False)
    assert last.shape == (first.shape[1], 2)
    assert torch.equal(last, first.t())


# --- partial reads ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "clip", ["chord_stereo_44k.wav", "speech_en_16k.flac", "speech_en_16k.ogg", "sweep_8k.wav"]
)
@pytest.mark.parametrize(("offset", "count"), [(0, 100), (1234, 5000), (7, -1)])
def test_partial_read_equals_slice_of_full_read(clip, offset, count):
    full, _ = tritaudio.load(DATA / clip)
    part, _ = tritaudio.load(DATA / clip, frame_offset=offset, num_frames=count)
    end = None if count == -1 else offset + count
    assert torch.equal(part, full[:, offset:end])


def test_partial_read_of_mp3_matches_within_decoder_rounding():
    full, _ = tritaudio.load(DATA / "speech_en_16k.mp3")
    part, _ = tritaudio.load(DATA / "speech_en_16k.mp3", frame_offset=12345, num_frames=1000)
    torch.testing.assert_close(part, full[:, 12345:13345], rtol=0, atol=1e-6)


def test_reads_past_the_end():
    frames = tritaudio.info(DATA / "sweep_8k.wav").num_frames
    tail, _ = tritaudio.load(DATA / "sweep_8k.wav", frame_offset=frames - 10, num_frames=100)
    assert tail.shape == (1, 10)
    beyond, _ = tritaudio.load(DATA / "sweep_8k.wav", frame_offset=frames + 5)
    assert beyond.shape == (1, 0)
    none, _ = tritaudio.load(DATA / "sweep_8k.wav", num_frames=0)
    assert none.shape == (1, 0)


def test_partial_read_seeks_instead_of_decoding_everything(monkeypatch):
    calls = []
    real_seek, real_read = sf.SoundFile.seek, sf.SoundFile.read

    def seek(self, frames, *args):
        calls.append(("seek", frames))
        return real_seek(self, frames, *args)

    def read(self, frames=-1, *args, **kwargs):
        calls.append(("read", frames))
        return real_read(self, frames, *args, **kwargs)

    monkeypatch.setattr(sf.SoundFile, "seek", seek)
    monkeypatch.setattr(sf.SoundFile, "read", read)
    tritaudio.load(DATA / "speech_en_16k.flac", frame_offset=100000, num_frames=300)
    assert calls[0] == ("seek", 100000)
    assert [call for call in calls if call[0] == "read"] == [("read", 300)]


# --- file-like objects ------------------------------------------------------------------


class ReadOnlyPipe:
    """A binary stream that cannot seek, like a socket or a subprocess pipe."""

    def __init__(self, data):
        self._stream = io.BytesIO(data)

    def read(self, size=-1):
        return self._stream.read(size)

    def seekable(self):
        return False


@pytest.mark.parametrize("clip", ["speech_en_16k.flac", "speech_en_16k.mp3", "sweep_8k.wav"])
def test_file_like_objects(clip):
    expected, rate = tritaudio.load(DATA / clip)
    data = (DATA / clip).read_bytes()
    with open(DATA / clip, "rb") as handle:
        from_handle, _ = tritaudio.load(handle)
    for waveform in (from_handle, tritaudio.load(io.BytesIO(data))[0]):
        assert torch.equal(waveform, expected)
    from_pipe, pipe_rate = tritaudio.load(ReadOnlyPipe(data), format=clip.rsplit(".")[-1])
    assert torch.equal(from_pipe, expected) and pipe_rate == rate
    assert tritaudio.info(io.BytesIO(data)) == tritaudio.info(DATA / clip)


def test_save_to_file_like_object():
    x = torch.randint(-(2**15), 2**15, (2, 999), dtype=torch.int16)
    buffer = io.BytesIO()
    tritaudio.save(buffer, x, 16000, format="flac")
    buffer.seek(0)
    y, rate = tritaudio.load(buffer, normalize=False)
    assert rate == 16000 and torch.equal(y, x)


# --- round trips ------------------------------------------------------------------------


def integer_samples(bits, shape=(2, 1001), seed=0):
    """Random PCM samples of a given width, as the int dtype load(normalize=False) returns."""
    gen = torch.Generator().manual_seed(seed)
    if bits == 8:
        return torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8)
    if bits == 16:
        x = torch.randint(-(2**15), 2**15, shape, generator=gen, dtype=torch.int16)
    else:
        x = torch.randint(-(2**31), 2**31, shape, generator=gen, dtype=torch.int64).to(torch.int32)
        if bits == 24:
            x = x & ~0xFF  # 24-bit samples at full int32 scale
    x[..., :2] = torch.tensor([torch.iinfo(x.dtype).min, torch.iinfo(x.dtype).max]).to(x.dtype)
    if bits == 24:
        x[..., 1] = x[..., 1] & ~0xFF
    return x


PCM_CASES = [
    ("wav", "PCM_U", 8),
    ("wav", "PCM_S", 16),
    ("wav", "PCM_S", 24),
    ("wav", "PCM_S", 32),
    ("flac", None, 16),
    ("flac", None, 24),
    ("aiff", "PCM_S", 16),
    ("w64", "PCM_S", 24),
]


@pytest.mark.parametrize(("fmt", "encoding", "bits"), PCM_CASES)
def test_integer_pcm_round_trip_is_bit_exact(tmp_path, fmt, encoding, bits):
    x = integer_samples(bits)
    path = tmp_path / f"x.{fmt}"
    tritaudio.save(path, x, 44100, encoding=encoding, bits_per_sample=bits)
    y, rate = tritaudio.load(path, normalize=False)
    assert rate == 44100 and y.dtype == x.dtype
    assert torch.equal(y, x)
    meta = tritaudio.info(path)
    assert meta.bits_per_sample == bits and meta.num_frames == x.shape[1]
    assert meta.encoding == ("FLAC" if fmt == "flac" else encoding)


@pytest.mark.parametrize(("fmt", "encoding", "bits"), PCM_CASES)
def test_normalized_float_round_trip_is_bit_exact(tmp_path, fmt, encoding, bits):
    """Float samples as load gives them are written back to the same integers."""
    if bits == 32:
        pytest.skip("float32 cannot hold every 32-bit sample; the int32 path covers it")
    path, again = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    tritaudio.save(path, integer_samples(bits), 16000, encoding=encoding, bits_per_sample=bits)
    waveform, _ = tritaudio.load(path)
    tritaudio.save(again, waveform, 16000, encoding=encoding, bits_per_sample=bits)
    assert torch.equal(
        tritaudio.load(again, normalize=False)[0], tritaudio.load(path, normalize=False)[0]
    )
    assert torch.equal(tritaudio.load(again)[0], waveform)


@pytest.mark.parametrize(
    ("dtype", "bits", "subtype"), [(torch.float32, 32, "FLOAT"), (torch.float64, 64, "DOUBLE")]
)
@pytest.mark.parametrize("fmt", ["wav", "w64", "aiff"])
def test_float_round_trip_is_bit_exact(tmp_path, dtype, bits, subtype, fmt):
    x = torch.randn(3, 777, dtype=dtype)  # outside [-1, 1] too: float files keep it
    path = tmp_path / f"x.{fmt}"
    tritaudio.save(path, x, 22050, encoding="PCM_F", bits_per_sample=bits)
    assert sf.info(str(path)).subtype == subtype
    y, _ = tritaudio.load(path, normalize=False)
    assert y.dtype == dtype and torch.equal(y, x)


@pytest.mark.parametrize("encoding", ["ULAW", "ALAW"])
def test_companded_round_trip(tmp_path, encoding):
    x = torch.linspace(-1, 1, 4001).unsqueeze(0)
    path, again = tmp_path / "a.wav", tmp_path / "b.wav"
    tritaudio.save(path, x, 8000, encoding=encoding)
    meta = tritaudio.info(path)
    assert (meta.encoding, meta.bits_per_sample) == (encoding, 8)
    decoded, _ = tritaudio.load(path)
    assert (decoded - x).abs().max() < 0.035  # 8-bit companding: coarse near full scale
    tritaudio.save(again, decoded, 8000, encoding=encoding)
    assert torch.equal(tritaudio.load(again)[0], decoded)  # decoded values re-encode exactly


def tone(rate=16000, seconds=1.0, freq=440.0):
    t = torch.arange(int(rate * seconds)) / rate
    return (0.5 * torch.sin(2 * torch.pi * freq * t)).unsqueeze(0)


@pytest.mark.parametrize(
    ("name", "kwargs", "encoding"),
    [
        ("x.ogg", {}, "VORBIS"),
        ("x.ogg", {"encoding": "opus"}, "OPUS"),
        ("x.opus", {}, "OPUS"),
        ("x.mp3", {}, "MP3"),
        ("x.bin", {"format": "vorbis", "compression": 0.2}, "VORBIS"),
    ],
)
def test_lossy_formats(tmp_path, name, kwargs, encoding):
    x = tone()
    path = tmp_path / name
    tritaudio.save(path, x, 16000, **kwargs)
    meta = tritaudio.info(path)
    assert (meta.encoding, meta.bits_per_sample, meta.sample_rate) == (encoding, 0, 16000)
    y, _ = tritaudio.load(path)
    assert y.shape == x.shape and y.dtype == torch.float32
    snr_db = 10 * torch.log10(x.pow(2).sum() / (y - x).pow(2).sum())
    assert snr_db > 10, f"{name}: SNR {snr_db:.1f} dB"


@pytest.mark.parametrize(
    ("dtype", "fmt", "subtype"),
    [
        (torch.float32, "wav", "FLOAT"),
        (torch.float64, "wav", "DOUBLE"),
        (torch.float16, "wav", "FLOAT"),
        (torch.int16, "wav", "PCM_16"),
        (torch.int32, "wav", "PCM_32"),
        (torch.uint8, "wav", "PCM_U8"),
        (torch.int8, "flac", "PCM_S8"),
        (torch.float32, "flac", "PCM_16"),
        (torch.int32, "flac", "PCM_16"),
        (torch.float32, "ogg", "VORBIS"),
    ],
)
def test_default_subtype_follows_dtype(tmp_path, dtype, fmt, subtype):
    x = torch.zeros(1, 100, dtype=dtype)
    path = tmp_path / f"x.{fmt}"
    tritaudio.save(path, x, 8000)
    assert sf.info(str(path)).subtype == subtype


@pytest.mark.parametrize(
    ("fmt", "encoding", "bits", "subtype"),
    [
        ("wav", "PCM_S", None, "PCM_32"),  # torchaudio 2.8's choice
        ("wav", None, 8, "PCM_U8"),
        ("wav", None, 24, "PCM_24"),
        ("wav", None, 64, "DOUBLE"),
        ("wav", "pcm_f", None, "FLOAT"),
        ("flac", "PCM_S", None, "PCM_24"),
        ("flac", None, 8, "PCM_S8"),
        ("flac", "FLAC", 24, "PCM_24"),
    ],
)
def test_encoding_and_bits_choose_the_subtype(tmp_path, fmt, encoding, bits, subtype):
    path = tmp_path / f"x.{fmt}"
    tritaudio.save(path, torch.zeros(1, 64), 8000, encoding=encoding, bits_per_sample=bits)
    assert sf.info(str(path)).subtype == subtype


def test_layouts(tmp_path):
    x = torch.randint(-100, 100, (2, 50), dtype=torch.int16)
    tritaudio.save(tmp_path / "last.wav", x.t(), 8000, channels_first=False)
    assert torch.equal(tritaudio.load(tmp_path / "last.wav", normalize=False)[0], x)
    tritaudio.save(tmp_path / "mono.wav", x[0], 8000)
    assert torch.equal(tritaudio.load(tmp_path / "mono.wav", normalize=False)[0], x[:1])
    tritaudio.save(tmp_path / "view.wav", x[:, ::2], 8000)  # non-contiguous
    assert torch.equal(tritaudio.load(tmp_path / "view.wav", normalize=False)[0], x[:, ::2])


def test_float_outside_unit_range_is_clipped_with_a_warning_never_wrapped(tmp_path):
    x = torch.tensor([[0.5, 1.5, -3.0, 1.0, -1.0]])
    path = tmp_path / "loud.wav"
    with pytest.warns(UserWarning, match="clipped"):
        tritaudio.save(path, x, 8000, bits_per_sample=16)
    y, _ = tritaudio.load(path, normalize=False)
    assert y.tolist() == [[16384, 32767, -32768, 32767, -32768]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tritaudio.save(tmp_path / "float.wav", x, 8000)  # float files keep the values
    assert torch.equal(tritaudio.load(tmp_path / "float.wav")[0], x)


def test_nan_cannot_be_written_to_pcm(tmp_path):
    with pytest.raises(ValueError, match="NaN"):
        tritaudio.save(
            tmp_path / "x.wav", torch.tensor([[0.0, float("nan")]]), 8000, bits_per_sample=16
        )
    assert not (tmp_path / "x.wav").exists()


# --- stream -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "clip", ["chord_stereo_44k.wav", "speech_en_16k.flac", "speech_en_16k.ogg"]
)
def test_stream_chunks_concatenate_to_load(clip):
    full, _ = tritaudio.load(DATA / clip, frame_offset=100, num_frames=30000)
    chunks = list(tritaudio.stream(DATA / clip, 4096, frame_offset=100, num_frames=30000))
    assert [c.shape[1] for c in chunks] == [4096] * 7 + [30000 - 7 * 4096]
    assert torch.equal(torch.cat(chunks, dim=1), full)


def test_stream_options_match_load():
    path = DATA / "chord_stereo_44k.wav"
    full, _ = tritaudio.load(path, normalize=False, channels_first=False)
    chunks = list(tritaudio.stream(path, 50000, normalize=False, channels_first=False))
    assert all(c.dtype == torch.int32 and c.shape[1] == 2 for c in chunks)
    assert torch.equal(torch.cat(chunks), full)


def test_stream_reads_one_chunk_at_a_time(monkeypatch):
    reads = []
    real_read = sf.SoundFile.read
    monkeypatch.setattr(
        sf.SoundFile, "read", lambda self, n=-1, **kw: reads.append(n) or real_read(self, n, **kw)
    )
    chunks = tritaudio.stream(DATA / "speech_en_16k.flac", 1000)
    next(chunks)
    next(chunks)
    assert reads == [1000, 1000]
    chunks.close()


def test_stream_bad_arguments_fail_at_the_call():
    with pytest.raises(ValueError, match="frames_per_chunk"):
        tritaudio.stream(DATA / "sweep_8k.wav", 0)
    with pytest.raises(TypeError, match="frames_per_chunk"):
        tritaudio.stream(DATA / "sweep_8k.wav", 1.5)
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        tritaudio.stream(DATA / "nope.wav", 100)
    with pytest.raises(ValueError, match="frame_offset"):
        tritaudio.stream(DATA / "sweep_8k.wav", 100, frame_offset=-1)


def test_stream_of_truncated_file_raises(tmp_path):
    path = tmp_path / "cut.mp3"
    path.write_bytes((DATA / "speech_en_16k.mp3").read_bytes()[:11000])
    with pytest.raises(AudioFileError, match="truncated"):
        for _ in tritaudio.stream(path, 4000):
            pass


# --- bad input --------------------------------------------------------------------------


def test_missing_file(tmp_path):
    for call in (tritaudio.load, tritaudio.info):
        with pytest.raises(FileNotFoundError, match="missing.wav"):
            call(tmp_path / "missing.wav")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.wav", b"", "Format not recognised"),
        ("noise.flac", os.urandom(4000), "Format not recognised"),
        ("text.wav", b"RIFF this is not audio at all, only text" * 20, ""),
    ],
)
def test_unreadable_files_raise_one_error_type_naming_the_file(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    for call in (tritaudio.load, tritaudio.info):
        with pytest.raises(AudioFileError, match=name) as caught:
            call(path)
        assert isinstance(caught.value, RuntimeError)
        assert reason in str(caught.value)


@pytest.mark.parametrize(
    ("clip", "keep"),
    [
        ("sweep_8k.wav", 0.5),
        ("chord_stereo_44k.wav", 0.9),
        ("speech_en_16k.flac", 0.5),
        ("speech_en_16k.mp3", 0.5),
        ("speech_en_16k.ogg", 0.5),
    ],
)
def test_truncated_files(tmp_path, clip, keep):
    data = (DATA / clip).read_bytes()
    path = tmp_path / f"cut_{clip}"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(AudioFileError, match=f"cut_{clip}"):
        tritaudio.load(path)


def test_truncated_stereo_mp3(tmp_path):
    path = tmp_path / "stereo.mp3"
    tritaudio.save(path, tone(seconds=2.0).repeat(2, 1), 16000)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    for channels_first in (True, False):
        with pytest.raises(AudioFileError, match="truncated"):
            tritaudio.load(path, channels_first=channels_first)


def test_wav_streamed_with_unknown_size_is_read_whole(tmp_path):
    # Writers piping a WAV cannot go back to fill in sizes and leave 0xFFFFFFFF there.
    data = bytearray((DATA / "sweep_8k.wav").read_bytes())
    chunk = data.index(b"data")
    data[4:8] = data[chunk + 4 : chunk + 8] = struct.pack("<I", 0xFFFFFFFF)
    path = tmp_path / "piped.wav"
    path.write_bytes(bytes(data))
    assert torch.equal(tritaudio.load(path)[0], tritaudio.load(DATA / "sweep_8k.wav")[0])


def test_bad_load_arguments():
    path = DATA / "sweep_8k.wav"
    with pytest.raises(ValueError, match="frame_offset"):
        tritaudio.load(path, frame_offset=-1)
    with pytest.raises(ValueError, match="num_frames"):
        tritaudio.load(path, num_frames=-2)
    with pytest.raises(TypeError, match="num_frames"):
        tritaudio.load(path, num_frames=1.5)
    with pytest.raises(ValueError, match="unknown audio format 'wavv'"):
        tritaudio.load(path, format="wavv")
    with pytest.raises(ValueError, match="unknown audio format"):
        tritaudio.info(path, format="xyz")
    with pytest.raises(TypeError, match="file-like"):
        tritaudio.load(12345)


@pytest.mark.parametrize(
    ("src", "kwargs", "error", "match"),
    [
        (torch.zeros(2, 3, 4), {}, ValueError, "3-D"),
        (torch.zeros(()), {}, ValueError, "0-D"),
        (torch.zeros(1, 4, dtype=torch.complex64), {}, TypeError, "complex64.*allowed dtypes"),
        (torch.zeros(1, 4, dtype=torch.bool), {}, TypeError, "bool"),
        (torch.zeros(1, 4, dtype=torch.int64), {}, TypeError, "int64"),
        (np.zeros((1, 4)), {}, TypeError, "torch.Tensor"),
        (torch.zeros(1, 4), {"bits_per_sample": 12}, ValueError, "8, 16, 24, 32 or 64"),
        (
            torch.zeros(1, 4),
            {"format": "flac", "bits_per_sample": 32},
            ValueError,
            "FLAC.*PCM_S/24",
        ),
        (torch.zeros(1, 4), {"encoding": "PCM_U", "bits_per_sample": 16}, ValueError, "WAV"),
        (torch.zeros(1, 4), {"format": "ogg", "bits_per_sample": 16}, ValueError, "OGG"),
        (torch.zeros(1, 4), {"encoding": "PCM_X"}, ValueError, "unknown encoding"),
        (torch.zeros(1, 4), {"format": "nope"}, ValueError, "unknown audio format"),
        (torch.zeros(1, 4), {"compression": 3}, ValueError, "compression"),
        (torch.zeros(1, 4), {"sample_rate": 0}, ValueError, "sample_rate"),
        (torch.zeros(1, 4), {"sample_rate": 8000.5}, TypeError, "sample_rate"),
    ],
)
def test_bad_save_arguments(tmp_path, src, kwargs, error, match):
    kwargs = {"sample_rate": 8000, **kwargs}
    path = tmp_path / "out.wav"
    with pytest.raises(error, match=match):
        tritaudio.save(path, src, **kwargs)
    assert os.listdir(tmp_path) == []


def test_save_needs_a_format_for_file_objects_and_unknown_extensions(tmp_path):
    with pytest.raises(ValueError, match="format is required"):
        tritaudio.save(io.BytesIO(), torch.zeros(1, 4), 8000)
    with pytest.raises(ValueError, match="has no extension"):
        tritaudio.save(tmp_path / "noextension", torch.zeros(1, 4), 8000)


def test_compression_on_a_format_without_it_warns(tmp_path):
    with pytest.warns(UserWarning, match="compression is ignored"):
        tritaudio.save(tmp_path / "x.wav", torch.zeros(1, 4), 8000, compression=0.5)


# --- atomic writes ----------------------------------------------------------------------


def failing_midway(monkeypatch):
    """Make every soundfile write put half of its frames on disk, then fail."""
    real_write = sf.SoundFile.write

    def write(self, data):
        real_write(self, data[: len(data) // 2])
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(sf.SoundFile, "write", write)


def test_failed_save_leaves_the_existing_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "take.wav"
    shutil.copy(DATA / "sweep_8k.wav", target)
    before = target.read_bytes()
    failing_midway(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        tritaudio.save(target, torch.zeros(1, 8000), 8000)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["take.wav"]


def test_failed_save_leaves_no_partial_file(tmp_path, monkeypatch):
    failing_midway(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        tritaudio.save(tmp_path / "new.flac", torch.zeros(1, 8000), 8000)
    assert os.listdir(tmp_path) == []


def test_failed_save_to_a_file_object_writes_nothing(monkeypatch):
    failing_midway(monkeypatch)
    buffer = io.BytesIO(b"existing")
    with pytest.raises(OSError, match="disk full"):
        tritaudio.save(buffer, torch.zeros(1, 8000), 8000, format="wav")
    assert buffer.getvalue() == b"existing"


def test_save_replaces_a_file_keeping_its_permissions(tmp_path):
    target = tmp_path / "x.wav"
    tritaudio.save(target, torch.zeros(1, 10), 8000)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    target.chmod(0o640)
    tritaudio.save(target, torch.ones(1, 20) / 2, 8000)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert tritaudio.info(target).num_frames == 20


def test_save_writes_through_a_symbolic_link(tmp_path):
    (tmp_path / "takes").mkdir()
    real = tmp_path / "takes" / "real.wav"
    shutil.copy(DATA / "sweep_8k.wav", real)
    link = tmp_path / "latest.wav"
    link.symlink_to(real)
    tritaudio.save(link, torch.zeros(1, 10, dtype=torch.int16), 8000)
    assert link.is_symlink()
    assert tritaudio.info(real).num_frames == 10


def test_save_to_a_device_writes_to_it_and_leaves_it_a_device():
    tritaudio.save(os.devnull, torch.zeros(1, 10), 8000, format="wav")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_save_to_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        tritaudio.save(tmp_path / "no" / "such" / "dir.wav", torch.zeros(1, 4), 8000)


@settings(max_examples=30, deadline=None)
@given(
    channels=st.integers(1, 4),
    frames=st.integers(0, 300),
    rate=st.integers(1, 384000),
    bits=st.sampled_from([8, 16, 24, 32]),
    fmt=st.sampled_from(["wav", "w64", "aiff", "au"]),
)
def test_pcm_round_trip_property(tmp_path_factory, channels, frames, rate, bits, fmt):
    if bits == 8 and fmt != "wav":
        bits = 16  # unsigned 8-bit is WAV's; the others store signed 8-bit
    x = integer_samples(bits, shape=(channels, frames), seed=frames) if frames >= 2 else None
    if x is None:
        dtype = {8: torch.uint8, 16: torch.int16}.get(bits, torch.int32)
        x = torch.zeros(channels, frames, dtype=dtype)
    path = tmp_path_factory.mktemp("rt") / f"x.{fmt}"
    tritaudio.save(path, x, rate, bits_per_sample=bits)
    y, got_rate = tritaudio.load(path, normalize=False)
    assert got_rate == rate and torch.equal(y, x)
    assert tritaudio.info(path).num_frames == frames


# --- decodes that must not depend on how they are split (issue 14) -----------------------


def _stereo(rate, seconds):
    t = np.arange(int(rate * seconds)) / rate
    noise = np.random.default_rng(0).standard_normal(t.size)
    return np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 660 * t)
                     + 0.05 * noise], 1)  # fmt: skip


def _whole_read(path):
    with sf.SoundFile(path) as sound_file:
        return torch.from_numpy(sound_file.read(dtype="float32", always_2d=True).T.copy())


def _block_read(path, frames):
    with sf.SoundFile(path) as sound_file:
        blocks = list(sound_file.blocks(frames, dtype="float32", always_2d=True))
    return torch.from_numpy(np.concatenate(blocks).T.copy())


def _damage_side_information(data, frames, seed):
    """Overwrite the 32 bytes of side information after ``frames`` MPEG frame headers."""
    data = bytearray(data)
    heads = [i for i in range(len(data) - 40) if data[i] == 0xFF and data[i + 1] == 0xFB]
    rng = np.random.default_rng(seed)
    for head in rng.choice(heads[5:-5], frames, replace=False):
        data[head + 4 : head + 36] = rng.integers(0, 256, 32, dtype=np.uint8).tobytes()
    return bytes(data)


@pytest.fixture(scope="module")
def lossy_stereo(tmp_path_factory):
    """Stereo MP3s (one with damaged side information) and a stereo Opus file whose
    decodes by libsndfile change with the read size."""
    folder = tmp_path_factory.mktemp("lossy")
    paths = {"clean.mp3": folder / "clean.mp3", "opus": folder / "stereo.opus"}
    sf.write(paths["clean.mp3"], _stereo(44100, 4.0), 44100, format="MP3")
    sf.write(paths["opus"], _stereo(48000, 3.0), 48000, format="OGG", subtype="OPUS")
    damaged = folder / "damaged.mp3"
    damaged.write_bytes(_damage_side_information(paths["clean.mp3"].read_bytes(), 15, seed=2))
    paths["damaged.mp3"] = damaged
    return paths


def test_the_lossy_fixtures_do_decode_differently_when_split(lossy_stereo):
    # Shows that the sweep below can fail: read in blocks, libsndfile's samples change.
    damaged = _whole_read(lossy_stereo["damaged.mp3"])
    assert damaged.shape[1] == sf.info(str(lossy_stereo["damaged.mp3"])).frames
    assert (_block_read(lossy_stereo["damaged.mp3"], 1000) - damaged).abs().max() > 0.1
    opus = _whole_read(lossy_stereo["opus"])
    assert (_block_read(lossy_stereo["opus"], 100) - opus).abs().max() > 0.1


@pytest.mark.parametrize("name", ["clean.mp3", "damaged.mp3", "opus"])
@pytest.mark.parametrize("block_frames", [577, 1000, 4096, 65536])
def test_lossy_load_equals_one_whole_read_whatever_the_block_size(
    lossy_stereo, name, block_frames, monkeypatch
):
    monkeypatch.setattr(_decode, "_BLOCK_FRAMES", block_frames)
    expected = _whole_read(lossy_stereo[name])
    assert torch.equal(tritaudio.load(lossy_stereo[name])[0], expected)
    last, _ = tritaudio.load(lossy_stereo[name], channels_first=False)
    assert torch.equal(last.t(), expected)


@pytest.mark.parametrize("name", ["clean.mp3", "damaged.mp3", "opus"])
@pytest.mark.parametrize("chunk", [1, 100, 1000, 4096, 100000])
def test_lossy_stream_equals_one_whole_read_whatever_the_chunk_size(lossy_stereo, name, chunk):
    expected = _whole_read(lossy_stereo[name])
    chunks = list(tritaudio.stream(lossy_stereo[name], chunk))
    assert all(c.shape[1] == chunk for c in chunks[:-1])
    assert torch.equal(torch.cat(chunks, dim=1), expected)
    assert all(c.is_contiguous() for c in chunks)


# --- truncation is an error, for every format (issue 14) ----------------------------------


def _cut(tmp_path, path, keep):
    data = path.read_bytes()
    cut = tmp_path / f"cut_{int(keep * 100)}_{path.name}"
    cut.write_bytes(data[: int(len(data) * keep)])
    return cut


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("encoded")
    stereo = _stereo(16000, 4.0)
    files = {}
    for name, kwargs in [
        ("v.ogg", dict(format="OGG", subtype="VORBIS")),
        ("o.opus", dict(format="OGG", subtype="OPUS")),
        ("f.flac", dict(format="FLAC", subtype="PCM_16")),
        ("w.wav", dict(format="WAV", subtype="PCM_16")),
        ("m.mp3", dict(format="MP3")),
    ]:
        files[name] = folder / name
        sf.write(files[name], stereo, 16000, **kwargs)
    return files


@pytest.mark.parametrize(
    ("name", "keep"),
    [("v.ogg", k) for k in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)]
    + [("o.opus", k) for k in (0.5, 0.9, 0.99)]
    + [("f.flac", k) for k in (0.3, 0.9, 0.999)]
    + [("w.wav", k) for k in (0.5, 0.999)]
    + [("m.mp3", k) for k in (0.5, 0.9, 0.99)],
)
def test_a_cut_file_is_an_error_never_a_short_load(tmp_path, encoded, name, keep):
    cut = _cut(tmp_path, encoded[name], keep)
    for channels_first in (True, False):
        with pytest.raises(AudioFileError, match=f"{cut.name}.*(truncated|corrupt)"):
            tritaudio.load(cut, channels_first=channels_first)
    with pytest.raises(AudioFileError, match=cut.name):
        list(tritaudio.stream(cut, 4000))
    with pytest.raises(AudioFileError, match="<BytesIO>.*(truncated|corrupt)"):
        tritaudio.load(io.BytesIO(cut.read_bytes()))


def test_an_ogg_page_cut_at_a_page_boundary_is_truncated(tmp_path, encoded):
    data = encoded["v.ogg"].read_bytes()
    last_page = data.rindex(b"OggS")
    path = tmp_path / "boundary.ogg"
    path.write_bytes(data[:last_page])
    with pytest.raises(AudioFileError, match="end-of-stream"):
        tritaudio.load(path)


def test_junk_after_a_complete_ogg_stream_is_tolerated(tmp_path, encoded):
    path = tmp_path / "junk.ogg"
    path.write_bytes(encoded["v.ogg"].read_bytes() + b"not a page" * 10)
    assert torch.equal(tritaudio.load(path)[0], tritaudio.load(encoded["v.ogg"])[0])


def test_complete_files_of_every_format_load_whole(encoded):
    for path in encoded.values():
        waveform, _ = tritaudio.load(path)
        assert waveform.shape == (2, sf.info(str(path)).frames)


def test_container_checks_put_a_file_object_back_where_it_was(encoded):
    with open(encoded["v.ogg"], "rb") as file:
        waveform, _ = tritaudio.load(file)
    assert torch.equal(waveform, tritaudio.load(encoded["v.ogg"])[0])


# --- headers are claims (issue 14) --------------------------------------------------------


def _forge_flac_frames(path, frames):
    data = bytearray(path.read_bytes())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # STREAMINFO comes first
    fields = int.from_bytes(data[18:26], "big")  # rate, channels, bits, 36-bit frame count
    data[18:26] = ((fields & ~(2**36 - 1)) | frames).to_bytes(8, "big")
    path.write_bytes(bytes(data))


def test_a_flac_header_claiming_2_36_frames_allocates_what_is_decoded(tmp_path):
    path = tmp_path / "forged.flac"
    tritaudio.save(path, torch.full((2, 5000), 0.25), 8000, bits_per_sample=16)
    _forge_flac_frames(path, 2**36 - 1)
    assert tritaudio.info(path).num_frames == 2**36 - 1
    for kwargs in ({}, dict(channels_first=False), dict(normalize=False)):
        with pytest.raises(AudioFileError, match="68719476735 frames"):
            tritaudio.load(path, **kwargs)
    with pytest.raises(AudioFileError, match="forged.flac"):
        list(tritaudio.stream(path, 100000))


def test_long_reads_grow_their_output(monkeypatch):
    # The output is allocated for _PREALLOCATE_BYTES, then grown with the frames decoded.
    monkeypatch.setattr(_decode, "_PREALLOCATE_BYTES", 1000)
    monkeypatch.setattr(_decode, "_BLOCK_FRAMES", 300)
    for clip in ("chord_stereo_44k.wav", "sweep_8k.wav"):
        for channels_first in (True, False):
            waveform, _ = tritaudio.load(DATA / clip, channels_first=channels_first)
            expected, _ = soundfile_decode(DATA / clip)
            assert torch.equal(waveform if channels_first else waveform.t(), expected)


# --- names that are not text (issue 14) ---------------------------------------------------


def test_file_names_that_are_not_valid_utf8(tmp_path):
    path = os.fsencode(tmp_path) + b"/caf\xe9 \xff.wav"
    waveform = tone(8000, 0.1)
    tritaudio.save(path, waveform, 8000)
    assert os.path.exists(path)
    assert tritaudio.info(path).num_frames == 800
    assert torch.equal(tritaudio.load(path)[0], waveform)
    assert torch.equal(tritaudio.load(os.fsdecode(path))[0], waveform)  # surrogate escapes
    assert torch.equal(torch.cat(list(tritaudio.stream(path, 300)), 1), waveform)
    tritaudio.save(os.fsdecode(path), waveform, 8000)  # replaces it, atomically
    with pytest.raises(FileNotFoundError, match=r"missing\\xff\.wav"):
        tritaudio.load(os.fsencode(tmp_path) + b"/missing\xff.wav")


def test_a_text_file_named_mp3_is_a_decode_error(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("these are notes, not audio\n" * 10)
    with pytest.raises(AudioFileError, match="notes.mp3: not an audio file") as caught:
        tritaudio.load(path)
    assert "does not exist" not in str(caught.value)


# --- sample rates save cannot store (issue 14) --------------------------------------------


@pytest.mark.parametrize(
    ("name", "rate", "match"),
    [
        ("x.wav", 2**31, r"\[1, 2147483647\]"),
        ("x.wav", 2**63, r"\[1, 2147483647\]"),
        ("x.flac", 655351, r"\[1, 655350\]"),
        ("x.ogg", 200001, r"\[1, 200000\]"),  # libvorbis segfaults above
        ("x.opus", 44100, "8000, 12000, 16000, 24000, 48000"),
        ("x.mp3", 44000, "44100, 48000"),
    ],
)
def test_save_refuses_rates_the_format_cannot_store(tmp_path, name, rate, match):
    with pytest.raises(ValueError, match=f"sample_rate.*{match}"):
        tritaudio.save(tmp_path / name, tone(8000, 0.1), rate)
    assert not (tmp_path / name).exists()


def test_save_accepts_the_extreme_rates_it_allows(tmp_path):
    tritaudio.save(tmp_path / "x.wav", tone(8000, 0.01), 2**31 - 1)
    assert tritaudio.info(tmp_path / "x.wav").sample_rate == 2**31 - 1
    tritaudio.save(tmp_path / "x.flac", tone(8000, 0.01), 655350)
    assert tritaudio.info(tmp_path / "x.flac").sample_rate == 655350


def test_the_encodings_a_format_takes_are_listed_once(tmp_path):
    with pytest.raises(ValueError, match=r"takes \(encoding/bits\): MP3/-$"):
        tritaudio.save(tmp_path / "x.mp3", tone(), 16000, encoding="PCM_S")


@pytest.mark.parametrize("name", ["x.flac", "x.mp3", "x.opus"])
def test_save_refuses_0_frames_where_libsndfile_writes_no_readable_file(tmp_path, name):
    with pytest.raises(ValueError, match="0 frames"):
        tritaudio.save(tmp_path / name, torch.zeros(1, 0), 48000)
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("name", ["x.wav", "x.ogg", "x.aiff"])
def test_empty_files_round_trip_where_the_format_holds_them(tmp_path, name):
    tritaudio.save(tmp_path / name, torch.zeros(2, 0), 16000)
    waveform, rate = tritaudio.load(tmp_path / name)
    assert waveform.shape == (2, 0) and rate == 16000


# --- MP3 frames walked (issue 14) ---------------------------------------------------------


def _without_xing(data):
    """The MP3 without its first frame, the Xing/Info frame libsndfile's encoder writes."""
    from tritaudio._decode import _mpeg_frame

    first = _mpeg_frame(data[:4])[0]
    assert b"Xing" in data[:first] or b"Info" in data[:first]
    return data[first:]


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_an_mp3_without_xing_header_cut_short_is_an_error(tmp_path, encoded, keep):
    data = _without_xing(encoded["m.mp3"].read_bytes())
    path = tmp_path / "cut.mp3"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(AudioFileError, match="cut.mp3: the file is truncated.*last frame"):
        tritaudio.load(path)


def test_an_mp3_libsndfile_would_decode_short_is_an_error(tmp_path, encoded):
    # Without a Xing/Info header libsndfile estimates the length, and stops reading there.
    path = tmp_path / "no_xing.mp3"
    path.write_bytes(_without_xing(encoded["m.mp3"].read_bytes()))
    assert len(_whole_read(path)[0]) < 0.9 * tritaudio.info(encoded["m.mp3"]).num_frames
    with pytest.raises(AudioFileError, match="would decode .* of the .* frames it holds"):
        tritaudio.load(path)


def test_tagged_mp3s_load_whole(tmp_path, encoded):
    id3v2 = b"ID3\x03\x00\x00\x00\x00\x00\x10" + bytes(16)  # a 16-byte tag of padding
    id3v1 = b"TAG" + bytes(125)
    path = tmp_path / "tagged.mp3"
    path.write_bytes(id3v2 + encoded["m.mp3"].read_bytes() + id3v1)
    assert torch.equal(tritaudio.load(path)[0], tritaudio.load(encoded["m.mp3"])[0])


def test_a_lossy_range_beyond_the_one_read_limit_is_read_in_blocks(lossy_stereo, monkeypatch):
    reads = []
    real_read = sf.SoundFile.read
    monkeypatch.setattr(
        sf.SoundFile, "read", lambda self, n=-1, **kw: reads.append(n) or real_read(self, n, **kw)
    )
    tritaudio.load(lossy_stereo["clean.mp3"])
    assert reads == [176400]  # one read
    reads.clear()
    monkeypatch.setattr(_decode, "_ONE_READ_MAX_BYTES", 2**20)
    waveform, _ = tritaudio.load(lossy_stereo["clean.mp3"])
    assert reads == [65536, 65536, 176400 - 2 * 65536]
    assert torch.equal(waveform, _whole_read(lossy_stereo["clean.mp3"]))  # clean: the same


def test_saving_minutes_of_stereo_vorbis_does_not_crash(tmp_path):
    # libsndfile's Vorbis encoder segfaults on one write of >= 60 s of 44.1 kHz stereo;
    # save writes in blocks. In a subprocess, so that a crash fails this test only.
    path = tmp_path / "long.ogg"
    code = (
        "import torch, tritaudio\n"
        f"tritaudio.save({str(path)!r}, torch.zeros(2, 44100 * 70), 44100)\n"
        f"print(tritaudio.info({str(path)!r}).num_frames)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-500:]}"
    assert result.stdout.strip() == str(44100 * 70)


def test_block_writes_equal_one_write(tmp_path, monkeypatch):
    waveform = torch.from_numpy(_stereo(16000, 2.0).T.copy()).float()
    for name in ("a.wav", "a.flac"):
        tritaudio.save(tmp_path / name, waveform, 16000)
        monkeypatch.setattr(tritaudio.io, "_WRITE_FRAMES", 1000)
        tritaudio.save(tmp_path / f"blocks_{name}", waveform, 16000)
        monkeypatch.undo()
        assert (tmp_path / name).read_bytes() == (tmp_path / f"blocks_{name}").read_bytes()
