"""scripts/setup.sh on a machine where another apt holds the lock: it waits, saying so, instead of
failing at once with apt's own error (apt-get and dpkg-query are stand-ins on PATH here, so the test
installs nothing and needs no network)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from license_service.config import REPO_ROOT


def _shims(tmp_path: Path, busy_calls: int) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dpkg-query").write_text(
        '#!/bin/sh\nfor pkg; do :; done\n[ "$pkg" = fonts-hanazono ] && exit 1\necho "install ok installed"\n')
    # apt-get: the first ``busy_calls`` calls fail as apt does when another apt holds its lock
    (bin_dir / "apt-get").write_text(
        f'#!/bin/sh\nn=$(cat "{tmp_path}/calls" 2>/dev/null || echo 0); echo $((n + 1)) > "{tmp_path}/calls"\n'
        f'if [ "$n" -lt {busy_calls} ]; then echo "E: Could not get lock /var/lib/dpkg/lock-frontend" >&2; exit 100; fi\n'
        f'echo "$@" >> "{tmp_path}/ran"\n')
    for shim in bin_dir.iterdir():
        shim.chmod(0o755)
    return bin_dir


def test_setup_waits_for_apts_lock_and_says_so(tmp_path: Path) -> None:
    bin_dir = _shims(tmp_path, busy_calls=2)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "APT_WAIT_SECONDS": "0"}
    r = subprocess.run(["bash", "scripts/setup.sh"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "installing Debian packages: fonts-hanazono" in r.stdout
    assert "another package manager holds apt's lock; waiting for it" in r.stderr
    ran = (tmp_path / "ran").read_text()
    assert "update" in ran and "install" in ran and "fonts-hanazono" in ran
