"""Trace every functional op and transform on the Triton path, without a GPU, and report any
host synchronisation or host-to-device copy the GPU would make on it.

Each case runs under ``torch.compile(fullgraph=True)`` with a backend that only records the
AOT graphs (forward and backward; the triton_ops are decomposed there, launchers included)
and launches nothing. A data-dependent host read (``.item()``, ``if tensor:``, ``int(t)``,
``.tolist()``) cannot be traced: fullgraph fails. A ``torch.tensor(..., device=...)`` in
the code or a launcher appears as a tensor constant copied into the graph
(``lift_fresh_copy``): on a GPU that is a host-to-device copy per call. The backward graph
is lowered at compile time, so it is inspected too.

The inputs are CPU tensors standing for CUDA ones, so what a CPU run cannot show is modelled:
checks that branch on the device take their CUDA branch (DEVICE_BRANCHES), and the
torch.linalg functions that synchronise on CUDA (SYNCING_ON_CUDA) report a host read when
called. Host work on host data (a number's coefficients computed on the CPU) traces as
constants, as torch.compile takes it. Prints one line per case: ``<name><TAB>ok`` or
``<name><TAB>SYNC <reason> at <tritaudio file:line>``. Run without TRITON_INTERPRET
(tests/test_host_sync.py does, in a subprocess).
"""

import logging
import math
import re
import sys
import traceback
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
    for module, name, branch in DEVICE_BRANCHES:
        setattr(sys.modules[module], name, branch)
    for name, why in SYNCING_ON_CUDA.items():
        setattr(torch.linalg, name, _synchronising(name, why))
    if hasattr(torch._functorch.config, "force_non_lazy_backward_lowering"):
        # the backward graph handed over at compile time, not at the first backward call
        # (which never comes: the forward raises Traced), so that it is inspected too
        torch._functorch.config.force_non_lazy_backward_lowering = True
    triton.runtime.driver.set_active(HopperDriver())
    logging.getLogger("torch._higher_order_ops.triton_kernel_wrap").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


def _device_assert(condition, message):
    torch._assert_async(condition, message)


# Checks that branch on their tensors' device: the trace's CPU tensors stand for CUDA ones,
# so the trace takes the CUDA branch (a device-side assert; no check of device values).
DEVICE_BRANCHES = (
    ("tritaudio.functional.alignment", "_check_values", _device_assert),
    ("tritaudio.functional.filtering", "_check_denominators", lambda a: None),
    (
        "tritaudio.compliance._features",
        "_row_lengths",
        lambda lengths, rows: (
            torch.full(rows.shape[:1], rows.shape[1], dtype=torch.int64)
            if lengths is None
            else lengths.to(device=rows.device, dtype=torch.int64)
        ),
    ),
)

# torch.linalg functions that synchronise on CUDA (torch's documentation says so): they read
# the solver's info on the host to raise an error, or run on the CPU. A CPU trace shows
# nothing of it (AOT drops the check), so the trace makes each call a host read.
SYNCING_ON_CUDA = {
    "solve": "reads the solver info on the host (torch.linalg.solve_ex does not)",
    "inv": "reads the solver info on the host (torch.linalg.inv_ex does not)",
    "cholesky": "reads the solver info on the host (torch.linalg.cholesky_ex does not)",
    "eigh": "reads the solver info on the host",
    "eigvalsh": "reads the solver info on the host",
    "eig": "runs on the CPU",
    "eigvals": "runs on the CPU",
    "lstsq": "reads the solver info on the host",
    "svd": "reads the solver info on the host",
    "svdvals": "reads the solver info on the host",
    "pinv": "reads the solver info on the host",
}


class CudaHostRead(Exception):
    pass


def _synchronising(name, why):
    def call(*args, **kwargs):
        raise CudaHostRead(f"torch.linalg.{name} on CUDA {why}")

    return call


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
        text = str(error)
        why = re.search(r"torch\.linalg\.\w+ on CUDA [^'\n]*", text)
        why = why.group(0) if why else text.splitlines()[0][:200]
        return f"{type(error).__name__}: {why}{_where(error)}"
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


def _where(error):
    """`` at <module>:<line>``: the innermost line of tritaudio in the error's traceback or
    in Dynamo's message (its user stack), if any."""
    frames = [
        f"{frame.filename}:{frame.lineno}" for frame in traceback.extract_tb(error.__traceback__)
    ]
    frames += re.findall(r'File "([^"]+)", line (\d+)', str(error))
    frames = [f if isinstance(f, str) else ":".join(f) for f in frames]
    ours = [f.split("tritaudio/", 1)[-1] for f in frames if "/tritaudio/" in f]
    return f" at {ours[-1]}" if ours else ""


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

