"""Throughput of ``tritaudio features`` (the command's whole pipeline: decode on threads,
batch, compute, write .npy): 1,000 FLAC clips of 10 s at 16 kHz on a GPU, 40 on the CPU.
extra_info holds audio-hours per second and files per second; ``decode only`` is the
same files through the decoding threads alone, the ceiling the GPU pipeline can reach."""

import concurrent.futures
import os
import shutil

import pytest
import torch

import tritaudio
from tritaudio import cli
from tritaudio.cli.demo import bundled_clip

SECONDS, RATE = 10, 16000
CLIPS = {"cuda": 1000, "cpu": 40}


def _device_name(device):
    return torch.cuda.get_device_name() if device == "cuda" else "cpu"


@pytest.fixture(scope="module", params=["cuda", "cpu"])
def corpus(request, tmp_path_factory):
    """(device, folder of clips): speech tiled to 10 s, each clip another offset plus a
    little noise, so that FLAC compresses as it does real recordings."""
    device = request.param
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no GPU: the 1,000-clip run needs one")
    folder = tmp_path_factory.mktemp(f"corpus-{device}")
    speech, _ = tritaudio.load(bundled_clip())
    tiled = speech.repeat(1, -(-SECONDS * RATE // speech.shape[-1]) + 1)
    generator = torch.Generator().manual_seed(0)
    for index in range(CLIPS[device]):
        offset = index * 997 % speech.shape[-1]
        clip = tiled[:, offset : offset + SECONDS * RATE]
        clip = clip + 1e-3 * torch.randn(clip.shape, generator=generator)
        subfolder = folder / f"speaker{index % 20:02d}"
        subfolder.mkdir(exist_ok=True)
        tritaudio.save(subfolder / f"utt{index:04d}.flac", clip.clamp(-1, 1), RATE)
    return device, folder


def _record(benchmark, device, files):
    seconds = benchmark.stats.stats.median
    benchmark.extra_info["device"] = _device_name(device)
    benchmark.extra_info["files"] = files
    benchmark.extra_info["files/s"] = files / seconds
    benchmark.extra_info["audio-hours/s"] = files * SECONDS / 3600 / seconds


@pytest.mark.parametrize(
    "name, extra",
    [("logmel", []), ("logmel, resampled to 22.05 kHz", ["--sample-rate", "22050"]),
     ("mfcc", ["--feature", "mfcc"])],
)  # fmt: skip
def test_features_throughput(benchmark, corpus, tmp_path, name, extra):
    device, folder = corpus
    out = tmp_path / "feats"

    def fresh_output():  # every round computes every file (nothing to skip)
        shutil.rmtree(out, ignore_errors=True)

    def run():
        code = cli.main(
            ["features", str(folder), "--out", str(out), "--device", device, "--quiet",
             "--batch-size", "64", *extra]
        )  # fmt: skip
        assert code == 0

    benchmark.group = f"tritaudio features, {CLIPS[device]} x {SECONDS} s, {device}"
    benchmark.pedantic(run, setup=fresh_output, rounds=3, iterations=1, warmup_rounds=1)
    _record(benchmark, device, CLIPS[device])


def test_decode_only(benchmark, corpus):
    device, folder = corpus
    paths = sorted(folder.rglob("*.flac"))
    workers = min(8, os.cpu_count() or 1)

    def run():
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            for _ in pool.map(tritaudio.load, paths):
                pass

    benchmark.group = f"tritaudio features, {CLIPS[device]} x {SECONDS} s, {device}"
    benchmark.pedantic(run, rounds=3, iterations=1)
    _record(benchmark, device, len(paths))
