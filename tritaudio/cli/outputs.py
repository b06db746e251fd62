"""Where ``tritaudio features`` puts its results: one .npy / .pt per file, or WebDataset
tar shards, and a manifest a training pipeline (Lhotse, Hugging Face ``datasets``,
pandas) reads.

The manifest (``--manifest PATH``; ``.csv`` for CSV, otherwise JSON lines) has one entry
per file written, sorted by ``id``: ``id`` (the output's path below --out without its
suffix; the WebDataset key), ``path`` (the audio file), ``duration`` (s), ``sample_rate``
and ``num_frames`` (of the audio file), ``features`` (the output file below --out: the
.npy / .pt, or the .tar holding the entry), ``feature_shape`` ([channels, features,
frames]) and ``feature_sample_rate`` (the rate the features were computed at). Each process
appends its entries to ``PATH.parts/`` as outputs are written (a run that stops keeps
them); the end of a run merges them with what earlier runs wrote.

WebDataset (``--format webdataset``): the files, sorted by output path, are cut into
groups of ``--shard-size``; group g is ``DIR/shard-{g:06d}.tar`` holding ``{id}.npy`` (the
float32 features) and ``{id}.json`` (its manifest entry) per file. A shard is written
when its last file is done, atomically, and skipped by a later run; the unit of sharding
across processes is the tar, so the same tars come out however many processes write them.
"""

import contextlib
import csv
import io
import json
import os
import tarfile
import threading
from pathlib import Path

import numpy as np
import torch

from tritaudio.cli.common import positive_int

MANIFEST_FIELDS = (
    "id", "path", "duration", "sample_rate", "num_frames", "features", "feature_shape",
    "feature_sample_rate",
)  # fmt: skip


def shard(jobs, index, count):
    """Job k of the jobs sorted by output path goes to shard k % count."""
    ordered = sorted(jobs, key=lambda job: job.output.as_posix())
    return ordered[index::count]


def plan_jobs(args, every_job):
    """(this process's jobs, those left to do, the sink's tar groups or None)."""
    if args.format != "webdataset":
        jobs = shard(every_job, args.shard_index, args.num_shards)
        return jobs, [job for job in jobs if not job.output.exists()], None
    groups = tar_groups(every_job, args.shard_size, Path(args.out))
    mine = groups[args.shard_index :: args.num_shards]
    left = [(tar, jobs) for tar, jobs in mine if not tar.exists()]
    return [job for _, jobs in mine for job in jobs], [j for _, js in left for j in js], left


def stored_in(args, every_job):
    """job -> the file holding its features (its output, or its WebDataset tar)."""
    if args.format != "webdataset":
        return lambda job: job.output
    tars = {j: tar for tar, js in tar_groups(every_job, args.shard_size, Path(args.out))
            for j in js}  # fmt: skip
    return tars.__getitem__


def add_arguments(parser):
    """--format, --shard-size, --manifest."""
    parser.add_argument(
        "--format",
        choices=("npy", "pt", "webdataset"),
        default="npy",
        help="one .npy / .pt per file, or WebDataset tar shards of .npy + .json",
    )
    parser.add_argument(
        "--shard-size", type=positive_int, default=512, metavar="N",
        help="files per WebDataset tar (default 512)",
    )  # fmt: skip
    parser.add_argument(
        "--manifest",
        metavar="PATH",
        help="also write a manifest of the outputs: JSON lines, or CSV for a .csv PATH "
        "(id, path, duration, sample_rate, num_frames, features, feature_shape)",
    )


def manifest_entry(args, clip, features, stored):
    """The manifest entry of a computed clip whose features go in ``stored``."""
    rate = args.sample_rate or clip.rate
    return entry(clip.job.source, clip.job.output, Path(args.out), clip.rate,
                         clip.waveform.shape[-1], features.shape, rate, stored)  # fmt: skip


