"""``tritaudio features`` past one process: torchrun ranks (2 CPU processes over gloo),
WebDataset shards, the manifest, and how its threads share the cores."""

import csv
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import DATA

import tritaudio
from tritaudio import cli
from tritaudio.cli import parallel

N_CLIPS = 12


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """12 speech clips of different lengths in two folders, and their reference outputs
    (the command in one process, npy)."""
    root = tmp_path_factory.mktemp("corpus")
    speech, rate = tritaudio.load(DATA / "speech_en_16k.flac")
    for index in range(N_CLIPS):
        folder = root / f"spk{index % 2}"
        folder.mkdir(exist_ok=True)
        start = 997 * index
        clip = speech[:, start : start + 4000 + 731 * index]
        tritaudio.save(folder / f"utt{index:02d}.wav", clip, rate)
    reference = tmp_path_factory.mktemp("reference")
    assert cli.main(["features", str(root), "--out", str(reference), "--quiet"]) == 0
    return root, reference


def _ids(corpus_root):
    return sorted(p.relative_to(corpus_root).with_suffix("").as_posix()
                  for p in corpus_root.rglob("*.wav"))  # fmt: skip


def _read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_torchrun_two_cpu_ranks_cover_the_corpus_once(corpus, tmp_path):
    root, reference = corpus
    out = tmp_path / "out"
    manifest = tmp_path / "manifest.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
         "--standalone", "-m", "tritaudio", "features", str(root), "--out", str(out),
         "--device", "cpu", "--quiet", "--manifest", str(manifest)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # rank 0 alone prints the job's summary: every file, once
    summaries = [line for line in result.stdout.splitlines() if line.startswith("done ")]
    assert len(summaries) == 1, result.stdout
    assert summaries[0].startswith(f"done {N_CLIPS}, skipped 0, failed 0 (of {N_CLIPS} files, 2")
    # each rank wrote its own part of the manifest: disjoint, together the corpus
    parts = sorted((tmp_path / "manifest.jsonl.parts").glob("*.jsonl"))
    assert [p.name for p in parts] == ["part-00000-of-00002.jsonl", "part-00001-of-00002.jsonl"]
    by_rank = [{item["id"] for item in _read_jsonl(part)} for part in parts]
    assert by_rank[0] and by_rank[1] and not by_rank[0] & by_rank[1]
    assert sorted(by_rank[0] | by_rank[1]) == _ids(root)
    assert [item["id"] for item in _read_jsonl(manifest)] == _ids(root)
    for key in _ids(root):  # the same numbers as one process
        ours, ref = np.load(out / f"{key}.npy"), np.load(reference / f"{key}.npy")
        assert ours.shape == ref.shape and np.array_equal(ours, ref), key


def test_torchrun_rank_refuses_a_shard_given_twice(monkeypatch, capsys, corpus, tmp_path):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    code = cli.main(["features", str(corpus[0]), "--out", str(tmp_path), "--num-shards", "2"])
    assert code == 2 and "RANK / WORLD_SIZE" in capsys.readouterr().err


def test_rank_from_the_environment():
    env = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
    assert parallel.rank_from_environment(env) == parallel.Rank(3, 4, 1, 2)
    assert parallel.rank_from_environment({"RANK": "0", "WORLD_SIZE": "1"}) is None
    assert parallel.rank_from_environment({}) is None


