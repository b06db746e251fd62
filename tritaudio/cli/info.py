"""``tritaudio info``: the metadata of audio files, a line (or a JSON object) each."""

import json
import sys

from tritaudio.cli.common import EXIT_FAILED, EXIT_OK


def describe(path):
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
            row = describe(path)
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
