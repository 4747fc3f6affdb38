"""Builders and checks for the fault suite (tests/faults/) and bench/soak.py.

`build_fault_state` lays out a self-contained directory: the state (the packaged example
services), a short slice of the demo story's metrics for the embedded source, and the demo
environment repo, all referenced by relative paths so a copy of the directory is a working
copy of the whole world. `run` starts the command in a new process so it can be killed;
`problems` says what a reader of the state directory would find broken afterwards.

Commands run in a process forked from the warm test interpreter, through the console
entry point `safedeploy.cli.app.main`: the same code the installed command runs, without
paying the interpreter start and the imports on each of hundreds of runs; `testing.cli.run`
runs the installed `safedeploy` executable for the checks that must see it end to end.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

import pytest

from safedeploy.adapters.envrepo import create_repository
from safedeploy.adapters.faults import CRASH_AT, CRASH_TRACE
from safedeploy.adapters.templates import example_services
from safedeploy.demo import story
from safedeploy.usecases.context import Context

AT_HEALTHY = "2026-11-01T10:30:00Z"  # before checkout's bad release
AT_BREACH = "2026-11-01T11:05:00Z"  # five minutes into it: a fast burn
AT_LATE = "2026-11-01T12:00:00Z"  # the end of the story
ROLLBACK = "checkout-20261101t110500z-rollback-rollout"
BLOCK = "checkout-20261101t110500z-block-promotion"
INCIDENT = "checkout-20261101t110500z"
# Enough history for the 6h windows; the 30-day budget is computed on what there is.
METRICS_SPAN = timedelta(hours=7)
TOKEN = "ghp_SAFEDEPLOYFAULTSUITE0123456789abcdef"


@dataclass(frozen=True)
class FaultWorld:
    base: Path  # holds everything below; copy it to copy the world

    @property
    def state(self) -> Path:
        return self.base / "state"

    @property
    def env(self) -> Path:
        return self.base / "env.git"


@dataclass(frozen=True)
class Outcome:
    code: int  # the exit code, or -9 when the process was killed
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.code == -signal.SIGKILL


@cache
def short_metrics() -> str:
    """The demo story's counters from `METRICS_SPAN` before its end: a fast embedded source."""
    cut = int((story.END - METRICS_SPAN).timestamp())
    kept = [
        line
        for line in "".join(story.openmetrics()).splitlines(keepends=True)
        if line.startswith("#") or int(line.rsplit(" ", 1)[1]) >= cut
    ]
    return "".join(kept)


CONFIG = """\
[prometheus]
metrics_file = "../metrics.om"
[environment]
repo = "../env.git"
cache = "../cache"
[approvals]
identity = "declared"
"""


def build_fault_state(base: Path, services: Sequence[str] = ()) -> FaultWorld:
    """`base/state` (not a Git tree), `base/env.git`, `base/metrics.om`; `services`: a subset."""
    base.mkdir(parents=True, exist_ok=True)
    (base / "metrics.om").write_text(short_metrics(), encoding="utf-8")
    create_repository(base / "env.git", story.env_commits())
    world = FaultWorld(base)
    for name, text in example_services().items():
        if services and Path(name).stem not in services:
            continue
        (world.state / name).parent.mkdir(parents=True, exist_ok=True)
        (world.state / name).write_text(text, encoding="utf-8")
    (world.state / "safedeploy.toml").write_text(CONFIG, encoding="utf-8")
    return world


def copy_world(world: FaultWorld, where: Path) -> FaultWorld:
    shutil.copytree(world.base, where, symlinks=True)
    return FaultWorld(where)


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a run sees: this process's, minus any SAFEDEPLOY_ setting, plus `extra`."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SAFEDEPLOY_")}
    environ.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    environ.update(extra or {})
    return environ


# Imported once in the test process so each forked run starts warm.
WARM = (
    "safedeploy.cli.app",
    "safedeploy.usecases.reconcile",
    "safedeploy.usecases.approval",
    "safedeploy.usecases.canaries",
    "safedeploy.usecases.notify",
    "safedeploy.usecases.slo_status",
    "safedeploy.usecases.state_history",
    "safedeploy.usecases.audit_replay",
    "safedeploy.adapters.catalog_files",
    "safedeploy.adapters.embedded_source",
    "safedeploy.adapters.envrepo",
    "safedeploy.adapters.github",
    "safedeploy.adapters.manifests",
    "safedeploy.adapters.rego_policies",
    "safedeploy.adapters.sources",
    "safedeploy.adapters.target_versions",
    "git",
    "github",
)


@cache
def warm() -> None:
    for name in WARM:
        importlib.import_module(name)


