"""The benchmark runner (benchmarks/, not part of this test run otherwise): at the tiny size
it writes a valid results file and the report regenerates from it; the report's target
verdicts, the schema check and the merging of runs. No timing is checked."""

import copy
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bench(monkeypatch):
    """The benchmarks package (it lives next to tests/, outside the installed package)."""
    monkeypatch.syspath_prepend(str(ROOT))
    import benchmarks.runner

    return benchmarks


def _readme(tmp_path, report):
    readme = tmp_path / "README.md"
    readme.write_text(f"# project\n\n{report.START}\nstale\n{report.END}\n\nafter\n")
    return readme


def _run_tiny(bench, tmp_path, *extra):
    readme = _readme(tmp_path, bench.report)
    out = tmp_path / "results"
    argv = ["--grid", "tiny", "--device", "cpu", "--cases", "MelSpectrogram", "--modes",
            "forward", "--out", str(out), "--readme", str(readme), "--copy-bytes", "1048576",
            "--threads", "1", *extra]  # fmt: skip
    assert bench.runner.main(argv) == 0
    return out, readme


def test_runner_writes_a_valid_results_file_and_the_report(bench, tmp_path):
    out, readme = _run_tiny(bench, tmp_path)
    files = list(out.glob("*.json"))
    assert len(files) == 1 and files[0].name.startswith("cpu-")
    data = bench.schema.validate(json.loads(files[0].read_text()))
    assert data["grid"] == "tiny" and data["device"]["type"] == "cpu"
    assert data["device"]["copy_gbps"] > 0 and data["versions"]["torch"]
    rows = {row["impl"]: row for row in data["results"]}
    assert {"tritaudio-torch", "tritaudio-triton"} <= set(rows)
    impls = set(rows) | {row["impl"] for row in data["skipped"]}
    assert impls == {"tritaudio-torch", "tritaudio-triton", "torchaudio"}
    # 2 x 2000 samples in, 2 x 40 mel bands x 26 frames out (n_fft 200, hop 80, centered).
    for row in rows.values():
        assert row["size"] == {"batch": 2, "seconds": 0.25, "sample_rate": 8000}
        assert row["bytes_moved"] == (2 * 2000 + 2 * 40 * 26) * 4
        assert 0 < row["p20_ms"] <= row["median_ms"] <= row["p80_ms"]
        assert row["peak_memory_bytes"] is None and row["inputs_rotated"] == 16
    tables = (out / "README.md").read_text()
    assert "| MelSpectrogram | forward | 2 x 0.25 s @ 8 kHz |" in tables
    assert files[0].name in tables and "CPU run" in tables
    section = readme.read_text()
    assert "stale" not in section and section.endswith("after\n")
    assert "No GPU run has been recorded yet" in section and "| not measured |" in section


def _gpu_results(bench, mel_ms, mel_backward_ms):
    """A results file as a GPU run would write it: MelSpectrogram at 32 x 10 s, torchaudio
    3 ms forward and backward, tritaudio ``mel_ms`` / ``mel_backward_ms``."""
    size = dict(batch=32, seconds=10, sample_rate=16000)
    rows = []
    for mode, ours_ms in (("forward", mel_ms), ("forward+backward", mel_backward_ms)):
        for impl, ms in (("tritaudio-triton", ours_ms), ("torchaudio", 3.0)):
            rows.append(dict(
                family="spectral", case="MelSpectrogram", mode=mode, impl=impl, size=size,
                device="cuda", median_ms=ms, p20_ms=ms, p80_ms=ms, reps=10, inputs_rotated=1,
                bytes_moved=10**8, gbps=10**8 / ms / 1e6, peak_memory_bytes=2**20,
            ))  # fmt: skip
    return dict(
        schema=bench.schema.SCHEMA, created="2030-01-02T00:00:00+00:00", date="2030-01-02",
        grid="default", settings={}, results=rows, skipped=[], git=dict(commit=None, dirty=None),
        device=dict(type="cuda", name="Test GPU", copy_gbps=3000.0, copy_bytes=2**30),
        versions=dict(python="3", torch="2", triton="3", torchaudio="2", tritaudio="0",
                      cuda="12"),
    )  # fmt: skip


