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
    assert "tqdm" in dependencies  # the progress bar of features
    assert project["project"]["optional-dependencies"]["demo"] == ["matplotlib"]  # its picture


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
    rate = ["--sample-rate", 8000]
    assert run_main(capsys, "features", corpus, "--out", out, *rate, "--quiet")[0] == 0
    (out / "sweep.npy").unlink()
    (out / "a" / ".leftover.npy.tmp").write_bytes(b"partial write of a crashed run")
    code, stdout, _ = run_main(capsys, "features", corpus, "--out", out, *rate, "--quiet")
    assert code == 0
    assert f"done 1, skipped {len(good) - 1}, failed 0" in stdout
    native = tritaudio.load(corpus / "sweep.wav")[0]  # an 8 kHz file: not resampled
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
            "--num-shards", 3, "--sample-rate", 16000, "--quiet",
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


# ------------------------------------------------------- what issue 14 found in the command


def _one_line(err):
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_convert_of_an_empty_wav(capsys, tmp_path):
    # Decision: WAV (and any format that can hold 0 frames) gets a valid empty file; FLAC,
    # MP3 and Opus, which libsndfile cannot write empty, are an error naming the input.
    empty = tmp_path / "empty.wav"
    tritaudio.save(empty, torch.zeros(1, 0, dtype=torch.int16), 16000)
    code, out, err = run_main(capsys, "convert", empty, tmp_path / "copy.wav")
    assert code == 0 and "0.000 s" in out
    assert tritaudio.info(tmp_path / "copy.wav").num_frames == 0
    for name in ("copy.flac", "copy.mp3"):
        code, _, err = run_main(capsys, "convert", empty, tmp_path / name)
        assert code == 1 and "empty.wav has no frames" in err
        _one_line(err)
        assert not (tmp_path / name).exists()


@pytest.mark.parametrize(("name", "says"), [("noextension", "extension"), ("x.xyz", ".xyz")])
def test_convert_output_format_is_checked_before_reading(capsys, tmp_path, name, says):
    code, _, err = run_main(capsys, "convert", DATA / "sweep_8k.wav", tmp_path / name)
    assert code == 2 and says in err and "format=" not in err
    _one_line(err)


def test_demo_out_into_a_missing_folder_fails_before_timing(capsys, tmp_path):
    code, out, err = run_main(capsys, "demo", "--out", tmp_path / "missing" / "demo.png")
    assert code == 2 and "does not exist" in err and str(tmp_path / "missing") in err
    _one_line(err)
    assert out == ""  # nothing was loaded nor timed
    code, out, err = run_main(capsys, "demo", "--out", tmp_path / "demo.txt")
    assert code == 2 and ".png" in err and out == ""


def _damaged_mp3(path):
    from test_io import _damage_side_information, _stereo

    clean = path.with_name("clean.mp3")
    tritaudio.save(clean, torch.from_numpy(_stereo(44100, 2.0).T).float(), 44100)
    path.write_bytes(_damage_side_information(clean.read_bytes(), 15, seed=2))
    return path


