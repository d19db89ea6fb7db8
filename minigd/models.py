"""Models: parameters plus a forward computation written once for numpy and TensorFlow."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from . import ops
from ._validation import as_data_array, check_positive_int, check_xy
from .formatting import format_params
from .losses import MSE

Params = dict[str, np.ndarray]
_add_reduce = np.add.reduce


class Model:
    r"""Base class for models. Subclass it and write ``forward`` (and, optionally, ``backward``).

    A model holds its parameters in ``self.params`` (name -> float64 numpy array, 0-d
    for a scalar). ``forward(params, x)`` takes the parameters as an argument instead of
    reading ``self.params`` so that a gradient provider can pass numpy arrays, perturbed
    copies (finite differences) or watched TensorFlow tensors (GradientTape) through the
    very same code. Use only operators and [`minigd.ops`][minigd.ops] inside it.

    ``backward(params, x, grad_y_pred)`` is the hand-derived gradient: given
    ``dL/dy_pred`` (one number per example) it returns ``dL/dparam`` for every parameter,
    by the chain rule $\frac{\partial L}{\partial p} = \sum_i \frac{\partial L}{\partial \hat y_i} \frac{\partial \hat y_i}{\partial p}$ (with $\hat y$ = ``y_pred``). Only the "analytic"
    provider needs it.

    Examples:
        >>> class Quadratic(Model):
        ...     def __init__(self):
        ...         super().__init__(a=0.0, b=0.0, c=0.0)
        ...     def forward(self, params, x):
        ...         return params["a"] * x**2 + params["b"] * x + params["c"]
        >>> Quadratic()(np.array([1.0, 2.0]))
        array([0., 0.])
    """

    def __init__(self, **params) -> None:
        self.params: Params = {}
        for name, value in params.items():
            self.add_param(name, value)

    def add_param(self, name: str, value) -> None:
        """Declare a parameter with its initial value (a number or an array)."""
        array = np.array(value, dtype=np.float64)  # np.array copies: the model owns it
        if not np.isfinite(array).all():
            raise ValueError(f"parameter {name!r} must be finite, got {value!r}.")
        self.params[name] = array

    def forward(self, params: Mapping, x):
        """Predictions for inputs ``x`` using ``params``. Subclasses must override this."""
        raise NotImplementedError(
            f"{type(self).__name__} must define forward(self, params, x)."
        )

    def backward(self, params: Mapping, x, grad_y_pred) -> Params:
        """Hand-derived ``dL/dparam`` for each parameter, given ``dL/dy_pred``. Optional."""
        raise NotImplementedError(
            f"{type(self).__name__} has no analytic gradient: define "
            "backward(self, params, x, grad_y_pred), or train with gradients='tape' "
            "or gradients='numeric', which need only forward()."
        )

    def fused_value_and_grad(self, loss, params: Mapping, x, y) -> tuple[float, Params] | None:
        """Optional shortcut for the analytic provider: loss and gradients in one go.

        Return None (the default) to use ``forward`` -> ``loss.gradient`` -> ``backward``.
        An override must give the same numbers as that chain (to rounding); it exists
        only to save passes over the data and temporary arrays.
        """
        return None

    @property
    def has_analytic_gradient(self) -> bool:
        """True if the subclass wrote its own ``backward``."""
        return type(self).backward is not Model.backward

    def __call__(self, x):
        """Predict with the current parameters: ``model(x) == model.forward(model.params, x)``.

        The first call builds the model for ``x``'s shape (see ``build``), as in Keras.
        """
        x = as_data_array(x, "x")
        self.build(x.shape)
        self.check_input(x)
        return self.forward(self.params, x)

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create parameters whose shapes depend on the inputs' shape, as Keras does.

        ``model(x)``, ``Trainer.fit`` and ``check_gradients`` call it before using the
        model; it must do nothing once the parameters exist. Models that declare their
        parameters in ``__init__`` (most) need not override it.
        """

    def check_input(self, x: np.ndarray) -> None:
        """Raise ValueError if ``x`` has a shape this model cannot take. Optional hook."""

    # -- weights -----------------------------------------------------------------------

    def get_weights(self) -> Params:
        """A copy of the parameters (safe to keep: later training will not change it)."""
        return {name: value.copy() for name, value in self.params.items()}

    def set_weights(self, weights: Mapping) -> None:
        """Replace the parameters; names and shapes must match the model's."""
        _check_same_params(self.params, weights, source="weights")
        for name in self.params:
            self.params[name] = np.array(weights[name], dtype=np.float64)

    def save_weights(self, path: str | os.PathLike) -> None:
        """Save the parameters to a .npz file (no pickle), atomically.

        The file is written next to ``path`` under a temporary name and then renamed, so
        a crash mid-write leaves any earlier file at ``path`` intact.
        """
        from .checkpoints import save_weights

        save_weights(path, self.params)

    def load_weights(self, path: str | os.PathLike) -> None:
        """Load parameters saved by ``save_weights`` (or from a trainer checkpoint).

        Names and shapes must match the model's; on any error the model is unchanged.
        """
        from .checkpoints import load_weights

        self.set_weights(load_weights(path))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({format_params(self.params, separator='=')})"


