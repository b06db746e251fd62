"""Compile every kernel for real GPUs, without a GPU: what the interpreter cannot check.

Triton's interpreter runs kernels with numpy and accepts code the compiler rejects. This
script calls each launcher with a launch wrapper that, instead of running the kernel,
compiles it with the launcher's own arguments to PTX and cubin for the targets below.
Run it without TRITON_INTERPRET (tests/test_kernel_compile.py does, in a subprocess).
Prints one line per compiled kernel; exits non-zero on the first failure.
"""

import sys

import torch
import triton
from triton.backends.compiler import GPUTarget

from tritaudio._common import DOT_PRECISIONS
from tritaudio._ops import INTERPRETED
from tritaudio._reference.kaldi import FrameOptions
from tritaudio.functional.resample import ResampleFilter, resample_tables
from tritaudio.kernels import (
    alignment,
    analysis,
    filtering,
    framing,
    kaldi,
    logmel,
    noise,
    resample,
    spectral,
    stretch,
)
from tritaudio.kernels.launch import row_blocks

TARGETS = [GPUTarget("cuda", 90, 32), GPUTarget("cuda", 80, 32)]  # H100 / H200, A100

TRITON_TYPES = {
    torch.float16: "fp16",
    torch.bfloat16: "bf16",
    torch.float32: "fp32",
    torch.float64: "fp64",
    torch.int8: "i8",
    torch.uint8: "u8",
    torch.int16: "i16",
    torch.int32: "i32",
    torch.int64: "i64",
}


def _arg_type(value):
    if isinstance(value, torch.Tensor):
        return "*" + TRITON_TYPES[value.dtype]
    if isinstance(value, bool):
        return "i1"
    if isinstance(value, int):
        return "i32" if -(2**31) <= value < 2**31 else "i64"
    if isinstance(value, float):
        return "fp32"
    raise TypeError(f"no Triton type for {value!r}")


def compile_only(kernel):
    """A stand-in for ``kernel[grid]`` that compiles with the given arguments."""

    def launch(*args, num_warps=4, num_stages=3, **kwargs):
        values = dict(zip(kernel.arg_names, args, strict=False), **kwargs)
        signature, constexprs = {}, {}
        for param in kernel.params:
            value = values[param.name]
            if param.is_constexpr:
                signature[param.name] = "constexpr"
                constexprs[param.name] = value
            else:
                signature[param.name] = _arg_type(value)
        source = triton.compiler.ASTSource(kernel, signature, constexprs)
        for target in TARGETS:
            compiled = triton.compile(
                source, target=target, options={"num_warps": num_warps, "num_stages": num_stages}
            )
            assert compiled.asm["cubin"], "no cubin"
        print(f"compiled {kernel.fn.__name__} {signature} {constexprs}")

    class Grid:
        def __getitem__(self, grid):
            return launch

    return Grid()


