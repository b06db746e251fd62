"""``tritaudio features`` on the CPU against the plain loop a user writes (soundfile +
torchaudio, one file at a time), in one run on one machine.

    PYTHONPATH=/path/to/torchaudio python benchmarks/features_cpu.py --clips 1000

Both read the same FLAC clips (10 s of speech) and write one .npy of 80-band log-mel
(n_fft 400, hop 160: the command's defaults) per clip. The clips are at 16 kHz, the
features' rate, or with ``--mixed-rates`` at 16, 22.05, 44.1 and 48 kHz in turn, so that
both sides resample three clips in four to 16 kHz (the plain loop with
``torchaudio.functional.resample``, which returns a clip at 16 kHz unchanged; ``features``
with ``--sample-rate 16000``). Each round runs every variant once, in alternating order,
each in a fresh process timed from start to exit (interpreter start and imports included
on both sides); the table shows the median over the rounds in audio-hours/s.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECONDS, RATE = 10, 16000

# The plain loop, as a torchaudio user writes it: decode, mono, mel, dB, save.
PLAIN_LOOP = """
import sys
from pathlib import Path
import numpy as np, soundfile, torch, torchaudio
src, out = Path(sys.argv[1]), Path(sys.argv[2])
mel = torchaudio.transforms.MelSpectrogram(16000, n_fft=400, hop_length=160, n_mels=80)
to_db = torchaudio.transforms.AmplitudeToDB("power", top_db=None)
with torch.inference_mode():
    for path in sorted(src.rglob("*.flac")):
        data, rate = soundfile.read(path, dtype="float32", always_2d=True)
        mono = torch.from_numpy(data.T).mean(0, keepdim=True)
        features = to_db(mel(torchaudio.functional.resample(mono, rate, 16000)))
        target = out / path.relative_to(src).with_suffix(".npy")
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target, features.numpy())
"""

ONE_THREAD = "import torch\ntorch.set_num_threads(1)\n" + PLAIN_LOOP


MIXED_RATES = (16000, 22050, 44100, 48000)


def make_corpus(folder, clips, rates=(RATE,)):
    """Speech tiled to 10 s, each clip another offset plus a little noise (so that FLAC
    compresses as it does recordings), 20 speaker folders; clip i at ``rates[i % len]``."""
    import torch

    import tritaudio
    from tritaudio.cli.demo import bundled_clip

    speech, _ = tritaudio.load(bundled_clip())
    tiled = speech.repeat(1, -(-SECONDS * RATE // speech.shape[-1]) + 1)
    generator = torch.Generator().manual_seed(0)
    for index in range(clips):
        offset = index * 997 % speech.shape[-1]
        clip = tiled[:, offset : offset + SECONDS * RATE]
        clip = clip + 1e-3 * torch.randn(clip.shape, generator=generator)
        rate = rates[index % len(rates)]
        if rate != RATE:
            clip = tritaudio.functional.resample(clip, RATE, rate)
        subfolder = folder / f"speaker{index % 20:02d}"
        subfolder.mkdir(parents=True, exist_ok=True)
        tritaudio.save(subfolder / f"utt{index:04d}.flac", clip.clamp(-1, 1), rate)


def variants(corpus, out, mixed=False):
    paths = [str(corpus), str(out)]
    command = [sys.executable, "-m", "tritaudio", "features", str(corpus), "--out", str(out),
               "--device", "cpu", "--quiet"]  # fmt: skip
    if mixed:
        command += ["--sample-rate", str(RATE)]
    return {
        "tritaudio features (default threads)": command,
        "tritaudio features --workers 2": [*command, "--workers", "2"],
        "plain loop: soundfile + torchaudio": [sys.executable, "-c", PLAIN_LOOP, *paths],
        # the loop at its best here: torch on one thread, no spinning threads competing
        "plain loop, torch.set_num_threads(1)": [sys.executable, "-c", ONE_THREAD, *paths],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--mixed-rates",
        action="store_true",
        help="clips at 16, 22.05, 44.1 and 48 kHz in turn (resampled to 16)",
    )
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    import torchaudio  # noqa: F401 (fails here, not in a round, when it is missing)

    work = Path(tempfile.mkdtemp(prefix="features-cpu-"))
    try:
        corpus, out = work / "corpus", work / "out"
        rates = MIXED_RATES if args.mixed_rates else (RATE,)
        make_corpus(corpus, args.clips, rates)
        commands = variants(corpus, out, args.mixed_rates)
        times = {name: [] for name in commands}
        for round_index in range(args.rounds):
            order = list(commands)
            if round_index % 2:
                order.reverse()
            for name in order:
                shutil.rmtree(out, ignore_errors=True)
                start = time.perf_counter()
                subprocess.run(commands[name], check=True, capture_output=True)
                times[name].append(time.perf_counter() - start)
                assert len(list(out.rglob("*.npy"))) == args.clips, name
    finally:
        shutil.rmtree(work, ignore_errors=True)
    hours = args.clips * SECONDS / 3600
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    at = "/".join(f"{r / 1000:g}" for r in rates) + " kHz"
    print(f"{args.clips} x {SECONDS} s FLAC at {at} -> log-mel .npy, {cores} cores, "
          f"median of {args.rounds} alternating rounds (measured)")  # fmt: skip
    rows = {}
    for name, seconds in times.items():
        median = statistics.median(seconds)
        rows[name] = dict(seconds=seconds, median_s=median, audio_hours_per_s=hours / median)
        print(f"  {name:40s} {median:7.2f} s  {hours / median:8.3f} audio-h/s  "
              f"(rounds: {', '.join(f'{s:.1f}' for s in seconds)})")  # fmt: skip
    if args.json:
        Path(args.json).write_text(
            json.dumps(dict(clips=args.clips, rates=rates, cores=cores, rows=rows))
        )


if __name__ == "__main__":
    main()
