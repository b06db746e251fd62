"""``tritaudio features`` on Ray Data: a callable class for ``Dataset.map_batches`` and
the ``--engine ray`` run of a corpus (``pip install tritaudio[ray]``).

:class:`FeatureExtractor` turns a batch of audio into features on its actor's GPU (or
CPU), with the recipe, numbers and options of ``tritaudio features`` (the same code:
clips of one rate batched by length, each padded at its own edges, every clip's output
equal to the transform on that clip alone)::

    import ray
    from tritaudio.ray import FeatureExtractor

    ds = ray.data.read_binary_files("s3://corpus/", include_paths=True)
    ds = ds.map_batches(
        FeatureExtractor, fn_constructor_kwargs=dict(feature="logmel", sample_rate=16000),
        batch_size=32, num_gpus=1, compute=ray.data.ActorPoolStrategy(size=8),
    )

A row that cannot be decoded or computed is not an exception: its ``error`` column says
why and its features are an empty (0, 0, 0) array, so one bad file does not fail the job.
Ray is imported only when the engine runs, so ``import tritaudio.ray`` works without it.
"""

import argparse
import io
import json
import os
from pathlib import Path

import numpy as np
import torch

# Modules, not the package: tritaudio.cli (the command) imports this module for --engine ray.
import tritaudio.cli.features as cli_features
import tritaudio.cli.outputs as outputs
import tritaudio.cli.parallel as parallel
from tritaudio.cli.common import EXIT_FAILED, EXIT_OK, UsageError, all_finite, device_for

# The audio column, when none is named: read_binary_files' "bytes", decoded arrays
# (a "sample_rate" column beside them) or HF-style {"array", "sampling_rate"}, then paths.
AUDIO_COLUMNS = ("bytes", "audio", "array", "path")


def _config(feature, **options):
    config = argparse.Namespace(feature=feature, **options)
    try:  # every argument checked once, as the command checks them
        cli_features.feature_transform(config, config.sample_rate or 16000)
    except (ValueError, TypeError) as err:
        raise ValueError(f"FeatureExtractor: {err}") from None
    return config


class _Failures:
    """The ``report`` the command's compute code calls: failures kept by row label."""

    def __init__(self):
        self.errors = {}

    def fail(self, source, err):
        self.errors[source] = str(err) or type(err).__name__


