"""Activations: the non-linear step of a layer, each with its backward pass by hand.

An activation turns a layer's pre-activation ``z`` into its output ``a = f(z)``. Its
``forward(z)`` uses only [`minigd.ops`][minigd.ops], so it runs on numpy arrays and TensorFlow
tensors; its ``backward(z, a, grad_a)`` turns ``dL/da`` into ``dL/dz`` in numpy by the
chain rule. Both ``z`` and ``a`` are passed to ``backward`` because some derivatives
are simplest in terms of the output (tanh, sigmoid, softmax) and one in terms of the
input (relu).

Names as in Keras: ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"softmax"``, and ``None`` or
``"linear"`` for no activation.

Examples:
    >>> import numpy as np
    >>> relu = get_activation("relu")
    >>> z = np.array([[-1.0, 2.0]])
    >>> relu.forward(z)
    array([[0., 2.]])
    >>> relu.backward(z, relu.forward(z), np.array([[5.0, 5.0]]))
    array([[0., 5.]])
"""

from __future__ import annotations

import numpy as np

from . import ops
from .ops import Array


class Activation:
    """Base class: ``a = forward(z)`` and ``dL/dz = backward(z, a, dL/da)``.

    Examples:
        >>> class Square(Activation):
        ...     name = "square"
        ...     def forward(self, z):
        ...         return z * z
        ...     def backward(self, z, a, grad_a):
        ...         return grad_a * 2.0 * z          # da/dz = 2z
        >>> Square().backward(np.array([3.0]), None, np.array([1.0]))
        array([6.])
    """

    name = "activation"

    def forward(self, z: Array) -> Array:
        """``a = f(z)``, with operators and [`minigd.ops`][minigd.ops] (numpy arrays or tensors)."""
        raise NotImplementedError(f"{type(self).__name__} must define forward(z).")

    def backward(self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
        """``dL/dz`` from ``dL/da``, in numpy; ``z`` and ``a`` are the forward pass's."""
        raise NotImplementedError(f"{type(self).__name__} must define backward(z, a, grad_a).")

    def __repr__(self) -> str:
        return repr(self.name)


class Linear(Activation):
    r"""No activation: $a = z$, so $\partial L/\partial z = \partial L/\partial a$.

    Examples:
        >>> Linear().backward(None, None, np.array([1.5]))
        array([1.5])
    """

    name = "linear"

    def forward(self, z):
        return z

    def backward(self, z, a, grad_a):
        return grad_a


class ReLU(Activation):
    r"""$a = \max(z, 0)$; $\partial a/\partial z$ is 1 where $z > 0$ and 0 elsewhere, so
    $\partial L/\partial z = \partial L/\partial a \cdot [z > 0]$. At $z = 0$ exactly we take 0, as TensorFlow does.

    Examples:
        >>> ReLU().forward(np.array([-2.0, 0.0, 3.0]))
        array([0., 0., 3.])
    """

    name = "relu"

    def forward(self, z):
        return ops.relu(z)

    def backward(self, z, a, grad_a):
        return grad_a * (z > 0)


class Tanh(Activation):
    r"""$a = \tanh z$; $\partial a/\partial z = 1 - \tanh^2 z = 1 - a^2$, so $\partial L/\partial z = \partial L/\partial a \cdot (1 - a^2)$.

    Examples:
        >>> Tanh().backward(None, np.array([0.0, 0.5]), np.array([1.0, 1.0]))
        array([1.  , 0.75])
    """

    name = "tanh"

    def forward(self, z):
        return ops.tanh(z)

    def backward(self, z, a, grad_a):
        return grad_a * (1.0 - a * a)


class Sigmoid(Activation):
    r"""$a = 1 / (1 + e^{-z})$; $\partial a/\partial z = a (1 - a)$, so $\partial L/\partial z = \partial L/\partial a \cdot a (1 - a)$.

    Examples:
        >>> Sigmoid().forward(np.array([0.0]))
        array([0.5])
        >>> Sigmoid().backward(None, np.array([0.5]), np.array([1.0]))
        array([0.25])
    """

    name = "sigmoid"

    def forward(self, z):
        return ops.sigmoid(z)

    def backward(self, z, a, grad_a):
        return grad_a * a * (1.0 - a)


class Softmax(Activation):
    r"""Each row $a_i = e^{z_i} / \sum_j e^{z_j}$: k scores become k probabilities.

    Every output depends on every input of its row: $\partial a_i/\partial z_j = a_i ([i = j] - a_j)$.
    Summing over the outputs $i$:

    $$\frac{\partial L}{\partial z_j} = \sum_i \frac{\partial L}{\partial a_i}\, a_i ([i = j] - a_j)
    = a_j \Big(\frac{\partial L}{\partial a_j} - \sum_i \frac{\partial L}{\partial a_i}\, a_i\Big)$$

    one line of numpy, with no k-by-k Jacobian.

    Examples:
        >>> a = Softmax().forward(np.array([[0.0, 0.0]]))
        >>> a
        array([[0.5, 0.5]])
        >>> Softmax().backward(None, a, np.array([[1.0, 0.0]]))
        array([[ 0.25, -0.25]])
    """

    name = "softmax"

    def forward(self, z):
        return ops.softmax(z, axis=-1)

    def backward(self, z, a, grad_a):
        return a * (grad_a - (grad_a * a).sum(axis=-1, keepdims=True))


#: Keras's names for the activations, as ``Dense(activation=...)`` takes them.
ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Linear, ReLU, Tanh, Sigmoid, Softmax)
}


def get_activation(identifier: str | Activation | None) -> Activation:
    """An [`Activation`][minigd.activations.Activation] from its Keras name, None (no activation) or an instance.

    Examples:
        >>> get_activation("tanh"), get_activation(None)
        ('tanh', 'linear')
    """
    if identifier is None:
        return Linear()
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, str) and identifier in ACTIVATIONS:
        return ACTIVATIONS[identifier]()
    raise ValueError(
        f"activation={identifier!r} is unknown: choose one of {sorted(ACTIVATIONS)}, None "
        "(no activation) or an Activation instance."
    )
