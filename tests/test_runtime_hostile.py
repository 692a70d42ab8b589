"""The runtime reads only what it can trust, and never waits past init_timeout, even
against hostile files and peers: FIFOs, devices, absurd nesting, values a consistent
edit slipped in, a port held by a silent process, two ranks claiming one LOCAL_RANK."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from reference import harness
from satc.bundle_format import canonical_digest
from satc.runtime import BundleError, load
from support import require_module

INIT_TIMEOUT = 5
BOUND = 75


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 1 x 2 cpu bundle, compiled once; each test edits a copy."""
    return harness.compile_bundle(tmp_path_factory.mktemp("hostile"), world=2, mp=1, timeout=INIT_TIMEOUT)


def _copy(bundle: Path, tmp_path: Path, edit: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """The bundle's args.json, edited consistently (digest recomputed), in tmp_path."""
    document = json.loads((bundle / "args.json").read_text(encoding="utf-8"))
    if edit is not None:
        edit(document)
        document["digest"] = canonical_digest(document)
    for name in ("config.yaml", "ds_config.json"):  # what load() reads beside args.json
        if (bundle / name).is_file():
            (tmp_path / name).write_bytes((bundle / name).read_bytes())
    target = tmp_path / "args.json"
    target.write_text(json.dumps(document), encoding="utf-8")
    return target


def _set(section: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        document[section] = {**(document.get(section) or {}), key: value}

    return edit


@pytest.mark.parametrize(
    "section,key,value,fragment",
    [
        ("args", "seed", 4294967295, "args.seed must be an integer from 1 to 4294967294"),
        ("args", "seed", 0, "asserts seed > 0"),
        ("args", "seed", -7, "args.seed must be an integer"),
        ("args", "seed", "1", "args.seed must be an integer"),
        ("args", "seed", True, "args.seed must be an integer"),
        (
            "launch",
            "init_timeout",
            "abc",
            'launch.init_timeout must be a whole number of seconds from 1 to 604800, found "abc"',
        ),
        ("launch", "init_timeout", 0, "launch.init_timeout must be"),
        ("launch", "init_timeout", 1e300, "launch.init_timeout must be"),
    ],
)
def test_values_every_rank_must_use_are_validated(
    bundle: Path, tmp_path: Path, section: str, key: str, value: Any, fragment: str
) -> None:
    path = _copy(bundle, tmp_path, _set(section, key, value))
    with pytest.raises(BundleError, match=r"^" + str(path).replace(".", r"\.")) as caught:
        load(path)
    assert fragment in str(caught.value)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _deep(path: Path) -> None:
    path.write_text("[" * 100_000 + "]" * 100_000)


def _deep_object(path: Path) -> None:
    path.write_text('{"a": ' * 5_000 + "1" + "}" * 5_000)


@pytest.mark.parametrize("name", ["args.json", "ds_config.json"])
@pytest.mark.parametrize(
    "make,fragment",
    [
        (_fifo, "is a named pipe (FIFO)"),
        (_dev_zero, "is a device"),
        (_deep, "nested deeper than 64 levels"),
        (_deep_object, "nested deeper than 64 levels"),
    ],
    ids=["fifo", "dev-zero", "deep-array", "deep-object"],
)
def test_only_bounded_regular_files_are_read(
    bundle: Path, tmp_path: Path, name: str, make: Callable[[Path], None], fragment: str
) -> None:
    """Each in a child with a hard timeout: a blocked open() or a read of /dev/zero must
    fail the test, not hang it."""
    # A training bundle's args.json holds the DeepSpeed config its ds_config.json repeats.
    _copy(
        bundle,
        tmp_path,
        _set("deepspeed_config", "train_batch_size", 2) if name == "ds_config.json" else None,
    )
    if name == "args.json":
        (tmp_path / name).unlink()
    make(tmp_path / name)
    code = (
        "import sys, satc.runtime\n"
        "try:\n    satc.runtime.load(sys.argv[1])\nexcept satc.runtime.BundleError as exc:\n"
        "    print(exc); sys.exit(3)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"{tmp_path / name}" in result.stdout and fragment in result.stdout, result.stdout


@pytest.fixture()
def silent_port() -> Iterator[int]:
    """A process that accepts connections on a port and never says a word."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


_TIMED_INIT = """
import json, time
import torch, sat
import satc.runtime
started = time.monotonic()
try:
    satc.runtime.init()
    outcome = {"error": None}
except satc.runtime.RuntimeConfigError as exc:
    outcome = {"error": type(exc).__name__, "message": str(exc)}
outcome["seconds"] = time.monotonic() - started
print(json.dumps(outcome))
"""


def _rank_env(bundle: Path, rank: int, local_rank: int, port: int) -> dict[str, str]:
    return {
        "RANK": str(rank),
        "LOCAL_RANK": str(local_rank),
        "WORLD_SIZE": "2",
        "LOCAL_WORLD_SIZE": "2",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "SATC_BUNDLE": str(bundle / "args.json"),
    }


def test_a_silent_process_on_master_port_ends_within_init_timeout(
    bundle: Path, tmp_path: Path, silent_port: int
) -> None:
    for module in ("torch", "sat"):
        require_module(module)
    env = harness.clean_env(**_rank_env(bundle, 1, 1, silent_port))
    result = subprocess.run(
        [sys.executable, "-c", _TIMED_INIT],
        env=env,
        capture_output=True,
        text=True,
        timeout=BOUND,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["error"] == "RendezvousError", outcome
    assert outcome["seconds"] < INIT_TIMEOUT + 3, outcome
    assert f"tcp://127.0.0.1:{silent_port}" in outcome["message"], outcome
    assert "never answered" in outcome["message"], outcome


def test_two_ranks_claiming_one_local_rank_both_stop_named(bundle: Path, tmp_path: Path) -> None:
    for module in ("torch", "deepspeed", "sat"):
        require_module(module)
    port = harness.free_port()
    started = time.monotonic()
    (rank0, rank1), _ = harness.spawn_ranks(
        [_rank_env(bundle, 0, 0, port), _rank_env(bundle, 1, 0, port)], tmp_path / "out", timeout=BOUND
    )
    assert time.monotonic() - started < BOUND
    for result in (rank0, rank1):
        assert result.returncode == 3, result.stdout[-3000:]
        assert "TopologyError" in result.stdout, result.stdout[-3000:]
        assert "2 ranks on host" in result.stdout and "claim LOCAL_RANK=0" in result.stdout, result.stdout[
            -3000:
        ]
