"""satc's speed, side by side with SAT's own way of reading the same config.

    python benchmarks/bench.py           # full run (~1 min on 2 cores)
    python benchmarks/bench.py --quick   # smoke run (~15 s): fewer repeats, smaller sweeps

Prints one table:
  1. cold ``satc compile`` of CogVideoX-5B LoRA + sft.yaml, whole process, median of N,
     against the SAT-native path (benchmarks/sat_native.py: OmegaConf + SAT's
     ``get_args`` in inference mode) and a bare ``python -c pass``, with ratios;
  2. re-checking 100 committed bundles in one process: total, first, per bundle after;
  3. compile time against the number of layer files (1..64) and of keys (10..10,000),
     with the fitted log-log exponent;
  4. peak memory of a compile: whole-process peak RSS and Python's tracemalloc peak.

The orchestrator imports nothing from satc; every measurement runs in a fresh process
(``--worker ...``) so the numbers are cold where they should be.  satc must be
importable (installed, or PYTHONPATH pointing at a directory holding ``satc``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "cases" / "_reference"
COMPILE_INPUTS = [REFERENCE / "cogvideox_5b_lora.yaml", REFERENCE / "sft.yaml"]
PEAK_RSS = ROOT / "benchmarks" / "peak_rss.py"
SCALING_BASE = [
    REFERENCE / "cogvideox_5b_lora.yaml",
    REFERENCE / "inference.yaml",
    ROOT / "benchmarks" / "sample_1_0.yaml",
]
SUBPROCESS_TIMEOUT = 300

TARGETS = {
    "cold_s": 0.35,
    "sat_ratio": 20.0,
    "check_total_s": 3.0,
    "check_each_ms": 20.0,
    "exponent": 1.1,
    "rss_mb": 100.0,
    "plan_ms": 20.0,
}


# ---------------------------------------------------------------- process timing


def run_output(argv: list[str], env: dict[str, str]) -> str:
    """Stdout of one child; its stderr in the error when it fails."""
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = child.communicate(timeout=SUBPROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise RuntimeError(f"timed out after {SUBPROCESS_TIMEOUT} s: {' '.join(argv)}") from None
    if child.returncode != 0:
        raise RuntimeError(f"exit {child.returncode}: {' '.join(argv)}\n{err[-2000:]}")
    return out


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The children read and write bytecode caches as after ``pip install``, even where
    this shell sets PYTHONDONTWRITEBYTECODE (compiling satc from source each run would
    add ~40 ms that no installed satc pays)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **(extra or {})}


def run_with_rss(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS bytes) of ``python ARGV...`` run under peak_rss.py."""
    with tempfile.NamedTemporaryFile(prefix="satc-bench-rss-") as peak:
        command = [sys.executable, str(PEAK_RSS), peak.name, *argv]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            command,
            check=False,
            env=child_env(env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
        )
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"exit {done.returncode}: {' '.join(argv)}\n{done.stderr[-2000:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return elapsed, cpu, int(Path(peak.name).read_text("ascii") or 0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker(name: str, *args: str) -> dict[str, Any]:
    out = run_output([sys.executable, __file__, "--worker", name, *args], child_env())
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------- 1. cold compile