speeder, perturber = T.Speed(16000, 1.1), T.SpeedPerturbation(16000, [0.9, 1.1])
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
    "Speed": (lambda x: speeder(x)[0], signal(2, 1000)),
    "SpeedPerturbation": (lambda x: perturber(x)[0], signal(2, 1000)),
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


# the filtering, effects, analysis, beamforming, alignment and kaldi families
a2 = torch.tensor([1.0, -0.5, 0.2])
b2 = torch.tensor([0.4, 0.2, 0.1])
sos = torch.tensor([[0.4, 0.2, 0.1, 1.0, -0.5, 0.2], [1.0, 0.3, 0.0, 1.0, 0.1, 0.0]])
FILTERS = {
    "lfilter": (
        lambda x, a, b: F.lfilter(x, a, b),
        signal(2, 300),
        a2.clone().requires_grad_(),
        b2.clone().requires_grad_(),
    ),
    "lfilter numbers": (lambda x: F.lfilter(x, a2, b2, clamp=False), signal(2, 300)),
    "filtfilt": (lambda x: F.filtfilt(x, a2, b2), signal(2, 300)),
    "sosfilt": (lambda x: F.sosfilt(x, sos), signal(2, 300)),
    "biquad": (lambda x: F.biquad(x, 0.4, 0.2, 0.1, 1.0, -0.5, 0.2), signal(2, 300)),
    "allpass_biquad": (lambda x: F.allpass_biquad(x, 16000, 1000.0), signal(2, 300)),
    "band_biquad": (lambda x: F.band_biquad(x, 16000, 1000.0, noise=True), signal(2, 300)),
    "bandpass_biquad": (lambda x: F.bandpass_biquad(x, 16000, 1000.0), signal(2, 300)),
    "bandreject_biquad": (lambda x: F.bandreject_biquad(x, 16000, 1000.0), signal(2, 300)),
    "bass_biquad": (lambda x: F.bass_biquad(x, 16000, 3.0), signal(2, 300)),
    "deemph_biquad": (lambda x: F.deemph_biquad(x, 44100), signal(2, 300)),
    "equalizer_biquad": (lambda x: F.equalizer_biquad(x, 16000, 1000.0, 3.0), signal(2, 300)),
    "highpass_biquad": (lambda x: F.highpass_biquad(x, 16000, 1000.0), signal(2, 300)),
    "lowpass_biquad": (lambda x: F.lowpass_biquad(x, 16000, 1000.0), signal(2, 300)),
    "riaa_biquad": (lambda x: F.riaa_biquad(x, 44100), signal(2, 300)),
    "treble_biquad": (lambda x: F.treble_biquad(x, 16000, 3.0), signal(2, 300)),
    "convolve": (F.convolve, signal(2, 300), signal(2, 20)),
    "fftconvolve": (F.fftconvolve, signal(2, 300), signal(2, 20)),
    "compute_deltas": (F.compute_deltas, signal(2, 8, 30)),
    "contrast": (F.contrast, signal(2, 300)),
    "dcshift": (lambda x: F.dcshift(x, 0.2, 0.05), signal(2, 300)),
    "dither": (lambda x: F.dither(x, noise_shaping=True), signal(2, 300, grad=False)),
    "flanger": (lambda x: F.flanger(x, 8000), signal(2, 8)),  # a loop over samples
    "overdrive": (F.overdrive, signal(2, 300)),
    "phaser": (lambda x: F.phaser(x, 8000), signal(2, 40)),  # a loop over samples
    "mu_law_encoding": (lambda x: F.mu_law_encoding(x, 256), signal(2, 300, grad=False)),
    "mu_law_decoding": (lambda x: F.mu_law_decoding(x, 256), torch.randint(0, 256, (2, 300))),
    "detect_pitch_frequency": (lambda x: F.detect_pitch_frequency(x, 8000), signal(2, 2000)),
    "sliding_window_cmn": (
        lambda x: F.sliding_window_cmn(x, 20, 5, norm_vars=True),
        signal(2, 30, 8),
    ),
    "spectral_centroid": (
        lambda x: F.spectral_centroid(x, 16000, 0, hann, 128, 32, 128),
        signal(2, 1000),
    ),
    "loudness": (lambda x: F.loudness(x, 8000), signal(2, 2, 4000)),
    "vad": (lambda x: F.vad(x, 16000), signal(2, 12000, grad=False)),
    "edit_distance": (lambda x: F.edit_distance(x.argmax(-1), x.argmin(-1)), signal(5, 3)),
    "frechet_distance": (F.frechet_distance, signal(3), signal(3, 3), signal(3), signal(3, 3)),
}
channels = torch.randn(2, 3, 9, 12, dtype=torch.complex128)
psd_pair = (F.psd(channels), F.psd(channels.flip(-1)) + torch.eye(3))
rtf = torch.randn(2, 9, 3, dtype=torch.complex128)
mask = torch.rand(2, 9, 12)
BEAMFORMING = {
    "psd": (lambda x, m: F.psd(x, m), channels.clone().requires_grad_(), mask),
    "mvdr_weights_souden": (
        lambda s, n: F.mvdr_weights_souden(s, n, 0),
        *(p.clone().requires_grad_() for p in psd_pair),
    ),
    "mvdr_weights_rtf": (
        lambda v, n: F.mvdr_weights_rtf(v, n, 0),
        rtf.clone().requires_grad_(),
        psd_pair[1].clone().requires_grad_(),
    ),
    "rtf_evd": (F.rtf_evd, psd_pair[0].clone().requires_grad_()),
    "rtf_power": (
        lambda s, n: F.rtf_power(s, n, 0),
        *(p.clone().requires_grad_() for p in psd_pair),
    ),
    "apply_beamforming": (F.apply_beamforming, rtf.clone().requires_grad_(), channels),
}
emissions = torch.randn(2, 12, 5).log_softmax(-1)
labels = torch.tensor([[1, 2, 2], [3, 4, 1]])
joiner = (
    torch.randn(2, 6, 4, 5),
    labels.int(),
    torch.tensor([6, 5]).int(),
    torch.tensor([3, 2]).int(),
)
path = torch.tensor([0, 1, 1, 0, 2, 2, 0, 3])
ALIGNMENT = {
    "forced_align": (
        F.forced_align,
        emissions,
        labels,
        torch.tensor([12, 10]),
        torch.tensor([3, 2]),
    ),
    "merge_tokens": (lambda t, s: F.merge_tokens(t, s), path, torch.rand(8)),
    "rnnt_loss": (lambda x, *rest: F.rnnt_loss(x, *rest), joiner[0].requires_grad_(), *joiner[1:]),
}
FAMILIES = {
    "ComputeDeltas": (T.ComputeDeltas(), signal(2, 8, 30)),
    "Convolve": (T.Convolve("same"), signal(2, 300), signal(2, 20)),
    "FFTConvolve": (T.FFTConvolve("valid"), signal(2, 300), signal(2, 20)),
    "InverseMelScale": (T.InverseMelScale(65, 16), torch.rand(2, 16, 9)),
    "KaldiFeatures": (T.KaldiFeatures("fbank", num_mel_bins=16), signal(2, 1000)),
    "KaldiFeatures mfcc lengths": (
        T.KaldiFeatures("mfcc", num_mel_bins=16, num_ceps=8),
        signal(2, 1000),
        torch.tensor([1000, 600]),
    ),
    "Loudness": (T.Loudness(8000), signal(2, 2, 4000)),
    "MVDR": (T.MVDR(), channels.to(torch.complex64).requires_grad_(), mask, 1 - mask),
    "MVDR stv_power": (T.MVDR(solution="stv_power"), channels, mask, 1 - mask),
    "MVDR stv_evd": (T.MVDR(solution="stv_evd"), channels, mask, 1 - mask),
    "MuLawDecoding": (T.MuLawDecoding(), torch.randint(0, 256, (2, 300))),
    "MuLawEncoding": (T.MuLawEncoding(), signal(2, 300, grad=False)),
    "PSD": (T.PSD(), channels.clone().requires_grad_(), mask),
    "RNNTLoss": (T.RNNTLoss(), joiner[0].clone().requires_grad_(), *joiner[1:]),
    "RTFMVDR": (
        lambda x, v, n: T.RTFMVDR()(x, v, n, 0),
        channels,
        rtf.clone().requires_grad_(),
        psd_pair[1],
    ),
    "SlidingWindowCmn": (T.SlidingWindowCmn(20, 5), signal(2, 30, 8)),
    "SoudenMVDR": (
        lambda x, s, n: T.SoudenMVDR()(x, s, n, 0),
        channels,
        *(p.clone().requires_grad_() for p in psd_pair),
    ),
    "SpectralCentroid": (T.SpectralCentroid(16000, n_fft=128), signal(2, 1000)),
    "Vad": (T.Vad(16000), signal(2, 12000, grad=False)),
}
CASES |= {f"F.{k}": v for k, v in {**FILTERS, **BEAMFORMING, **ALIGNMENT}.items()}
CASES |= {f"T.{k}": v for k, v in FAMILIES.items()}
CASES["F.resample_batch"] = (
    lambda x, n: F.resample_batch(x, [16000, 8000], 16000, n),
    signal(2, 800),
    torch.tensor([800, 500]),
)


def main(names):
    _pretend_a_gpu()
    for name in names or CASES:
        fn, *inputs = CASES[name]
        reason = host_syncs(fn, *inputs)
        print(f"{name}\t{'ok' if reason is None else f'SYNC {reason}'}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
