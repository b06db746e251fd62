"""How ``tritaudio features`` shares a machine: its threads, its place in a ``torchrun``
job, and the job's combined summary.

Threads. On the CPU the decoding threads and torch's intra-op threads compete for the same
cores; sized apart (8 decoders + all cores for torch on 2 cores) they oversubscribe and the
run gets slower than one loop. The cores this process may use (its CPU affinity, divided
among the ranks of a node under ``torchrun``) are split: half decode, the rest compute.
On a GPU torch's threads only launch kernels, so the decoders get every core (at most 8).

``torchrun --nproc-per-node N -m tritaudio features ...`` sets RANK, WORLD_SIZE,
LOCAL_RANK and LOCAL_WORLD_SIZE: rank r takes shard r of WORLD_SIZE (the same split as
``--shard-index r --num-shards WORLD_SIZE``), runs on cuda:LOCAL_RANK when there is a GPU
(else the CPU), and the ranks meet once at the end, over gloo (which runs on any machine),
so that rank 0 prints the whole job's summary.
"""

import contextlib
import dataclasses
import datetime
import os
import sys

import torch

from tritaudio.cli.common import UsageError, device_for


def add_arguments(parser):
    """--engine, --address."""
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process (or torchrun's ranks); ray: a Ray cluster's actors",
    )
    parser.add_argument(
        "--address", help="--engine ray: the cluster to join (default: start a local one)"
    )


@dataclasses.dataclass(frozen=True)
class Rank:
    """This process's place in a torchrun job."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int


def rank_from_environment(environ=os.environ):
    """The Rank torchrun describes in the environment, or None outside a job of 2+."""
    if "RANK" not in environ or "WORLD_SIZE" not in environ:
        return None
    try:
        rank, world = int(environ["RANK"]), int(environ["WORLD_SIZE"])
        local_rank = int(environ.get("LOCAL_RANK", rank))
        local_world = int(environ.get("LOCAL_WORLD_SIZE", world))
    except ValueError:
        raise UsageError("RANK / WORLD_SIZE / LOCAL_RANK must be integers") from None
    if world <= 1:
        return None
    return Rank(rank, world, local_rank, local_world)


def apply_rank(args, rank):
    """Take the shard from the torchrun job; giving --shard-index/--num-shards as well is
    refused (two answers to one question)."""
    if rank is None:
        return
    if args.num_shards != 1 or args.shard_index != 0:
        raise UsageError(
            "under torchrun each rank takes its shard from RANK / WORLD_SIZE: "
            "leave out --shard-index / --num-shards"
        )
    args.shard_index, args.num_shards = rank.rank, rank.world_size


def device_for_rank(name, rank):
    """``device_for`` with a rank's own GPU: cuda:LOCAL_RANK (modulo the GPUs there are)."""
    device = device_for(name)
    if device.type == "cuda" and rank is not None:
        return torch.device("cuda", rank.local_rank % torch.cuda.device_count())
    return device


def available_cores(rank=None):
    """The cores this process may use: its affinity, shared among the ranks of a node."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    if rank is not None:
        cores //= rank.local_world_size
    return max(1, cores)


def thread_plan(device, workers, rank=None):
    """(decoding threads, torch intra-op threads or None to leave torch's choice)."""
    cores = available_cores(rank)
    if device.type != "cpu":
        return workers or min(8, cores), None
    # Half the cores decode, the rest compute; at least two decoders, so that one waiting
    # on a read does not starve the compute thread (measured on 2 cores, 1,000 x 10 s:
    # 2 decoders + 1 torch thread 0.443 audio-h/s, 1 + 1 0.390).
    decoders = workers or max(2, cores // 2)
    return decoders, max(1, cores - decoders)


def batch_size_for(device, given):
    """--batch-size, or its default: 32 clips on a GPU; 1 on the CPU, where batching buys
    no launches and costs time (measured on a 2-core CPU, 200 x 10 s, one torch thread:
    batches of 4 took 2.1 s, each clip alone 1.05 s; batches of 32 fall out of the
    caches and are ~3x slower per clip than 1 to 8)."""
    if given is not None:
        return given
    return 1 if device.type == "cpu" else 32


# glibc's mallopt parameters
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory(mmap_below=64 << 20, trim_above=256 << 20):
    """Make glibc's malloc reuse freed blocks instead of returning them to the OS.

    Per clip the CPU pipeline allocates and frees ~7 MB in blocks of 0.3 to 1.6 MB (the
    samples, the padded signal, the complex STFT, the power, the mel bands). glibc serves
    such blocks with mmap until its adaptive threshold has grown past them, and it does not
    always grow: a run then takes ~1,000 page faults per clip (the fresh pages zeroed by
    the kernel), and its log-mel costs 4.2 ms instead of 2.1 ms per 10 s clip (measured on a
    2-core CPU, torch on one thread; which of the two a process gets varies from run to
    run). With fixed thresholds the blocks come from the heap and stay there: 0 faults per
    clip once warm, in every run. Outputs do not change. Only where glibc is the C library
    (elsewhere nothing happens); returns whether the thresholds were set."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_below)) and bool(
        mallopt(_M_TRIM_THRESHOLD, trim_above)
    )


@contextlib.contextmanager
def torch_threads(count):
    """torch's intra-op threads set to ``count`` for the block (None: unchanged)."""
    if count is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class Job:
    """The ranks' meeting at the end: counts and failures gathered to every rank."""

    def __init__(self, rank):
        import torch.distributed as dist

        self.rank = rank
        self.started_here = not dist.is_initialized()
        if self.started_here:
            # Ranks finish at different times; the default 30 min would fail a long rank.
            dist.init_process_group("gloo", timeout=datetime.timedelta(days=7))
        self.group = dist.new_group(backend="gloo") if not self.started_here else None

    def gather(self, summary):
        """Every rank's ``summary`` (any picklable object), in rank order."""
        import torch.distributed as dist

        gathered = [None] * self.rank.world_size
        dist.all_gather_object(gathered, summary, group=self.group)
        return gathered

    def close(self):
        import torch.distributed as dist

        if self.started_here:
            dist.destroy_process_group()


def print_summary(summaries, note):
    """One line for the run (the sum of its ranks' summaries), then each failure."""
    total = {key: sum(s[key] for s in summaries) for key in ("done", "skipped", "total")}
    failed = [source for s in summaries for source in s["failed"]]
    hours = sum(s["audio_seconds"] for s in summaries) / 3600
    seconds = max(max(s["seconds"] for s in summaries), 1e-9)
    print(
        f"done {total['done']}, skipped {total['skipped']}, failed {len(failed)} "
        f"(of {total['total']} files{note}); {hours:.4g} audio hours in {seconds:.1f} s: "
        f"{total['done'] / seconds:.1f} files/s, {hours / seconds:.3g} audio-h/s",
        flush=True,
    )
    for source in failed:
        print(f"failed: {source}", file=sys.stderr)