def write_output(path, features, file_format):
    """Write (channels, features, frames) to ``path`` atomically: into a temporary file
    beside it, renamed into place (a stopped run leaves no partial output).

    The temporary file is named after this process and thread and opened with the mode a
    new file gets (the OS applies the umask); an existing ``path`` keeps its mode. That is
    tritaudio.io's atomic replace at a third of its cost per file (no mkstemp, umask or
    chmod calls), which counts on the CPU, where a clip's features take ~2 ms."""
    tmp_path = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        fd = os.open(tmp_path, flags, 0o666)
    except FileNotFoundError:  # the first output of its folder
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp_path, flags, 0o666)
    try:
        with open(fd, "wb") as file:
            # C order whatever the strides (a clip computed alone can come out transposed),
            # so that a file's bytes do not depend on how the clips were batched.
            if file_format == "npy":
                np.save(file, np.ascontiguousarray(features.numpy()))
            else:
                # A copy, else torch.save would store the whole batch the view comes from.
                torch.save(features.clone(memory_format=torch.contiguous_format), file)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp_path, os.stat(path).st_mode & 0o7777)
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp_path)
        raise


def sample_id(output, out_dir):
    """The output's path below --out without its suffix (the WebDataset key)."""
    return output.relative_to(out_dir).with_suffix("").as_posix()


def entry(source, output, out_dir, rate, num_frames, feature_shape, feature_rate, stored):
    """One manifest entry; ``stored`` is the file holding the features (output or tar)."""
    return {
        "id": sample_id(output, out_dir), "path": str(source),
        "duration": num_frames / rate, "sample_rate": rate, "num_frames": num_frames,
        "features": stored.relative_to(out_dir).as_posix(),
        "feature_shape": list(feature_shape), "feature_sample_rate": feature_rate,
    }  # fmt: skip


def tar_groups(every_job, shard_size, out_dir):
    """[(tar path, jobs)] of all the jobs sorted by output path, ``shard_size`` per tar."""
    ordered = sorted(every_job, key=lambda job: job.output.as_posix())
    return [
        (out_dir / f"shard-{start // shard_size:06d}.tar", ordered[start : start + shard_size])
        for start in range(0, len(ordered), shard_size)
    ]


def write_tar(path, members):
    """Write a WebDataset shard atomically: ``members`` is [(id, features, entry)]."""
    from tritaudio.io import _replace_atomically

    path.parent.mkdir(parents=True, exist_ok=True)

    def add(tar, name, data):
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o644, 0  # same bytes every run
        tar.addfile(info, io.BytesIO(data))

    def write(tmp_path):
        with tarfile.open(tmp_path, "w", format=tarfile.USTAR_FORMAT) as tar:
            for key, features, meta in members:
                buffer = io.BytesIO()
                np.save(buffer, np.ascontiguousarray(features.numpy()))
                add(tar, f"{key}.npy", buffer.getvalue())
                add(tar, f"{key}.json", json.dumps(meta, sort_keys=True).encode())

    _replace_atomically(os.fspath(path), write)


def read_tar_entries(path):
    """The manifest entries stored in a WebDataset shard's .json members."""
    with tarfile.open(path) as tar:
        return [
            json.loads(tar.extractfile(member).read())
            for member in tar.getmembers()
            if member.name.endswith(".json")
        ]


