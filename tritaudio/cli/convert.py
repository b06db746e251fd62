"""``tritaudio convert``: format, rate, channels and encoding of one file."""

import os
import sys

import torch

from tritaudio.cli.common import EXIT_FAILED, EXIT_OK, UsageError, device_for


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


def _check_output_format(output):
    """UsageError unless OUT's extension names a format libsndfile writes."""
    from tritaudio.io import _check_format_name

    extension = os.path.splitext(output)[1]
    if not extension:
        raise UsageError(
            f"{output}: the output's extension names its format (.wav, .flac, .ogg, .opus, "
            ".mp3, .aiff...); it has none"
        )
    try:
        _check_format_name(extension)
    except ValueError as err:
        raise UsageError(f"{output}: {err}") from None


def run_convert(args):
    import tritaudio

    device = device_for(args.device)
    _check_output_format(args.output)
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
            if waveform.shape[-1] == 0:  # the input, not an argument, is at fault
                print(f"tritaudio convert: error: {args.input} has no frames: {err}",
                      file=sys.stderr)  # fmt: skip
                return EXIT_FAILED
            if attempt + 1 == len(attempts):
                raise UsageError(str(err)) from None
        except (OSError, RuntimeError) as err:
            print(f"tritaudio convert: error: {err}", file=sys.stderr)
            return EXIT_FAILED
    if not args.quiet:
        seconds = waveform.shape[-1] / rate
        print(f"{args.input} -> {args.output}: {seconds:.3f} s")
    return EXIT_OK


def _resample(waveform, orig, new, device):
    from tritaudio.functional import resample

    with torch.inference_mode():
        return resample(waveform.float().to(device), orig, new).cpu()
