"""tritaudio.ray on a real local Ray cluster (2 CPUs, CPU actors; nothing mocked): the
map_batches class and ``tritaudio features --engine ray`` give the bytes ``tritaudio
features`` writes, a killed driver's run resumes, a corrupt file is reported, not fatal.
Skipped where Ray (``pip install 'tritaudio[ray]'``) is not installed."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from helpers import DATA

import tritaudio
from tritaudio import cli

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
from tritaudio.ray import FeatureExtractor  # noqa: E402

N_CLIPS = 40


@pytest.fixture(scope="module")
def cluster():
    """A local cluster of 2 CPUs; its address lets the command's driver join it."""
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield context.address_info["gcs_address"]
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """40 speech clips (0.25 to 1.2 s) in 4 folders and a corrupt file; the outputs of
    ``tritaudio features`` on them (one process, the local engine)."""
    root = tmp_path_factory.mktemp("corpus")
    speech, rate = tritaudio.load(DATA / "speech_en_16k.flac")
    for index in range(N_CLIPS):
        folder = root / f"spk{index % 4}"
        folder.mkdir(exist_ok=True)
        start = 1013 * index % (speech.shape[-1] - 20000)
        clip = speech[:, start : start + 4000 + 401 * index]
        tritaudio.save(folder / f"utt{index:02d}.wav", clip, rate)
    (root / "spk0" / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(99))
    reference = tmp_path_factory.mktemp("reference")
    assert cli.main(["features", str(root), "--out", str(reference), "--quiet"]) == 1
    assert len(list(reference.rglob("*.npy"))) == N_CLIPS
    return root, reference


def _expected(reference, root, path):
    return np.load(reference / os.path.relpath(path, root).replace(".wav", ".npy"))


def test_map_batches_on_bytes_equals_the_command(cluster, corpus):
    root, reference = corpus
    dataset = ray.data.read_binary_files(str(root), include_paths=True)
    rows = dataset.map_batches(
        FeatureExtractor, fn_constructor_kwargs=dict(threads=1), batch_size=8, num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=1),  # the other CPU reads the files
    ).take_all()  # fmt: skip
    assert len(rows) == N_CLIPS + 1
    for row in rows:
        if row["path"].endswith("corrupt.wav"):  # reported in its row; the job goes on
            assert row["error"] and row["features"].shape == (0, 0, 0)
            continue
        assert row["error"] == "" and row["sample_rate"] == 16000
        expected = _expected(reference, root, row["path"])
        assert np.array_equal(row["features"], expected), row["path"]
        assert row["feature_sample_rate"] == 16000


def test_map_batches_on_decoded_arrays(cluster, corpus):
    root, reference = corpus
    paths = sorted(root.rglob("utt0*.wav"))[:3]
    items = []
    for path in paths:
        waveform, rate = tritaudio.load(path)
        items.append({"array": waveform[0].numpy(), "sample_rate": rate, "path": str(path)})
    items.append({"array": np.full(800, np.nan, np.float32), "sample_rate": 16000,
                  "path": "nan"})  # fmt: skip
    rows = ray.data.from_items(items).map_batches(
        FeatureExtractor, fn_constructor_kwargs=dict(threads=1, feature="logmel"),
        batch_size=4, num_cpus=1, compute=ray.data.ActorPoolStrategy(size=1),
    ).take_all()  # fmt: skip
    by_path = {row["path"]: row for row in rows}
    for path in paths:
        assert np.array_equal(by_path[str(path)]["features"], _expected(reference, root, path))
    assert "NaN" in by_path["nan"]["error"]


def test_extractor_checks_its_options():
    with pytest.raises(ValueError, match="win_length"):
        FeatureExtractor(n_fft=400, win_length=500)


def _written(out):
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npy"))


def test_engine_resumes_after_the_driver_is_killed(cluster, corpus, tmp_path):
    root, reference = corpus
    out = tmp_path / "out"
    command = [sys.executable, "-m", "tritaudio", "features", str(root), "--out", str(out),
               "--engine", "ray", "--address", cluster, "--batch-size", "2", "--quiet"]  # fmt: skip
    driver = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(out.rglob("*.npy")) and driver.poll() is None:
        assert time.monotonic() < deadline, "the Ray run wrote nothing in 120 s"
        time.sleep(0.02)
    driver.send_signal(signal.SIGKILL)
    driver.communicate()
    assert driver.returncode == -signal.SIGKILL, "the run finished before it was killed"
    first = len(_written(out))
    assert 0 < first < N_CLIPS
    result = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert result.returncode == 1, result.stderr  # the corrupt file, named
    assert f"failed: {root / 'spk0' / 'corrupt.wav'}" in result.stderr
    summary = next(line for line in result.stdout.splitlines() if line.startswith("done "))
    done, skipped = (int(part.split()[-1]) for part in summary.split(",")[:2])
    assert skipped >= first and done + skipped == N_CLIPS and "failed 1" in summary
    assert _written(out) == _written(reference)
    for name in _written(out):  # bitwise the local engine's outputs
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name


def test_engine_without_ray_names_the_extra(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an install without Ray sees
    code = cli.main(["features", str(DATA), "--out", str(tmp_path), "--engine", "ray",
                     "--sample-rate", "16000"])  # fmt: skip
    assert code == 2 and "pip install 'tritaudio[ray]'" in capsys.readouterr().err
    assert torch.get_num_threads() >= 1
