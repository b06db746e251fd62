"""Audio file I/O through libsndfile (the soundfile package).

``load``, ``save`` and ``info`` keep torchaudio's API as users knew it in 2.8 (torchaudio 2.9
removed ``info`` and 2.11 ignores ``normalize``, ``format``, ``encoding`` and
``bits_per_sample``); ``stream`` reads a long file in chunks with bounded memory.
"""

import contextlib
import dataclasses
import io
import operator
import os
import tempfile
import warnings

import numpy as np
import soundfile as sf
import torch

from tritaudio._decode import (
    AudioFileError,
    check_complete,
    read_dtype_for,
    read_frames,
    reads_whole,
    to_tensor,
)
from tritaudio.functional import resample

__all__ = ["AudioFileError", "AudioMetaData", "info", "load", "save", "stream"]


@dataclasses.dataclass
class AudioMetaData:
    """What :func:`info` returns; the fields of torchaudio 2.8's ``AudioMetaData``.

    Attributes:
        sample_rate: frames per second.
        num_frames: frames in the file (0 when unknown).
        num_channels: channels.
        bits_per_sample: bits of one sample; 0 for lossy or variable-depth encodings.
        encoding: ``"PCM_S"``, ``"PCM_U"``, ``"PCM_F"``, ``"FLAC"``, ``"ULAW"``, ``"ALAW"``,
            ``"MP3"``, ``"VORBIS"``, ``"OPUS"`` or ``"UNKNOWN"``.
    """

    sample_rate: int
    num_frames: int
    num_channels: int
    bits_per_sample: int
    encoding: str


# libsndfile subtype -> (torchaudio 2.8 encoding name, bits per sample).
_SUBTYPES = {
    "PCM_S8": ("PCM_S", 8),
    "PCM_16": ("PCM_S", 16),
    "PCM_24": ("PCM_S", 24),
    "PCM_32": ("PCM_S", 32),
    "PCM_U8": ("PCM_U", 8),
    "FLOAT": ("PCM_F", 32),
    "DOUBLE": ("PCM_F", 64),
    "ULAW": ("ULAW", 8),
    "ALAW": ("ALAW", 8),
    "VORBIS": ("VORBIS", 0),
    "OPUS": ("OPUS", 0),
    "MPEG_LAYER_I": ("MP3", 0),
    "MPEG_LAYER_II": ("MP3", 0),
    "MPEG_LAYER_III": ("MP3", 0),
}

# What save writes for each (encoding, bits_per_sample), in order of preference where
# bits_per_sample is not given: the widest the format accepts (torchaudio 2.8: PCM_S -> 32).
_ENCODINGS = {
    "PCM_S": {32: "PCM_32", 24: "PCM_24", 16: "PCM_16", 8: "PCM_S8"},
    "PCM_U": {8: "PCM_U8"},
    "PCM_F": {32: "FLOAT", 64: "DOUBLE"},
    "ULAW": {8: "ULAW"},
    "ALAW": {8: "ALAW"},
    "FLAC": {24: "PCM_24", 16: "PCM_16", 8: "PCM_S8"},
    "VORBIS": {None: "VORBIS"},
    "OPUS": {None: "OPUS"},
    "MP3": {None: "MPEG_LAYER_III"},
}

# Subtype save picks from the tensor's dtype when neither encoding nor bits are given.
_DTYPE_SUBTYPES = {
    torch.uint8: "PCM_U8",
    torch.int8: "PCM_S8",
    torch.int16: "PCM_16",
    torch.int32: "PCM_32",
    torch.float16: "FLOAT",
    torch.bfloat16: "FLOAT",
    torch.float32: "FLOAT",
    torch.float64: "DOUBLE",
}

# Format names and file extensions that are not libsndfile's own format names.
_FORMAT_ALIASES = {
    "wave": "WAV",
    "vorbis": "OGG",
    "oga": "OGG",
    "opus": "OGG",
    "sph": "NIST",
    "nis": "NIST",
    "aif": "AIFF",
    "aifc": "AIFF",
    "snd": "AU",
}
_ALIAS_SUBTYPES = {"vorbis": "VORBIS", "opus": "OPUS"}

