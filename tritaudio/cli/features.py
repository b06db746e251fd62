"""``tritaudio features``: a folder (or list) of audio files in, one feature array per file
out, computed in batches on the GPU while worker threads decode the next files.

Every output equals the library transform applied to that file alone
(:func:`feature_transform` on the file mixed down to mono, then resampled): batches
hold clips of similar length padded with zeros, and each clip gets its own edge padding
before the STFT runs without ``center``, so padding never reaches the frames that are kept.
"""

import argparse
import collections
import concurrent.futures
import contextlib
import dataclasses
import itertools
import math
import os
import shlex
import sys
import time
from pathlib import Path

import torch

from tritaudio import transforms as T
from tritaudio._common import resampled_length
from tritaudio.cli import outputs, parallel
from tritaudio.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    all_finite,
    non_negative_int,
    positive_int,
)
from tritaudio.cli.outputs import plan_jobs, shard, stored_in, write_output  # noqa: F401

FEATURES = ("logmel", "mel", "mfcc", "spectrogram", "fbank", "kaldi-mfcc")
KALDI = {"fbank": "fbank", "kaldi-mfcc": "mfcc"}  # compliance.kaldi, Kaldi's own frames
AUDIO_SUFFIXES = frozenset(
    (".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".aifc", ".au",
     ".snd", ".w64", ".caf", ".rf64")
)  # fmt: skip
LIST_SUFFIXES = frozenset((".txt", ".lst", ".list"))
# Padded samples in one batch (a 1-hour clip is batched alone): bounds GPU memory.
BATCH_SAMPLES = 2**25
# Decoded clips sorted by length together, so that a batch holds clips of similar length.
BUCKET_BATCHES = 4

_EXAMPLES = """\
examples:
  tritaudio features corpus/ --out feats/                 # log-mel, one .npy per file
  tritaudio features corpus/ --out feats/ --feature mfcc --sample-rate 16000 --n-mels 80
  tritaudio features files.txt --out feats/ --format pt   # a list of paths, .pt outputs
  tritaudio features corpus/ --out feats/ --shard-index 0 --num-shards 4   # 1 of 4 machines

inputs: audio files; folders (searched recursively for audio files: wav, flac, ogg, opus,
mp3, aiff, au, w64, caf, rf64); or text files (.txt, .lst, .list) listing one path per line
('#' comments; relative paths are relative to the list file's folder).

outputs mirror the inputs: a folder's files keep their path below it, a list's files their
path below the deepest folder holding them all, a file given alone its name; the audio
suffix is replaced: corpus/a/b.flac -> feats/a/b.npy. Two inputs that map to the same output
are refused. Each output is written atomically and an existing output is skipped, so a
run that stopped can be restarted with the same command.

each output is float32 (channels, features, frames), channels = 1 (the file's channels
averaged) unless --keep-channels, and equals the library on that file alone:
  waveform, rate = tritaudio.load(path)
  waveform = waveform.mean(0, keepdim=True)              # unless --keep-channels
  waveform = tritaudio.functional.resample(waveform, rate, RATE)   # RATE: --sample-rate
  spectrogram: tritaudio.transforms.Spectrogram(n_fft, win_length, hop_length)(waveform)
  mel:         MelSpectrogram(RATE, n_fft, win_length, hop_length, f_min, f_max,
               n_mels=N_MELS, mel_scale=...)(waveform)          (power, not dB)
  logmel:      10 * log10(max(mel, 1e-10)), in dB, i.e. AmplitudeToDB("power", top_db=None)(mel)
  mfcc:        MFCC(RATE, n_mfcc, melkwargs=<the mel arguments>)(waveform)
               (dB with top_db=80 per file, then an orthonormal DCT-II)
  fbank:       compliance.kaldi.fbank(waveform, num_mel_bins=N_MELS, sample_frequency=RATE).T
  kaldi-mfcc:  compliance.kaldi.mfcc(... the same, num_ceps=N_MFCC).T  (Kaldi's 25 / 10 ms
               frames and defaults: --n-fft, --hop-length, --f-min and --f-max do not apply)
Defaults: n_fft 400, hop_length 160, n_mels 80 (25 ms frames every 10 ms at 16 kHz, as
speech models use), win_length = n_fft, n_mfcc 40, and torchaudio's other defaults: a Hann
window, centered frames with reflect padding, htk mel scale without filter normalisation.

sharding: the inputs' output paths are sorted and file k goes to shard k % num_shards, the
same split on every machine (with --format webdataset, tar k of --shard-size files). Under
`torchrun --nproc-per-node N -m tritaudio features ...` rank r takes shard r of the world
size, its own GPU (cuda:LOCAL_RANK) or the CPU, and rank 0 prints the job's summary.
--engine ray runs the files through a Ray cluster (pip install tritaudio[ray]; --address).
Exit code 1 when any file failed (each is named on stderr).

threads: on the CPU half the cores decode and the other half compute (torch's threads),
so that they do not oversubscribe; on a GPU up to 8 threads decode.
"""


