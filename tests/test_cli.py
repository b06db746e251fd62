"""The ``tritaudio`` command, driven as a user drives it: ``python -m tritaudio ...`` in a
subprocess (the console script calls the same ``main``). Variants that only change
arguments call ``main`` in-process, which is the same code without a new interpreter."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import CLIPS, DATA

import tritaudio
from tritaudio import cli
from tritaudio import transforms as T

ROOT = Path(__file__).resolve().parents[1]
MEL = dict(n_fft=400, hop_length=160, n_mels=80)  # the command's defaults


def tritaudio_command(*args, cwd=None, env=None):
    """Run ``python -m tritaudio ARGS``; the CompletedProcess (text stdout / stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "tritaudio", *map(str, args)],
        capture_output=True, text=True, timeout=300, cwd=cwd, env=env,
    )  # fmt: skip


def run_main(capsys, *args):
    """``main(ARGS)`` in-process: (exit code, stdout, stderr)."""
    try:
        code = cli.main([str(arg) for arg in args])
    except SystemExit as exit:  # argparse's --help and usage errors
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------------- demo and help


def test_demo_writes_a_png_and_prints_timings(tmp_path):
    # The Triton column under the interpreter takes ~30 s on this CPU; every op's Triton
    # path is tested in its own tests, so the demo runs the torch backend here.
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    result = tritaudio_command("demo", "--repeats", "1", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    png = tmp_path / "tritaudio-demo.png"  # the default, in the current folder
    assert f"wrote {png}" in result.stdout
    for step in ("resample", "log-mel", "MFCC", "noise", "pitch shift"):
        assert step in result.stdout
    assert "torch (cpu)" in result.stdout or "torch (cuda)" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = pytest.importorskip("matplotlib.image").imread(png)
    assert image.shape[0] > 400 and image.shape[1] > 400
    assert image[..., :3].std() > 0.1  # something is drawn


@pytest.mark.parametrize("command", [[], ["demo"], ["info"], ["convert"], ["features"]])
def test_every_command_has_help_with_examples(capsys, command):
    code, out, _ = run_main(capsys, *command, "--help")
    assert code == 0
    assert "examples:" in out
    assert "tritaudio" in out


def test_bundled_clip_is_package_data():
    from tritaudio.cli.demo import bundled_clip

    meta = tritaudio.info(bundled_clip())
    assert (meta.sample_rate, meta.num_channels, meta.encoding) == (16000, 1, "FLAC")
    assert 2.5 < meta.num_frames / meta.sample_rate < 4
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["tritaudio"] == "tritaudio.cli:main"
    assert "data/*.flac" in project["tool"]["setuptools"]["package-data"]["tritaudio"]
    dependencies = " ".join(project["project"]["dependencies"])
    assert "tqdm" in dependencies and "matplotlib" in dependencies


# ------------------------------------------------------------------------ bad arguments


def test_bad_arguments_exit_2_with_one_line(tmp_path):
    result = tritaudio_command("features", DATA, "--out", tmp_path, "--n-fft", "-4")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--n-fft" in result.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "args, says",
    [
        (["nonsense"], "invalid choice"),
        ([], ""),
        (["features", "{data}", "--out", "{out}", "--shard-index", "2", "--num-shards", "2"],
         "--shard-index"),
        (["features", "{data}", "--out", "{out}", "--win-length", "500"], "win_length"),
        (["features", "{data}/nothing-here", "--out", "{out}"], "no such file or folder"),
        (["features", "{data}", "--out", "{data}/AUDIO.md"], "is a file"),
        (["features", "{data}", "--out", "{out}", "--feature", "chroma"], "invalid choice"),
        (["features", "{data}"], "--out"),
        (["convert", "{data}/chord_stereo_44k.wav", "{out}/x.wav", "--channels", "3"],
         "--channels 3"),
        (["convert", "{data}/sweep_8k.wav", "{out}/x.wav", "--encoding", "BOGUS"], "BOGUS"),
        (["convert", "{data}/sweep_8k.wav", "{out}/x.mp3", "--bits-per-sample", "24"], "MP3"),
        (["convert", "{data}/sweep_8k.wav", "{out}/x.wav", "--sample-rate", "0"], "positive"),
        (["info"], "FILE"),
    ],
)  # fmt: skip
def test_bad_arguments(capsys, tmp_path, args, says):
    args = [arg.format(data=DATA, out=tmp_path) for arg in args]
    code, _, err = run_main(capsys, *args)
    assert code == 2
    if args:  # no command at all prints the help
        assert err.count("\n") == 1, err
        assert "error:" in err and says in err
    assert not list(tmp_path.iterdir())


