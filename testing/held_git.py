"""An environment repo that holds a fetch or a push until the test lets it go.

A slow remote, made with git's own hooks: the bare repository's `pre-receive` hook (a
push waits before it is accepted) or `remote.origin.uploadpack` of safedeploy's cached
clone (a fetch waits before the remote answers). The held command signals that it
arrived and waits, at most a minute, for the test to release it; what other commands do
meanwhile is the point of the test.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

_WAIT = """\
#!/bin/sh
touch '{arrived}'
n=0
while [ ! -e '{released}' ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done
"""


@dataclass(frozen=True)
class Gate:
    folder: Path

    @property
    def arrived(self) -> Path:
        return self.folder / "arrived"

    @property
    def released(self) -> Path:
        return self.folder / "released"

    def script(self, name: str, then: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / name
        text = _WAIT.format(arrived=self.arrived, released=self.released)
        path.write_text(f"{text}{then}\n", encoding="utf-8")
        path.chmod(0o755)
        return path

    def wait_for_arrival(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.arrived.exists():
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing reached the held remote within {timeout:g}s")
            time.sleep(0.02)

    def release(self) -> None:
        self.released.touch()


def hold_pushes(bare: Path, gate: Gate) -> None:
    """Every push to `bare` waits at its pre-receive hook until `gate` is released."""
    hook = gate.script("pre-receive", "cat >/dev/null")
    (bare / "hooks").mkdir(exist_ok=True)
    (bare / "hooks" / "pre-receive").write_bytes(hook.read_bytes())
    (bare / "hooks" / "pre-receive").chmod(0o755)


def hold_fetches(cache: Path, gate: Gate) -> None:
    """Every fetch into safedeploy's cached clones under `cache` waits until released."""
    script = gate.script("upload-pack", 'exec git-upload-pack "$@"')
    clones = [p for p in sorted(cache.glob("env-*")) if p.is_dir()]
    assert clones, f"no cached clone under {cache}"
    for clone in clones:
        subprocess.run(
            ["git", "config", "remote.origin.uploadpack", str(script)], cwd=clone, check=True
        )
