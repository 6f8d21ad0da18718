"""The benchmarks' "busy machine": another process holding one core for the duration of a
`with` (a `while True: pass` loop), so a figure can be measured idle and busy side by side."""

from __future__ import annotations

import subprocess
import sys


class Busy:
    """`with Busy():` keeps one core busy; `with Busy(False):` does nothing (idle)."""

    def __init__(self, busy: bool = True):
        self.busy = busy
        self.process = None

    def __enter__(self):
        if self.busy:
            self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        return self

    def __exit__(self, *exc):
        if self.process is not None:
            self.process.kill()
            self.process.wait()