def test_libmpg123_messages_do_not_reach_the_terminal(tmp_path):
    damaged = _damaged_mp3(tmp_path / "damaged.mp3")
    direct = subprocess.run(  # shows that libmpg123 does write to descriptor 2
        [sys.executable, "-c", f"import tritaudio; tritaudio.load({str(damaged)!r})"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "mpg123" in direct.stderr
    result = tritaudio_command("convert", damaged, tmp_path / "out.wav")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(damaged, corpus / "damaged.mp3")
    features = tritaudio_command("features", corpus, "--out", tmp_path / "feats")
    assert features.returncode == 0, features.stderr
    assert "mpg123" not in features.stderr and "Note:" not in features.stderr
    assert "file/s" in features.stderr  # the progress bar is still there


def test_a_text_file_named_mp3_is_a_decode_error(tmp_path):
    notes = tmp_path / "notes.mp3"
    notes.write_text("not audio\n" * 20)
    result = tritaudio_command("info", notes)
    assert result.returncode == 1
    assert "not an audio file" in result.stderr and "does not exist" not in result.stderr


def test_file_names_that_are_not_valid_utf8_print_as_their_bytes(tmp_path):
    path = os.fsencode(tmp_path) + b"/caf\xe9.wav"
    tritaudio.save(path, torch.zeros(1, 800), 8000)
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict")  # as some locales set it
    result = subprocess.run(
        [sys.executable, "-m", "tritaudio", "info", path],
        capture_output=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(path + b": 8000 Hz, 800 frames")


def _speech_corpus(root, rates=(16000, 16000, 16000, 16000, 16000)):
    speech, rate = tritaudio.load(DATA / "speech_en_16k.flac")
    root.mkdir()
    for index, target in enumerate(rates):
        clip = tritaudio.functional.resample(speech[:, : 8000 + 800 * index], rate, target)
        tritaudio.save(root / f"clip{index}.wav", clip, target)


def test_ctrl_c_prints_what_was_done_and_the_command_that_resumes(capsys, tmp_path, monkeypatch):
    from tritaudio.cli import features

    corpus, out = tmp_path / "corpus", tmp_path / "feats"
    _speech_corpus(corpus)
    real, calls = features.compute_single, []

    def interrupted_at_the_third(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(features, "compute_single", interrupted_at_the_third)
    args = ["features", corpus, "--out", out, "--batch-size", 1, "--workers", 1, "--quiet"]
    code, _, err = run_main(capsys, *args)
    assert code == 130
    assert "interrupted: done " in err and "of 5 files" in err
    assert f"tritaudio features {corpus} --out {out} --batch-size 1 --workers 1 --quiet" in err
    written = len(list(out.rglob("*.npy")))
    assert 1 <= written <= 2  # what was computed before Ctrl-C, each file complete
    monkeypatch.setattr(features, "compute_single", real)
    code, stdout, _ = run_main(capsys, *args)
    assert code == 0 and f"done {5 - written}, skipped {written}, failed 0" in stdout


def test_features_reports_a_folder_it_cannot_read(capsys, tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    _speech_corpus(corpus, rates=(16000, 16000))
    locked = corpus / "locked"
    locked.mkdir()
    shutil.copy(corpus / "clip0.wav", locked / "hidden.wav")
    real_scandir = os.scandir

    def scandir(path="."):  # root ignores permissions: refuse the folder as a mode would
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(locked))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, stdout, err = run_main(capsys, "features", corpus, "--out", tmp_path / "f", "--quiet")
    assert code == 1
    assert f"cannot read the folder {locked}: Permission denied" in err
    assert "done 2" in stdout
    assert not (tmp_path / "f" / "locked").exists()


def test_features_refuses_mixed_rates_without_sample_rate(capsys, tmp_path):
    # Decision: different rates give features with different frame rates and mel bands;
    # the command refuses them (naming the rates) unless --sample-rate picks one.
    corpus, out = tmp_path / "corpus", tmp_path / "feats"
    _speech_corpus(corpus, rates=(16000, 8000, 16000))
    code, _, err = run_main(capsys, "features", corpus, "--out", out)
    assert code == 2
    _one_line(err)
    assert "8000 Hz (1 files), 16000 Hz (2 files)" in err and "--sample-rate" in err
    assert not out.exists()
    code, _, _ = run_main(capsys, "features", corpus, "--out", out, "--sample-rate", 16000)
    assert code == 0 and len(list(out.glob("*.npy"))) == 3


def test_features_one_rate_without_sample_rate_keeps_it(capsys, tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "feats"
    _speech_corpus(corpus, rates=(8000, 8000))
    assert run_main(capsys, "features", corpus, "--out", out, "--quiet")[0] == 0
    waveform, _ = tritaudio.load(corpus / "clip0.wav")
    expected = T.AmplitudeToDB("power", None)(T.MelSpectrogram(8000, **MEL)(waveform))
    _assert_equal_features(torch.from_numpy(np.load(out / "clip0.npy")), expected, "clip0")


def test_features_names_a_clip_too_short_in_its_own_words(capsys, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    tritaudio.save(corpus / "short.wav", torch.zeros(1, 150), 16000)
    tritaudio.save(corpus / "long.wav", torch.zeros(1, 1600), 16000)
    code, _, err = run_main(capsys, "features", corpus, "--out", tmp_path / "f", "--quiet")
    assert code == 1
    assert "short.wav: too short: 150 samples at 16000 Hz" in err and "--n-fft 400" in err
    assert "pad_mode" not in err


def test_features_of_a_file_with_nan_or_huge_samples_are_failed_not_written(capsys, tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "feats"
    corpus.mkdir()
    nan = torch.zeros(1, 3200)
    nan[0, 1000] = float("nan")
    tritaudio.save(corpus / "nan.wav", nan, 16000)  # 32-bit float WAV keeps the NaN
    tritaudio.save(corpus / "loud.wav", torch.full((1, 3200), 3e38), 16000)  # power: inf
    tritaudio.save(corpus / "fine.wav", torch.zeros(1, 3200), 16000)
    for feature in ("logmel", "spectrogram"):
        code, stdout, err = run_main(
            capsys, "features", corpus, "--out", out / feature, "--feature", feature, "--quiet"
        )
        assert code == 1 and "done 1, skipped 0, failed 2" in stdout
        assert "nan.wav: it holds NaN or infinite samples" in err
        assert "loud.wav: its features are not finite" in err
        assert sorted(p.name for p in (out / feature).iterdir()) == ["fine.npy"]


def test_features_and_convert_take_names_that_are_not_valid_utf8(tmp_path):
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict")  # as some locales set it
    corpus = os.fsencode(tmp_path) + b"/corpus\xff"
    os.mkdir(corpus)
    tritaudio.save(corpus + b"/caf\xe9.wav", torch.zeros(1, 3200), 16000)
    out = os.fsencode(tmp_path) + b"/feats"
    result = subprocess.run(
        [sys.executable, "-m", "tritaudio", "features", corpus, "--out", out, "--quiet"],
        capture_output=True, timeout=300, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert os.listdir(out) == [b"caf\xe9.npy"]
    result = subprocess.run(
        [sys.executable, "-m", "tritaudio", "convert", corpus + b"/caf\xe9.wav",
         corpus + b"/\xfe.flac"],
        capture_output=True, timeout=300, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert b"\xfe.flac" in result.stdout
    assert tritaudio.info(corpus + b"/\xfe.flac").num_frames == 3200


PAGE_FAULTS_PER_ROUNDS = """
import resource, sys, torch
from tritaudio.cli import parallel
if sys.argv[1] == "keep":
    assert parallel.keep_freed_memory()
def batch():
    for size in (10_240_000, 160_000, 160_400, 402_000, 201_000, 80_080):
        torch.empty(size).fill_(1.0)
batch(), batch()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    batch()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_features_keep_freed_memory_for_the_next_clip():
    # After keep_freed_memory (as `features` calls it at its start), the blocks of a batch
    # (64 x 10 s: 41 MB, past glibc's largest adaptive mmap threshold) and of a clip are
    # reused, not mapped anew each time (each new page a fault: ~10,000 per round without
    # it). Measured in a fresh process, as `features` runs: in the suite's process, after
    # hundreds of MB of other tests' allocations, one fresh-clone run saw a round fault the
    # whole block anew (10,000 faults; likely a trim of a large free top of the heap).
    if not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"):
        pytest.skip("glibc's mallopt only")

    def faults(mode):
        done = subprocess.run([sys.executable, "-c", PAGE_FAULTS_PER_ROUNDS, mode],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return int(done.stdout.split()[-1])

    assert faults("keep") < 500
    assert faults("default") > 5 * 5_000  # the 41 MB block mapped anew each round
