"""Decoding a file's frames through libsndfile, and the checks that a decode is whole.

:mod:`tritaudio.io` opens files and calls these; they hold what libsndfile 1.2.2 gets wrong
or leaves out: the samples of lossy decoders depend on how a decode is split into reads,
truncated Ogg, WAV and MP3 files open without an error, an MP3 without a Xing/Info header
is decoded only as far as libsndfile's estimate of its length, and a header's frame count
is a claim.
"""

import contextlib
import os
import struct

import numpy as np
import soundfile as sf
import torch


class AudioFileError(RuntimeError):
    """A file libsndfile cannot read or write: corrupt, truncated, empty or of an unknown
    format. The message names the file and gives libsndfile's reason."""

    __module__ = "tritaudio.io"  # where users import it from (and pickles find it)


# Writers that stream to a pipe put these placeholders in the size fields.
_UNKNOWN_SIZES = {0xFFFFFFFF, 0x7FFFFFFF}

# Frames decoded at a time from PCM and FLAC files.
_BLOCK_FRAMES = 65536
# Bytes allocated before any frame is decoded: a header's frame count is a claim (a forged
# one can promise 2**36 frames); beyond this the output grows with what is decoded.
_PREALLOCATE_BYTES = 2**28
# Lossy decoders of libsndfile 1.2.2 (libmpg123, libvorbis, libopus) return different samples
# depending on how a decode is split into reads (Opus for reads below one packet, MP3 around
# frames with damaged side information): these are decoded in one read, the same samples as
# a whole-file read whatever the caller's block or chunk size.
_ONE_READ_SUBTYPES = frozenset(
    ("VORBIS", "OPUS", "MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III")
)
# One read of a lossy file allocates the frames its header promises up front (only the pages
# decoded are touched); a promise beyond this many bytes is read in blocks instead.
_ONE_READ_MAX_BYTES = 2**31


@contextlib.contextmanager
def _raw_bytes(source):
    """The file's bytes from the start, for the container checks; a file object is put
    back where it was."""
    if isinstance(source, bytes):
        with open(source, "rb") as file:
            yield file
        return
    position = source.tell()
    try:
        source.seek(0)
        yield source
    finally:
        source.seek(position)


_CUT = "the file is truncated or corrupt ("


