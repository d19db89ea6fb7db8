"""Callbacks: code that the training loop calls at fixed points, as in Keras.

Hook order for a run of E epochs with S steps each::

    on_train_begin
      on_epoch_begin(0)
        on_step_begin(0), on_step_end(0), on_step_begin(1), ... on_step_end(S-1)
      on_epoch_end(0)
      on_epoch_begin(1) ...
    on_train_end          (always: also after an error, a divergence or Ctrl-C)

``step`` counts optimizer steps over the whole run and ``epoch`` counts passes over the
data; both start at 0. Inside a hook, ``self.trainer`` and ``self.model`` are set, and a
callback stops the run by setting ``self.trainer.stop_training = True`` (the run ends
after the current step). ``self.trainer.stop_reason`` says, in ``on_train_end``, why the
run ended: ``"completed"``, ``"stopped"`` (by a callback or ``on_divergence="stop"``),
``"diverged"``, ``"interrupted"`` (Ctrl-C) or ``"error"``.

The ``logs`` dict passed to each hook holds:

| hook | keys |
| --- | --- |
| `on_train_begin`, `on_epoch_begin` | (empty) |
| `on_step_begin` | `batch_size`: examples in this step's batch |
| `on_step_end` | `loss`: the batch loss *before* this step's update (it comes free with the gradient); `batch_size`; `learning_rate` |
| `on_epoch_end` | `loss`: mean of the epoch's batch losses, weighted by batch size; `learning_rate`: the rate of the epoch's last step; each metric (e.g. `accuracy`) on the training data after the epoch; `val_loss` and `val_<metric>` on `validation_data` after the epoch (if given) |
| `on_train_end` | the last epoch's logs |

Each module here holds one callback (``learning_rate.py`` the two that set the rate); all
are re-exported from ``minigd``.
"""

import importlib
from typing import TYPE_CHECKING

from .base import HOOKS, Callback, CallbackList
from .early_stopping import EarlyStopping
from .history import History
from .lambda_callback import LambdaCallback
from .learning_rate import LearningRateScheduler, ReduceLROnPlateau
from .model_checkpoint import ModelCheckpoint
from .progress import ProgressBar
from .step_logger import StepLogger

#: Imported at first use (PEP 562), not with minigd: LivePlot brings the file machinery
#: (zipfile, json, hashlib) and csv comes with CSVLogger, about 15 ms that most runs never need.
LAZY = {"CSVLogger": ".csv_logger", "LivePlot": ".live_plot", "TensorBoard": ".tensorboard"}

if TYPE_CHECKING:  # what static tools (type checkers, the API docs) see; at run time: LAZY
    from .csv_logger import CSVLogger
    from .live_plot import LivePlot
    from .tensorboard import TensorBoard

__all__ = ["HOOKS", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
           "LearningRateScheduler", "LivePlot", "ModelCheckpoint", "ProgressBar", "ReduceLROnPlateau",
           "StepLogger", "TensorBoard"]


def __getattr__(name: str):
    if name in LAZY:
        value = getattr(importlib.import_module(LAZY[name], __name__), name)
        globals()[name] = value  # the next lookup is an ordinary one
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *LAZY})
