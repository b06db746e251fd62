"""No host synchronisation and no host-to-device copy on the Triton path of any op.

tests/trace_host_sync.py traces every functional op and transform under
``torch.compile(fullgraph=True)`` through AOT autograd (forward and backward, the
triton_ops' launchers included) without a GPU; a data-dependent host read breaks the
trace, a tensor built from host data shows as a constant copied into the graph.
Ops that still synchronise are strict xfails (STILL_SYNCING), so that fixing one flips
this test; host reads inherent to torchaudio's contract are listed with their reason in
INHERENT_HOST_READS and checked to still read, so that the list cannot go stale.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from trace_host_sync import CASES

import tritaudio.functional as F
import tritaudio.transforms as T

# Ops that still synchronise or copy host data per call on the Triton path, and could be
# fixed: strict xfails, so that fixing one flips this test.
STILL_SYNCING = {}

# Host reads that torchaudio's contract (or torch's own linalg) makes inherent: each name,
# why, and where the trace finds the read (checked, so that another sync cannot hide behind
# the entry). test_inherent_host_reads_still_read fails when one stops reading, so the list
# cannot go stale.
INHERENT_HOST_READS = {
    "F.vad": (
        "the trimmed length (the output's shape) depends on the data; F.vad_batch is the "
        "sync-free form (full-length output, lengths and starts on the device)",
        "_reference/analysis.py",
    ),
    "T.Vad": ("as F.vad; T.VadBatch is the sync-free form", "_reference/analysis.py"),
    "F.merge_tokens": (
        "returns Python TokenSpan objects (a list whose length depends on the path)",
        "functional/alignment.py",
    ),
    "F.edit_distance": (
        "returns a Python int (a dynamic programme over Python sequences)",
        "functional/analysis.py",
    ),
    "F.resample_batch": (
        "the clips' rates and lengths are read on the host: they pick each row's filter and "
        "the output's length (max of the new lengths); F.resample per rate is sync-free",
        "functional/resample.py",
    ),
    "F.rtf_evd": (
        "torch.linalg.eigh (torchaudio's method, its phase convention) reads the solver "
        "info on the host on CUDA and has no _ex form; F.rtf_power is sync-free",
        "torch.linalg.eigh",
    ),
    "T.MVDR stv_evd": ("F.rtf_evd's eigh; solution='stv_power' is sync-free", "torch.linalg.eigh"),
    "F.frechet_distance": (
        "torch.linalg.eigvals (torchaudio's method) runs on the CPU for CUDA input",
        "torch.linalg.eigvals",
    ),
    "T.InverseMelScale": (
        "torch.linalg.lstsq (torchaudio's method) reads the solver info on the host on CUDA",
        "torch.linalg.lstsq",
    ),
    "T.SpeedPerturbation": (
        "the factor, and with it the output's length, is drawn per call on the host from "
        "torch's CPU generator as torchaudio does (no device synchronisation, but a shape "
        "fullgraph cannot trace); each factor's path is T.Speed's, traced",
        "transforms/resample.py",
    ),
}
# constants, a settings type, merge_tokens' result type
NOT_OPS = {"DECIBELS", "NOISE_COLORS", "LogScale", "TokenSpan"}
NOT_YET_TRACED = frozenset()  # every public name has a case


@pytest.fixture(scope="module")
def traced():
    environ = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    script = Path(__file__).with_name("trace_host_sync.py")
    result = subprocess.run(
        [sys.executable, str(script)], env=environ, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line.split("\t", 1) for line in result.stdout.splitlines() if "\t" in line]
    return dict(lines)


def _public_ops():
    return {f"F.{n}" for n in F.__all__ if n not in NOT_OPS} | {f"T.{n}" for n in T.__all__}


def test_every_public_op_is_traced():
    names = {name.split(" ")[0] for name in CASES}
    missing = _public_ops() - names - NOT_YET_TRACED
    assert not missing, f"not traced: {sorted(missing)}"


def test_the_later_families_are_traced():
    names = {name.split(" ")[0] for name in CASES}
    assert not (_public_ops() & NOT_YET_TRACED) - names


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(reason=STILL_SYNCING[name], strict=True))
        if name in STILL_SYNCING
        else name
        for name in CASES
        if name not in INHERENT_HOST_READS
    ],
)
def test_no_host_sync_on_the_triton_path(traced, name):
    assert traced[name] == "ok", f"{name}: {traced[name]}"


@pytest.mark.parametrize("name", sorted(INHERENT_HOST_READS))
def test_inherent_host_reads_still_read(traced, name):
    _, where = INHERENT_HOST_READS[name]
    assert traced[name] != "ok", f"{name} no longer reads host data: move it out of the list"
    assert where in traced[name], f"{name} reads elsewhere than {where}: {traced[name]}"


def test_the_lists_name_traced_cases():
    for listed in (STILL_SYNCING, INHERENT_HOST_READS):
        assert set(listed) <= set(CASES)