def add_arguments(commands):
    """The ``features`` subcommand and its options."""

    parser = commands.add_parser(
        "features",
        help="audio files / folders -> one feature file per input, on the GPU",
        description="Compute log-mel (or mel, MFCC, spectrogram) features of many audio "
        "files in batches, on the GPU when there is one, decoding on worker threads.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders, lists")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the outputs")
    parser.add_argument("--feature", choices=FEATURES, default="logmel")
    parser.add_argument(
        "--sample-rate",
        type=positive_int,
        metavar="N",
        help="resample every file to N Hz first (default: the files' rate, which must then "
        "be the same for all of them)",
    )
    parser.add_argument("--n-fft", type=positive_int, default=400)
    parser.add_argument("--win-length", type=positive_int, help="default: n_fft")
    parser.add_argument("--hop-length", type=positive_int, default=160)
    parser.add_argument("--n-mels", type=positive_int, default=80)
    parser.add_argument("--n-mfcc", type=positive_int, default=40)
    parser.add_argument("--f-min", type=float, default=0.0, help="Hz")
    parser.add_argument("--f-max", type=float, help="Hz (default: half the sample rate)")
    parser.add_argument("--mel-scale", choices=("htk", "slaney"), default="htk")
    parser.add_argument(
        "--keep-channels",
        action="store_true",
        help="features per channel instead of on the channels' average",
    )
    outputs.add_arguments(parser)
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto: cuda when there is a GPU",
    )
    parser.add_argument(
        "--batch-size", type=positive_int,
        help="files per batch (default 32 on a GPU; 1 on the CPU, where batching only "
        "costs time)",
    )  # fmt: skip
    parser.add_argument(
        "--workers",
        type=positive_int,
        help="decoding threads (default: half this process's cores on the CPU, at least 2, "
        "the rest compute; up to 8 on a GPU)",
    )
    parser.add_argument(
        "--shard-index",
        type=non_negative_int,
        default=0,
        metavar="I",
        help="this process's share of the files, 0 to N - 1",
    )
    parser.add_argument(
        "--num-shards",
        type=positive_int,
        default=1,
        metavar="N",
        help="processes or machines sharing the files",
    )
    parallel.add_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def feature_transform(config, sample_rate, center=True):
    """The library transform the command computes, as a user would build it.

    ``logmel`` is LogMelSpectrogram with its defaults: the dB of the mel power, as
    MelSpectrogram then AmplitudeToDB("power", top_db=None), fused on the GPU.
    """
    stft = dict(n_fft=config.n_fft, win_length=config.win_length, hop_length=config.hop_length)
    mel = dict(
        **stft, f_min=config.f_min, f_max=config.f_max, n_mels=config.n_mels,
        mel_scale=config.mel_scale, center=center,
    )  # fmt: skip
    if config.feature in KALDI:
        n_ceps = dict(num_ceps=config.n_mfcc) if config.feature == "kaldi-mfcc" else {}
        options = dict(num_mel_bins=config.n_mels, sample_frequency=float(sample_rate), **n_ceps)
        return T.KaldiFeatures(KALDI[config.feature], **options)
    if config.feature == "spectrogram":
        return T.Spectrogram(**stft, center=center)
    if config.feature == "mel":
        return T.MelSpectrogram(sample_rate, **mel)
    if config.feature == "logmel":
        return T.LogMelSpectrogram(sample_rate, **mel)
    return T.MFCC(sample_rate, n_mfcc=config.n_mfcc, melkwargs=mel)


