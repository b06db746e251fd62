"""Float32 accuracy of each log-mel implementation and tl.dot precision (not timed).

Whisper's features of real speech (tests/data/speech_en_16k.flac) from
``LogMelSpectrogram.whisper`` on this machine's device, against the same math in float64
(the torch reference on the CPU). Errors: in mel power, relative to the peak (the
accuracy contract: 1e-5), and in dB wherever the value is within 60 dB of the peak.
Triton's interpreter ignores ``precision``: the kernels' tf32 rows mean something only on
a GPU. On any device the script also prints the ``dft`` kernel's arithmetic emulated in
torch (rows "emulated"): the folded DFT (emulated_dft_whisper) with each tl.dot operand
rounded to TF32 (10-bit mantissa, round to nearest) as the tensor cores do, single (tf32)
or split into a TF32 high and low part with the three cross products (tf32x3),
accumulated in float32; the mel projection in tf32x3 (float32 for ieee) as in the kernel.
Two more emulated rows are not kernel options: bf16x3 (the same split into bfloat16
parts) for the DFT, with the mel projection in tf32x3 or in bf16x3: what a kernel on
bfloat16 tensor cores (twice TF32's rate) would give, for issue 17's precision question.

    python benchmarks/logmel_accuracy.py [--out benchmarks/results]

prints a markdown table and writes ``logmel-accuracy-<device>-<date>.json``.
"""

import argparse
import datetime
import json
import os
import pathlib
import sys

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before tritaudio imports triton

import tritaudio
import tritaudio.transforms as T

CLIP = pathlib.Path(__file__).parent.parent / "tests" / "data" / "speech_en_16k.flac"
SETTINGS = [("stft", "ieee"), ("dft", "ieee"), ("dft", "tf32x3"), ("dft", "tf32")]
UNIT_PER_DB = 0.025  # whisper's output: (log10 + 4) / 4


def errors(out, ref):
    """(max power error / peak power, max dB error within 60 dB of the peak)."""
    out, ref = out.cpu().double(), ref.double()
    power_out, power_ref = 10 ** (out / (10 * UNIT_PER_DB)), 10 ** (ref / (10 * UNIT_PER_DB))
    peak = power_ref.amax()
    resolved = power_ref >= peak * 1e-6
    db = ((out - ref)[resolved].abs().max() / UNIT_PER_DB).item()
    return ((power_out - power_ref).abs().max() / peak).item(), db


def to_tf32(x):
    """float32 rounded to TF32's 10-bit mantissa (round to nearest, ties away from zero:
    cvt.rna.tf32.f32)."""
    bits = x.contiguous().view(torch.int32)
    return ((bits + 0x1000) & ~0x1FFF).view(torch.float32)


def to_bf16(x):
    """float32 rounded to bfloat16 (7-bit mantissa, round to nearest even), as float32."""
    return x.to(torch.bfloat16).float()


def emulated_dot(a, b, precision):
    """a @ b in float32 with tl.dot's input precision emulated (bf16x3: a tf32x3-like split
    into bfloat16 parts, not a tl.dot option)."""
    if precision == "ieee":
        return a @ b
    if precision == "bf16x3":
        a_hi, b_hi = to_bf16(a), to_bf16(b)
        a_lo, b_lo = to_bf16(a - a_hi), to_bf16(b - b_hi)
        return a_hi @ b_lo + a_lo @ b_hi + a_hi @ b_hi
    a_hi, b_hi = to_tf32(a), to_tf32(b)
    if precision == "tf32":
        return a_hi @ b_hi
    a_lo, b_lo = to_tf32(a - a_hi), to_tf32(b - b_hi)  # tf32x3: drop only a_lo * b_lo
    return a_hi @ b_lo + a_lo @ b_hi + a_hi @ b_hi


