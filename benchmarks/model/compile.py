"""Compile the launches the model recorded for sm_90 (H100 / H200), without a GPU, and read
registers, local memory (spills) and shared memory from cuobjdump; occupancy from those.

Runs in a subprocess without ``TRITON_INTERPRET`` (the model's process has the
interpreter's kernels, which cannot be compiled), as tests/compile_kernels.py does:
``python -m benchmarks.model.compile < specs.json > results.json``. A spec is a launch's
kernel (module, name), its arguments as the recorder described them, num_warps and
num_stages; the JIT's run-time specialisation is mimicked (integers equal to 1 become
constants; pointers and integers divisible by 16 are marked so: the vector width of loads
depends on it).
"""

import json
import math
import os
import re
import subprocess
import sys
import tempfile

from benchmarks.model.constants import SM90

TRITON_TYPES = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32", "float64": "fp64",
                "int8": "i8", "uint8": "u8", "int16": "i16", "int32": "i32", "int64": "i64",
                "bool": "i1", "complex64": "fp32"}  # fmt: skip


def spec_of(event) -> dict:
    """The compile spec of a recorded Triton launch (:class:`counter.Event`)."""
    return dict(module=event.module, name=event.name, args=event.args,
                num_warps=event.num_warps, num_stages=event.num_stages)  # fmt: skip


def spec_key(spec) -> str:
    args = [{k: a.get(k) for k in ("name", "tensor", "dtype", "value", "type", "aligned")}
            for a in spec["args"]]  # fmt: skip
    ints = [dict(a, value=(a["value"] == 1, a["value"] % 16 == 0)) if a.get("type") == "int"
            and not a["name"].isupper() else a for a in args]  # fmt: skip
    return json.dumps([spec["module"], spec["name"], ints, spec["num_warps"], spec["num_stages"]])


def occupancy(regs, shared, num_warps) -> dict:
    """Blocks per SM and the fraction of the SM's 64 warps resident, on sm_90."""
    per_warp = (
        math.ceil(max(regs, 1) * 32 / SM90["register_granularity"]) * SM90["register_granularity"]
    )
    limits = dict(
        regs=SM90["registers"] // (per_warp * num_warps),
        warps=SM90["max_warps"] // num_warps,
        blocks=SM90["max_blocks"],
        smem=SM90["shared"] // shared if shared else SM90["max_blocks"],
    )
    blocks = max(0, min(limits.values()))
    limit = min(limits, key=limits.get)
    return dict(blocks_per_sm=blocks, limit=limit,
                occupancy=blocks * num_warps / SM90["max_warps"])  # fmt: skip


def _compile_one(spec, cuobjdump):
    import importlib

    import triton
    from triton.backends.compiler import GPUTarget

    module = importlib.import_module(spec["module"])
    kernel = getattr(module, spec["name"])
    signature, constexprs, attrs = {}, {}, {}
    params = {p.name: p for p in kernel.params}
    for index, arg in enumerate(spec["args"]):
        name = arg["name"]
        if params[name].is_constexpr:
            signature[name] = "constexpr"
            constexprs[name] = arg.get("value")
        elif arg.get("tensor"):
            signature[name] = "*" + TRITON_TYPES[arg["dtype"]]
            if arg.get("aligned", True):
                attrs[(index,)] = [["tt.divisibility", 16]]
        elif arg.get("type") == "none":
            signature[name] = "constexpr"
            constexprs[name] = None
        elif arg.get("type") == "int":
            value = arg["value"]
            if value == 1:
                signature[name] = "constexpr"
                constexprs[name] = 1
            else:
                signature[name] = "i32" if -(2**31) <= value < 2**31 else "i64"
                if value % 16 == 0:
                    attrs[(index,)] = [["tt.divisibility", 16]]
        elif arg.get("type") == "float":
            signature[name] = "fp32"
        elif arg.get("type") == "bool":
            signature[name] = "i1"
        else:
            raise TypeError(f"argument {name}: cannot compile {arg}")
    source = triton.compiler.ASTSource(kernel, signature, constexprs, attrs)
    compiled = triton.compile(
        source, target=GPUTarget("cuda", 90, 32),
        options={"num_warps": spec["num_warps"], "num_stages": spec["num_stages"]},
    )  # fmt: skip
    shared = int(getattr(compiled.metadata, "shared", 0) or 0)
    with tempfile.TemporaryDirectory() as tmp:
        cubin = os.path.join(tmp, "k.cubin")
        with open(cubin, "wb") as f:
            f.write(compiled.asm["cubin"])
        usage = subprocess.run([cuobjdump, "--dump-resource-usage", cubin],
                               capture_output=True, text=True).stdout  # fmt: skip
        sass = subprocess.run([cuobjdump, "--dump-sass", cubin],
                              capture_output=True, text=True).stdout  # fmt: skip
    fields = dict(re.findall(r"(REG|STACK|LOCAL):(\d+)", usage))
    regs = int(fields["REG"]) if "REG" in fields else None
    instructions = len(re.findall(r"^\s+/\*[0-9a-f]{4,}\*/\s+\S", sass, re.MULTILINE))
    return dict(
        regs=regs, shared=shared, local_bytes=int(fields.get("LOCAL", 0)),
        stack_bytes=int(fields.get("STACK", 0)), sass_instructions=instructions,
        **occupancy(regs or 0, shared, spec["num_warps"]),
    )  # fmt: skip


def _cuobjdump():
    import triton

    return os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin",
                        "cuobjdump")  # fmt: skip


def main():
    specs = json.load(sys.stdin)
    cuobjdump = _cuobjdump()
    results = []
    for spec in specs:
        try:
            results.append(_compile_one(spec, cuobjdump))
        except Exception as err:  # reported, not fatal: the model goes on without it
            message = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
            results.append(dict(error=f"{type(err).__name__}: {message}"))
    json.dump(results, sys.stdout)


def compile_specs(specs, timeout=900) -> list:
    """Compile ``specs`` in a subprocess without the interpreter; one result per spec."""
    if not specs:
        return []
    env = dict(os.environ, TRITON_INTERPRET="0")  # benchmarks/__init__ would set it
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    try:
        done = subprocess.run([sys.executable, "-m", "benchmarks.model.compile"],
                              input=json.dumps(specs), capture_output=True, text=True,
                              env=env, timeout=timeout)  # fmt: skip
        return json.loads(done.stdout)
    except (subprocess.SubprocessError, json.JSONDecodeError, OSError) as err:
        return [dict(error=f"compile subprocess: {type(err).__name__}: {err}")] * len(specs)


if __name__ == "__main__":
    main()
