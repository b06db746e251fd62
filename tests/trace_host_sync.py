"""Trace every functional op and transform on the Triton path, without a GPU, and report any
host synchronisation or host-to-device copy the GPU would make on it.

Each case runs under ``torch.compile(fullgraph=True)`` with a backend that only records the
AOT graphs (forward and backward; the triton_ops are decomposed there, launchers included)
and launches nothing. A data-dependent host read (``.item()``, ``if tensor:``, ``int(t)``,
``.tolist()``) cannot be traced: fullgraph fails. A ``torch.tensor(..., device=...)`` in
the code or a launcher appears as a tensor constant copied into the graph
(``lift_fresh_copy``): on a GPU that is a host-to-device copy per call. Prints one line per
case: ``<name><TAB>ok`` or ``<name><TAB>SYNC <reason>``. Run without TRITON_INTERPRET
(tests/test_host_sync.py does, in a subprocess).
"""

import logging
import math
import sys
import warnings

import torch
import triton
from torch._functorch.aot_autograd import aot_module_simplified
from triton.backends.compiler import GPUTarget

import tritaudio.functional as F
import tritaudio.transforms as T
from tritaudio.functional import stretch


class HopperDriver:
    """What torch asks triton's driver when it reads a kernel's TTIR to find which
    arguments it writes: the target (an H100 / H200), with no GPU there."""

    def get_current_target(self):
        return GPUTarget("cuda", 90, 32)


def _pretend_a_gpu():
    """The GPU's path on CPU tensors: every family's dispatch answers "triton", and triton's
    driver is a Hopper target. Only when run as a script: tests/test_host_sync.py imports
    CASES from here, and these must not leak into its process."""
    for module in list(sys.modules.values()):
        if module.__name__.startswith("tritaudio.") and hasattr(module, "backend_for"):
            module.backend_for = lambda *tensors: "triton"
    triton.runtime.driver.set_active(HopperDriver())
    logging.getLogger("torch._higher_order_ops.triton_kernel_wrap").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


class Traced(Exception):
    pass


def _capture(graphs):
    def compiler(graph_module, inputs):
        graphs.append(graph_module)

        def run(*args):
            raise Traced  # tracing is the test; the kernels cannot run on CPU

        return run

    def backend(graph_module, inputs):
        return aot_module_simplified(
            graph_module, inputs, fw_compiler=compiler, bw_compiler=compiler
        )

    return backend


HOST_COPIES = ("aten.lift_fresh_copy", "aten._local_scalar_dense", "aten.item")


def host_syncs(fn, *inputs):
    """Why tracing ``fn(*inputs)`` shows a host read or copy, or None."""
    graphs = []
    torch._dynamo.reset()
    try:
        torch.compile(fn, fullgraph=True, backend=_capture(graphs))(*inputs)
    except Traced:
        pass
    except Exception as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    if not graphs:
        return "nothing traced"
    for graph in graphs:
        for node in graph.graph.nodes:
            target = str(node.target)
            if node.op == "get_attr" and "_tensor_constant" in target:
                return f"a tensor constant in the graph ({target}): a host-to-device copy"
            if any(target.startswith(name) for name in HOST_COPIES):
                return f"{target} in the graph"
    return None


def signal(*shape, grad=True):
    x = torch.randn(*shape)
    return x.requires_grad_(grad)


def spec(grad=True):
    return torch.randn(2, 65, 20, dtype=torch.complex64).requires_grad_(grad)


hann = torch.hann_window(128)
advance = torch.linspace(0, math.pi * 32, 65)[..., None]
mel_fb = F.melscale_fbanks(65, 0.0, 8000.0, 16, 16000)
bank = torch.randn(3, 700)

FUNCTIONAL = {
    "DB_to_amplitude": (lambda x: F.DB_to_amplitude(x, 1.0, 0.5), signal(2, 50)),
    "add_noise": (F.add_noise, signal(2, 500), signal(2, 500), torch.tensor([10.0, 3.0])),
    "add_noise lengths": (
        F.add_noise,
        signal(2, 500),
        signal(2, 500),
        torch.tensor([20, 3]),
        torch.tensor([400.5, 3.0]),
    ),
    "add_white_noise": (
        lambda x, snr: F.add_white_noise(x, snr, 7),
        signal(2, 500),
        torch.tensor([5.0, 1.0]),
    ),
    "amplitude_to_DB": (lambda x: F.amplitude_to_DB(x, 10.0, 1e-10, 0.0, 80.0), signal(2, 8, 9)),
    "colored_noise": (lambda x: x + F.colored_noise(x.shape, "pink"), signal(2, 500)),
    "create_dct": (lambda x: x @ F.create_dct(13, 16, "ortho"), signal(3, 16)),
    "deemphasis": (lambda x: F.deemphasis(x, 0.9), signal(2, 300)),
    "gain": (lambda x: F.gain(x, 3.0), signal(2, 500)),
    "griffinlim": (
        lambda s: F.griffinlim(s, hann, 128, 32, 128, 2.0, 2, 0.99, None, True),
        torch.rand(2, 65, 20),
    ),
    "inverse_spectrogram": (
        lambda s: F.inverse_spectrogram(s, None, 0, hann, 128, 32, 128, False),
        spec(),
    ),
    "linear_fbanks": (lambda x: x @ F.linear_fbanks(65, 0.0, 8000.0, 10, 16000), signal(3, 65)),
    "log_mel_spectrogram": (
        lambda x: F.log_mel_spectrogram(x, mel_fb, 0, hann, 128, 32, 128, 2.0, False),
        signal(2, 1000),
    ),
    "mask_along_axis": (lambda s: F.mask_along_axis(s, 5, 0.0, 2), signal(2, 16, 30)),
    "mask_along_axis_iid": (lambda s: F.mask_along_axis_iid(s, 5, 0.0, 2), signal(2, 16, 30)),
    "mel_spectrogram": (
        lambda x: F.mel_spectrogram(x, mel_fb, 0, hann, 128, 32, 128, 2.0, False),
        signal(2, 1000),
    ),
    "melscale_fbanks": (lambda x: x @ mel_fb, signal(3, 65)),
    "phase_vocoder": (lambda s: F.phase_vocoder(s, 1.3, advance), spec()),
    "pitch_shift": (lambda x: F.pitch_shift(x, 8000, 3, n_fft=128), signal(2, 1000)),
    "preemphasis": (lambda x: F.preemphasis(x, 0.9), signal(2, 300)),
    "resample": (lambda x: F.resample(x, 441, 160), signal(2, 1000)),
    "spectrogram": (lambda x: F.spectrogram(x, 0, hann, 128, 32, 128, 2.0, False), signal(2, 1000)),
    "speed": (lambda x: F.speed(x, 16000, 1.1)[0], signal(2, 1000)),
    "time_stretch": (lambda x: F.time_stretch(x, 1.3, n_fft=128), signal(2, 1000)),
    # the phase vocoder kernel of time_stretch / pitch_shift, without the inverse STFT
    "time_stretch vocoder": (lambda s: stretch._vocode(s, 1.3, advance), spec()),
}