def emulated_dft_whisper(waveform, precision, mel_precision=None):
    """LogMelSpectrogram.whisper(implementation="dft")'s arithmetic in torch, float32: the
    folded DFT of kernels/logmel.py (windowed samples summed / differenced with their
    mirrors and partners in float32, the eight products by the kernel's bases, the bin
    pairs' powers, the mel projection in ``mel_precision``: by default the kernel's, tf32x3,
    or float32 for ieee)."""
    from tritaudio.functional.spectral import _full_window, _normalized_filterbank
    from tritaudio.kernels.logmel import fold_bases, fold_filterbank

    module = T.LogMelSpectrogram.whisper()
    spectrogram = module.mel_spectrogram.spectrogram
    n_fft, hop = spectrogram.n_fft, spectrogram.hop_length
    window = _full_window(spectrogram.window, n_fft, torch.float32)
    offsets, windows, bases = fold_bases(window, n_fft)
    fb = _normalized_filterbank(module.mel_spectrogram.mel_scale.fb, window, n_fft, 2.0,
                                False, torch.float32)  # fmt: skip
    tables, _ = fold_filterbank(fb)
    x = torch.nn.functional.pad(waveform.float()[None], (n_fft // 2, n_fft // 2), "reflect")[0]
    frames = x.unfold(-1, n_fft, hop)  # (rows, frames, n_fft)
    sums = []  # per parity of n: cos (k even, odd), sin (k even, odd)
    for parity in (0, 1):
        p1, p2, p3, p4 = (frames[..., offsets[4 * parity + i].long()] * windows[4 * parity + i]
                          for i in range(4))  # fmt: skip
        u, v, u_partner, v_partner = p1 + p2, p1 - p2, p3 + p4, p3 - p4
        operands = (u + u_partner, u - u_partner, v - v_partner, v + v_partner)
        sums.append([emulated_dot(a, bases[4 * parity + i], precision)
                     for i, a in enumerate(operands)])  # fmt: skip
    (ce0, ce1, se0, se1), (co0, co1, so0, so1) = sums
    powers = [
        (ce0 + co0).square() + (se0 + so0).square(),  # bins 2 j
        (ce0 - co0).square() + (se0 - so0).square(),  # bins H - 2 j
        (ce1 + co1).square() + (se1 + so1).square(),  # bins 2 j + 1
        (ce1 - co1).square() + (se1 - so1).square(),  # bins H - 2 j - 1
    ]
    mel_precision = mel_precision or ("ieee" if precision == "ieee" else "tf32x3")
    mel = sum(emulated_dot(p, t, mel_precision) for p, t in zip(powers, tables, strict=True))
    mel = mel[..., : fb.shape[1]].transpose(-1, -2)[..., :-1]
    log = module.log(mel)
    return torch.maximum(log, log.amax(dim=(-2, -1), keepdim=True) - module.dynamic_range)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=None, help="folder for the JSON")
    parser.add_argument("--seconds", type=float, default=None, help="clip prefix (CPU: 2 s)")
    args = parser.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    waveform, rate = tritaudio.load(CLIP)
    seconds = args.seconds or (None if device == "cuda" else 2.0)
    if seconds:
        waveform = waveform[:, : round(seconds * rate)]
    with tritaudio.use_backend("torch"):
        reference = T.LogMelSpectrogram.whisper().double()(waveform.double())
    rows = []
    for implementation, precision in SETTINGS:
        module = T.LogMelSpectrogram.whisper(implementation=implementation, precision=precision)
        with tritaudio.use_backend("triton"):
            out = module.to(device)(waveform.to(device))
        power_error, db_error = errors(out, reference)
        rows.append(
            dict(
                implementation=implementation,
                precision=precision,
                power_error_of_peak=power_error,
                db_error_within_60db=db_error,
            )
        )
    emulated = [("ieee", None), ("tf32x3", None), ("tf32", None), ("bf16x3", "tf32x3"),
                ("bf16x3", "bf16x3")]  # fmt: skip
    for precision, mel_precision in emulated:
        out = emulated_dft_whisper(waveform, precision, mel_precision)
        power_error, db_error = errors(out, reference)
        label = precision if mel_precision is None else f"{precision}, mel {mel_precision}"
        rows.append(
            dict(
                implementation="dft (emulated in torch)",
                precision=label,
                power_error_of_peak=power_error,
                db_error_within_60db=db_error,
            )
        )
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu (Triton interpreter)"
    print(f"whisper log-mel of {CLIP.name} ({waveform.shape[-1] / rate:g} s), {name}\n")
    print("| implementation | precision | max power error / peak | max dB error (60 dB) |")
    print("|---|---|---|---|")
    for row in rows:
        errors_text = f"{row['power_error_of_peak']:.1e} | {row['db_error_within_60db']:.1e}"
        print(f"| {row['implementation']} | {row['precision']} | {errors_text} |")
    if args.out is not None:
        date = datetime.date.today().isoformat()
        slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
        path = args.out / f"logmel-accuracy-{slug}-{date}.json"
        seconds = waveform.shape[-1] / rate
        record = dict(device=name, date=date, torch=torch.__version__, seconds=seconds, rows=rows)
        path.write_text(json.dumps(record, indent=1) + "\n")
        print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