def run(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> Outcome:
    """`safedeploy ARGS` in a forked process; its exit code, or -9 when SIGKILL ended it."""
    return finish(start(*args, cwd=cwd, env=env), timeout)


@dataclass(frozen=True)
class Running:
    pid: int
    out: IO[bytes]
    err: IO[bytes]


def start(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> Running:
    """`safedeploy ARGS` forked and left running; collect it with `finish`."""
    warm()
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish()
    err = tempfile.TemporaryFile()  # noqa: SIM115
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        _child(list(args), cwd, environment(env), out.fileno(), err.fileno())
    return Running(pid, out, err)


def finish(running: Running, timeout: float = 60) -> Outcome:
    with running.out as out, running.err as err:
        code = _wait(running.pid, timeout)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    return Outcome(code, stdout.decode(errors="replace"), stderr.decode(errors="replace"))


def _child(argv: list[str], cwd: Path, env: dict[str, str], out: int, err: int) -> None:
    code = 70
    try:
        os.dup2(out, 1)
        os.dup2(err, 2)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        from safedeploy.cli.app import main

        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # report anything, then leave
        os.write(2, f"{type(exc).__name__}: {exc}\n".encode())
    finally:
        os._exit(code)


def _wait(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"safedeploy (pid {pid}) did not finish within {timeout:g}s")
        time.sleep(0.005)


# --- what a reader of the state directory finds ---------------------------------------------


def problems(state: Path) -> list[str]:
    """Every JSON file parses, each audit stream verifies, the files match the log."""
    from safedeploy.usecases.audit_replay import replay, verify

    found = [
        f"{p.relative_to(state)}: not JSON" for p in sorted(state.rglob("*.json")) if not _parses(p)
    ]
    found += [
        f"audit/{r.stream}.log:{r.line}: {r.problem}"
        for r in verify(Context(state)).reports
        if not r.ok
    ]
    if not found:
        found += replay(Context(state), check=True).differences
    return found


def _parses(path: Path) -> bool:
    try:
        json.loads(path.read_bytes())
    except ValueError:
        return False
    return True


def decisions(state: Path) -> dict[str, str]:
    """`{incident or proposal id: its state}`, to compare a crashed history with a clean one."""
    found: dict[str, str] = {}
    for directory, key in (("incidents", "state"), ("action-proposals", "status")):
        for path in sorted((state / directory).glob("*.json")):
            found[f"{directory}/{path.stem}"] = str(json.loads(path.read_bytes())[key])
    return found


def audit_lines(state: Path) -> dict[str, int]:
    return {
        p.stem: len(p.read_bytes().splitlines()) for p in sorted((state / "audit").glob("*.log"))
    }


# Approvals and human transitions take the wall clock; the story's own instants stay.
_WALL_CLOCK = re.compile(r'"(?!2026-11-0[12]T)\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+]00:00)"')


def records(state: Path, stream: str) -> list[str]:
    """Each line of a stream as its event and data, without the chain fields."""
    path = state / "audit" / f"{stream}.log"
    if not path.exists():
        return []
    found = []
    for raw in path.read_bytes().splitlines():
        line = json.loads(raw)
        text = json.dumps([line["event"], line["data"]], sort_keys=True)
        found.append(_WALL_CLOCK.sub('"(now)"', text))
    return found


def leftovers(state: Path) -> list[str]:
    """Temp files an atomic write killed before its rename left behind."""
    return sorted(str(p.relative_to(state)) for p in state.rglob(".*.tmp"))


@pytest.fixture(scope="session")
def fault_world(tmp_path_factory: pytest.TempPathFactory) -> FaultWorld:
    """The three example services on a short embedded history; copy it before writing."""
    return build_fault_state(tmp_path_factory.mktemp("fault-world"))


# --- a Prometheus that misbehaves -------------------------------------------------------------


@dataclass
class BadPrometheus:
    """`mode`: every query hangs, or gets 500, garbage, HTML, a truncated or a nested body."""

    url: str = ""
    mode: str = "500"
    queries: int = 0


def _bad_handler(bad: BadPrometheus, stopping: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            bad.queries += 1
            if bad.mode == "hang":
                stopping.wait(30)
                return
            status, body, declared = {
                "500": (500, b'{"status":"error","error":"internal"}', None),
                "garbage": (200, b"\x00\xff not json at all", None),
                "html": (200, b"<html><body>502 Bad Gateway</body></html>", None),
                "truncated": (200, b'{"status":"success","data":{"resultType":"vec', 4096),
                "nested": (500, b"[" * 100_000, None),
            }[bad.mode]
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(declared or len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _serve  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def bad_prometheus() -> Iterator[BadPrometheus]:
    bad = BadPrometheus()
    stopping = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _bad_handler(bad, stopping))
    server.daemon_threads = True
    bad.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield bad
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def burning_world(fault_world: FaultWorld, tmp_path_factory: pytest.TempPathFactory) -> FaultWorld:
    """After checkout's bad release: one open incident and its two proposals."""
    world = copy_world(fault_world, tmp_path_factory.mktemp("burning") / "world")
    for at in (AT_HEALTHY, AT_BREACH):
        done = run("reconcile", "--at", at, cwd=world.state)
        assert done.code == 0, done.stderr
    return world


# --- the life of one incident, and a kill at any point of it ---------------------------------


TRANSITION = ("incidents", "transition", INCIDENT)
HISTORY: tuple[tuple[str, ...], ...] = (
    *(("reconcile", "--at", f"2026-11-01T{t}:00Z") for t in ("10:30", "11:00")),
    ("reconcile", "--at", AT_BREACH),
    *(
        ("reconcile", "--at", f"2026-11-01T{t}:00Z")
        for t in ("11:10", "11:15", "11:30", "11:45", "12:00")
    ),
    ("approve", ROLLBACK, "--by", "alice"),
    ("approve", BLOCK, "--by", "alice"),
    # A person says so; without it, reconcile marks it mitigated once the branch is merged.
    (*TRANSITION, "mitigate", "--by", "alice", "--reason", "rollback applied by hand"),
    (*TRANSITION, "resolve", "--by", "alice", "--reason", "rolled back to 1.4.2"),
    (*TRANSITION, "complete-postmortem", "--by", "alice", "--reason", "written up"),
)
STREAMS_OF_RECORD = ("incidents", "governance")


@dataclass(frozen=True)
class Stage:
    """One command of the history: the world before it, and what a clean run left."""

    index: int
    args: tuple[str, ...]
    before: FaultWorld
    steps: int
    code: int
    decisions: dict[str, str]
    lines: dict[str, int]
    records: dict[str, list[str]]


def plan_history(world: FaultWorld, base: Path) -> list[Stage]:
    """Run HISTORY once in a copy of `world`, keeping the world before each command."""
    world = copy_world(world, base / "world")
    found: list[Stage] = []
    for index, args in enumerate(HISTORY):
        before = copy_world(world, base / f"before-{index}")
        trace = base / f"trace-{index}"
        done = run(*args, cwd=world.state, env={CRASH_TRACE: str(trace)})
        steps = len(trace.read_text().splitlines()) if trace.exists() else 0
        logged = {stream: records(world.state, stream) for stream in STREAMS_OF_RECORD}
        lines = audit_lines(world.state)
        found.append(
            Stage(index, args, before, steps, done.code, decisions(world.state), lines, logged)
        )
    return found


def crash_then_rerun(stage: Stage, world: FaultWorld, point: int) -> list[str]:
    """Kill the stage's command at `point` in `world`, run it again; what is wrong after."""
    killed = run(*stage.args, cwd=world.state, env={CRASH_AT: str(point)})
    if not killed.killed:
        return [f"not killed (exit {killed.code}): {killed.stderr}"]
    found = problems(world.state)
    behind = [p for p in found if "audit log" in p]
    if len(found) != len(behind) or len(behind) > 1:
        return [f"right after the kill: {found}"]
    again = run(*stage.args, cwd=world.state)
    already = stage.args[0] == "incidents" and "cannot" in again.stderr
    if again.code != stage.code and not (already and again.code == 2):
        return [f"rerun exited {again.code}: {again.stderr.strip()}"]
    found = problems(world.state)
    if decisions(world.state) != stage.decisions:
        found.append(f"decisions {decisions(world.state)} != {stage.decisions}")
    for stream, expected in stage.records.items():
        logged = records(world.state, stream)
        # Nothing lost; at most the interrupted line again (a freeze logged, its file not).
        if set(logged) != set(expected) or not 0 <= len(logged) - len(expected) <= 1:
            found.append(f"audit/{stream}.log: {len(logged)} lines, not {len(expected)}")
        repeated = len(logged) - len(set(logged))
        if stream == "incidents" and repeated > len(expected) - len(set(expected)):
            found.append(f"audit/{stream}.log: a change logged twice")
    lines = audit_lines(world.state)
    for stream, count in stage.lines.items():
        if lines.get(stream, 0) < count:
            found.append(f"audit/{stream}.log lost lines: {lines.get(stream)} < {count}")
    return found
