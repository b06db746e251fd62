"""The size-grid runner: ``python -m benchmarks [--grid tiny|cpu|default] ...``.

Times every case of the chosen families at every size of the grid, forward (and forward +
backward for differentiable ops), for each implementation, on one device in one run;
writes ``<out>/<device>-<date>.json`` (schema in benchmarks/README.md), then regenerates
the report (markdown tables, PNG plots, the README's benchmark section) from every
results file in ``<out>``.
"""

import argparse
import dataclasses
import datetime
import gc
import importlib.metadata
import json
import platform
import re
import subprocess
import sys
from pathlib import Path

import torch

import tritaudio
from benchmarks import report, schema
from benchmarks.cases import MODES, Size, Unavailable, prepare
from benchmarks.families import FAMILIES
from benchmarks.timing import Settings, copy_bandwidth, peak_memory, time_calls

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


@dataclasses.dataclass(frozen=True)
class Grid:
    """The sizes a run times, how long it times each, and whether each case's headline
    size (the one its targets name) is added."""

    sizes: tuple
    settings: Settings
    headlines: bool


GRIDS = {
    # The smoke test's and the CPU's Triton size: a few calls, small enough for the
    # interpreter.
    "tiny": Grid((Size(2, 0.25, 8000),), Settings(1, 3, 5, 0.02), headlines=False),
    # A CPU run: the torch reference (and torchaudio) at real sizes, Triton at tiny.
    "cpu": Grid(
        (Size(2, 0.25, 8000), Size(1, 1, 16000), Size(8, 10, 16000)),
        Settings(2, 5, 50, 0.2),
        headlines=False,
    ),
    # A GPU run: batch 1..64, 1..30 s, 8..48 kHz, and the targets' sizes.
    "default": Grid(
        (
            Size(1, 1, 16000),
            Size(1, 30, 16000),
            Size(32, 10, 16000),
            Size(64, 30, 16000),
            Size(16, 10, 8000),
            Size(16, 10, 48000),
        ),
        Settings(),
        headlines=True,
    ),
}


def case_sizes(case, grid: Grid) -> list:
    """The sizes ``case`` is timed at in ``grid``, without duplicates, in grid order."""
    if case.sizes is not None:
        return list(case.sizes)
    if case.headline_only:
        return [case.headline if grid.headlines else case.sized(grid.sizes[0])]
    sizes = [case.sized(size) for size in grid.sizes]
    if grid.headlines:
        sizes.append(case.headline)
    return list(dict.fromkeys(sizes))


def _cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"CPU: {_cpu_name()}, {threads} thread{'s' if threads > 1 else ''}"


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _torchaudio_version():
    try:
        import torchaudio
    except Exception:
        return None
    return torchaudio.__version__


def versions() -> dict:
    return dict(
        python=platform.python_version(),
        torch=torch.__version__,
        triton=_version("triton"),
        torchaudio=_torchaudio_version(),
        tritaudio=tritaudio.__version__,
        cuda=torch.version.cuda,
    )


def git_state(commit=None) -> dict:
    """The checkout's commit and whether tracked files differ from it (None, None outside
    a git checkout); ``commit`` overrides, for copies of a tree without its .git."""
    if commit is not None:
        return dict(commit=commit, dirty=None)

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        return dict(
            commit=git("rev-parse", "HEAD"),
            dirty=bool(git("status", "--porcelain", "--untracked-files=no")),
        )
    except (OSError, subprocess.CalledProcessError):
        return dict(commit=None, dirty=None)


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def results_path(out: Path, data: dict) -> Path:
    """``<out>/<device>-<date>.json``; the device is "cpu-<model>" for CPU runs."""
    device = data["device"]
    name = _slug(device["name"]) if device["type"] == "cuda" else "cpu-" + _slug(_cpu_name())
    return out / f"{name}-{data['date']}.json"


def _key(entry):
    size = tuple(sorted(entry["size"].items()))
    return entry["family"], entry["case"], entry["mode"], entry["impl"], size


def _same_setup(old, new):
    fields = ("grid", "versions", "git", "settings")
    return old["device"]["name"] == new["device"]["name"] and all(old[f] == new[f] for f in fields)


def write_results(out: Path, data: dict) -> Path:
    """Write ``data``; a file of the same device, date, grid, versions and commit is
    merged into (runs split by family land in one file), other files are kept (a numbered
    name)."""
    out.mkdir(parents=True, exist_ok=True)
    path = results_path(out, data)
    stem, n = path.stem, 1
    while path.exists():
        old = json.loads(path.read_text())
        if old.get("schema") == schema.SCHEMA and _same_setup(old, data):
            fresh = {_key(e) for e in data["results"] + data["skipped"]}
            for field in ("results", "skipped"):
                data[field] = [e for e in old[field] if _key(e) not in fresh] + data[field]
            break
        n += 1
        path = out / f"{stem}-{n}.json"
    schema.validate(data)
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path


def _entry(case, mode, impl, size):
    return dict(family=case.family, case=case.name, mode=mode, impl=impl, size=size.as_dict())