class Linear(Model):
    """The line ``y = w*x + b`` (or ``y = x @ w + b`` with several features).

    Gradients by hand, for ``y_pred_i = w*x_i + b``::

        dL/dw = sum_i dL/dy_pred_i * x_i        dL/db = sum_i dL/dy_pred_i

    Args:
        w: initial slope (a number; with ``features`` a number for every weight, or a
            sequence of ``features`` numbers).
        b: initial intercept.
        features: None for x of shape (n,); d for x of shape (n, d) and w of shape (d,).

    Examples:
        >>> model = Linear(w=2.0, b=1.0)
        >>> model(np.array([0.0, 1.0]))
        array([1., 3.])
    """

    def __init__(self, w: float | Sequence[float] = 0.0, b: float = 0.0, *,
                 features: int | None = None) -> None:
        if features is not None:
            features = check_positive_int(features, "features")
            if np.ndim(w) > 1 or (np.ndim(w) == 1 and len(w) != features):
                raise ValueError(f"w must be a number or {features} numbers (one per feature), "
                                 f"got shape {np.shape(w)}.")
            w = np.broadcast_to(np.asarray(w, dtype=np.float64), (features,))
        elif np.ndim(w) != 0:
            raise ValueError(
                f"w must be a number when features is None, got shape {np.shape(w)}; "
                "pass features=d for d input features."
            )
        if np.ndim(b) != 0:
            raise ValueError(f"b must be a number (one intercept), got shape {np.shape(b)}.")
        self.features = features
        super().__init__(w=w, b=b)

    def forward(self, params, x):
        if self.features is None:
            return params["w"] * x + params["b"]
        return ops.matvec(x, params["w"]) + params["b"]

    def backward(self, params, x, grad_y_pred):
        # One expression serves both shapes: for x of shape (n,) it is a dot product,
        # for (n, d) it gives the d partial derivatives at once.
        return {"w": grad_y_pred @ x, "b": grad_y_pred.sum()}

    def fused_value_and_grad(self, loss, params, x, y):
        r"""MSE and its gradient as one would write them by hand: $r = wx + b - y$,
        $L = r \cdot r / n$, $\partial L/\partial w = \frac{2}{n}\, r \cdot x$, $\partial L/\partial b = \frac{2}{n} \sum_i r_i$.

        Same numbers as forward -> MSE.gradient -> backward, but with one temporary
        array (the residual, built in place) instead of three.
        """
        if type(loss) is not MSE:
            return None
        # the residual, built in place: one new array where forward() then "- y" make three
        residual = x * params["w"] if self.features is None else x.dot(params["w"])
        residual += params["b"]
        residual -= y
        n = len(y)
        scale = 2.0 / n
        # .dot and add.reduce: the same BLAS dot products and pairwise sum as "@" and
        # .sum(), without their dispatch (about 1.5 us a step at n = 1000)
        return float(residual.dot(residual)) / n, {"w": scale * residual.dot(x),
                                                   "b": scale * _add_reduce(residual)}

    @classmethod
    def least_squares(cls, x, y) -> Linear:
        """The exact minimiser of the MSE, by ``np.linalg.lstsq``: where descent should end.

        Examples:
            >>> best = Linear.least_squares([0.0, 1.0, 2.0], [1.0, 3.0, 5.0])
            >>> round(float(best.params["w"]), 9), round(float(best.params["b"]), 9)
            (2.0, 1.0)
        """
        x, y = check_xy(x, y)  # NaN or mismatched lengths: a message, not LAPACK's
        design = np.column_stack([x.reshape(len(x), -1), np.ones(len(x))])
        solution = np.linalg.lstsq(design, y, rcond=None)[0]
        features = None if x.ndim == 1 else x.shape[1]
        return cls(w=solution[:-1] if features else solution[0], b=solution[-1], features=features)

    def check_input(self, x):
        expected = "(n,)" if self.features is None else f"(n, {self.features})"
        ok = x.ndim == 1 if self.features is None else x.ndim == 2 and x.shape[1] == self.features
        if not ok:
            raise ValueError(
                f"x has shape {x.shape} but {self!r} takes x of shape {expected}"
                + ("" if self.features is not None else "; use Linear(features=d) for d features")
                + "."
            )


def _check_same_params(expected: Mapping, given: Mapping, source: str) -> None:
    missing = sorted(set(expected) - set(given))
    extra = sorted(set(given) - set(expected))
    if missing or extra:
        raise ValueError(
            f"{source} do not match the model's parameters {sorted(expected)}: "
            f"missing {missing}, unexpected {extra}."
        )
    for name, value in expected.items():
        shape = np.shape(given[name])
        if shape != value.shape:
            raise ValueError(
                f"{source}: parameter {name!r} has shape {shape}, the model needs {value.shape}."
            )
        if not np.isfinite(np.asarray(given[name], dtype=np.float64)).all():
            raise ValueError(f"{source}: parameter {name!r} contains NaN or infinity.")
