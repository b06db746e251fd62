"""The ``tritaudio`` command: ``demo``, ``info``, ``convert`` and ``features``.

Installed as a console script (``tritaudio``) and runnable as ``python -m tritaudio``.
Exit codes: 0 when everything worked, 1 when a file failed, 2 for bad arguments (always a
one-line message).
"""

import argparse
import contextlib
import os
import sys

import torch

from tritaudio.cli import convert, demo, features, info
from tritaudio.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    Parser,
    UsageError,
    c_library_messages_silenced,
    positive_int,
)

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
    parser = Parser(
        prog="tritaudio",
        description="Audio on the GPU: inspect, convert and turn folders of audio into features.",
        epilog=_MAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

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
    demo.add_argument("--repeats", type=positive_int, default=5, help="timed runs per step")
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
    convert.add_argument("--sample-rate", type=positive_int, help="resample to this rate (Hz)")
    convert.add_argument("--channels", type=positive_int, help="1 mixes down; N copies mono")
    convert.add_argument(
        "--encoding", help="PCM_S, PCM_U, PCM_F, ULAW, ALAW (VORBIS, OPUS, MP3, FLAC)"
    )
    convert.add_argument("--bits-per-sample", type=int, choices=(8, 16, 24, 32, 64))
    convert.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    convert.add_argument("--quiet", action="store_true", help="print nothing on success")

    features.add_arguments(commands)
    return parser


def _version():
    import tritaudio

    return f"tritaudio {tritaudio.__version__} (torch {torch.__version__})"


def _keep_undecodable_names():
    """Print file names that are not valid text as the bytes they are (Python decodes
    such command-line arguments with surrogate escapes; a strict stdout would raise)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="surrogateescape")


def main(argv=None):
    """Entry point of the ``tritaudio`` command; returns the exit code."""
    parser = _build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    args.argv = argv  # for the command that resumes an interrupted run
    run = {
        "demo": demo.run_demo,
        "info": info.run_info,
        "convert": convert.run_convert,
        "features": features.run_features,
    }[args.command]
    _keep_undecodable_names()
    try:
        with c_library_messages_silenced():
            return run(args)
    except UsageError as err:
        print(f"tritaudio {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # features prints what it did and how to resume before this; convert and save
        # write atomically, so an interrupted command leaves no partial file.
        print(f"tritaudio {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `tritaudio info ... | head`: the reader left; stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
