"""The ``tritaudio`` command: ``demo``, ``info``, ``convert`` and ``features``.

Installed as a console script (``tritaudio``) and runnable as ``python -m tritaudio``.
Exit codes: 0 when everything worked, 1 when a file failed, 2 for bad arguments (always a
one-line message).
"""

import argparse
import json
import os
import sys

import torch

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A bad argument found after parsing: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (argparse prints the whole usage first)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _device(name):
    """'auto' -> cuda when there is a GPU, else cpu; 'cuda' without one is a usage error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available (use --device auto or cpu)")
    return torch.device(name)


# ---------------------------------------------------------------------------------- info


def _describe(path):
    import tritaudio

    meta = tritaudio.info(path)
    return {
        "path": path,
        "sample_rate": meta.sample_rate,
        "num_frames": meta.num_frames,
        "duration": meta.num_frames / meta.sample_rate,
        "num_channels": meta.num_channels,
        "encoding": meta.encoding,
        "bits_per_sample": meta.bits_per_sample,
    }


def run_info(args):
    failed = 0
    for path in args.files:
        try:
            row = _describe(path)
        except (OSError, RuntimeError, ValueError) as err:
            failed += 1
            if args.json:
                print(json.dumps({"path": path, "error": str(err)}), flush=True)
            else:
                print(f"{path}: error: {err}", file=sys.stderr, flush=True)
            continue
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            bits = f"{row['bits_per_sample']} bit" if row["bits_per_sample"] else "- bit"
            print(
                f"{path}: {row['sample_rate']} Hz, {row['num_frames']} frames, "
                f"{row['duration']:.3f} s, {row['num_channels']} ch, {row['encoding']}, {bits}",
                flush=True,
            )
    return EXIT_FAILED if failed else EXIT_OK


# ------------------------------------------------------------------------------- convert


def _mix_channels(waveform, channels, path):
    """(C, time) -> (channels, time): 1 averages the channels, C copies of a mono clip."""
    have = waveform.shape[0]
    if channels is None or channels == have:
        return waveform
    if channels == 1:
        return waveform.mean(0, keepdim=True)
    if have == 1:
        return waveform.expand(channels, -1).contiguous()
    raise UsageError(
        f"--channels {channels}: {path} has {have} channels; a mix to 1 channel, or copies "
        "of a mono clip, are what convert does"
    )


def _inherited_encoding(meta):
    """The input's (encoding, bits) to keep when the output format can store them."""
    if meta.bits_per_sample == 0 or meta.encoding == "UNKNOWN":
        return None, None  # lossy or unknown: the output format's default
    encoding = "PCM_S" if meta.encoding == "FLAC" else meta.encoding
    return encoding, meta.bits_per_sample


def run_convert(args):
    import tritaudio

    device = _device(args.device)
    try:
        meta = tritaudio.info(args.input)
        # Integer PCM is copied exactly unless samples must be computed (resampled / mixed).
        exact = args.sample_rate in (None, meta.sample_rate) and args.channels in (
            None,
            meta.num_channels,
        )
        waveform, rate = tritaudio.load(args.input, normalize=not exact)
    except (OSError, RuntimeError) as err:
        print(f"tritaudio convert: error: {err}", file=sys.stderr)
        return EXIT_FAILED
    if not exact:
        waveform = _mix_channels(waveform, args.channels, args.input)
        if args.sample_rate not in (None, rate):
            waveform = _resample(waveform, rate, args.sample_rate, device)
            rate = args.sample_rate
    encoding, bits = args.encoding, args.bits_per_sample
    attempts = [(encoding, bits)]
    if encoding is None and bits is None:
        attempts.insert(0, _inherited_encoding(meta))
    for attempt, (encoding, bits) in enumerate(attempts):
        try:
            tritaudio.save(args.output, waveform, rate, encoding=encoding, bits_per_sample=bits)
            break
        except ValueError as err:
            if attempt + 1 == len(attempts):
                raise UsageError(str(err)) from None
        except (OSError, RuntimeError) as err:
            print(f"tritaudio convert: error: {err}", file=sys.stderr)
            return EXIT_FAILED
    if not args.quiet:
        print(f"{args.input} -> {args.output}: {_describe(args.output)['duration']:.3f} s")
    return EXIT_OK


def _resample(waveform, orig, new, device):
    from tritaudio.functional import resample

    with torch.inference_mode():
        return resample(waveform.float().to(device), orig, new).cpu()


