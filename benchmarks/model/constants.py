"""The devices the model times calls on: one table, every constant with its source.

"datasheet" is NVIDIA's H100 / H200 SXM datasheet; "measured here" is a reading on this
workplace's H200 machines (/work/.library/device/KINDS.md, 2026-10-28 and 2026-11-04);
"assumed" values are the model's own choices, to be calibrated against GPU runs.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Device:
    name: str
    bandwidth: float  # bytes/s a streaming kernel reaches (read + write counted)
    sms: int
    clock: float  # Hz
    fp32: float  # FLOP/s, FFMA
    tf32: float  # FLOP/s, dense tensor cores
    bf16: float  # FLOP/s, dense tensor cores
    launch: float  # s of GPU time per kernel launch (gap + ramp + tail)
    sync: float  # s per host synchronisation / pageable host-to-device copy
    sources: dict


COMMON_SOURCES = {
    "sms": "datasheet (132 SMs on the SXM parts)",
    "clock": "measured here: 1980 MHz SM clock under load on an H200 (nvidia-smi); "
    "the H100 SXM has the same boost clock (datasheet)",
    "issue": "4 warp-instructions per clock per SM (4 schedulers; Hopper whitepaper)",
    "fp32": "datasheet: 67 TFLOP/s FP32",
    "tf32": "datasheet: 495 TFLOP/s TF32 dense (989 with sparsity)",
    "bf16": "datasheet: 989 TFLOP/s BF16 dense; measured here 769-798 on an 8192^3 matmul",
    "launch": "assumed: ~3 us of GPU time per launch (gap, ramp-up, tail), as in "
    "../shared/PERF-REVIEW.md",
    "sync": "assumed: ~15 us per host synchronisation (PERF-REVIEW.md: 10-20 us), which "
    "also drains the launch queue",
}

DEVICES = {
    "H200": Device(
        "H200 SXM", bandwidth=4.3e12, sms=132, clock=1.98e9, fp32=67e12, tf32=495e12,
        bf16=989e12, launch=3e-6, sync=15e-6,
        sources=dict(COMMON_SOURCES, bandwidth="measured here: a device-to-device copy "
                     "through PyTorch moved ~4.3 TB/s (read + write) on an H200; datasheet "
                     "peak 4.8 TB/s"),
    ),
    "H100": Device(
        "H100 SXM", bandwidth=3.0e12, sms=132, clock=1.98e9, fp32=67e12, tf32=495e12,
        bf16=989e12, launch=3e-6, sync=15e-6,
        sources=dict(COMMON_SOURCES, bandwidth="assumed: 0.9 x the datasheet's 3.35 TB/s "
                     "(the H200's measured copy is 0.9 x its 4.8 TB/s peak); not measured"),
    ),
}  # fmt: skip

# Achievable fraction of the peak for library kernels (cuFFT, cuDNN, cuBLAS): assumed.
LIBRARY_EFFICIENCY = {"fft": 0.5, "tf32": 0.5, "fp32": 0.7}
ISSUE_PER_CLOCK = 4  # warp-instructions per clock per SM

# Hopper (sm_90) per-SM limits, for occupancy (CUDA programming guide, compute capability
# 9.0 table).
SM90 = dict(registers=65536, max_warps=64, max_blocks=32, shared=233472,
            register_granularity=256)  # fmt: skip

# torchaudio's compiled IIR loop on CUDA (``_lfilter_core_loop``, iir_cuda.cu in
# pytorch/audio: one thread per (batch x channel) row, 256-thread blocks, stepping through
# the row's samples in order with an inner loop over the order), for the modelled
# stand-in of benchmarks/model/baselines.py: per sample, one load latency (the loads of
# step i wait for the store of step i - 1: the input, coefficient and output accessors are
# not restrict, so they may alias) then a chain of ``order`` dependent FMAs (a0 -= a[j] *
# out[i + j], in order: no reassociation), the store issued at the end.
TORCHAUDIO_IIR = dict(
    fma_latency=4,  # cycles
    reload_latency=30,  # cycles
    sources=dict(
        fma_latency="4 cycles: the dependent FP32 arithmetic latency of Volta, Ampere and "
        "Hopper in published microbenchmarks (e.g. the table of GPU features in "
        "Ultrasonics Sonochemistry 99, 106546 (2023), Table 3: 4 cycles on V100 / A100 / "
        "H100); assumed for the H200",
        reload_latency="assumed: an L1 hit (~30 cycles on Hopper in published "
        "microbenchmarks; L2 ~200, HBM ~400-800): the row's 128-byte line stays in L1 while "
        "the thread steps through it. If the reload were served from L2 (~200 cycles) "
        "torchaudio would be ~4-6x slower than modelled: this choice is the one that favours "
        "torchaudio. Not counted either: its loads and stores are uncoalesced (the 32 rows "
        "of a warp are a row length apart), 32 L1 wavefronts per instruction, so the "
        "modelled time is a lower bound",
    ),
)