class Manifest:
    """Appends this process's entries to ``PATH.parts/part-I-of-N.jsonl`` as they are
    written; :meth:`merge` writes the manifest of a set of jobs from every part."""

    def __init__(self, path, shard_index, num_shards):
        self.path = Path(path)
        self.parts = self.path.with_name(self.path.name + ".parts")
        self.parts.mkdir(parents=True, exist_ok=True)
        part = self.parts / f"part-{shard_index:05d}-of-{num_shards:05d}.jsonl"
        self.file = open(part, "a", encoding="utf-8")  # noqa: SIM115 (closed in close)

    def add(self, entries):
        for item in entries:
            self.file.write(json.dumps(item, sort_keys=True) + "\n")
        self.file.flush()

    def close(self):
        self.file.close()

    def merge(self, jobs, out_dir, stored_in, feature_rate=None):
        """Write the manifest of ``jobs`` whose outputs exist (atomically, sorted by id).

        ``stored_in(job)`` is the file holding a job's features; ``feature_rate`` is
        --sample-rate (None: the files' own). An entry a stopped run
        wrote for an output that is missing is dropped; an output without an entry (the
        run stopped between writing it and its entry) gets one from the tar or the file."""
        from tritaudio.io import _replace_atomically

        known = {}
        for part in sorted(self.parts.glob("*.jsonl")):
            for line in part.read_text(encoding="utf-8").splitlines():
                try:
                    item = json.loads(line)
                except json.JSONDecodeError:  # the last line of a killed run
                    continue
                known[item["id"]] = item
        entries, tars_read = [], set()
        for job in jobs:
            stored = stored_in(job)
            key = sample_id(job.output, out_dir)
            if not stored.exists():
                continue
            if key not in known and stored.suffix == ".tar" and stored not in tars_read:
                tars_read.add(stored)
                known.update((item["id"], item) for item in read_tar_entries(stored))
            if key not in known and stored.suffix != ".tar":
                known[key] = _entry_from_file(job, out_dir, stored, feature_rate)
            if key in known:
                entries.append(known[key])
        entries.sort(key=lambda item: item["id"])

        def write(tmp_path):
            with open(tmp_path, "w", encoding="utf-8", newline="") as file:
                if self.path.suffix.lower() == ".csv":
                    rows = csv.DictWriter(file, MANIFEST_FIELDS)
                    rows.writeheader()
                    for item in entries:
                        rows.writerow({**item, "feature_shape": json.dumps(item["feature_shape"])})
                else:
                    file.writelines(json.dumps(item, sort_keys=True) + "\n" for item in entries)

        self.path.parent.mkdir(parents=True, exist_ok=True)
        _replace_atomically(os.fspath(self.path), write)
        return len(entries)


def _entry_from_file(job, out_dir, stored, feature_rate):
    import soundfile

    if stored.suffix == ".npy":
        shape = np.load(stored, mmap_mode="r").shape
    else:
        shape = torch.load(stored, weights_only=True).shape
    with soundfile.SoundFile(os.fsencode(job.source)) as sound_file:
        rate, frames = sound_file.samplerate, sound_file.frames
    return entry(job.source, job.output, out_dir, rate, frames, shape, feature_rate or rate, stored)


class FileSink:
    """One .npy / .pt per file, written on the ``writer`` threads as each is computed.

    A sink's methods return [(entries, future)]: the write that stores those entries'
    features, in flight; the entries go in the manifest once it is done."""

    def __init__(self, file_format, writer):
        self.format, self.writer = file_format, writer

    def put(self, job, features, item):
        return [([item], self.writer.submit(write_output, job.output, features, self.format))]

    def resolved(self, count):
        """The first ``count`` jobs of the run are computed or failed."""
        return []


class TarSink:
    """WebDataset shards: each tar's features are held until its last job is resolved."""

    def __init__(self, groups, out_dir, writer):
        self.writer, self.out_dir = writer, out_dir
        self.groups, self.ends, self.members, end = [], [], {}, 0
        for tar, jobs in groups:
            end += len(jobs)
            self.groups.append((tar, jobs))
            self.ends.append(end)
        self.next = 0

    def put(self, job, features, item):
        self.members[job] = (features, item)
        return []

    def resolved(self, count):
        flushed = []
        while self.next < len(self.groups) and self.ends[self.next] <= count:
            tar, jobs = self.groups[self.next]
            self.next += 1
            done = [job for job in jobs if job in self.members]
            if not done:  # every file failed: nothing to write, a later run retries them
                continue
            members = [self.members.pop(job) for job in done]
            keyed = [(sample_id(job.output, self.out_dir), f, item)
                     for job, (f, item) in zip(done, members, strict=True)]  # fmt: skip
            future = self.writer.submit(write_tar, tar, keyed)
            flushed.append(([item for _, _, item in keyed], future))
        return flushed
