"""LambdaCallback: a callback made of plain functions."""

from __future__ import annotations

from collections.abc import Callable

from .base import HOOKS, Callback


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_step_end=lambda step, logs: ...)``.

    Each argument is a function with the signature of the hook of the same name.
    """

    def __init__(self, **hooks: Callable) -> None:
        unknown = sorted(set(hooks) - set(HOOKS))
        if unknown:
            raise ValueError(f"LambdaCallback got unknown hook(s) {unknown}; allowed: {list(HOOKS)}.")
        for name, function in hooks.items():
            if not callable(function):
                raise ValueError(f"LambdaCallback {name} must be callable, got {function!r}.")
            setattr(self, name, function)