def test_cuda_device_without_a_gpu_is_a_usage_error(capsys, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("there is a GPU")
    code, _, err = run_main(capsys, "features", DATA, "--out", tmp_path, "--device", "cuda")
    assert code == 2 and "CUDA" in err and err.count("\n") == 1


# --------------------------------------------------------------------------------- info


def test_info_one_line_per_file_and_json():
    names = sorted(CLIPS)
    plain = tritaudio_command("info", *(DATA / name for name in names))
    assert plain.returncode == 0, plain.stderr
    lines = plain.stdout.splitlines()
    assert len(lines) == len(names)
    assert lines[names.index("sweep_8k.wav")] == (
        f"{DATA / 'sweep_8k.wav'}: 8000 Hz, 16000 frames, 2.000 s, 1 ch, PCM_S, 16 bit"
    )
    result = tritaudio_command("info", "--json", *(DATA / name for name in names), "missing.wav")
    assert result.returncode == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[-1]["path"] == "missing.wav" and "missing.wav" in rows[-1]["error"]
    for name, row in zip(names, rows, strict=False):
        expected, meta = CLIPS[name], tritaudio.info(DATA / name)
        assert row == {
            "path": str(DATA / name),
            "sample_rate": expected["rate"],
            "num_frames": meta.num_frames,
            "duration": meta.num_frames / expected["rate"],
            "num_channels": expected["channels"],
            "encoding": expected["encoding"],
            "bits_per_sample": expected["bits"],
        }


# ------------------------------------------------------------------------------ convert


def test_convert_round_trip_through_the_command(tmp_path):
    """24-bit stereo WAV -> FLAC -> WAV is exact; resampling and mixing down give what the
    library gives."""
    source = DATA / "chord_stereo_44k.wav"
    assert tritaudio_command("convert", source, tmp_path / "c.flac").returncode == 0
    back = tritaudio_command("convert", tmp_path / "c.flac", tmp_path / "c.wav")
    assert back.returncode == 0, back.stderr
    assert tritaudio.info(tmp_path / "c.wav") == tritaudio.info(source)
    original = tritaudio.load(source, normalize=False)[0]
    assert torch.equal(tritaudio.load(tmp_path / "c.wav", normalize=False)[0], original)

    result = tritaudio_command(
        "convert", source, tmp_path / "m.flac", "--sample-rate", 16000, "--channels", 1
    )
    assert result.returncode == 0, result.stderr
    meta = tritaudio.info(tmp_path / "m.flac")
    assert (meta.sample_rate, meta.num_channels, meta.bits_per_sample) == (16000, 1, 24)
    expected = tritaudio.functional.resample(
        tritaudio.load(source)[0].mean(0, keepdim=True), 44100, 16000
    )
    got = tritaudio.load(tmp_path / "m.flac")[0]
    assert got.shape == expected.shape
    assert (got - expected).abs().max() <= 2**-23  # 24-bit quantisation


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_convert_round_trip_every_clip(capsys, tmp_path, name):
    """clip -> FLAC (WAV for a FLAC clip) -> the clip's own format: the metadata come back,
    PCM samples exactly, lossy ones as decoded."""
    source = DATA / name
    middle = tmp_path / ("middle.wav" if name.endswith(".flac") else "middle.flac")
    final = tmp_path / f"final{source.suffix}"
    assert run_main(capsys, "convert", source, middle)[0] == 0
    assert run_main(capsys, "convert", middle, final)[0] == 0
    before, after = tritaudio.info(source), tritaudio.info(final)
    assert (after.sample_rate, after.num_channels) == (before.sample_rate, before.num_channels)
    if CLIPS[name]["bits"]:  # PCM: exact, same encoding
        assert after == before
        assert torch.equal(
            tritaudio.load(final, normalize=False)[0], tritaudio.load(source, normalize=False)[0]
        )
    else:  # lossy: the decoded samples survive the FLAC step at 16 bits
        decoded = tritaudio.load(source)[0]
        assert (tritaudio.load(middle)[0] - decoded).abs().max() <= 2**-15
        assert after.encoding == before.encoding


def test_convert_unreadable_input_fails_with_exit_1(capsys, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF nonsense")
    code, _, err = run_main(capsys, "convert", bad, tmp_path / "out.flac")
    assert code == 1 and "bad.wav" in err
    assert not (tmp_path / "out.flac").exists()


# ----------------------------------------------------------------------------- features


def _corpus(root):
    """Good clips of several rates, lengths and channel counts, in nested folders, with a
    corrupt file, an empty file, a clip too short for its STFT and a non-audio file."""
    speech, rate = tritaudio.load(DATA / "speech_en_16k.flac")
    chord, chord_rate = tritaudio.load(DATA / "chord_stereo_44k.wav")
    (root / "a" / "b").mkdir(parents=True)
    for seconds in (0.5, 1.37, 2.0, 3.01):  # one rate, four lengths: one padded batch
        tritaudio.save(root / "a" / f"speech_{seconds}.wav", speech[:, : int(seconds * rate)], rate)
    tritaudio.save(root / "a" / "b" / "chord.flac", chord[:, :30000], chord_rate)
    tritaudio.save(root / "a" / "b" / "chord_long.flac", chord, chord_rate)
    shutil.copy(DATA / "sweep_8k.wav", root / "sweep.wav")
    shutil.copy(DATA / "speech_en_16k.ogg", root / "a" / "speech.ogg")
    tritaudio.save(root / "too_short.wav", speech[:, :150], rate)  # < n_fft // 2 samples
    (root / "a" / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(200)))
    (root / "empty.flac").write_bytes(b"")
    (root / "notes.md").write_text("not audio: ignored")
    good = [
        "a/speech_0.5.wav", "a/speech_1.37.wav", "a/speech_2.0.wav", "a/speech_3.01.wav",
        "a/b/chord.flac", "a/b/chord_long.flac", "sweep.wav", "a/speech.ogg",
    ]  # fmt: skip
    return good, ["a/corrupt.wav", "empty.flac", "too_short.wav"]


def _library_logmel(path, rate=16000):
    waveform, file_rate = tritaudio.load(path)
    waveform = tritaudio.functional.resample(waveform.mean(0, keepdim=True), file_rate, rate)
    mel = T.MelSpectrogram(rate, **MEL)(waveform)
    return T.AmplitudeToDB("power", top_db=None)(mel)


def _assert_equal_features(out, ref, what):
    """Bitwise on the CPU (same backend, same frames, same ops as the clip alone); on a
    GPU the command runs the Triton path and this test the torch one: the parity bound."""
    assert out.shape == ref.shape, f"{what}: {out.shape} != {ref.shape}"
    if not torch.cuda.is_available():
        assert torch.equal(out, ref), f"{what}: max diff {(out - ref).abs().max().item():.3g}"
    else:
        bound = 1e-4 * ref.abs().max().item()
        torch.testing.assert_close(out, ref, rtol=0, atol=bound, msg=what)


def test_features_on_a_folder_with_bad_files_then_resume(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "feats"
    corpus.mkdir()
    good, bad = _corpus(corpus)
    result = tritaudio_command(
        "features", corpus, "--out", out, "--sample-rate", 16000, "--batch-size", 4
    )
    assert result.returncode == 1
    for name in bad:  # named on stderr
        assert f"failed: {corpus / name}" in result.stderr
    assert f"done {len(good)}, skipped 0, failed {len(bad)}" in result.stdout
    assert "file/s" in result.stderr and "audio-h/s" in result.stderr  # the progress bar
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(str(Path(name).with_suffix(".npy")) for name in good)
    for name in good:
        features = torch.from_numpy(np.load(out / Path(name).with_suffix(".npy")))
        _assert_equal_features(features, _library_logmel(corpus / name), name)

    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.npy")}
    again = tritaudio_command("features", corpus, "--out", out, "--sample-rate", 16000)
    assert again.returncode == 1
    assert f"done 0, skipped {len(good)}, failed {len(bad)}" in again.stdout
    assert stamps == {p: p.stat().st_mtime_ns for p in out.rglob("*.npy")}


def test_features_resume_after_a_removed_output(capsys, tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "feats"
    corpus.mkdir()
    good, _ = _corpus(corpus)
    for name in ("too_short.wav", "a/corrupt.wav", "empty.flac"):
        (corpus / name).unlink()
    assert run_main(capsys, "features", corpus, "--out", out, "--quiet")[0] == 0
    (out / "sweep.npy").unlink()
    (out / "a" / ".leftover.npy.tmp").write_bytes(b"partial write of a crashed run")
    code, stdout, _ = run_main(capsys, "features", corpus, "--out", out, "--quiet")
    assert code == 0
    assert f"done 1, skipped {len(good) - 1}, failed 0" in stdout
    native = tritaudio.load(corpus / "sweep.wav")[0]  # no --sample-rate: the file's rate
    mel = T.MelSpectrogram(8000, **MEL)(native)
    _assert_equal_features(
        torch.from_numpy(np.load(out / "sweep.npy")), T.AmplitudeToDB("power", None)(mel), "sweep"
    )


@pytest.mark.parametrize("feature", ["mel", "mfcc", "spectrogram"])
def test_features_equal_the_library_transforms(capsys, tmp_path, feature):
    corpus, out = tmp_path / "corpus", tmp_path / "feats"
    corpus.mkdir()
    good, _ = _corpus(corpus)
    args = ["--n-fft", 512, "--win-length", 480, "--hop-length", 128, "--n-mels", 64]
    code, _, _ = run_main(
        capsys, "features", corpus, "--out", out, "--feature", feature, "--format", "pt",
        "--sample-rate", 22050, "--keep-channels", "--batch-size", 3, "--quiet", *args,
    )  # fmt: skip
    assert code == 1  # the bad files
    stft = dict(n_fft=512, win_length=480, hop_length=128)
    mel = dict(stft, n_mels=64)
    library = {
        "mel": T.MelSpectrogram(22050, **mel),
        "mfcc": T.MFCC(22050, n_mfcc=40, melkwargs=mel),
        "spectrogram": T.Spectrogram(**stft),
    }[feature]
    for name in good:
        waveform = tritaudio.load(corpus / name, sample_rate=22050)[0]  # every channel
        features = torch.load(out / Path(name).with_suffix(".pt"), weights_only=True)
        _assert_equal_features(features, library(waveform), f"{feature} {name}")


def test_features_from_a_list_file_and_shards(capsys, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    good, _ = _corpus(corpus)
    listing = tmp_path / "files.txt"
    # Relative to the list's folder; outputs relative to the deepest common folder.
    listing.write_text("# my clips\n" + "\n".join(f"corpus/{name}" for name in good) + "\n\n")
    outputs = []
    for index in range(3):
        out = tmp_path / f"shard{index}"
        code, stdout, _ = run_main(
            capsys, "features", listing, "--out", out, "--shard-index", index,
            "--num-shards", 3, "--quiet",
        )  # fmt: skip
        assert code == 0 and f"shard {index} of 3" in stdout
        outputs.append(sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npy")))
    everything = sorted(str(Path(name).with_suffix(".npy")) for name in good)
    assert sorted(name for shard in outputs for name in shard) == everything  # a partition
    assert outputs[0] == everything[0::3]  # k-th of the sorted output paths -> k % shards
    assert all(outputs)


def test_features_refuses_two_inputs_with_one_output(capsys, tmp_path):
    (tmp_path / "in").mkdir()
    shutil.copy(DATA / "speech_en_16k.flac", tmp_path / "in" / "x.flac")
    shutil.copy(DATA / "speech_en_16k.ogg", tmp_path / "in" / "x.ogg")
    code, _, err = run_main(capsys, "features", tmp_path / "in", "--out", tmp_path / "out")
    assert code == 2 and "x.npy" in err
    assert not (tmp_path / "out").exists()


def test_features_on_the_triton_path_equal_the_library(capsys, tmp_path):
    """The GPU's path: resampling and framing kernels on a padded batch (under the
    interpreter here), against the library on each clip alone on the same path."""
    speech, rate = tritaudio.load(DATA / "speech_en_16k.flac")
    sweep, sweep_rate = tritaudio.load(DATA / "sweep_8k.wav")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seconds in (0.3, 0.45, 0.61):
        tritaudio.save(corpus / f"speech_{seconds}.wav", speech[:, : int(seconds * rate)], rate)
    tritaudio.save(corpus / "sweep.wav", sweep[:, :3001], sweep_rate)
    with tritaudio.use_backend("triton"):
        code, _, _ = run_main(
            capsys, "features", corpus, "--out", tmp_path / "out", "--sample-rate", 16000,
            "--quiet",
        )  # fmt: skip
        assert code == 0
        for path in sorted(corpus.iterdir()):
            features = torch.from_numpy(np.load(tmp_path / "out" / f"{path.stem}.npy"))
            expected = _library_logmel(path)
            assert features.shape == expected.shape
            torch.testing.assert_close(features, expected, rtol=0, atol=1e-3, msg=path.name)