TRANSFORMS = {
    "LFCC": (T.LFCC(16000, n_filter=16, n_lfcc=8, speckwargs=dict(n_fft=128)), signal(2, 1000)),
    "MFCC": (T.MFCC(16000, n_mfcc=8, melkwargs=dict(n_fft=128, n_mels=16)), signal(2, 1000)),
    "AddNoise": (T.AddNoise(), signal(2, 500), signal(2, 500), torch.tensor([10.0, 3.0])),
    "AdditiveNoise": (T.AdditiveNoise(), signal(2, 500)),
    "AdditiveNoise pink": (T.AdditiveNoise(color="pink"), signal(2, 500)),
    "AdditiveNoise bank": (T.AdditiveNoise(noise=bank, p=0.5), signal(2, 500)),
    "AmplitudeToDB": (T.AmplitudeToDB(top_db=80.0), signal(2, 8, 9)),
    "Deemphasis": (T.Deemphasis(), signal(2, 300)),
    "Fade": (T.Fade(50, 50), signal(2, 300)),
    "FrequencyMasking": (T.FrequencyMasking(5), signal(2, 16, 30)),
    "GriffinLim": (T.GriffinLim(n_fft=128, n_iter=2), torch.rand(2, 65, 20)),
    "InverseSpectrogram": (T.InverseSpectrogram(n_fft=128), spec()),
    "LogMelSpectrogram": (T.LogMelSpectrogram.whisper(), signal(2, 4000)),
    "MelScale": (T.MelScale(16, 16000, n_stft=65), signal(2, 65, 9)),
    "MelSpectrogram": (T.MelSpectrogram(16000, n_fft=128, n_mels=16), signal(2, 1000)),
    "PitchShift": (T.PitchShift(8000, 3, n_fft=128), signal(2, 1000)),
    "Preemphasis": (T.Preemphasis(), signal(2, 300)),
    "Resample": (T.Resample(441, 160), signal(2, 1000)),
    "SpecAugment": (T.SpecAugment(1, 5, 1, 5), signal(2, 16, 30)),
    "Spectrogram": (T.Spectrogram(n_fft=128), signal(2, 1000)),
    "Speed": (lambda x: T.Speed(16000, 1.1)(x)[0], signal(2, 1000)),
    "SpeedPerturbation": (lambda x: T.SpeedPerturbation(16000, [1.1])(x)[0], signal(2, 1000)),
    "TimeMasking": (T.TimeMasking(5), signal(2, 16, 30)),
    "TimeStretch": (T.TimeStretch(32, 65, fixed_rate=1.3), spec()),
    "TimeStretchWaveform": (T.TimeStretchWaveform(1.3, n_fft=128), signal(2, 1000)),
    "Vol": (T.Vol(0.5), signal(2, 500)),
    "Vol db": (T.Vol(3.0, "db"), signal(2, 500)),
}

CASES = {
    **{f"F.{k}": v for k, v in FUNCTIONAL.items()},
    **{f"T.{k}": v for k, v in TRANSFORMS.items()},
}

# the batched vad (its lengths check is a device-side assert on the Triton path)
CASES |= {
    "F.vad_batch": (lambda x: F.vad_batch(x, 16000)[0], signal(2, 12000, grad=False)),
    "F.vad_batch lengths": (
        lambda x, n: F.vad_batch(x, 16000, n, pre_trigger_time=0.1),
        signal(2, 2, 12000, grad=False),
        torch.tensor([12000, 5000]),
    ),
    "T.VadBatch": (T.VadBatch(16000), signal(2, 12000, grad=False)),
}


def main(names):
    _pretend_a_gpu()
    for name in names or CASES:
        fn, *inputs = CASES[name]
        reason = host_syncs(fn, *inputs)
        print(f"{name}\t{'ok' if reason is None else f'SYNC {reason}'}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
