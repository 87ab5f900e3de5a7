"""`make run` stops on SIGTERM wherever the signal finds its main thread.

A Python signal handler runs on the main thread between two of its steps. Here the stack's
own `main` runs with a stand-in start (three sleeping children, in their own sessions and
watched by the watchdog, as the real ones are; no emulators), and the signal is raised at
the k-th step (a function call or return, profiled) the main thread takes after "ready":
over the range of k it lands at every point of the main loop's wait, including inside
the locks that wait takes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT

STAND_IN = """
import os, signal, sys
from infra.local import emulators, stack
from infra.manifest import load

STEP = int(sys.argv[1])  # 0: a start that waits for a function that never answers
steps = 0


def profile(frame, event, arg):
    global steps
    steps += 1
    if steps == STEP:
        sys.setprofile(None)
        os.kill(os.getpid(), signal.SIGTERM)


class StandIn(stack.Stack):
    def start(self):
        self._start_watchdog()
        for n in range(3):
            self._spawn(f"child-{n}", [sys.executable, "-c", "import time; time.sleep(600)"], {})
        print("children", *[p.pid for p in self.processes.values()], flush=True)
        if STEP == 0:
            never = lambda: False
            emulators.wait_for(never, 600, "a function", None, self.cancelled)
        sys.setprofile(profile)  # the main thread's steps from here on
        return self


def stand_in(manifest=None):
    return StandIn(load().model_copy(update={"functions": []}), "demo-stop", 0, 0, 0, base_env={})


stack.from_environment = stand_in
sys.exit(stack.main())
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def stop_at_step(step: int) -> tuple[int | None, list[int]]:
    """Run the stand-in with SIGTERM raised at `step` (0: sent once it is starting): its
    exit code (None if it was still running 20 s later: a stop takes a fraction of a
    second) and the children it left."""
    process = subprocess.Popen(
        [sys.executable, "-c", STAND_IN, str(step)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    first = ""
    if step == 0:
        assert process.stdout is not None
        first = process.stdout.readline()  # its children: it is starting
        process.send_signal(signal.SIGTERM)
    try:
        rest, _ = process.communicate(timeout=20)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        process.kill()
        rest, _ = process.communicate()
        code = None
    output = first + rest
    line = next(line for line in output.splitlines() if line.startswith("children"))
    children = [int(pid) for pid in line.split()[1:]]
    # A hung stack's children are the watchdog's once it is killed (2 s grace).
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    return code, [pid for pid in children if alive(pid)]


def test_sigterm_stops_the_stack_wherever_it_finds_the_main_thread() -> None:
    for step in range(1, 100, 3):  # past the banner, through two turns of the main loop
        assert stop_at_step(step) == (0, []), f"SIGTERM at step {step} after ready"


def test_sigterm_while_starting_stops_the_stack_at_once() -> None:
    assert stop_at_step(0) == (0, [])