class FeatureExtractor:
    """Features of a batch of audio, for ``ray.data.Dataset.map_batches``.

    Beyond torchaudio: the batch form of ``tritaudio features`` (its options, same names).

    Args:
        feature: "logmel" (default), "mel", "mfcc" or "spectrogram".
        sample_rate: resample every clip to this rate first (default: each clip's own).
        n_fft, win_length, hop_length, n_mels, n_mfcc, f_min, f_max, mel_scale: as
            ``tritaudio features`` (400, n_fft, 160, 80, 40, 0.0, half the rate, "htk").
        keep_channels: features per channel instead of on the channels' average.
        device: "auto" (cuda when the actor has a GPU), "cpu" or "cuda".
        batch_size: clips per computed batch inside one call (default: 32 on a GPU, 1
            on the CPU, as ``tritaudio features``).
        column: the audio column (default: the first of "bytes", "audio", "array",
            "path" present). Values: encoded bytes, paths, (time,) / (channels, time)
            arrays with their rate in ``rate_column``, or {"array", "sampling_rate"}.
        rate_column: the rate column of decoded arrays.
        threads: torch's intra-op threads in this actor (default: torch's choice).

    Returns (per batch): the input columns plus "features" (float32 (channels,
    features, frames) per row, (0, 0, 0) where it failed), "error" ("" or why),
    "sample_rate" and "num_frames" of the decoded audio, "feature_sample_rate".
    """

    def __init__(
        self, feature="logmel", *, sample_rate=None, n_fft=400, win_length=None,
        hop_length=160, n_mels=80, n_mfcc=40, f_min=0.0, f_max=None, mel_scale="htk",
        keep_channels=False, device="auto", batch_size=None, column=None,
        rate_column="sample_rate", threads=None,
    ):  # fmt: skip
        self.config = _config(
            feature, sample_rate=sample_rate, n_fft=n_fft, win_length=win_length,
            hop_length=hop_length, n_mels=n_mels, n_mfcc=n_mfcc, f_min=f_min, f_max=f_max,
            mel_scale=mel_scale,
        )  # fmt: skip
        if threads is not None:
            torch.set_num_threads(threads)
        self.device = device_for(device)
        self.keep_channels = keep_channels
        self.batch_size = parallel.batch_size_for(self.device, batch_size)
        self.column, self.rate_column = column, rate_column
        self.extractor_for = cli_features.extractors(self.config, self.device)

    def _column(self, batch):
        if self.column is not None:
            return self.column
        for name in AUDIO_COLUMNS:
            if name in batch:
                return name
        raise KeyError(f"FeatureExtractor: no audio column ({', '.join(AUDIO_COLUMNS)})")

    def _clip(self, label, value, rate):
        """A Clip of one row's audio (decoded here when it is bytes or a path)."""
        import tritaudio

        job = cli_features.Job(label, None)
        if isinstance(value, dict):
            value, rate = value["array"], value["sampling_rate"]
        if isinstance(value, bytes | bytearray | memoryview):
            waveform, rate = tritaudio.load(io.BytesIO(bytes(value)))
        elif isinstance(value, str | os.PathLike):
            waveform, rate = tritaudio.load(value)
        else:
            if rate is None:
                raise ValueError(f"decoded audio needs its rate in a {self.rate_column!r} column")
            waveform = torch.as_tensor(np.asarray(value, dtype=np.float32))
            waveform = waveform[None] if waveform.ndim == 1 else waveform
            rate = int(rate)
        if not all_finite(waveform):
            raise ValueError("it holds NaN or infinite samples")
        if not self.keep_channels and waveform.shape[0] != 1:
            waveform = waveform.mean(0, keepdim=True)
        return cli_features.Clip(job, waveform, rate)

    def compute(self, batch):
        """[(features or None, error, rate, frames)] per row of ``batch``."""
        values = batch[self._column(batch)]
        rates = batch.get(self.rate_column, [None] * len(values))
        labels = batch.get("path", [None] * len(values))
        failures, clips, rows = _Failures(), [], {}
        for index, value in enumerate(values):
            label = f"{index}:{labels[index] if labels[index] is not None else 'row'}"
            rows[label] = index
            try:
                clips.append(self._clip(label, value, rates[index]))
            except Exception as err:  # any reason a row cannot be read is its error
                failures.fail(label, err)
        results = [(None, "", 0, 0)] * len(values)
        with torch.inference_mode():
            done = cli_features.computed(
                clips, self.extractor_for, self.batch_size, self.device, failures
            )
            for clip, out in done:
                results[rows[clip.job.source]] = (out, "", clip.rate, clip.waveform.shape[-1])
        for label, error in failures.errors.items():
            results[rows[label]] = (None, error, 0, 0)
        return results

    def __call__(self, batch):
        results = self.compute(batch)
        empty = np.zeros((0, 0, 0), np.float32)
        out = dict(batch)
        out["features"] = [empty if f is None else np.ascontiguousarray(f.numpy())
                           for f, *_ in results]  # fmt: skip
        out["error"] = np.array([error for _, error, *_ in results], dtype=object)
        out["sample_rate"] = np.array([rate for *_, rate, _ in results], dtype=np.int64)
        out["num_frames"] = np.array([frames for *_, frames in results], dtype=np.int64)
        rate = self.config.sample_rate
        out["feature_sample_rate"] = np.array([rate or r for *_, r, _ in results], np.int64)
        return out


class _WriteFeatures(FeatureExtractor):
    """The engine's actor: computes a batch of (path, output) rows, writes each output
    atomically, and returns only the small rows the driver reports and lists."""

    def __init__(self, out_dir, file_format, **options):
        super().__init__(column="path", **options)
        self.out_dir, self.format = Path(out_dir), file_format

    def __call__(self, batch):
        rows = {key: [] for key in ("path", "error", "entry")}
        results = self.compute(batch)
        for path, output, (features, error, rate, frames) in zip(
            batch["path"], batch["output"], results, strict=True
        ):
            output = Path(output)
            if not error:
                try:
                    outputs.write_output(output, features, self.format)
                except Exception as err:
                    error = f"(writing {output}) {err}"
            item = ""
            if not error:
                rate_out = self.config.sample_rate or rate
                item = json.dumps(outputs.entry(path, output, self.out_dir, rate, frames,
                                                features.shape, rate_out, output))  # fmt: skip
            rows["path"].append(path)
            rows["error"].append(error)
            rows["entry"].append(item)
        return {key: np.array(values, dtype=object) for key, values in rows.items()}