def _wav_problem(file, sound_file):
    """Why a RIFF WAV file is cut short (its data chunk declares more bytes than follow),
    or None."""
    header = file.read(12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        return None
    position = 12
    while True:
        file.seek(position)
        chunk = file.read(8)
        if len(chunk) < 8:
            return None
        size = struct.unpack("<I", chunk[4:])[0]
        if chunk[:4] == b"data":
            present = file.seek(0, os.SEEK_END) - position - 8
            if size in _UNKNOWN_SIZES or present >= size:
                return None
            return f"{_CUT}its header declares {size} bytes of audio data, {present} are present)"
        position += 8 + size + (size & 1)


def _ogg_problem(file, sound_file):
    """Why an Ogg file is cut short or broken (a page cut off, a logical stream without
    its end-of-stream page, no page where one belongs), or None. Walks the page headers
    only; junk after every stream has ended is tolerated."""
    end = file.seek(0, os.SEEK_END)
    position, open_streams, pages = 0, set(), 0
    while position < end:
        file.seek(position)
        header = file.read(27)
        if header[:4] != b"OggS":
            if pages and not open_streams:
                return None
            return f"{_CUT}no Ogg page at byte {position} of {end})"
        if len(header) < 27:
            return f"{_CUT}its last page is cut off at byte {end})"
        flags, serial, segments = header[5], header[14:18], header[26]
        lacing = file.read(segments)
        length = 27 + segments + sum(lacing)
        if len(lacing) < segments or position + length > end:
            return f"{_CUT}its last page is cut off at byte {end})"
        if flags & 0x02:
            open_streams.add(serial)
        if flags & 0x04:
            open_streams.discard(serial)
        pages += 1
        position += length
    if open_streams:
        return f"{_CUT}its stream ends without an end-of-stream page)"
    return None


# MPEG audio frame headers: kbit/s by (MPEG-1?, layer) and bitrate index; Hz by version.
_MPEG_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
# What may follow the last frame: ID3v1, APEv2 and Lyrics3 tags.
_MPEG_TRAILERS = (b"TAG", b"APETAGEX", b"LYRICS")


def _mpeg_frame(header):
    """(bytes, samples) of the MPEG audio frame that starts with these 4 bytes, or None if
    they are not a frame header (or a free-format one, whose length they do not give)."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer = (header[1] >> 3) & 3, 4 - ((header[1] >> 1) & 3)
    bitrate_index, rate_index = header[2] >> 4, (header[2] >> 2) & 3
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1, padding = version == 3, (header[2] >> 1) & 1
    kbps = _MPEG_BITRATES[(mpeg1, layer if mpeg1 else min(layer, 2))][bitrate_index]
    rate = _MPEG_RATES[version][rate_index]
    if layer == 1:
        return (12000 * kbps // rate + padding) * 4, 384
    if layer == 2 or mpeg1:
        return 144000 * kbps // rate + padding, 1152
    return 72000 * kbps // rate + padding, 576  # MPEG-2/2.5 layer III


def _mpeg_problem(file, sound_file):
    """Why an MPEG audio file cannot be decoded whole: its last frame extends past the end
    (cut short), or its frames hold more samples than libsndfile's frame count, which
    libsndfile estimates for a file without a Xing/Info header and never decodes beyond.
    Walks the frames after an ID3v2 tag; a walk that loses step (damage, junk, a trailer
    it does not know) decides nothing, so that no complete file is refused."""
    end = file.seek(0, os.SEEK_END)
    file.seek(0)
    head = file.read(10)
    position, samples = 0, 0
    if head[:3] == b"ID3" and len(head) == 10:
        size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
        position = 10 + size + (10 if head[5] & 0x10 else 0)
    while position < end:
        file.seek(position)
        header = file.read(8)
        if header.startswith(_MPEG_TRAILERS):
            break
        frame = _mpeg_frame(header)
        if frame is None:
            return None
        if position + frame[0] > end:
            return f"{_CUT}its last frame is cut off: {end - position} of its {frame[0]} bytes)"
        position += frame[0]
        samples += frame[1]
    # A Xing/Info frame holds no audio, and decoders drop the encoder's delay and padding:
    # a few frames' worth of samples less than the walk counts.
    if samples - sound_file.frames > 4 * 1152:
        return (
            f"libsndfile would decode {sound_file.frames} of the {samples} frames it holds "
            "(it estimates the length of an MP3 without a Xing/Info header "
            "and stops there; decode it with another tool, e.g. ffmpeg, to WAV or FLAC)"
        )
    return None


_CONTAINER_CHECKS = {
    "WAV": _wav_problem,
    "WAVEX": _wav_problem,
    "OGG": _ogg_problem,
    "MP3": _mpeg_problem,
}


def check_complete(sound_file, source, name):
    """Raise AudioFileError for a file that libsndfile opened although its container shows
    it cut short or more than libsndfile would decode. (A decode that ends before the
    frames the header promises is caught as it is read, by :func:`read_frames`.)"""
    check = _CONTAINER_CHECKS.get(sound_file.format)
    if check is None:
        return
    with _raw_bytes(source) as file:
        problem = check(file, sound_file)
    if problem:
        raise AudioFileError(f"cannot read {name}: {problem}")


def _truncated(name, got, count):
    return AudioFileError(
        f"cannot read {name}: the file is truncated or corrupt (decoded {got} of the {count} "
        "frames its header promises)"
    )


def reads_whole(sound_file, count, read_dtype):
    """Whether ``count`` frames are decoded in one read (see ``_ONE_READ_SUBTYPES``)."""
    size = count * sound_file.channels * np.dtype(read_dtype).itemsize
    return sound_file.subtype in _ONE_READ_SUBTYPES and size <= _ONE_READ_MAX_BYTES


class _Frames:
    """The output of a read, ``(channels, frames)`` or ``(frames, channels)``, grown with
    the frames decoded: a header's frame count is not allocated beyond
    ``_PREALLOCATE_BYTES`` before the frames are there."""

    def __init__(self, channels, count, dtype, channels_first, block_frames):
        per_frame = channels * np.dtype(dtype).itemsize
        self.capacity = min(count, max(block_frames, _PREALLOCATE_BYTES // per_frame))
        self.channels, self.channels_first, self.done = channels, channels_first, 0
        self.array = np.empty(self._shape(self.capacity), dtype)
        # libsndfile interleaves channels: (channels, frames) output of several channels
        # is de-interleaved from a buffer, the other layouts are decoded in place.
        self.buffer = None
        if channels_first and channels > 1:
            self.buffer = np.empty((min(count, block_frames), channels), dtype)

    def _shape(self, frames):
        return (self.channels, frames) if self.channels_first else (frames, self.channels)

    def _frames(self, array, start, stop):
        return array[:, start:stop] if self.channels_first else array[start:stop]

    def _make_room(self, frames):
        if self.done + frames <= self.capacity:
            return
        self.capacity = max(self.done + frames, 2 * self.capacity)
        grown = np.empty(self._shape(self.capacity), self.array.dtype)
        self._frames(grown, 0, self.done)[...] = self._frames(self.array, 0, self.done)
        self.array = grown

    def space(self, frames):
        """A C-contiguous ``(frames, channels)`` array for the next read to fill."""
        if self.buffer is not None:
            return self.buffer[:frames]
        self._make_room(frames)
        return self._frames(self.array, self.done, self.done + frames).reshape(
            frames, self.channels
        )

    def commit(self, block):
        """Keep ``block``: what the last read put in :meth:`space`."""
        if self.buffer is not None:
            self._make_room(len(block))
            # De-interleaving a block that stays in cache costs little; transposing a long
            # array at once costs more than its decode.
            for start in range(0, len(block), _BLOCK_FRAMES):
                piece = block[start : start + _BLOCK_FRAMES]
                at = self.done + start
                self.array[:, at : at + len(piece)] = piece.T
        self.done += len(block)

    def result(self):
        return self._frames(self.array, 0, self.done)


def read_frames(sound_file, name, count, read_dtype, channels_first):
    """The next ``count`` frames as ``(channels, count)`` or ``(count, channels)``;
    AudioFileError if the file ends first."""
    block_frames = count if reads_whole(sound_file, count, read_dtype) else _BLOCK_FRAMES
    frames = _Frames(sound_file.channels, count, read_dtype, channels_first, block_frames)
    while frames.done < count:
        want = min(block_frames, count - frames.done)
        try:
            block = sound_file.read(want, dtype=read_dtype, out=frames.space(want))
        except sf.SoundFileError as err:
            reason = getattr(err, "error_string", None) or str(err)
            raise AudioFileError(
                f"cannot read {name}: the file is truncated or corrupt (decoding failed after "
                f"{frames.done} of the {count} frames its header promises: {reason})"
            ) from err
        if len(block) == 0:
            break
        frames.commit(block)
    if frames.done < count:
        raise _truncated(name, frames.done, count)
    return frames.result()


def read_dtype_for(subtype, normalize):
    """The numpy dtype to read as and the torch dtype to return for a subtype.

    normalize=False returns integer PCM as integers (8-bit as uint8 / int8, 16 as int16,
    24 and 32 as int32 at full scale) and double as float64, like torchaudio 2.8; every
    other encoding decodes to float32.
    """
    if normalize:
        return "float32", torch.float32
    return {
        "PCM_U8": ("int16", torch.uint8),
        "PCM_S8": ("int16", torch.int8),
        "PCM_16": ("int16", torch.int16),
        "PCM_24": ("int32", torch.int32),
        "PCM_32": ("int32", torch.int32),
        "DOUBLE": ("float64", torch.float64),
    }.get(subtype, ("float32", torch.float32))


def to_tensor(samples, dtype):
    """Samples as read (int16 for 8-bit PCM) -> a tensor of ``dtype``."""
    if dtype == torch.uint8:
        # libsndfile gives 8-bit PCM as the high byte of int16; unsigned is offset by 128.
        samples = ((samples >> 8) + 128).astype(np.uint8)
    elif dtype == torch.int8:
        samples = (samples >> 8).astype(np.int8)
    return torch.from_numpy(samples)
