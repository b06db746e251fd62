"""CPU resampling against torchaudio, alternating runs (issue 16's CPU target).

    PYTHONPATH=/work/ta python -m benchmarks.resample_cpu [--threads 1,2] [--rounds 15]

Each library's ``transforms.Resample`` is built once (its filter kept, torchaudio's fastest
use) and called on 8 x 10 s of white noise at the source rate; the two libraries' calls
alternate (tritaudio, torchaudio, tritaudio, ...) so that load on a shared machine hits
both alike. Prints a markdown table of the medians and writes it with the raw times as
JSON to benchmarks/results/resample-cpu/<date>.json (not a results-schema file:
the report leaves it alone).

On a shared, oversubscribed machine run it with ``OMP_WAIT_POLICY=PASSIVE``: with more
than one thread, OpenMP's spinning barriers otherwise cost each parallel region a time
slice of the other busy processes (measured: 2 s instead of 60 ms for a call of ~30 ops,
torchaudio's single convolution suffering less); the policy is recorded.
"""

import argparse
import datetime
import json
import os
import statistics
import time
from pathlib import Path

import torch

import tritaudio
import tritaudio.transforms as T

RATES = [(44100, 16000), (16000, 48000), (48000, 44100), (22050, 16000)]
BATCH, SECONDS = 8, 10


def _time(fn, x):
    start = time.perf_counter()
    fn(x)
    return time.perf_counter() - start


def measure(orig, new, threads, rounds):
    import torchaudio.transforms as TA

    torch.set_num_threads(threads)
    x = torch.randn(BATCH, SECONDS * orig, generator=torch.Generator().manual_seed(0))
    ours, theirs = T.Resample(orig, new), TA.Resample(orig, new)
    with tritaudio.use_backend("torch"), torch.inference_mode():
        assert ours(x).shape == theirs(x).shape
        for _ in range(2):  # warm-up
            ours(x), theirs(x)
        times = {"tritaudio-torch": [], "torchaudio": []}
        for _ in range(rounds):
            times["tritaudio-torch"].append(_time(ours, x))
            times["torchaudio"].append(_time(theirs, x))
    medians = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    return dict(orig=orig, new=new, threads=threads, batch=BATCH, seconds=SECONDS,
                median_ms=medians, ratio=medians["tritaudio-torch"] / medians["torchaudio"],
                times_s=times)  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    rows = []
    print("| rates (Hz) | threads | tritaudio (torch path) ms | torchaudio ms | ratio |")
    print("|---|---|---|---|---|")
    for threads in [int(t) for t in args.threads.split(",")]:
        for orig, new in RATES:
            row = measure(orig, new, threads, args.rounds)
            rows.append(row)
            m = row["median_ms"]
            print(f"| {orig} -> {new} | {threads} | {m['tritaudio-torch']:.1f} | "
                  f"{m['torchaudio']:.1f} | {row['ratio']:.2f} |", flush=True)  # fmt: skip
    date = datetime.date.today().isoformat()
    result = dict(kind="measured, CPU", created=datetime.datetime.now().isoformat(),
                  torch=torch.__version__, rounds=args.rounds,
                  omp_wait_policy=os.environ.get("OMP_WAIT_POLICY"), rows=rows)  # fmt: skip
    path = Path(args.out) / "resample-cpu" / f"{date}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