def run_features(args):
    """``tritaudio features --engine ray``: the corpus through a Ray cluster's actors."""
    cli_features._check_arguments(args)
    if parallel.rank_from_environment() is not None:
        raise UsageError("--engine ray is one driver: do not start it under torchrun")
    if args.format == "webdataset":
        raise UsageError("--engine ray writes --format npy or pt (webdataset: --engine local)")
    try:
        import ray
    except ImportError:
        raise UsageError(
            "--engine ray needs Ray: pip install 'tritaudio[ray]' (or pip install 'ray[data]')"
        ) from None
    out_dir = Path(args.out)
    unreadable = []
    every_job = cli_features.collect_jobs(args.inputs, out_dir, f".{args.format}", unreadable)
    workers = args.workers or parallel.available_cores()
    if args.sample_rate is None:
        cli_features._check_one_rate(every_job, workers)
    jobs, todo, _ = outputs.plan_jobs(args, every_job)
    report = cli_features._Report(len(jobs), len(jobs) - len(todo), args.quiet)
    for err in unreadable:
        report.fail_folder(err)
    manifest = None
    if args.manifest:
        manifest = outputs.Manifest(args.manifest, args.shard_index, args.num_shards)
    try:
        if todo:
            _run_on_ray(ray, args, todo, report, manifest)
    except KeyboardInterrupt:
        report.interrupted(getattr(args, "argv", ["features", *args.inputs]))
        raise
    finally:
        if manifest is not None:
            manifest.close()
    if manifest is not None:
        covered = every_job if args.num_shards == 1 else jobs
        manifest.merge(covered, out_dir, lambda job: job.output, args.sample_rate)
    note = f", shard {args.shard_index} of {args.num_shards}" if args.num_shards > 1 else ""
    summary = report.summary()
    parallel.print_summary([summary], note + ", on Ray")
    return EXIT_FAILED if summary["failed"] else EXIT_OK


def _run_on_ray(ray, args, todo, report, manifest):
    if not ray.is_initialized():
        ray.init(address=args.address, log_to_driver=False, include_dashboard=False)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = not args.quiet
    resources = ray.cluster_resources()
    use_gpu = args.device != "cpu" and resources.get("GPU", 0) >= 1
    if args.device == "cuda" and not use_gpu:
        raise UsageError("--device cuda: the Ray cluster has no GPU")
    actors = int(resources["GPU"]) if use_gpu else max(1, int(resources.get("CPU", 1)))
    options = {
        key: getattr(args, key)
        for key in ("feature", "sample_rate", "n_fft", "win_length", "hop_length", "n_mels",
                    "n_mfcc", "f_min", "f_max", "mel_scale", "keep_channels", "batch_size")
    }  # fmt: skip
    options.update(device="cuda" if use_gpu else "cpu", threads=None if use_gpu else 1)
    batch_size = parallel.batch_size_for(torch.device(options["device"]), args.batch_size)
    options["batch_size"] = batch_size
    rows = [{"path": job.source, "output": os.fspath(job.output)} for job in todo]
    dataset = ray.data.from_items(rows, override_num_blocks=max(1, len(rows) // batch_size))
    results = dataset.map_batches(
        _WriteFeatures,
        fn_constructor_kwargs=dict(out_dir=args.out, file_format=args.format, **options),
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_gpus=1 if use_gpu else 0,
        num_cpus=1,
    )
    for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
        for path, error, item in zip(batch["path"], batch["error"], batch["entry"], strict=True):
            if error:
                report.fail(path, error)
                continue
            entry = json.loads(item)
            report.finished(entry["duration"])
            if manifest is not None:
                manifest.add([entry])