def launches():
    """Each launcher with inputs covering its dtypes and feature flags."""
    for dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
        x = torch.zeros(3, 5000, dtype=dtype)
        yield noise.scale_rows, (x, 2.0)
        lengths = torch.full((3,), 5000, dtype=torch.int64)
        compute = torch.float64 if dtype == torch.float64 else torch.float32
        snr, seed = torch.ones(3, dtype=compute), torch.ones(1, dtype=torch.int64)
        partials = torch.zeros(2, 3, row_blocks(3, 5000, x.device)[1], dtype=compute)
        for row_lengths in (None, lengths, lengths.float()):
            yield noise.add_noise, (x, x, snr, row_lengths)
            yield noise.add_noise_backward, (x, x, x, snr, row_lengths, partials)
        window = torch.ones(400, dtype=compute)
        for mode in framing.PAD_MODES.values():
            yield framing.frame, (x, window, 400, 160, 3, 200, mode)
        yield framing.overlap_add, (torch.zeros(3, 31, 400, dtype=compute), window, 160, 5200)
        # strided frames (the .real view of a complex tensor), read in place
        strided = torch.zeros(3, 31, 400, 2, dtype=compute)[..., 0]
        yield framing.overlap_add, (strided, window, 160, 5200)
        for mode in (1, 2, 3):  # the centering pad's adjoint, in place
            yield framing.fold_edges, (torch.zeros(3, 5400, dtype=compute), 200, mode)
        # the same kernels generating white noise in place of loading it
        yield noise.add_noise, (x, None, snr, lengths, seed)
        white = torch.zeros(2, 3, noise._layout(3, 5000, x.device, True)[1], dtype=compute)
        yield noise.add_noise_backward, (x, x, None, snr, lengths, white, seed)
        spec = torch.zeros(3, 31, 201, 2, dtype=compute)
        fb = torch.zeros(201, 80, dtype=compute)
        bin_ranges = spectral.nonzero_ranges(fb, spectral.BLOCK_MELS)
        mel_ranges = spectral.nonzero_ranges(fb.t(), spectral.BLOCK_BINS)
        mel = torch.zeros(3, 80, 31, dtype=compute)
        ramp = torch.linspace(0.0, 1.0, spec.numel(), dtype=compute).reshape(spec.shape)
        ones = torch.ones_like(fb)
        ones_ranges = spectral.nonzero_ranges(ones, spectral.BLOCK_MELS)
        for power in (2.0, 1.0, 0.5):
            for log in (None, (4.3, 1e-10, 0.0, 0.0)):
                yield spectral.mel_power, (spec, fb, bin_ranges, power, log, log is not None)
                if log is not None:  # Whisper's epilogue: trimmed, tile extrema, the floor
                    for per_example in (True, False):  # (values that leave tiles to floor)
                        yield spectral.mel_power, (
                            ramp, ones, ones_ranges, power, log, False, 30, (0.5, per_example)
                        )  # fmt: skip
                yield spectral.mel_power_backward, (mel, mel, spec, fb, mel_ranges, power, log)
                # with the rfft adjoint's bin weights (even and odd n_fft)
                for n_fft in (400, 401):
                    yield spectral.mel_power_backward, (
                        mel, mel, spec, fb, mel_ranges, power, log, n_fft
                    )  # fmt: skip
                if log is not None:  # the floor with a gradient: saved y + tile extrema
                    yield spectral.mel_power, (spec, fb, bin_ranges, power, log, True, 30,
                                               (0.5, True))  # fmt: skip
                    tiles = mel.new_zeros(3, 3)
                    for per_example, tile_min in ((True, tiles), (False, None)):
                        floor = (0.5, per_example)
                        yield spectral.floor_backward, (mel, mel, floor, log, tiles, tile_min)
                    state = (torch.zeros(3, 3, dtype=torch.int8), tiles[0], tiles[1], 0.5)
                    yield spectral.mel_power_backward, (
                        mel, mel, spec, fb, mel_ranges, power, log, 400, state
                    )  # fmt: skip
        cos, sin = logmel.dft_bases(torch.ones(400, dtype=compute), 400)
        precisions = ("ieee",) if compute == torch.float64 else DOT_PRECISIONS
        for precision in precisions:
            for mode in (0, 1):
                yield logmel.log_mel_dft, (
                    x, cos, sin, fb, bin_ranges, 160, 0, 200, mode, 2.0, (0.1, 1e-10, 0.0, -1.0),
                    precision == "ieee", precision,
                )  # fmt: skip
                yield logmel.log_mel_dft, (
                    x, cos, sin, fb, bin_ranges, 160, 0, 200, mode, 2.0, (0.1, 1e-10, 0.0, -1.0),
                    False, precision, True, (2.0, True),
                )  # fmt: skip
        # the folded DFT (even n_fft), with and without the edge buffer (center=False)
        fold = logmel.fold_bases(window, 400), logmel.fold_filterbank(fb)
        for precision in precisions:
            for left, floor in ((200, (2.0, True)), (0, None)):
                yield logmel.log_mel_fold, (
                    x, window, *fold, 80, 160, 0, left, 1, 2.0, (0.1, 1e-10, 0.0, -1.0),
                    floor is None, precision, True, floor,
                )  # fmt: skip
        complex_dtype = torch.complex128 if compute == torch.float64 else torch.complex64
        stft = torch.zeros(3, 31, 201, dtype=complex_dtype).transpose(1, 2)  # bins contiguous
        steps, advance = torch.arange(0, 31, 1.26, dtype=compute), torch.zeros(201, dtype=compute)
        for layout in (stft, stft.contiguous()):
            yield stretch.phase_vocoder, (layout, steps, advance)
        for rate in (0.8, 2.6):  # tiles of 32 outputs and frames; DIRECT
            steps = torch.arange(0, 31, rate, dtype=compute)
            yield stretch.phase_vocoder, (stft, steps, advance)
        for order in (1, 2, 4, 8, 12):
            a = torch.zeros(2, order + 1, dtype=compute)
            a[:, 0] = 1.0
            for reverse, clamp in ((0, 0), (1, 1)):
                yield filtering.lfilter, (x.reshape(6, 2500), a, a.clone(), reverse, clamp)
        yield filtering.conv_rows, (x, torch.zeros(3, 21, dtype=dtype), 5020, 0, -1)
        yield filtering.lag_products, (x, x, 9, 0, 1, compute)
        yield from kaldi_launches(x, lengths, compute)
        for kaiser in (0, 1):
            spec = ResampleFilter(441, 160, 6.0, 0.99, kaiser, 14.77)
            table, table_t = resample_tables(spec, compute, torch.device("cpu"))
            for forward, backward in ((table, table_t), (None, None)):  # table / on the fly
                yield resample.resample, (x, forward, *spec)
                yield resample.resample_backward, (x, 13781, backward, *spec)
    yield from alignment_launches()
    yield from analysis_launches()


