"""The two files minigd saves: model weights, and trainer checkpoints that resume a run.

Both are ``.npz`` archives written by [`minigd.files.write_archive`][minigd.files.write_archive]: atomic, read
without pickle, and declaring their kind, so neither is mistaken for the other.

* weights (``model.save_weights``): one array per parameter name;
* trainer checkpoints (``trainer.save_checkpoint``, ``ModelCheckpoint``): everything a
  run depends on, as a tree of dicts and lists. Its arrays (parameters, optimizer
  slots, a callback's saved weights) are stored as arrays named by their place in the
  tree, e.g. ``params/w`` or ``optimizer_state/velocity/w``; everything else (counters,
  generator state, history, fingerprint) is JSON in the member ``tree``, where floats
  are written with ``repr`` and so read back bit for bit.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .files import read_archive, write_archive

WEIGHTS = "minigd-weights"
CHECKPOINT = "minigd-checkpoint"


def save_weights(path: str | os.PathLike, params: Mapping[str, np.ndarray]) -> None:
    """Write parameters to a weights file, atomically."""
    write_archive(path, params, WEIGHTS)


def load_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The parameters in a weights file or in a trainer checkpoint."""
    arrays = read_archive(path, (WEIGHTS, CHECKPOINT))
    if "tree" not in arrays:
        return arrays
    return unpack(json.loads(str(arrays.pop("tree"))), arrays)["params"]


def write_checkpoint(path: str | os.PathLike, content: Mapping[str, Any]) -> None:
    """Write a trainer checkpoint: a tree of dicts, lists, numbers, strings and arrays."""
    arrays: dict[str, np.ndarray] = {}
    tree = pack(content, arrays, "")
    arrays["tree"] = np.array(json.dumps(tree))
    write_archive(path, arrays, CHECKPOINT)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The tree that `write_checkpoint` wrote, arrays in place."""
    arrays = read_archive(path, CHECKPOINT)
    try:
        tree = json.loads(str(arrays.pop("tree")))
    except (KeyError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: the trainer state is damaged ({error!r}).") from None
    return unpack(tree, arrays)


def pack(value: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    """``value`` as JSON-able data; its arrays go into ``arrays``, named by where they sit.

    Examples:
        >>> arrays = {}
        >>> pack({"w": np.array(2.0), "step": 3}, arrays, "")
        {'w': {'__array__': 'w'}, 'step': 3}
        >>> arrays
        {'w': array(2.)}
    """
    if isinstance(value, np.ndarray):
        arrays[where] = value
        return {"__array__": where}
    if isinstance(value, Mapping):
        return {str(key): pack(item, arrays, f"{where}/{key}" if where else str(key))
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [pack(item, arrays, f"{where}/{index}") for index, item in enumerate(value)]
    if isinstance(value, np.generic):  # a numpy scalar: a plain number in JSON
        return value.item()
    return value


def unpack(value: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    """The inverse of `pack`."""
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return arrays[value["__array__"]]
        return {key: unpack(item, arrays) for key, item in value.items()}
    if isinstance(value, list):
        return [unpack(item, arrays) for item in value]
    return value


class RunFingerprint:
    """What a checkpoint's run was: its data, model, loss, optimizer and options.

    Taken when a fit starts (before callbacks change, say, the learning rate); the data's
    hash is computed only when a checkpoint is written or read.
    """

    def __init__(self, model, loss, optimizer, plan, x: np.ndarray, y: np.ndarray) -> None:
        self._data = (x, y)
        self._hash: str | None = None
        self._options = {
            "examples": len(y), "batch_size": plan.batch_size, "shuffle": plan.shuffle,
            "model": type(model).__name__,
            "parameters": {name: list(np.shape(value)) for name, value in model.params.items()},
            "loss": repr(loss), "optimizer": repr(optimizer),
        }

    def value(self) -> dict[str, Any]:
        if self._hash is None:
            digest = hashlib.sha256()
            for array in self._data:
                digest.update(repr(array.shape).encode())
                digest.update(np.ascontiguousarray(array).data)
            self._hash = digest.hexdigest()[:32]
        return {"data": self._hash, **self._options}

    def check(self, saved: Mapping[str, Any], path) -> None:
        """ValueError naming every difference between ``saved`` and this run."""
        current = self.value()
        differences = [f"{key}: {saved.get(key)!r} there, {current[key]!r} here"
                       for key in current if saved.get(key) != current[key]]
        if differences:
            raise ValueError(f"{path} comes from a different run, so this one cannot continue it ("
                             + "; ".join(differences) + "). Resume with the same data, loss, optimizer, "
                             "batch_size and shuffle.")