def cold_compile(runs: int, sat_runs: int, scratch: Path) -> dict[str, Any]:
    inputs = [str(p) for p in COMPILE_INPUTS]
    commands: dict[str, tuple[list[str], dict[str, str] | None, int]] = {
        "satc": (["-m", "satc", "compile", *inputs, "-o", str(scratch / "cold")], None, runs),
        "pass": (["-c", "pass"], None, runs),
    }
    if sat_runs:
        env = {
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(free_port()),
            "WORLD_SIZE": "1",
            "RANK": "0",
            "LOCAL_RANK": "0",
            "LOCAL_WORLD_SIZE": "1",
        }
        commands["sat"] = ([str(ROOT / "benchmarks" / "sat_native.py"), *inputs], env, sat_runs)
    samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
    # One untimed run each: bytecode and page caches as in any CI step after checkout
    # (skipped for SAT in --quick, where its one timed run is the point).
    for name, (argv, env, _) in commands.items():
        if name != "sat" or sat_runs > 1:
            run_with_rss(argv, env)
    # Interleaved, so drift in machine load hits every command alike.
    for index in range(max(spec[2] for spec in commands.values())):
        for name, (argv, env, count) in commands.items():
            if index < count:
                samples[name].append(run_with_rss(argv, env))
    result: dict[str, Any] = {}
    for name, values in samples.items():
        result[name] = {
            "median_s": statistics.median(v[0] for v in values),
            "min_s": min(v[0] for v in values),
            "cpu_s": statistics.median(v[1] for v in values),
            "max_rss_mb": max(v[2] for v in values) / 2**20,
            "runs": len(values),
        }
    return result


def sat_available() -> str | None:
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            ("import importlib.util as u; print(bool(u.find_spec('sat') and u.find_spec('deepspeed')))"),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return None if probe.stdout.strip() == "True" else "sat/deepspeed not installed"


# ---------------------------------------------------------------- 2. check many