class Extractor:
    """The transforms for one (source rate, target rate), on the device.

    ``framewise`` is the transform (without MFCC's per-file dB floor and DCT) with
    ``center=False``, run on a batch whose rows carry their own edge padding; ``single``
    is :func:`feature_transform` itself, for clips too short for a batch and for retries.
    """

    def __init__(self, config, source_rate, device):
        self.feature = config.feature
        self.rate = config.sample_rate or source_rate
        self.resampler = None
        if self.rate != source_rate:
            self.resampler = T.Resample(source_rate, self.rate).to(device)
        self.single = feature_transform(config, self.rate).to(device)
        framed = feature_transform(config, self.rate, center=False).to(device)
        self.framewise = framed.MelSpectrogram if self.feature == "mfcc" else framed
        stft = self.framewise.mel_spectrogram if self.feature == "logmel" else self.framewise
        self.n_fft, self.hop = stft.n_fft, stft.hop_length
        self.edge = 0 if self.feature in KALDI else self.n_fft // 2  # Kaldi: snip_edges

    def resampled_length(self, length, source_rate):
        """The resampler's output length (torchaudio's formula, tritaudio._common)."""
        gcd = math.gcd(source_rate, self.rate)
        return resampled_length(length, source_rate // gcd, self.rate // gcd)

    def frames(self, length):
        return max((length + 2 * self.edge - self.n_fft) // self.hop + 1, 0)

    def finish(self, features):
        """The per-file stages of MFCC (dB floored at the file's maximum, DCT)."""
        if self.feature != "mfcc":
            return features
        db = self.single.amplitude_to_DB(features)
        return torch.matmul(db.transpose(-1, -2), self.single.dct_mat).transpose(-1, -2)


def _reflect_edges(batch, lengths, edge):
    """(rows, time) zero-padded rows -> (rows, time + 2 edge), each row reflect-padded at
    its own ends (what ``center=True`` does to the row alone), zeros after that."""
    out = torch.nn.functional.pad(batch, (edge, edge))
    if edge == 0:
        return out
    steps = torch.arange(1, edge + 1, device=batch.device)
    out[:, :edge] = batch[:, 1 : edge + 1].flip(-1)
    ends = torch.as_tensor(lengths, device=batch.device)[:, None]
    out.scatter_(1, edge + ends - 1 + steps, batch.gather(1, ends - 1 - steps))
    return out


@dataclasses.dataclass
class Clip:
    job: "Job"
    waveform: torch.Tensor  # (channels, time), float32, at the file's rate
    rate: int


@dataclasses.dataclass(frozen=True)
class Job:
    source: str
    output: Path


def compute_batch(clips, extractor, device):
    """Features of clips of one rate: a list of (channels, features, frames) CPU tensors."""
    counts = [clip.waveform.shape[0] for clip in clips]
    lengths = [clip.waveform.shape[-1] for clip in clips]
    batch = torch.zeros(sum(counts), max(lengths), pin_memory=device.type == "cuda")
    row = 0
    for clip in clips:
        batch[row : row + clip.waveform.shape[0], : clip.waveform.shape[-1]] = clip.waveform
        row += clip.waveform.shape[0]
    batch = batch.to(device, non_blocking=True)
    if extractor.resampler is not None:
        batch = extractor.resampler(batch)
        lengths = [extractor.resampled_length(n, clips[0].rate) for n in lengths]
    row_lengths = [n for n, count in zip(lengths, counts, strict=True) for _ in range(count)]
    features = extractor.framewise(_reflect_edges(batch, row_lengths, extractor.edge))
    outputs, row = [], 0
    for count, length in zip(counts, lengths, strict=True):
        kept = features[row : row + count, ..., : extractor.frames(length)]
        outputs.append(extractor.finish(kept))
        row += count
    # One transfer (and one wait for the GPU) for the whole batch, not one per clip.
    flat = torch.cat([out.reshape(-1) for out in outputs]).cpu()
    pieces = flat.split([out.numel() for out in outputs])
    return [piece.view(out.shape) for piece, out in zip(pieces, outputs, strict=True)]


def compute_single(clip, extractor, device):
    waveform = clip.waveform.to(device)
    if extractor.resampler is not None:
        waveform = extractor.resampler(waveform)
    return extractor.single(waveform).cpu()


def _batches(clips, extractor_for, batch_size, report):
    """Cut clips sorted by (rate, length) into batches of one rate; clips too short for
    their own reflect padding are reported as failed (the library raises for them)."""
    clips = sorted(clips, key=lambda clip: (clip.rate, clip.waveform.shape[-1]))
    batch = []
    for clip in clips:
        try:
            extractor = extractor_for(clip.rate)
        except (ValueError, TypeError) as err:  # e.g. arguments this file's rate cannot take
            report.fail(clip.job.source, err)
            continue
        n = clip.waveform.shape[-1]
        if extractor.resampler is not None:
            n = extractor.resampled_length(n, clip.rate)
        if n <= extractor.edge:
            report.fail(
                clip.job.source,
                f"too short: {n} samples at {extractor.rate} Hz; centered frames of --n-fft "
                f"{extractor.n_fft} need more than {extractor.edge}",
            )
            continue
        fits = batch and batch[0].rate == clip.rate and len(batch) < batch_size
        rows = sum(c.waveform.shape[0] for c in batch) + clip.waveform.shape[0]
        padded = rows * clip.waveform.shape[-1]  # sorted: the newest clip is the longest
        if batch and not (fits and padded <= BATCH_SAMPLES):
            yield batch
            batch = []
        batch.append(clip)
    if batch:
        yield batch


# ------------------------------------------------------------------------ inputs, outputs


def _read_list(path):
    """The audio paths of a list file: one per line, '#' comments, relative to its folder."""
    folder = path.parent
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise _usage(f"cannot read the list {path}: {err}") from None
    entries = (line.strip() for line in lines)
    return [folder / entry for entry in entries if entry and not entry.startswith("#")]


def _audio_files_below(folder, unreadable):
    """The audio files below ``folder``, sorted; a sub-folder that cannot be listed is
    appended to ``unreadable`` (its OSError) instead of being skipped silently."""
    files = []
    for parent, _, names in os.walk(folder, onerror=unreadable.append):
        for name in names:
            file = Path(parent) / name
            if file.suffix.lower() in AUDIO_SUFFIXES and file.is_file():
                files.append(file)
    return sorted(files)


def collect_jobs(inputs, out_dir, suffix, unreadable=None):
    """One Job per audio file of the inputs, its output path mirroring the input tree.
    Folders that cannot be listed are appended to ``unreadable`` (OSErrors)."""
    jobs = {}
    unreadable = [] if unreadable is None else unreadable
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            files = _audio_files_below(path, unreadable)
            root = path
        elif path.suffix.lower() in LIST_SUFFIXES and path.is_file():
            files = [p.absolute() for p in _read_list(path)]
            root = Path(os.path.commonpath([p.parent for p in files])) if files else path
        elif path.exists():
            files, root = [path], path.parent
        else:
            raise _usage(f"no such file or folder: {given}")
        for file in files:
            output = out_dir / file.relative_to(root).with_suffix(suffix)
            known = jobs.setdefault(output, str(file))
            if known != str(file) and Path(known).absolute() != file.absolute():
                raise _usage(f"{known} and {file} would both be written to {output}")
    return [Job(source, output) for output, source in jobs.items()]


def decode(job, keep_channels):
    """A Clip, or the exception that stopped this file from being read."""
    import tritaudio

    try:
        waveform, rate = tritaudio.load(job.source)
    except Exception as err:  # any reason a file cannot be read is reported, not raised
        return job, err
    if not all_finite(waveform):  # a float file can hold NaN or infinity
        return job, ValueError("it holds NaN or infinite samples")
    if not keep_channels and waveform.shape[0] != 1:
        waveform = waveform.mean(0, keepdim=True)
    return Clip(job, waveform, rate)


def decoded(jobs, keep_channels, workers, prefetch):
    """Decode jobs on worker threads, in order, with at most ``prefetch`` in flight."""
    with concurrent.futures.ThreadPoolExecutor(workers, "tritaudio-decode") as pool:
        pending = collections.deque()
        remaining = iter(jobs)
        for job in itertools.islice(remaining, prefetch):
            pending.append(pool.submit(decode, job, keep_channels))
        while pending:
            result = pending.popleft().result()
            for job in itertools.islice(remaining, 1):
                pending.append(pool.submit(decode, job, keep_channels))
            yield result


def _windows(items, size):
    items = iter(items)
    while window := list(itertools.islice(items, size)):
        yield window


def _usage(message):

    return UsageError(message)


# ------------------------------------------------------------------------------ the run


class _Report:
    """Counts, the progress bar (files/s and audio-hours/s) and the failure messages."""

    def __init__(self, total, skipped, quiet):
        from tqdm import tqdm

        self.total, self.skipped, self.done, self.failed = total, skipped, 0, []
        self.audio_seconds = 0.0
        self.start = time.perf_counter()
        self.bar = tqdm(
            total=total, initial=skipped, unit="file", disable=quiet, file=sys.stderr,
            dynamic_ncols=True, smoothing=0.1,
        )  # fmt: skip

    def finished(self, audio_seconds):
        self.done += 1
        self.audio_seconds += audio_seconds
        self.bar.update(1)
        self.bar.set_postfix_str(f"{self.hours_per_second():.3g} audio-h/s", refresh=False)

    def fail(self, source, err):
        reason = str(err) or type(err).__name__
        self.failed.append(source)
        self.bar.write(f"failed: {source}: {reason}", file=sys.stderr)
        self.bar.update(1)

    def fail_folder(self, err):
        self.failed.append(f"{err.filename} (a folder that cannot be read)")
        self.bar.write(f"failed: cannot read the folder {err.filename}: {err.strerror}",
                       file=sys.stderr)  # fmt: skip

    def interrupted(self, argv):
        self.bar.close()
        left = self.total - self.skipped - self.done - len(self.failed)
        print(
            f"interrupted: done {self.done}, skipped {self.skipped}, failed "
            f"{len(self.failed)}, not done {left} (of {self.total} files); every output "
            "written is complete. To resume (outputs already written are skipped):\n"
            f"  tritaudio {shlex.join(argv)}",
            file=sys.stderr,
            flush=True,
        )

    def hours_per_second(self):
        return self.audio_seconds / 3600 / max(time.perf_counter() - self.start, 1e-9)

    def summary(self):
        self.bar.close()
        return dict(
            done=self.done, skipped=self.skipped, failed=self.failed, total=self.total,
            audio_seconds=self.audio_seconds, seconds=time.perf_counter() - self.start,
        )  # fmt: skip


def _check_arguments(args):
    if args.shard_index >= args.num_shards:
        raise _usage(f"--shard-index must be below --num-shards ({args.num_shards})")
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise _usage(f"--out {args.out} is a file, not a folder")
    try:  # every transform argument is checked once, before any file is read
        feature_transform(args, args.sample_rate or 16000)
    except (ValueError, TypeError) as err:
        raise _usage(str(err)) from None


def _header_rates(jobs, workers):
    """{sample rate: files} from the headers of ``jobs`` (files whose header cannot be
    read are left out: they fail, named, when they are decoded). libsndfile's header
    alone: ``tritaudio.info`` also checks that the file is whole, which reads it."""
    import soundfile

    def rate(job):
        try:
            with soundfile.SoundFile(os.fsencode(job.source)) as sound_file:
                return sound_file.samplerate
        except Exception:  # reported when the file is decoded
            return None

    with concurrent.futures.ThreadPoolExecutor(workers, "tritaudio-info") as pool:
        rates = collections.Counter(pool.map(rate, jobs))
    rates.pop(None, None)
    return rates


def _check_one_rate(jobs, workers):
    """Without --sample-rate, the files must share one rate: features of different rates
    have different frame rates and mel bands, and would not fit one model."""
    rates = _header_rates(jobs, workers)
    if len(rates) > 1:
        found = ", ".join(f"{rate} Hz ({count} files)" for rate, count in sorted(rates.items()))
        raise _usage(
            f"the inputs have different sample rates: {found}; give --sample-rate N "
            "(16000 for speech models) to resample every file to N Hz"
        )


def run_features(args):

    _check_arguments(args)
    rank = parallel.rank_from_environment()
    parallel.apply_rank(args, rank)
    device = parallel.device_for_rank(args.device, rank)
    args.workers, threads = parallel.thread_plan(device, args.workers, rank)
    args.batch_size = parallel.batch_size_for(device, args.batch_size)
    unreadable = []
    suffix = ".npy" if args.format == "webdataset" else f".{args.format}"
    every_job = collect_jobs(args.inputs, Path(args.out), suffix, unreadable)
    if args.sample_rate is None:
        _check_one_rate(every_job, args.workers)  # all shards: the same answer on each
    jobs, todo, groups = plan_jobs(args, every_job)
    report = _Report(len(jobs), len(jobs) - len(todo), args.quiet)
    for err in unreadable:
        report.fail_folder(err)
    manifest = None
    if args.manifest:
        manifest = outputs.Manifest(args.manifest, args.shard_index, args.num_shards)
    job = parallel.Job(rank) if rank is not None else None
    parallel.keep_freed_memory()
    try:
        with parallel.torch_threads(threads):
            _run(args, device, todo, report, groups, manifest)
    except KeyboardInterrupt:
        report.interrupted(getattr(args, "argv", ["features", *args.inputs]))
        raise
    finally:
        if manifest is not None:
            manifest.close()
    summaries = [report.summary()] if job is None else job.gather(report.summary())
    if job is not None:
        job.close()
    if rank is not None and rank.rank != 0:
        return EXIT_FAILED if any(s["failed"] for s in summaries) else EXIT_OK
    if manifest is not None:
        whole = rank is not None or args.num_shards == 1
        covered = every_job if whole else jobs
        manifest.merge(covered, Path(args.out), stored_in(args, every_job), args.sample_rate)
    note = ""
    if rank is not None:
        note = f", {rank.world_size} ranks"
    elif args.num_shards > 1:
        note = f", shard {args.shard_index} of {args.num_shards}"
    parallel.print_summary(summaries, note)
    return EXIT_FAILED if any(s["failed"] for s in summaries) else EXIT_OK


def extractors(args, device):
    """rate -> the Extractor for files of that rate, built once per rate."""
    built = {}

    def extractor_for(rate):
        if rate not in built:
            built[rate] = Extractor(args, rate, device)
        return built[rate]

    return extractor_for


def computed(clips, extractor_for, batch_size, device, report):
    """(clip, features) of decoded clips, in batches; what fails is ``report.fail``-ed."""
    for batch in _batches(clips, extractor_for, batch_size, report):
        for clip, features in _compute(batch, extractor_for, device, report):
            if not all_finite(features):  # e.g. samples too loud
                report.fail(clip.job.source, "its features are not finite")
                continue
            yield clip, features


def _run(args, device, todo, report, groups=None, manifest=None):
    """Decode, compute and write ``todo``, counting each file in ``report``."""
    extractor_for = extractors(args, device)
    prefetch = max(2 * args.batch_size, 2 * args.workers)
    clips = decoded(todo, args.keep_channels, args.workers, prefetch)
    tar_of = {job: tar for tar, jobs in groups or () for job in jobs}
    # Closed on the way out (Ctrl-C included), so that the decoding threads stop.
    with (
        contextlib.closing(clips),
        concurrent.futures.ThreadPoolExecutor(2, "tritaudio-write") as writer,
    ):
        sink = outputs.FileSink(args.format, writer)
        if groups is not None:
            sink = outputs.TarSink(groups, Path(args.out), writer)
        writes, resolved = collections.deque(), 0
        with torch.inference_mode():
            for window in _windows(clips, BUCKET_BATCHES * args.batch_size):
                ready = []
                for item in window:
                    if isinstance(item, Clip):
                        ready.append(item)
                    else:
                        report.fail(item[0].source, item[1])
                for clip, features in computed(ready, extractor_for, args.batch_size, device,
                                               report):  # fmt: skip
                    stored = tar_of.get(clip.job, clip.job.output)
                    item = outputs.manifest_entry(args, clip, features, stored)
                    writes.extend(sink.put(clip.job, features, item))
                    _collect(writes, report, manifest, block=False)
                resolved += len(window)
                writes.extend(sink.resolved(resolved))
        _collect(writes, report, manifest, block=True)


def _compute(batch, extractor_for, device, report):
    """(clip, features) for each clip computed; a batch that fails is retried clip by clip
    so that only the clip at fault is reported."""
    extractor = extractor_for(batch[0].rate)
    if len(batch) > 1:
        try:
            return list(zip(batch, compute_batch(batch, extractor, device), strict=True))
        except Exception:  # retried one by one below, where the error names its file
            pass
    results = []
    for clip in batch:
        try:
            results.append((clip, compute_single(clip, extractor, device)))
        except Exception as err:
            report.fail(clip.job.source, err)
    return results


def _collect(writes, report, manifest, block):
    while writes and (block or writes[0][1].done()):
        items, future = writes.popleft()
        try:
            future.result()
        except Exception as err:
            for item in items:
                report.fail(f"{item['path']} (writing {item['features']})", err)
            continue
        for item in items:
            report.finished(item["duration"])
        if manifest is not None:
            manifest.add(items)