def test_target_verdicts_come_from_gpu_results(bench, tmp_path):
    import benchmarks.targets as targets

    mel = [t for t in targets.TARGETS if t.issue == 3]
    verdicts = [targets.evaluate(t, [_gpu_results(bench, 1.0, 2.0)]) for t in mel]
    assert [v["status"] for v in verdicts] == ["met", "not met"]
    assert [v["value"] for v in verdicts] == ["3.00x", "1.50x"]
    assert verdicts[0]["source"] == "Test GPU, 2030-01-02"
    cpu = _gpu_results(bench, 1.0, 1.0)
    cpu["device"]["type"] = "cpu"
    assert targets.evaluate(mel[0], [cpu])["status"] == "not measured"
    resample = next(t for t in targets.TARGETS if t.issue == 4)
    verdict = targets.evaluate(resample, [_gpu_results(bench, 1.0, 1.0)])
    assert verdict == dict(status="not measured", value="", source="not in the GPU results")


def test_report_shows_the_newest_gpu_run(bench, tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "test-gpu-2030-01-02.json").write_text(json.dumps(_gpu_results(bench, 1.0, 2.0)))
    readme = _readme(tmp_path, bench.report)
    written = bench.report.regenerate(out, readme)
    section = readme.read_text()
    assert "Measured on **Test GPU, 2030-01-02**" in section
    assert "| MelSpectrogram | forward | 32 x 10 s @ 16 kHz |" in section
    assert "| **met** |" in section and "| **not met** |" in section
    assert "3.00x" in (out / "README.md").read_text()
    pytest.importorskip("matplotlib")
    png = out / "test-gpu-2030-01-02.png"
    assert png in written and png.read_bytes().startswith(b"\x89PNG")
    assert "(results/test-gpu-2030-01-02.png)" in section


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("device"), "missing 'device'"),
        (lambda d: d.update(schema="other/1"), "schema"),
        (lambda d: d["results"][0].update(median_ms="1"), "results[0].median_ms"),
        (lambda d: d["results"][0].update(reps=True), "results[0].reps"),
        (lambda d: d["results"][0].update(p20_ms=9.0), "quantiles out of order"),
        (lambda d: d["results"][0]["size"].pop("batch"), "results[0].size"),
    ],
)
def test_schema_rejects_malformed_files(bench, change, message):
    data = _gpu_results(bench, 1.0, 2.0)
    bench.schema.validate(copy.deepcopy(data))
    change(data)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        bench.schema.validate(data)


def test_runs_of_one_setup_merge_into_one_file(bench, tmp_path):
    first = _gpu_results(bench, 1.0, 2.0)
    second = copy.deepcopy(first)
    second["results"] = [dict(first["results"][0], median_ms=0.5, p20_ms=0.5, p80_ms=0.5)]
    path = bench.runner.write_results(tmp_path, first)
    assert bench.runner.write_results(tmp_path, second) == path
    merged = json.loads(path.read_text())["results"]
    assert len(merged) == 4 and sorted(r["median_ms"] for r in merged)[0] == 0.5
    other = dict(copy.deepcopy(second), grid="tiny")
    assert bench.runner.write_results(tmp_path, other).name == path.stem + "-2.json"


def test_merge_adds_results_written_elsewhere(bench, tmp_path):
    elsewhere = tmp_path / "fetched.json"
    elsewhere.write_text(json.dumps(_gpu_results(bench, 1.0, 2.0)))
    out = tmp_path / "results"
    assert bench.runner.main(["--merge", str(elsewhere), "--out", str(out), "--no-readme"]) == 0
    assert [p.name for p in out.glob("*.json")] == ["test-gpu-2030-01-02.json"]
    assert "| **met** |" in (out / "README.md").read_text()