def measure(case, mode, impl, size, device, settings) -> dict:
    """A results row, or a skipped row (with ``reason``) when it cannot run."""
    entry = _entry(case, mode, impl, case.sized(size))
    try:
        workload = prepare(case, impl, mode, size, device)
        timing = time_calls(workload, workload.device, settings)
        peak = peak_memory(workload, workload.device, workload.memory_base)
        if peak is not None:
            peak = max(peak, workload.first_call_peak)
    except Unavailable as err:
        return dict(entry, reason=str(err))
    except torch.cuda.OutOfMemoryError:
        return dict(entry, reason="out of memory")
    except Exception as err:
        message = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
        return dict(entry, reason=f"failed: {type(err).__name__}: {message}")
    moved = workload.bytes_moved
    gbps = None if moved is None else moved / (timing["median_ms"] / 1e3) / 1e9
    return dict(
        entry,
        device=workload.device.type,
        **timing,
        inputs_rotated=len(workload.input_sets),
        bytes_moved=moved,
        gbps=gbps,
        peak_memory_bytes=peak,
    )


def _release_memory():
    """Free the last workload's tensors before the next is allocated."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def select(families=None, cases=None) -> list:
    """The cases of ``families`` (default all), restricted to the names in ``cases``."""
    unknown = set(families or ()) - set(FAMILIES)
    if unknown:
        raise SystemExit(f"unknown families {sorted(unknown)}; known: {list(FAMILIES)}")
    chosen = [c for f in (families or FAMILIES) for c in FAMILIES[f]]
    if cases:
        names = {c.name for c in chosen}
        if set(cases) - names:
            raise SystemExit(f"unknown cases {sorted(set(cases) - names)}; known: {sorted(names)}")
        chosen = [c for c in chosen if c.name in cases]
    return chosen


def run(cases, grid_name, device, impls=None, modes=None, copy_bytes=None, commit=None):
    """Time ``cases`` on ``device``; the results file's content."""
    grid = GRIDS[grid_name]
    device = torch.device(device)
    now = datetime.datetime.now(datetime.timezone.utc)
    bandwidth = copy_bandwidth(device, copy_bytes)
    print(f"{device_name(device)}: copy bandwidth {bandwidth['gbps']:.1f} GB/s", file=sys.stderr)
    results, skipped = [], []
    for case in cases:
        for size in case_sizes(case, grid):
            for mode in case.modes:
                if modes and mode not in modes:
                    continue
                for impl in case.implementations:
                    if impls and impl not in impls:
                        continue
                    row = measure(case, mode, impl, size, device, grid.settings)
                    _release_memory()
                    (skipped if "reason" in row else results).append(row)
                    shown = row.get("reason") or f"{row['median_ms']:.3f} ms"
                    print(f"{case.name:36} {mode:17} {case.sized(size).label():26} "
                          f"{impl:17} {shown}", file=sys.stderr)  # fmt: skip
    return dict(
        schema=schema.SCHEMA,
        created=now.isoformat(timespec="seconds"),
        date=now.date().isoformat(),
        grid=grid_name,
        device=dict(
            type=device.type,
            name=device_name(device),
            copy_gbps=bandwidth["gbps"],
            copy_bytes=bandwidth["bytes"],
        ),
        versions=versions(),
        git=git_state(commit),
        settings=grid.settings.as_dict(),
        results=results,
        skipped=skipped,
    )


def _names(text):
    return [name.strip() for name in text.split(",") if name.strip()] if text else None


def parse_args(argv=None):
    default_device = "cuda" if torch.cuda.is_available() else "cpu"
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[1]
    )
    parser.add_argument("--grid", choices=GRIDS, help="default: 'default' on CUDA, else 'cpu'")
    parser.add_argument("--device", default=default_device)
    parser.add_argument("--families", type=_names, help=f"comma-separated, of {list(FAMILIES)}")
    parser.add_argument("--cases", type=_names, help="comma-separated case names")
    parser.add_argument("--impls", type=_names, help="comma-separated implementations")
    parser.add_argument("--modes", type=_names, help=f"comma-separated, of {list(MODES)}")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md",
                        help="README whose benchmark section is regenerated")  # fmt: skip
    parser.add_argument("--no-readme", action="store_true", help="leave the README alone")
    parser.add_argument("--no-report", action="store_true", help="only write the results")
    parser.add_argument("--report-only", action="store_true",
                        help="only regenerate the report from the results in --out")  # fmt: skip
    parser.add_argument("--merge", type=Path, nargs="+", metavar="FILE",
                        help="add results files from another machine to --out")  # fmt: skip
    parser.add_argument("--threads", type=int, help="torch's CPU threads for the run")
    parser.add_argument("--copy-bytes", type=int, help="size of the bandwidth copy")
    parser.add_argument("--commit", help="the git commit, where the tree has no .git")
    parser.add_argument("--model", action="store_true",
                        help="the performance model instead of timings (benchmarks/model: "
                        "counted on the CPU, modelled for H100 / H200)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.grid is None:
        args.grid = "default" if torch.device(args.device).type == "cuda" else "cpu"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.merge:
        for path in args.merge:
            data = schema.validate(json.loads(path.read_text()))
            print(f"{path} -> {write_results(args.out, data)}", file=sys.stderr)
    elif args.model:
        from benchmarks.model.run import main as model_main

        path = model_main(select(args.families, args.cases), args.out, args.commit)
        print(f"wrote {path}", file=sys.stderr)
    elif not args.report_only:
        cases = select(args.families, args.cases)
        threads = torch.get_num_threads()
        torch.set_num_threads(args.threads or threads)
        try:
            data = run(cases, args.grid, args.device, args.impls, args.modes, args.copy_bytes,
                       args.commit)  # fmt: skip
        finally:
            torch.set_num_threads(threads)
        print(f"wrote {write_results(args.out, data)}", file=sys.stderr)
    if not args.no_report:
        readme = None if args.no_readme else args.readme
        for path in report.regenerate(args.out, readme):
            print(f"wrote {path}", file=sys.stderr)
    return 0