# Sample rates save accepts: libsndfile stores an int; some encoders take less (libvorbis
# crashes above 200 kHz).
_MAX_SAMPLE_RATE = 2**31 - 1
_FORMAT_MAX_RATES = {"FLAC": 655350, "OGG": 200000}
# libsndfile 1.2.2 writes no readable file for 0 frames in these encodings (0 bytes for FLAC
# and MP3, an Opus header libsndfile cannot open again).
_NO_EMPTY_FILES = frozenset(("FLAC", "MPEG_LAYER_III", "OPUS"))
_SUBTYPE_RATES = {
    "OPUS": (8000, 12000, 16000, 24000, 48000),
    "MPEG_LAYER_III": (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
}


# Frames handed to libsndfile per write.
_WRITE_FRAMES = 65536


def _is_path(uri):
    return isinstance(uri, (str, bytes, os.PathLike))


def _name(uri):
    """The file's name for messages; bytes that are not text show as ``\\xff`` escapes."""
    if _is_path(uri):
        return os.fsencode(uri).decode("utf-8", "backslashreplace")
    return getattr(uri, "name", None) or f"<{type(uri).__name__}>"


@contextlib.contextmanager
def _libsndfile_errors(name, action):
    """Turn soundfile's errors into AudioFileError naming the file."""
    try:
        yield
    except sf.SoundFileError as err:
        reason = getattr(err, "error_string", None) or str(err)
        if action == "read" and "does not exist" in reason:
            # libsndfile says so of an existing file it cannot parse as the format its
            # extension names (a text file called .mp3): the file was checked to exist.
            reason = "not an audio file libsndfile can decode (format not recognised)"
        raise AudioFileError(f"cannot {action} {name!s}: {reason}") from err


def _check_format_name(format):
    """The libsndfile format name (``"WAV"``, ``"FLAC"``...) for a format or extension."""
    if not isinstance(format, str) or not format:
        raise ValueError(f"format must be a non-empty string, got {format!r}")
    key = format.lower().lstrip(".")
    name = _FORMAT_ALIASES.get(key, key.upper())
    if name not in sf.available_formats():
        known = sorted({*(f.lower() for f in sf.available_formats()), *_FORMAT_ALIASES})
        raise ValueError(f"unknown audio format {format!r}; libsndfile knows {', '.join(known)}")
    return name


def _source(uri):
    """What soundfile opens: a path as bytes (checked to exist; bytes, so that a name that
    is not valid text in the file-system encoding still opens) or a seekable binary file
    object."""
    if _is_path(uri):
        path = os.fsencode(uri)
        if not os.path.exists(path):
            raise FileNotFoundError(f"no such audio file: {_name(uri)}")
        if os.path.isdir(path):
            raise IsADirectoryError(f"expected an audio file, got a directory: {_name(uri)}")
        return path
    if not hasattr(uri, "read"):
        raise TypeError(
            f"uri must be a path, an os.PathLike or a binary file-like object, "
            f"got {type(uri).__name__}"
        )
    seekable = getattr(uri, "seekable", None)
    if seekable is None or not seekable():
        # libsndfile needs to seek (headers, partial reads): buffer a pipe or a socket.
        return io.BytesIO(uri.read())
    return uri


@contextlib.contextmanager
def _open_for_read(uri, format):
    if format is not None:
        # libsndfile identifies the container from the file's header; the name is checked
        # so that a typo fails loudly, as it did in torchaudio.
        _check_format_name(format)
    name = _name(uri)
    source = _source(uri)
    with _libsndfile_errors(name, "read"), sf.SoundFile(source) as sound_file:
        check_complete(sound_file, source, name)
        yield sound_file, name


def info(uri, format=None, *, buffer_size=4096, backend=None):
    """Metadata of an audio file without decoding it.

    Mirrors ``torchaudio.info`` of torchaudio 2.8 (removed in 2.9).

    Args:
        uri: a path, an ``os.PathLike`` or a binary file-like object.
        format: the container's name (``"wav"``, ``"flac"``...); checked, then libsndfile
            identifies the file from its header.
        buffer_size, backend: accepted for torchaudio compatibility and ignored.

    Returns:
        AudioMetaData(sample_rate, num_frames, num_channels, bits_per_sample, encoding)

    Example:
        >>> meta = info("tests/data/sweep_8k.wav")
        >>> meta.sample_rate, meta.num_frames, meta.encoding, meta.bits_per_sample
        (8000, 16000, 'PCM_S', 16)
    """
    with _open_for_read(uri, format) as (sound_file, _):
        encoding, bits = _SUBTYPES.get(sound_file.subtype, ("UNKNOWN", 0))
        if sound_file.format == "FLAC":
            encoding = "FLAC"
        return AudioMetaData(
            sample_rate=sound_file.samplerate,
            num_frames=sound_file.frames,
            num_channels=sound_file.channels,
            bits_per_sample=bits,
            encoding=encoding,
        )


def _check_frames(frame_offset, num_frames):
    for arg, value in (("frame_offset", frame_offset), ("num_frames", num_frames)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{arg} must be an int, got {type(value).__name__}")
    if frame_offset < 0:
        raise ValueError(f"frame_offset must be >= 0, got {frame_offset}")
    if num_frames < -1:
        raise ValueError(f"num_frames must be -1 (to the end) or >= 0, got {num_frames}")


def _frames_to_read(sound_file, frame_offset, num_frames):
    """Seek to ``frame_offset`` (clamped to the end) and return how many frames follow."""
    start = min(frame_offset, sound_file.frames)
    available = sound_file.frames - start
    count = available if num_frames == -1 else min(num_frames, available)
    if start and count:
        sound_file.seek(start)
    return count


def load(
    uri,
    frame_offset=0,
    num_frames=-1,
    normalize=True,
    channels_first=True,
    format=None,
    *,
    sample_rate=None,
    buffer_size=4096,
    backend=None,
):
    """Load an audio file.

    Mirrors ``torchaudio.load`` as it behaved in torchaudio 2.8.

    Args:
        uri: a path, an ``os.PathLike`` or a binary file-like object.
        frame_offset: frames to skip before reading (seeks; nothing before it is decoded).
        num_frames: frames to read; -1 reads to the end. Fewer are returned when the file
            ends first.
        normalize: True returns float32 in [-1, 1]. False returns the native samples of
            integer PCM (uint8 / int8 / int16, int32 for 24 and 32 bits at full scale) and of
            64-bit float; other encodings are float32 either way.
        channels_first: True gives ``(channels, time)``, False ``(time, channels)``.
        format: the container's name; checked, then libsndfile identifies the file from
            its header.
        sample_rate: resample to this rate (Hz) with :func:`tritaudio.functional.resample`
            after reading; needs ``normalize=True``. ``frame_offset`` and ``num_frames``
            count frames at the file's rate.
        buffer_size, backend: accepted for torchaudio compatibility and ignored
            (libsndfile is the only backend).

    Returns:
        (waveform, sample_rate)

    Raises:
        FileNotFoundError: no file at ``uri``.
        AudioFileError: the file is empty, corrupt, truncated or of an unknown format.
        ValueError, TypeError: bad arguments.

    Example:
        >>> waveform, sample_rate = load("tests/data/sweep_8k.wav", num_frames=100)
        >>> waveform.shape, waveform.dtype, sample_rate
        (torch.Size([1, 100]), torch.float32, 8000)
    """
    _check_frames(frame_offset, num_frames)
    if sample_rate is not None:
        sample_rate = _check_sample_rate(sample_rate)
        if not normalize:
            raise ValueError("sample_rate= resamples float samples: it needs normalize=True")
    with _open_for_read(uri, format) as (sound_file, name):
        read_dtype, dtype = read_dtype_for(sound_file.subtype, normalize)
        count = _frames_to_read(sound_file, frame_offset, num_frames)
        samples = read_frames(sound_file, name, count, read_dtype, channels_first)
        waveform, file_rate = to_tensor(samples, dtype), sound_file.samplerate
    if sample_rate is None or sample_rate == file_rate:
        return waveform, file_rate
    if channels_first:
        return resample(waveform, file_rate, sample_rate), sample_rate
    return resample(waveform.t(), file_rate, sample_rate).t().contiguous(), sample_rate


def stream(
    uri,
    frames_per_chunk,
    frame_offset=0,
    num_frames=-1,
    normalize=True,
    channels_first=True,
    format=None,
):
    """Iterate over an audio file in chunks, holding one chunk in memory at a time.

    Beyond torchaudio (whose StreamReader needs FFmpeg): the chunks are what
    :func:`load` with the same arguments returns, cut along time.

    Args:
        uri: a path, an ``os.PathLike`` or a binary file-like object. libsndfile seeks, so
            an object that cannot (a pipe, a socket) is read into memory first.
        frames_per_chunk: frames in each chunk; the last one may be shorter.
        frame_offset, num_frames, normalize, channels_first, format: as in :func:`load`.

    Yields:
        waveform chunks, ``(channels, frames)`` (or ``(frames, channels)``).

    Example:
        >>> chunks = list(stream("tests/data/sweep_8k.wav", frames_per_chunk=6000))
        >>> [chunk.shape[1] for chunk in chunks]
        [6000, 6000, 4000]
    """
    if isinstance(frames_per_chunk, bool) or not isinstance(frames_per_chunk, (int, np.integer)):
        raise TypeError(f"frames_per_chunk must be an int, got {type(frames_per_chunk).__name__}")
    if frames_per_chunk <= 0:
        raise ValueError(f"frames_per_chunk must be > 0, got {frames_per_chunk}")
    _check_frames(frame_offset, num_frames)
    if format is not None:
        _check_format_name(format)
    source = _source(uri)  # a missing file fails here, not at the first chunk
    return _chunks(
        source, _name(uri), frames_per_chunk, frame_offset, num_frames, normalize, channels_first
    )


def _chunks(source, name, frames_per_chunk, frame_offset, num_frames, normalize, channels_first):
    with _libsndfile_errors(name, "read"), sf.SoundFile(source) as sound_file:
        check_complete(sound_file, source, name)
        read_dtype, dtype = read_dtype_for(sound_file.subtype, normalize)
        remaining = _frames_to_read(sound_file, frame_offset, num_frames)
        if remaining and reads_whole(sound_file, remaining, read_dtype):
            # A lossy file is decoded in one read (see _decode._ONE_READ_SUBTYPES), then cut.
            samples = read_frames(sound_file, name, remaining, read_dtype, channels_first)
            along_time = samples if channels_first else samples.T
            for start in range(0, remaining, frames_per_chunk):
                chunk = along_time[:, start : start + frames_per_chunk]
                chunk = chunk if channels_first else chunk.T
                yield to_tensor(np.ascontiguousarray(chunk), dtype)
            return
        while remaining > 0:
            count = min(frames_per_chunk, remaining)
            samples = read_frames(sound_file, name, count, read_dtype, channels_first)
            remaining -= count
            yield to_tensor(samples, dtype)


def _save_format(uri, format):
    """(libsndfile format name, alias) from ``format`` or the file's extension."""
    if format is None:
        if not _is_path(uri):
            raise ValueError("format is required when saving to a file-like object")
        extension = os.path.splitext(os.fsdecode(uri))[1]
        if not extension:
            raise ValueError(
                f"cannot tell the format of {_name(uri)}: its name has no extension "
                "(.wav, .flac, .ogg, .mp3...) and no format was given"
            )
        format = extension
    return _check_format_name(format), format.lower().lstrip(".")


def _allowed_encodings(fmt):
    pairs = sorted(
        {
            f"{_SUBTYPES[s][0]}/{_SUBTYPES[s][1] or '-'}"
            for s in sf.available_subtypes(fmt)
            if s in _SUBTYPES
        }
    )
    return ", ".join(pairs) or "none"


def _save_subtype(fmt, alias, dtype, encoding, bits_per_sample):
    """The libsndfile subtype for a save; ValueError naming what the format allows."""
    if bits_per_sample is not None and bits_per_sample not in (8, 16, 24, 32, 64):
        raise ValueError(f"bits_per_sample must be 8, 16, 24, 32 or 64, got {bits_per_sample}")
    if encoding is None and bits_per_sample is None:
        preferred = _ALIAS_SUBTYPES.get(alias) or _DTYPE_SUBTYPES[dtype]
        if sf.check_format(fmt, preferred):
            return preferred
        return sf.default_subtype(fmt)
    if encoding is None:
        # bits alone: PCM of that width (torchaudio 2.8: 8 bits in WAV is unsigned).
        if bits_per_sample == 64:
            encoding = "PCM_F"
        elif bits_per_sample == 8 and fmt == "WAV":
            encoding = "PCM_U"
        else:
            encoding = "PCM_S"
    key = encoding.upper() if isinstance(encoding, str) else encoding
    if key not in _ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; known: {', '.join(_ENCODINGS)}")
    by_bits = _ENCODINGS[key]
    if bits_per_sample is None:
        candidates = list(by_bits.values())
    else:
        candidates = [by_bits.get(bits_per_sample)]
    for subtype in candidates:
        if subtype and sf.check_format(fmt, subtype):
            return subtype
    asked = key if bits_per_sample is None else f"{key} with {bits_per_sample} bits"
    raise ValueError(
        f"{fmt} cannot store {asked}; it takes (encoding/bits): {_allowed_encodings(fmt)}"
    )


def _check_src(src):
    if not isinstance(src, torch.Tensor):
        raise TypeError(f"src must be a torch.Tensor, got {type(src).__name__}")
    if src.dtype not in _DTYPE_SUBTYPES:
        raise TypeError(
            f"cannot save a {src.dtype} tensor; allowed dtypes: "
            + ", ".join(str(d).removeprefix("torch.") for d in _DTYPE_SUBTYPES)
        )
    if src.dim() not in (1, 2):
        raise ValueError(
            f"src must be 1-D (time) or 2-D (channels, time) / (time, channels), "
            f"got a {src.dim()}-D tensor of shape {tuple(src.shape)}"
        )


def _samples_for(src, channels_first, subtype, name):
    """The tensor as a (frames, channels) numpy array soundfile can write."""
    src = src.detach().cpu()
    if src.dim() == 1:
        src = src.unsqueeze(1)
    elif channels_first:
        src = src.t()
    if src.dtype in (torch.float16, torch.bfloat16):
        src = src.float()
    if src.dtype == torch.uint8:
        # soundfile writes int16 / int32 / float; 8-bit samples go as the int16 high byte.
        src = (src.to(torch.int16) - 128) << 8
    elif src.dtype == torch.int8:
        src = src.to(torch.int16) << 8
    samples = np.ascontiguousarray(src.numpy())
    if samples.dtype.kind == "f" and subtype not in ("FLOAT", "DOUBLE"):
        samples = _clip_to_unit_range(samples, subtype, name)
    return samples


def _clip_to_unit_range(samples, subtype, name):
    if np.isnan(samples).any():
        raise ValueError(f"cannot save NaN samples to {name} as {subtype}")
    peak = float(np.abs(samples).max(initial=0.0))
    if peak > 1.0:
        warnings.warn(
            f"saving {name} as {subtype}: samples reach {peak:.4g}, outside [-1, 1]; "
            "they are clipped",
            stacklevel=4,
        )
        samples = np.clip(samples, -1.0, 1.0)
    return samples


def _check_sample_rate(sample_rate):
    try:
        rate = operator.index(sample_rate)
    except TypeError:
        if isinstance(sample_rate, float) and sample_rate.is_integer():
            rate = int(sample_rate)
        else:
            raise TypeError(f"sample_rate must be an int, got {sample_rate!r}") from None
    if isinstance(sample_rate, bool) or rate <= 0:
        raise ValueError(f"sample_rate must be a positive int, got {sample_rate!r}")
    return rate


def _check_rate_for(rate, fmt, subtype):
    """ValueError naming the rates ``fmt`` / ``subtype`` can store, where ``rate`` is not
    one (libsndfile would overflow, fail without a reason, or crash in libvorbis)."""
    allowed = _SUBTYPE_RATES.get(subtype)
    if allowed is not None and rate not in allowed:
        raise ValueError(
            f"sample_rate {rate} cannot be stored as {subtype}; it takes "
            + ", ".join(map(str, allowed))
            + " Hz"
        )
    high = _FORMAT_MAX_RATES.get(fmt, _MAX_SAMPLE_RATE)
    if rate > high:
        raise ValueError(f"sample_rate must be in [1, {high}] Hz for {fmt}, got {rate}")


def _check_compression(compression, fmt):
    """libsndfile's compression level in [0, 1] for the formats that have one."""
    if compression is None:
        return None
    level = float(compression)
    if not 0.0 <= level <= 1.0:
        raise ValueError(
            f"compression must be libsndfile's compression level, in [0.0, 1.0] "
            f"(0 = highest quality), got {compression!r}"
        )
    if fmt not in ("FLAC", "OGG", "MP3"):
        warnings.warn(f"{fmt} has no compression setting; compression is ignored", stacklevel=3)
        return None
    return level


def _write(target, samples, sample_rate, fmt, subtype, compression):
    """Write ``(frames, channels)`` samples in blocks: libsndfile 1.2.2's Vorbis encoder
    crashes the process (a segmentation fault) on one write of a minute of stereo."""
    if isinstance(target, str):
        target = os.fsencode(target)  # a name that is not valid text still opens as bytes
    with sf.SoundFile(
        target, "w", sample_rate, samples.shape[1], subtype, format=fmt,
        compression_level=compression,
    ) as sound_file:  # fmt: skip
        for start in range(0, len(samples), _WRITE_FRAMES):
            sound_file.write(samples[start : start + _WRITE_FRAMES])


def _replace_atomically(path, write):
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into
    place: a failure leaves no partial file and an existing ``path`` untouched."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp_path)
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp_path)
        raise


def save(
    uri,
    src,
    sample_rate,
    channels_first=True,
    format=None,
    encoding=None,
    bits_per_sample=None,
    compression=None,
    *,
    buffer_size=4096,
    backend=None,
):
    """Save a waveform to an audio file.

    Mirrors ``torchaudio.save`` as it behaved in torchaudio 2.8. Writes go to a temporary
    file beside the target that is renamed into place, so a failed save leaves no partial
    file and never harms an existing one.

    Args:
        uri: a path or ``os.PathLike`` (format from its extension), or a binary file-like
            object (``format`` required).
        src: ``(channels, time)`` (``(time, channels)`` if not ``channels_first``), or 1-D
            ``(time,)`` for mono. float16 / bfloat16 / float32 / float64 in [-1, 1], or
            uint8 / int8 / int16 / int32 integer samples.
        sample_rate: frames per second, an int in [1, 2**31 - 1]; FLAC takes up to 655350,
            Ogg up to 200000, Opus 8000 / 12000 / 16000 / 24000 / 48000 and MP3 the MPEG
            rates from 8000 to 48000 (ValueError naming them otherwise).
        channels_first: layout of a 2-D ``src``.
        format: ``"wav"``, ``"flac"``, ``"ogg"`` / ``"vorbis"`` / ``"opus"``, ``"mp3"`` or
            any format the installed libsndfile writes (``"aiff"``, ``"au"``, ``"w64"``...).
        encoding: ``"PCM_S"``, ``"PCM_U"``, ``"PCM_F"``, ``"ULAW"``, ``"ALAW"`` (or
            ``"VORBIS"``, ``"OPUS"``, ``"MP3"``, ``"FLAC"`` for those formats). Default: from
            ``src``'s dtype where the format allows it, else the format's default.
        bits_per_sample: 8, 16, 24, 32 or 64, where the format and encoding allow it.
        compression: libsndfile's compression level in [0, 1] (FLAC, Ogg, MP3).
        buffer_size, backend: accepted for torchaudio compatibility and ignored.

    Float samples outside [-1, 1] written to an integer or lossy encoding are clipped, with
    a warning; NaN is refused. An empty ``src`` (0 frames) is refused for FLAC, MP3 and
    Opus, which libsndfile cannot write empty.

    Example:
        >>> import os, tempfile, torch
        >>> path = os.path.join(tempfile.mkdtemp(), "tone.flac")
        >>> save(path, torch.zeros(2, 800), 8000, bits_per_sample=24)
        >>> info(path).bits_per_sample
        24
    """
    rate = _check_sample_rate(sample_rate)
    _check_src(src)
    fmt, alias = _save_format(uri, format)
    subtype = _save_subtype(fmt, alias, src.dtype, encoding, bits_per_sample)
    _check_rate_for(rate, fmt, subtype)
    name = _name(uri)
    frames = src.shape[-1] if src.dim() == 1 or channels_first else src.shape[0]
    encoded = "FLAC" if fmt == "FLAC" else subtype
    if frames == 0 and encoded in _NO_EMPTY_FILES:
        raise ValueError(
            f"cannot save 0 frames to {name} as {encoded}: libsndfile writes no readable empty "
            "file in this encoding (WAV, AIFF, Ogg Vorbis... can hold 0 frames)"
        )
    samples = _samples_for(src, channels_first, subtype, name)
    level = _check_compression(compression, fmt)
    write = lambda target: _write(target, samples, rate, fmt, subtype, level)

    if _is_path(uri):
        # Write through a symbolic link, as open() would; a device or a pipe has no
        # folder to stage a temporary file in, so it is written directly.
        path = os.path.realpath(os.fsdecode(uri))
        with _libsndfile_errors(name, "write"):
            if os.path.exists(path) and not os.path.isfile(path):
                write(path)
            else:
                _replace_atomically(path, write)
        return
    if not hasattr(uri, "write"):
        raise TypeError(f"uri must be a path or a writable binary file object, got {name}")
    buffer = io.BytesIO()
    with _libsndfile_errors(name, "write"):
        write(buffer)
    uri.write(buffer.getvalue())
