"""``tritaudio demo``: the main ops on a bundled speech clip, timed on each backend here,
and a picture of what they produce. Needs no arguments, no network and no GPU."""

import importlib.resources
import os
import statistics
import time

import torch

import tritaudio
from tritaudio import transforms as T
from tritaudio.cli.common import EXIT_OK, UsageError, device_for

CLIP = "data/speech_16k.flac"
TARGET_RATE = 22050
MEL = dict(n_fft=400, hop_length=160, n_mels=80)
SNR_DB = 10.0
NOISE_STEP = f"add white noise ({SNR_DB:g} dB SNR)"
SEMITONES = 4
SHIFT_STEP = f"pitch shift ({SEMITONES:+d} semitones)"


def bundled_clip():
    """The bundled clip (3.2 s of English speech, 16 kHz; see tritaudio/data/README.md)."""
    return importlib.resources.files("tritaudio").joinpath(CLIP)


def _log_mel(rate):
    return T.LogMelSpectrogram(rate, **MEL, dynamic_range=80.0)


def _steps(rate):
    """(label, module) of each timed step; each runs on the clip."""
    return [
        (f"resample {rate / 1000:g} -> {TARGET_RATE / 1000:g} kHz", T.Resample(rate, TARGET_RATE)),
        (f"log-mel ({MEL['n_mels']} bands)", _log_mel(rate)),
        ("MFCC (40 coefficients)", T.MFCC(rate, n_mfcc=40, melkwargs=MEL)),
        (NOISE_STEP, T.AdditiveNoise(SNR_DB, seed=0)),
        (SHIFT_STEP, T.PitchShift(rate, SEMITONES)),
    ]


def _backends(device):
    """(backend, label) pairs that can run here on ``device``."""
    from tritaudio._backend import triton_available

    found = [("torch", f"torch ({device.type})")]
    if device.type == "cuda" and triton_available():
        found.append(("triton", "triton (cuda)"))
    elif device.type == "cpu" and os.environ.get("TRITON_INTERPRET") == "1" and triton_available():
        found.append(("triton", "triton (interpreter)"))
    return found


def _median_ms(fn, device, repeats):
    fn()  # warm-up: kernel compilation, caches
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _time_steps(waveform, rate, device, repeats):
    """{step label: {backend label: ms}}, and the augmented clip (noise, then the pitch
    shift) from the first backend, for the picture."""
    steps = dict((label, module.to(device)) for label, module in _steps(rate))
    waveform = waveform.to(device)
    table = {label: {} for label in steps}
    for backend, column in _backends(device):
        with tritaudio.use_backend(backend), torch.inference_mode():
            for label, module in steps.items():
                table[label][column] = _median_ms(lambda m=module: m(waveform), device, repeats)
    with tritaudio.use_backend(_backends(device)[0][0]), torch.inference_mode():
        augmented = steps[SHIFT_STEP](steps[NOISE_STEP](waveform)).cpu()
    return table, augmented


def _print_table(table):
    columns = list(next(iter(table.values())))
    width = max(len(label) for label in table) + 2
    print("step".ljust(width) + "".join(f"{c:>24}" for c in columns))
    for label, row in table.items():
        print(label.ljust(width) + "".join(f"{row[c]:>21.2f} ms" for c in columns))


def _draw(path, waveform, rate, augmented):
    """Waveform, spectrogram, mel and augmented mel, one panel each, as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with torch.inference_mode(), tritaudio.use_backend("torch"):
        spectrogram = T.AmplitudeToDB("power", 80.0)(T.Spectrogram(400, hop_length=160)(waveform))
        mel = _log_mel(rate)(waveform)
        augmented_mel = _log_mel(rate)(augmented)
    seconds = waveform.shape[-1] / rate
    figure = Figure(figsize=(9, 10), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(4, 1, sharex=True)
    axes[0].plot(torch.arange(waveform.shape[-1]) / rate, waveform[0], linewidth=0.4)
    axes[0].set(title="waveform", ylabel="amplitude", xlim=(0, seconds))
    panels = [
        (spectrogram, "spectrogram (dB)", "Hz", (0, rate / 2)),
        (mel, f"log-mel, {MEL['n_mels']} bands (dB)", "mel band", (0, MEL["n_mels"])),
        (augmented_mel, f"augmented: white noise at {SNR_DB:g} dB SNR, pitch {SEMITONES:+d} "
         "semitones, log-mel (dB)",
         "mel band", (0, MEL["n_mels"])),
    ]  # fmt: skip
    for ax, (image, title, unit, (low, high)) in zip(axes[1:], panels, strict=True):
        shown = ax.imshow(
            image[0], origin="lower", aspect="auto", cmap="magma",
            extent=(0, seconds, low, high), interpolation="nearest",
        )  # fmt: skip
        ax.set(title=title, ylabel=unit)
        figure.colorbar(shown, ax=ax, label="dB")
    axes[-1].set_xlabel("time (s)")
    figure.savefig(path, dpi=90)


def _check_out(out):
    """The absolute path of the picture to write; UsageError, before anything is timed,
    when its folder is missing or not writable or matplotlib cannot write its type."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = os.path.abspath(out)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise UsageError(f"--out {out}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"--out {out}: the folder {folder} is not writable")
    kinds = FigureCanvasAgg(Figure()).get_supported_filetypes()
    kind = os.path.splitext(path)[1].lower().lstrip(".")
    if kind not in kinds:
        raise UsageError(
            f"--out {out}: matplotlib cannot write "
            f"{'a .' + kind if kind else 'a picture without an extension'}; "
            f"use one of .{', .'.join(sorted(kinds))}"
        )
    return path


def run_demo(args):

    path = _check_out(args.out)
    device = device_for(args.device)
    with importlib.resources.as_file(bundled_clip()) as clip:
        start = time.perf_counter()
        waveform, rate = tritaudio.load(clip)
        load_ms = 1000 * (time.perf_counter() - start)
    print(
        f"tritaudio {tritaudio.__version__}: {clip.name}, {waveform.shape[-1] / rate:.2f} s "
        f"of speech at {rate} Hz, loaded in {load_ms:.1f} ms; median of {args.repeats} runs:"
    )
    table, augmented = _time_steps(waveform, rate, device, args.repeats)
    _print_table(table)
    if len(next(iter(table.values()))) == 1:
        print("(triton: needs a CUDA GPU; TRITON_INTERPRET=1 runs its kernels, slowly, on the CPU)")
    _draw(path, waveform, rate, augmented)
    print(f"wrote {path} (waveform, spectrogram, mel, augmented mel)")
    return EXIT_OK
