import os
import subprocess
import sys
from pathlib import Path

import pytest


def _nvidia_backend():
    try:
        from triton.backends import backends
    except ImportError:
        return False
    return "nvidia" in backends


@pytest.mark.skipif(not _nvidia_backend(), reason="triton has no NVIDIA backend here")
def test_every_kernel_compiles_for_hopper_and_ampere():
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    script = Path(__file__).with_name("compile_kernels.py")
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    kernels = ["scale_rows_kernel", "polyphase_kernel", "polyphase_dot_kernel"]
    kernels += ["add_noise_kernel"]
    kernels += ["add_noise_backward_kernel", "frame_kernel", "overlap_add_kernel"]
    kernels += ["phase_vocoder_kernel"]
    kernels += ["forced_align_kernel", "rnnt_log_probs_kernel", "rnnt_alpha_beta_kernel"]
    kernels += ["rnnt_gradient_kernel"]
    kernels += ["iir_single_pass_kernel", "iir_single_pass_wide_kernel", "conv_rows_kernel"]
    kernels += ["lag_products_kernel", "iir_chunks_ring_kernel", "iir_carry_kernel"]
    kernels += ["kaldi_frames_kernel", "kaldi_frames_backward_kernel"]
    kernels += ["vad_noise_floor_kernel", "vad_trigger_kernel"]
    kernels += ["mel_power_kernel", "floor_tiles_kernel", "log_mel_dft_kernel"]
    kernels += ["log_mel_fold_kernel", "signal_edges_kernel"]
    for kernel in kernels:
        assert f"compiled {kernel}" in result.stdout
