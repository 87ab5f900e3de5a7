"""Kills the local stack's process groups once the stack is gone, however it went.

`make run` starts this first, in a session of its own, with a pipe on its stdin; the
stack writes the process-group id of every child it starts (each child leads its own
group, so a group holds the child, its workers and anything a launcher script forks,
such as the Firestore emulator's JVM). When the pipe closes (the stack exited, crashed
or was killed with SIGKILL: the kernel closes its end either way), every group gets
SIGTERM, then SIGKILL after a short grace, and their ports are free again.
"""

from __future__ import annotations

import os
import signal
import sys
import time

GRACE_SECONDS = 2.0


def _signal_all(groups: set[int], signum: int) -> set[int]:
    alive = set()
    for group in groups:
        try:
            os.killpg(group, signum)
            alive.add(group)
        except ProcessLookupError:
            pass
    return alive


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the stack; EOF is for us
    groups: set[int] = set()
    for line in sys.stdin:
        if line.strip().isdigit():
            groups.add(int(line))
    alive = _signal_all(groups, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = _signal_all(alive, 0)
    _signal_all(alive, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
