"""minigd: a small, Keras-style framework for learning and teaching gradient descent.

    >>> import minigd as mg
    >>> x, y = mg.make_linear_data(seed=0)
    >>> trainer = mg.Trainer(mg.MSE(), mg.SGD(learning_rate=0.01), gradients="analytic")
    >>> history = trainer.fit(mg.Linear(), x, y, steps=1000)

TensorFlow (the "tape" provider) and matplotlib (plotting) are imported only when used.
"""

from typing import TYPE_CHECKING

from . import activations, callbacks, ops, schedules
from .callbacks import (
    Callback,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
    ReduceLROnPlateau,
    StepLogger,
)

from .data import DataFileError, make_linear_data, read_csv
from .datasets import make_classification_data, make_sine_data, make_spiral_data
from .divergence import DivergenceError, stable_learning_rate
from .formatting import format_params, format_value
from .gradients import (
    AnalyticGradients,
    GradientCheck,
    GradientProvider,
    NumericGradients,
    TapeGradients,
    check_gradients,
)
from .layers import Dense, Layer, Sequential
from .losses import (
    MAE,
    MSE,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Huber,
    Loss,
    SparseCategoricalCrossentropy,
)
from .metrics import Metric, get_metric
from .models import Linear, Model
from .optimizers import SGD, Adagrad, Adam, Optimizer, RMSprop, sgd_update
from .trainer import Trainer

if TYPE_CHECKING:  # imported at first use (see __getattr__); static tools see them here
    from .callbacks import CSVLogger, LivePlot, TensorBoard

__version__ = "0.2.0"

__all__ = [
    "AnalyticGradients",
    "Callback",
    "DataFileError",
    "DivergenceError",
    "EarlyStopping",
    "GradientCheck",
    "GradientProvider",
    "History",
    "LambdaCallback",
    "Linear",
    "Loss",
    "MSE",
    "Model",
    "ModelCheckpoint",
    "NumericGradients",
    "Optimizer",
    "ProgressBar",
    "SGD",
    "StepLogger",
    "TapeGradients",
    "Trainer",
    "check_gradients",
    "format_params",
    "format_value",
    "make_linear_data",
    "read_csv",
    "stable_learning_rate",
    "ops",
    "activations",
    "SparseCategoricalCrossentropy",
    "CategoricalCrossentropy",
    "BinaryCrossentropy",
    "Huber",
    "MAE",
    "Sequential",
    "Layer",
    "Dense",
    "schedules",
    "make_spiral_data",
    "make_sine_data",
    "make_classification_data",
    "get_metric",
    "Metric",
    "ReduceLROnPlateau",
    "LearningRateScheduler",
    "sgd_update",
    "Adagrad",
    "RMSprop",
    "Adam",
    "LivePlot",
    "CSVLogger",
    "TensorBoard",
]


def __getattr__(name: str):
    """The callbacks that ``minigd.callbacks`` imports at first use (see its ``LAZY``)."""
    if name in callbacks.LAZY:
        return getattr(callbacks, name)
    raise AttributeError(f"module 'minigd' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *callbacks.LAZY})