def write_bundle_sources(directory: Path, count: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        (directory / f"run{index:03d}.yaml").write_text(
            f"args:\n  seed: {index + 1}\n  experiment_name: run{index:03d}\n  save: ckpts/run{index:03d}\n",
            "utf-8",
        )


def worker_setup_bundles(directory: str, count: str) -> dict[str, Any]:
    from satc.compiler.pipeline import compile_bundle
    from satc.compiler.write import write_bundle

    base = Path(directory)
    write_bundle_sources(base / "src", int(count))
    (base / "bundles").mkdir()
    for index in range(int(count)):
        out = base / "bundles" / f"run{index:03d}"
        configs = [*(str(p) for p in COMPILE_INPUTS), str(base / "src" / f"run{index:03d}.yaml")]
        write_bundle(out, compile_bundle(configs, [], out).files)
    return {"bundles": int(count)}


def check_function() -> tuple[str, Any]:
    """satc's own check of a committed bundle from the inputs its args.json records."""
    from satc.compiler.commands.check import check_recorded

    return (
        "satc.compiler.commands.check.check_recorded",
        lambda bundle: check_recorded(bundle, str(bundle)).clean,
    )


def worker_check(directory: str) -> dict[str, Any]:
    started = time.perf_counter()
    via, check_one = check_function()
    bundles = sorted((Path(directory) / "bundles").iterdir())
    times: list[float] = []
    failed = 0
    for bundle in bundles:
        begin = time.perf_counter()
        clean = check_one(bundle)
        times.append(time.perf_counter() - begin)
        failed += not clean
    return {
        "via": via,
        "bundles": len(bundles),
        "in_process_s": time.perf_counter() - started,
        "first_s": times[0],
        "rest_median_ms": statistics.median(times[1:]) * 1000 if len(times) > 1 else 0.0,
        "rest_max_ms": max(times[1:]) * 1000 if len(times) > 1 else 0.0,
        "drifted": failed,
    }


def check_many(count: int, scratch: Path) -> dict[str, Any]:
    directory = scratch / "check"
    worker("setup_bundles", str(directory), str(count))
    started = time.perf_counter()
    result = worker("check", str(directory))
    result["process_s"] = time.perf_counter() - started
    return result


# ---------------------------------------------------------------- 3. scaling


def _block(prefix: str, count: int, value: int, width: int = 10) -> str:
    """``count`` leaf keys under ``prefix``, in groups of ``width`` (nested mappings)."""
    lines = []
    for group in range(math.ceil(count / width)):
        lines.append(f"    {prefix}_g{group}:")
        for key in range(min(width, count - group * width)):
            lines.append(f"      k{key}: {value + key}")
    return "\n".join(lines)


def write_layers(directory: Path, layers: int, keys_per_layer: int = 50) -> list[str]:
    """``layers`` files, each overriding a shared subtree, adding its own keys and
    swapping a subtree for a scalar and back (the worst case for origin tracking)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(layers):
        swap = (
            "  swap: 7" if index % 2 else "  swap:\n" + "\n".join(f"    s{key}: {index}" for key in range(20))
        )
        text = (
            f"args:\n  seed: {index + 1}\nmodel:\n  layers:\n"
            f"{_block('shared', keys_per_layer, index)}\n"
            f"{_block(f'own{index}', keys_per_layer, index)}\n"
            f"{swap}\n"
        )
        path = directory / f"layer{index:02d}.yaml"
        path.write_text(text, "utf-8")
        paths.append(str(path))
    return paths


def write_keys(directory: Path, keys: int) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"keys{keys}.yaml"
    path.write_text(f"model:\n  synthetic:\n{_block('block', keys, 0)}\n", "utf-8")
    return str(path)


def worker_scaling(plan_file: str) -> dict[str, Any]:
    from satc.compiler.pipeline import compile_bundle

    plan = json.loads(Path(plan_file).read_text("utf-8"))
    out = Path(plan_file).parent / "out"
    base = [str(p) for p in SCALING_BASE]
    compile_bundle(base, [], out)  # imports, schema, validator and templates: once
    results = []
    for case in plan["cases"]:
        configs = [*base, *case["files"]]
        walls, cpus = [], []
        for _ in range(plan["repeats"]):
            begin, begin_cpu = time.perf_counter(), time.process_time()
            compile_bundle(configs, [], out)
            walls.append(time.perf_counter() - begin)
            cpus.append(time.process_time() - begin_cpu)
        results.append(
            {
                "kind": case["kind"],
                "n": case["n"],
                "median_s": statistics.median(walls),
                "cpu_median_s": statistics.median(cpus),
            }
        )
    return {"results": results}


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares exponent b of t = a * n**b."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    numerator = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return numerator / sum((x - mean_x) ** 2 for x in xs)


def scaling(layer_counts: list[int], key_counts: list[int], repeats: int, scratch: Path) -> dict[str, Any]:
    directory = scratch / "scaling"
    cases = [{"kind": "layers", "n": n, "files": write_layers(directory / f"l{n}", n)} for n in layer_counts]
    cases += [{"kind": "keys", "n": n, "files": [write_keys(directory / "k", n)]} for n in key_counts]
    plan_file = directory / "plan.json"
    plan_file.write_text(json.dumps({"cases": cases, "repeats": repeats}), "utf-8")
    results = worker("scaling", str(plan_file))["results"]
    summary: dict[str, Any] = {}
    for kind in ("layers", "keys"):
        # CPU time: the work a compile does, which is what grows with the input; wall
        # time on a shared machine adds whatever else is running.
        points = [(r["n"], r["cpu_median_s"]) for r in results if r["kind"] == kind]
        summary[kind] = {
            "points": points,
            "wall_points": [(r["n"], r["median_s"]) for r in results if r["kind"] == kind],
            "exponent": slope(points),
            # The top of the range shows the growth once fixed costs no longer hide it.
            "exponent_top": slope(points[-3:]),
        }
    return summary


# ---------------------------------------------------------------- 4. memory


def worker_memory() -> dict[str, Any]:
    import tracemalloc

    tracemalloc.start()
    from satc.compiler.pipeline import compile_bundle

    out = Path(tempfile.mkdtemp()) / "bundle"
    compile_bundle([str(p) for p in COMPILE_INPUTS], [], out)
    _, peak = tracemalloc.get_traced_memory()
    return {"tracemalloc_peak_mb": peak / 2**20}


# ---------------------------------------------------------------- 5. plan


def worker_plan(repeats: str) -> dict[str, Any]:
    """What `satc plan` and compile's memory summary add to a compile: time and imports."""
    from satc.compiler.pipeline import compile_bundle

    out = Path(tempfile.mkdtemp()) / "bundle"
    bundle = compile_bundle([str(p) for p in COMPILE_INPUTS], ["launch.gpu=A100-80G"], out)
    before = set(sys.modules)
    times = []
    for _ in range(int(repeats)):
        # CPU time: the work plan adds, whatever else the machine runs.
        start = time.process_time()
        from satc.compiler.commands.plan import render_json, render_text, report, summary_line

        result = report(bundle.plan)
        render_text(result), render_json(result), summary_line(bundle.plan)
        times.append(time.process_time() - start)
    added = sorted({name.split(".")[0] for name in set(sys.modules) - before})
    heavy = [name for name in added if name in ("torch", "deepspeed", "sat", "numpy")]
    return {
        "first_ms": times[0] * 1000,
        "median_ms": statistics.median(times[1:] or times) * 1000,
        "added_modules": added,
        "heavy_modules": heavy,
        "per_gpu_gib": result.estimate.per_gpu_gib,
    }


# ---------------------------------------------------------------- report


def mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(
    args: argparse.Namespace,
    cold: dict[str, Any],
    sat_note: str | None,
    check: dict[str, Any],
    scale: dict[str, Any],
    memory: dict[str, Any],
    plan: dict[str, Any],
) -> str:
    satc, bare = cold["satc"], cold["pass"]
    lines = [
        (
            f"satc benchmark{' (--quick)' if args.quick else ''}: python {platform.python_version()}, "
            f"{os.cpu_count()} CPUs, {platform.machine()}, load average at the end "
            f"{os.getloadavg()[0]:.1f} (wall times stretch under load; CPU times less so)"
        ),
        "",
        (
            f"1. cold compile: {' + '.join(p.name for p in COMPILE_INPUTS)}, whole process "
            f"(median of {satc['runs']})"
        ),
        f"   {'':<30}{'median':>9}{'min':>9}{'CPU':>9}{'peak RSS':>11}   ratio",
        (
            f"   {'satc compile':<30}{satc['median_s']:>8.3f}s{satc['min_s']:>8.3f}s"
            f"{satc['cpu_s']:>8.3f}s"
            f"{satc['max_rss_mb']:>8.1f} MB   1.0x"
            f"    target <= {TARGETS['cold_s']} s: {mark(satc['median_s'] <= TARGETS['cold_s'])}"
        ),
    ]
    if "sat" in cold:
        sat = cold["sat"]
        ratio = sat["median_s"] / satc["median_s"]
        lines.append(
            f"   {'SAT get_args (sat_native.py)':<30}{sat['median_s']:>8.3f}s{sat['min_s']:>8.3f}s"
            f"{sat['cpu_s']:>8.3f}s"
            f"{sat['max_rss_mb']:>8.1f} MB   {ratio:.1f}x slower than satc (CPU {sat['cpu_s'] / satc['cpu_s']:.1f}x)"
            f"    target >= {TARGETS['sat_ratio']:.0f}x: {mark(ratio >= TARGETS['sat_ratio'])}"
            f" (median of {sat['runs']})"
        )
    else:
        lines.append(f"   {'SAT get_args (sat_native.py)':<30}skipped: {sat_note}")
    lines.append(
        f"   {'python -c pass':<30}{bare['median_s']:>8.3f}s{bare['min_s']:>8.3f}s"
        f"{bare['cpu_s']:>8.3f}s"
        f"{bare['max_rss_mb']:>8.1f} MB   satc = {satc['median_s'] / bare['median_s']:.1f}x "
        f"bare python (+{(satc['median_s'] - bare['median_s']) * 1000:.0f} ms)"
    )
    total_ok = check["process_s"] <= TARGETS["check_total_s"]
    each_ok = check["rest_median_ms"] <= TARGETS["check_each_ms"]
    lines += [
        "",
        f"2. check {check['bundles']} committed bundles in one process (via {check['via']})",
        (
            f"   whole process {check['process_s']:.3f} s (in-process {check['in_process_s']:.3f} s)"
            f"    target <= {TARGETS['check_total_s']} s: {mark(total_ok)}"
        ),
        (
            f"   first bundle {check['first_s'] * 1000:.1f} ms; after the first: median "
            f"{check['rest_median_ms']:.2f} ms, max {check['rest_max_ms']:.2f} ms per bundle"
            f"    target <= {TARGETS['check_each_ms']:.0f} ms: {mark(each_ok)}"
        ),
        f"   drifted: {check['drifted']} (expected 0)",
        "",
        "3. scaling: in-process compile_bundle after a warm-up, CPU time per compile (median)",
    ]
    for kind, label in (("layers", "layer files"), ("keys", "keys in model:")):
        data = scale[kind]
        points = "  ".join(f"{n}:{t * 1000:.1f}ms" for n, t in data["points"])
        worst = max(data["exponent"], data["exponent_top"])
        lines.append(f"   {label:<15} {points}")
        lines.append(
            f"   {'':<15} exponent {data['exponent']:.2f} over the range, "
            f"{data['exponent_top']:.2f} over the top three    target <= {TARGETS['exponent']}: "
            f"{mark(worst <= TARGETS['exponent'])}"
        )
    lines += [
        "",
        "4. peak memory of one CogVideoX compile",
        (
            f"   whole process peak RSS (VmHWM) {satc['max_rss_mb']:.1f} MB"
            f"    target <= {TARGETS['rss_mb']:.0f} MB: {mark(satc['max_rss_mb'] <= TARGETS['rss_mb'])}"
        ),
        f"   Python heap peak (tracemalloc, imports included) {memory['tracemalloc_peak_mb']:.1f} MB",
        "",
        "5. plan: satc plan's report (text + JSON) and compile's memory summary after a compile, CPU time",
        (
            f"   first call (imports included) {plan['first_ms']:.2f} ms, then median {plan['median_ms']:.2f} ms"
            f"    target <= {TARGETS['plan_ms']:.0f} ms: {mark(plan['first_ms'] <= TARGETS['plan_ms'])}"
        ),
        (
            f"   heavy imports added: {', '.join(plan['heavy_modules']) or 'none'} "
            f"(torch, deepspeed, sat, numpy){'' if not plan['heavy_modules'] else '  MISSED'}"
        ),
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small and fast")
    parser.add_argument("--no-sat", action="store_true", help="skip the SAT-native baseline")
    parser.add_argument("--json", metavar="FILE", help="also write the raw numbers here")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        name, *rest = args.worker
        print(json.dumps(WORKERS[name](*rest)))
        return 0
    runs, sat_runs, bundles, repeats = (3, 1, 20, 3) if args.quick else (9, 5, 100, 5)
    layer_counts = [1, 2, 4, 8, 16] if args.quick else [1, 2, 4, 8, 16, 32, 64]
    key_counts = [10, 100, 1000] if args.quick else [10, 32, 100, 316, 1000, 3162, 10000]
    sat_note = "--no-sat" if args.no_sat else sat_available()
    with tempfile.TemporaryDirectory(prefix="satc-bench-") as scratch_text:
        scratch = Path(scratch_text)
        cold = cold_compile(runs, 0 if sat_note else sat_runs, scratch)
        check = check_many(bundles, scratch)
        scale = scaling(layer_counts, key_counts, repeats, scratch)
        memory = worker("memory")
        plan = worker("plan", str(repeats * 4))
    print(report(args, cold, sat_note, check, scale, memory, plan))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"cold": cold, "check": check, "scaling": scale, "memory": memory, "plan": plan}, indent=2
            ),
            "utf-8",
        )
    return 0


WORKERS = {
    "setup_bundles": worker_setup_bundles,
    "check": worker_check,
    "scaling": worker_scaling,
    "memory": worker_memory,
    "plan": worker_plan,
}

if __name__ == "__main__":
    sys.exit(main())