def alignment_launches():
    """forced_align and the RNN-T kernels, at each dtype and both log-softmax modes."""
    for dtype in (torch.float32, torch.float16, torch.float64):
        compute = torch.float64 if dtype == torch.float64 else torch.float32
        frames, labels = torch.full((2,), 50, dtype=torch.int64), torch.full((2,), 12)
        targets = torch.ones(2, 12, dtype=torch.int64)
        yield (
            alignment.forced_align,
            (torch.zeros(2, 50, 30, dtype=dtype), targets, frames, labels, 0),
        )
        logits = torch.zeros(2, 20, 8, 33, dtype=dtype)
        targets = torch.ones(2, 7, dtype=torch.int32)
        frames, labels = (
            torch.full((2,), 20, dtype=torch.int32),
            torch.full((2,), 7, dtype=torch.int32),
        )
        log_probs = torch.zeros(3, 2, 20, 8, dtype=compute)
        alpha_beta = torch.zeros(2, 2, 20, 8, dtype=compute)
        wide = torch.zeros(2, 20, 8, 2000, dtype=dtype)  # the vocabulary in several blocks
        yield alignment.rnnt_forward, (wide, targets, frames, labels, 0, 1)
        for fused in (0, 1):
            yield alignment.rnnt_forward, (logits, targets, frames, labels, 0, fused)
            grad_costs = torch.ones(2, dtype=dtype)
            yield alignment.rnnt_gradient, (
                logits, targets, frames, labels, log_probs, alpha_beta, grad_costs, 0, -1.0, fused,
            )  # fmt: skip


def kaldi_launches(x, lengths, compute):
    """The Kaldi frame kernels: every feature flag in float32, one setting otherwise."""
    counts = torch.full((3,), 30, dtype=torch.int64)
    noise = torch.zeros(3, 30, 400, dtype=compute)
    window = torch.ones(400, dtype=compute)
    grad_frames, grad_energy = torch.zeros(3, 30, 512, dtype=compute), torch.zeros(3, 30)
    settings = [(True, True, True, 0.97, 1.0), (False, False, False, 0.0, 0.0)]
    settings += [(False, True, False, 0.97, 0.0), (True, False, True, 0.0, 1.0)]
    for dither, dc, raw, preemphasis, floor in settings[: 4 if x.dtype == torch.float32 else 1]:
        options = FrameOptions(400, 160, 512, dc, float(dither), dc, raw, preemphasis, floor,
                               "povey", 0.42)  # fmt: skip
        frame_noise = noise if dither else None
        yield kaldi.kaldi_frames, (x, lengths, counts, frame_noise, window, 30, options)
        yield kaldi.kaldi_frames_backward, (
            grad_frames, grad_energy.to(compute), x, lengths, counts, frame_noise, window, options
        )  # fmt: skip


def analysis_launches():
    """The batched vad's noise-floor and trigger kernels (float32 only, as vad computes)."""
    magnitudes = torch.zeros(6, 20, 762)
    table, window = torch.zeros(20), torch.zeros(762)
    out = torch.zeros(6, 20, 1024)
    yield analysis.vad_noise_floor, (
        magnitudes, table, table, window, out, 6, 6, 0.6, 0.007, 0.4, 0.99, 1.35
    )  # fmt: skip
    measure, frames = torch.zeros(3, 2, 20), torch.full((3,), 20, dtype=torch.int64)
    t_star, to_flush = torch.zeros(3, dtype=torch.int32), torch.zeros(3, dtype=torch.int32)
    yield analysis.vad_trigger, (measure, measure, frames, t_star, to_flush, 20, 5, 0.8, 7.0)


def main():
    if INTERPRETED:
        sys.exit("run without TRITON_INTERPRET: the interpreter's kernels cannot be compiled")
    for launcher, args in launches():
        launcher(*args, launch=compile_only)


if __name__ == "__main__":
    main()