# ------------------------------------------------------------------------------- parsers

_MAIN_EXAMPLES = """\
examples:
  tritaudio demo                                  # try it: timings and a picture
  tritaudio info clip.wav other.flac              # sample rate, frames, duration...
  tritaudio convert in.mp3 out.wav --sample-rate 16000 --channels 1
  tritaudio features corpus/ --out feats/ --feature logmel --sample-rate 16000

exit codes: 0 all good, 1 a file failed, 2 bad arguments.
Run `tritaudio COMMAND --help` for each command's options.
"""

_DEMO_EXAMPLES = """\
examples:
  tritaudio demo                      # writes tritaudio-demo.png in the current folder
  tritaudio demo --out /tmp/demo.png --repeats 10
"""

_INFO_EXAMPLES = """\
examples:
  tritaudio info clip.wav
  tritaudio info corpus/*.flac --json | jq .duration

Each line: path, sample rate, frames, duration, channels, encoding, bits per sample
(0 / '-' for lossy encodings). --json prints one JSON object per line; a file that cannot
be read gives {"path": ..., "error": ...} (without --json: a line on stderr), exit code 1.
"""

_CONVERT_EXAMPLES = """\
examples:
  tritaudio convert speech.flac speech.wav
  tritaudio convert music.wav music_16k.flac --sample-rate 16000 --channels 1
  tritaudio convert in.wav out.wav --encoding PCM_F --bits-per-sample 32

The output format comes from OUT's extension (wav, flac, ogg, opus, mp3, aiff, ...).
Without --encoding / --bits-per-sample the input's encoding is kept where the output
format can store it (else the format's default); integer PCM is copied exactly when
neither the rate nor the channels change. --channels 1 averages the channels;
--channels N of a mono clip copies it. Resampling uses tritaudio.functional.resample
(torchaudio's default filter) on the GPU when there is one.
"""


def _build_parser():
    from tritaudio import _features

    parser = _Parser(
        prog="tritaudio",
        description="Audio on the GPU: inspect, convert and turn folders of audio into features.",
        epilog=_MAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = commands.add_parser(
        "demo",
        help="time the main ops on a bundled speech clip and draw them",
        description="Load a bundled 3 s speech clip, resample it, compute log-mel and MFCC, "
        "add noise and shift its pitch, print the time of each step on each backend "
        "available here, and draw waveform, spectrogram, mel and augmented mel to a PNG.",
        epilog=_DEMO_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--out", default="tritaudio-demo.png", help="PNG to write")
    demo.add_argument("--repeats", type=_positive_int, default=5, help="timed runs per step")
    demo.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")

    info = commands.add_parser(
        "info",
        help="sample rate, frames, duration, channels, encoding, bits of audio files",
        description="Print the metadata of audio files (headers only, nothing is decoded).",
        epilog=_INFO_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    info.add_argument("files", nargs="+", metavar="FILE")
    info.add_argument("--json", action="store_true", help="one JSON object per line")

    convert = commands.add_parser(
        "convert",
        help="convert an audio file (format, rate, channels, encoding)",
        description="Convert IN to OUT; the format comes from OUT's extension.",
        epilog=_CONVERT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    convert.add_argument("input", metavar="IN")
    convert.add_argument("output", metavar="OUT")
    convert.add_argument("--sample-rate", type=_positive_int, help="resample to this rate (Hz)")
    convert.add_argument("--channels", type=_positive_int, help="1 mixes down; N copies mono")
    convert.add_argument(
        "--encoding", help="PCM_S, PCM_U, PCM_F, ULAW, ALAW (VORBIS, OPUS, MP3, FLAC)"
    )
    convert.add_argument("--bits-per-sample", type=int, choices=(8, 16, 24, 32, 64))
    convert.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    convert.add_argument("--quiet", action="store_true", help="print nothing on success")

    _features.add_arguments(commands)
    return parser


def _version():
    import tritaudio

    return f"tritaudio {tritaudio.__version__} (torch {torch.__version__})"


def main(argv=None):
    """Entry point of the ``tritaudio`` command; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    from tritaudio import _demo, _features

    run = {
        "demo": _demo.run_demo,
        "info": run_info,
        "convert": run_convert,
        "features": _features.run_features,
    }[args.command]
    try:
        return run(args)
    except UsageError as err:
        print(f"tritaudio {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `tritaudio info ... | head`: the reader left; stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
