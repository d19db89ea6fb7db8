"""Ctrl-C that never tears a step in half.

During ``fit`` a press of Ctrl-C (SIGINT) raises ``KeyboardInterrupt`` at once while a
step is being *computed*, which changes nothing the user owns. While the step is being
*committed* (parameters, optimizer state, counters, history and the ``on_step_end``
callbacks) it is held back until the commit is whole, then raised. Either way the run
stops between two completed steps, and a checkpoint saved afterwards resumes exactly.

Python delivers signals to the main thread only; ``fit`` called from another thread
runs without this guard.
"""

from __future__ import annotations

import signal
import threading


class InterruptGuard:
    """Install for a run with ``install()``/``uninstall()``; ``with guard:`` marks a commit.

    Examples:
        >>> guard = InterruptGuard()
        >>> guard.install()
        >>> with guard:
        ...     pass          # a Ctrl-C here would be raised only on leaving the block
        >>> guard.uninstall()
    """

    def __init__(self) -> None:
        self._committing = False
        self._pending = False
        self._previous = None
        self._installed = False

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True

    def uninstall(self) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handle(self, signum, frame) -> None:
        if self._committing:
            self._pending = True  # raised by __exit__, once the commit is whole
            return
        self._raise(signum, frame)

    def _raise(self, signum, frame) -> None:
        if callable(self._previous):  # Python's default handler raises KeyboardInterrupt
            self._previous(signum, frame)
        elif self._previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    def __enter__(self) -> None:
        self._committing = True

    def __exit__(self, exc_type, exc, traceback) -> None:
        self._committing = False
        if self._pending:
            self._pending = False
            self._raise(signal.SIGINT, None)