def test_threads_do_not_oversubscribe_the_cores(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(parallel, "available_cores", lambda rank=None: 2)
    assert parallel.thread_plan(cpu, None) == (2, 1)  # two decoders, torch keeps one core
    assert parallel.thread_plan(cpu, 1) == (1, 1)
    monkeypatch.setattr(parallel, "available_cores", lambda rank=None: 16)
    assert parallel.thread_plan(cpu, None) == (8, 8)
    assert parallel.thread_plan(cuda, None) == (8, None)  # torch's threads left alone
    monkeypatch.undo()
    rank = parallel.Rank(0, 2, 0, 2)
    assert parallel.available_cores(rank) == max(1, parallel.available_cores() // 2)


def test_batch_size_default_is_small_on_the_cpu():
    assert parallel.batch_size_for(torch.device("cpu"), None) == 1
    assert parallel.batch_size_for(torch.device("cuda"), None) == 32
    assert parallel.batch_size_for(torch.device("cpu"), 16) == 16


def test_torch_threads_are_restored_after_a_run(corpus, tmp_path):
    before = torch.get_num_threads()
    assert cli.main(["features", str(corpus[0]), "--out", str(tmp_path), "--quiet"]) == 0
    assert torch.get_num_threads() == before


# ------------------------------------------------------------------ WebDataset, manifest


def _tar_members(path):
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def test_webdataset_shards_hold_the_npy_features_and_their_entries(corpus, tmp_path):
    root, reference = corpus
    out = tmp_path / "wds"
    args = ["features", str(root), "--out", str(out), "--format", "webdataset",
            "--shard-size", "5", "--quiet", "--manifest", str(tmp_path / "m.jsonl")]  # fmt: skip
    assert cli.main(args) == 0
    tars = sorted(out.glob("*.tar"))
    assert [t.name for t in tars] == ["shard-000000.tar", "shard-000001.tar", "shard-000002.tar"]
    seen = []
    for tar in tars:
        members = _tar_members(tar)
        keys = sorted({name.rsplit(".", 1)[0] for name in members})
        assert sorted(members) == sorted([f"{k}.npy" for k in keys] + [f"{k}.json" for k in keys])
        for key in keys:  # the .npy member is the npy output, byte for byte
            assert members[f"{key}.npy"] == (reference / f"{key}.npy").read_bytes(), key
            meta = json.loads(members[f"{key}.json"])
            assert meta["id"] == key and meta["features"] == tar.name
            assert meta["feature_shape"] == list(np.load(reference / f"{key}.npy").shape)
        seen += keys
    assert seen == _ids(root)  # sorted, each once, 5 per tar
    # a second run skips every tar; two shards write the same tars, byte for byte
    stamps = {t: t.stat().st_mtime_ns for t in tars}
    assert cli.main(args) == 0
    assert stamps == {t: t.stat().st_mtime_ns for t in tars}
    for index in (0, 1):
        sharded = ["features", str(root), "--out", str(tmp_path / "two"), "--format",
                   "webdataset", "--shard-size", "5", "--quiet", "--shard-index", str(index),
                   "--num-shards", "2"]  # fmt: skip
        assert cli.main(sharded) == 0
    for tar in tars:
        assert (tmp_path / "two" / tar.name).read_bytes() == tar.read_bytes()


def test_manifest_jsonl_and_csv_parse_with_standard_readers(corpus, tmp_path):
    root, reference = corpus
    for name in ("m.jsonl", "m.csv"):
        path = tmp_path / name
        args = ["features", str(root), "--out", str(tmp_path / "out"), "--quiet",
                "--manifest", str(path)]  # fmt: skip
        assert cli.main(args) == 0
    rows = _read_jsonl(tmp_path / "m.jsonl")
    with open(tmp_path / "m.csv", newline="") as file:
        table = list(csv.DictReader(file))
    assert [r["id"] for r in rows] == [r["id"] for r in table] == _ids(root)
    for row, line in zip(rows, table, strict=True):
        info = tritaudio.info(row["path"])
        shape = list(np.load(reference / row["features"]).shape)
        assert row["sample_rate"] == info.sample_rate == int(line["sample_rate"])
        assert row["num_frames"] == info.num_frames == int(line["num_frames"])
        assert row["duration"] == pytest.approx(info.num_frames / info.sample_rate)
        assert float(line["duration"]) == pytest.approx(row["duration"])
        assert row["feature_shape"] == shape == json.loads(line["feature_shape"])
        assert row["feature_sample_rate"] == 16000 and line["features"] == row["features"]
    # pandas reads both as a table where it is installed (HF datasets' json / csv loaders
    # read the same files through pyarrow)
    pandas = pytest.importorskip("pandas")
    assert list(pandas.read_json(tmp_path / "m.jsonl", lines=True)["id"]) == _ids(root)
    assert list(pandas.read_csv(io.StringIO((tmp_path / "m.csv").read_text()))["id"]) == _ids(root)


def test_manifest_after_a_stopped_run_lists_every_output_once(corpus, tmp_path):
    root, _ = corpus
    out, manifest = tmp_path / "out", tmp_path / "m.jsonl"
    args = ["features", str(root), "--out", str(out), "--quiet", "--manifest", str(manifest)]
    assert cli.main(args) == 0
    part = next((tmp_path / "m.jsonl.parts").glob("*.jsonl"))
    lines = part.read_text().splitlines()
    # as a run killed mid-line leaves it: two entries lost, the last one cut, one output gone
    part.write_text("\n".join(lines[2:-1]) + "\n" + lines[-1][:20])
    removed = json.loads(lines[3])["id"]
    (out / f"{removed}.npy").unlink()
    assert cli.main(args) == 0  # recomputes the removed output, rebuilds the lost entries
    assert [item["id"] for item in _read_jsonl(manifest)] == _ids(root)
    first = json.loads(lines[0])
    assert _read_jsonl(manifest)[0] == first


# ------------------------------------------------------------------------------- install


def test_demo_without_matplotlib_says_what_to_install(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an install without it sees
    code = cli.main(["demo", "--out", str(tmp_path / "demo.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "pip install 'tritaudio[demo]'" in err
    assert not (tmp_path / "demo.png").exists()


def test_pyproject_keeps_heavy_packages_in_extras():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    project = project["project"]
    required = " ".join(project["dependencies"])
    assert "matplotlib" not in required and "ray" not in required
    triton = next(d for d in project["dependencies"] if d.startswith("triton"))
    assert ">=3.6,<3.10" in triton and "sys_platform == 'linux'" in triton
    extras = project["optional-dependencies"]
    assert extras["demo"] == ["matplotlib"]
    assert any(d.startswith("ray[data]") for d in extras["ray"])
    assert "matplotlib" in extras["test"]  # the demo's test draws the picture
