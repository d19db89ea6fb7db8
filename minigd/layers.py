"""Layers and the Sequential model: a network as a stack of layers, backpropagation by hand.

A layer owns no numbers: it says which parameters it needs (``build``), how its output
follows from its input (``forward``, written with [`minigd.ops`][minigd.ops] so that it runs on
numpy arrays and TensorFlow tensors) and, next to it, how the gradient flows back
(``backward``, numpy, the chain rule written out). [`Sequential`][minigd.Sequential] chains layers,
names and creates their parameters, and is itself a [`minigd.Model`][minigd.Model], so it
trains with every gradient provider: "analytic" runs the layers' backward passes,
"tape" differentiates their forward passes, "numeric" perturbs each parameter.

Parameter names are Keras's layer names with the parameter after a slash:
``"dense/kernel"``, ``"dense/bias"``, ``"dense_1/kernel"``, ... counted from the first
Dense layer of each model (Keras counts across the whole session; minigd per model, so
that a model's names do not depend on what was built before it).

Examples:
    >>> model = Sequential([Dense(4, activation="tanh"), Dense(1)], seed=0)
    >>> model(np.zeros((3, 2))).shape
    (3, 1)
    >>> [(name, value.shape) for name, value in model.params.items()]
    [('dense/kernel', (2, 4)), ('dense/bias', (4,)), ('dense_1/kernel', (4, 1)), ('dense_1/bias', (1,))]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ._validation import check_positive_int, check_seed
from .activations import Activation, get_activation
from .models import Model, Params
from .ops import Array


class Layer:
    """Base class for layers; [`Dense`][minigd.Dense] is the one minigd has.

    A layer writes:

    * ``build(input_dim, rng)``: its initial parameters, a dict of short names
      (``"kernel"``) to numpy arrays, for inputs with ``input_dim`` features;
    * ``forward_and_cache(params, x)``: its output, and what its backward pass will
      need (the "cache", as in cs231n); ``params`` holds its own parameters under their
      short names. Operators and [`minigd.ops`][minigd.ops] only, so it runs on tensors too;
    * ``backward(params, cache, grad_out)``: from ``dL/d(output)`` the gradients
      ``dL/dparam`` of its parameters and ``dL/d(input)``, which is the ``grad_out`` of
      the layer below.

    Examples:
        A layer that multiplies its one input feature by a weight ``w``:

        >>> class Scale(Layer):
        ...     base_name = "scale"
        ...     def build(self, input_dim, rng):
        ...         return {"w": np.ones(())}
        ...     def output_dim(self, input_dim):
        ...         return input_dim
        ...     def forward_and_cache(self, params, x):
        ...         return x * params["w"], x
        ...     def backward(self, params, cache, grad_out, input_gradient=True):
        ...         x = cache                     # a = w x: da/dw = x, da/dx = w
        ...         return {"w": (grad_out * x).sum()}, grad_out * params["w"]
        >>> model = Sequential([Scale(), Dense(1)])
        >>> model(np.ones((2, 1))).shape, list(model.params)
        ((2, 1), ['scale/w', 'dense/kernel', 'dense/bias'])
    """

    #: The base of the names Sequential gives layers of this kind: "dense", "dense_1", ...
    base_name = "layer"

    def build(self, input_dim: int, rng: np.random.Generator) -> Params:
        raise NotImplementedError(f"{type(self).__name__} must define build(input_dim, rng).")

    def output_dim(self, input_dim: int) -> int:
        """Features of the output for inputs with ``input_dim`` features."""
        raise NotImplementedError(f"{type(self).__name__} must define output_dim(input_dim).")

    def forward(self, params: Mapping, x: Array) -> Array:
        """The layer's output for input ``x`` (numpy array or tensor)."""
        return self.forward_and_cache(params, x)[0]

    def forward_and_cache(self, params: Mapping, x: Array) -> tuple[Array, object]:
        """The layer's output and its cache: what ``backward`` needs from the forward pass."""
        raise NotImplementedError(f"{type(self).__name__} must define forward_and_cache(params, x).")

    def backward(self, params: Mapping, cache, grad_out: np.ndarray,
                 input_gradient: bool = True) -> tuple[Params, np.ndarray | None]:
        """``(dL/dparam for its parameters, dL/d(input) or None if not input_gradient)``."""
        raise NotImplementedError(
            f"{type(self).__name__} must define backward(params, cache, grad_out, input_gradient)."
        )


class Dense(Layer):
    """A fully connected layer, ``keras.layers.Dense``: ``a = activation(x @ kernel + bias)``.

    Forward, for x of shape (n, d), kernel (d, units) and bias (units,)::

        z = x @ kernel + bias                                  (n, units)
        a = activation(z)                                      (n, units)

    Backward, given ``dL/da`` of shape (n, units); each line is the chain rule through
    one line of the forward pass, read from the bottom up::

        dL/dz      = activation's backward: dL/da * f'(z)     (n, units)
        dL/dkernel = x.T @ dL/dz          (z_ij = sum_m x_im kernel_mj + bias_j)
        dL/dbias   = dL/dz summed over the n examples
        dL/dx      = dL/dz @ kernel.T                          (n, d): the layer below's dL/da

    The kernel starts Glorot-uniform, as in Keras: uniform in ``[-limit, limit]`` with
    ``limit = sqrt(6 / (d + units))``, so that a signal's size neither grows nor fades
    from layer to layer; the bias starts at 0.

    Args:
        units: number of outputs (>= 1).
        activation: "relu", "tanh", "sigmoid", "softmax", "linear" or None (no
            activation), or an [`Activation`][minigd.activations.Activation].

    Examples:
        >>> layer = Dense(2, activation="relu")
        >>> params = {"kernel": np.array([[1.0, -1.0]]), "bias": np.array([0.0, 0.5])}
        >>> out, cache = layer.forward_and_cache(params, np.array([[2.0]]))
        >>> out
        array([[2., 0.]])
        >>> grads, grad_x = layer.backward(params, cache, np.array([[1.0, 1.0]]))
        >>> grads["kernel"], grads["bias"], grad_x
        (array([[2., 0.]]), array([1., 0.]), array([[1.]]))
    """

    base_name = "dense"

    def __init__(self, units: int, activation: str | Activation | None = None) -> None:
        self.units = check_positive_int(units, "units")
        self.activation = get_activation(activation)

    def build(self, input_dim: int, rng: np.random.Generator) -> Params:
        limit = np.sqrt(6.0 / (input_dim + self.units))
        return {"kernel": rng.uniform(-limit, limit, size=(input_dim, self.units)),
                "bias": np.zeros(self.units)}

    def output_dim(self, input_dim: int) -> int:
        return self.units

    def forward_and_cache(self, params, x):
        z = x @ params["kernel"] + params["bias"]
        a = self.activation.forward(z)
        return a, (x, z, a)

    def backward(self, params, cache, grad_out, input_gradient=True):
        x, z, a = cache
        grad_z = self.activation.backward(z, a, grad_out)
        grads = {"kernel": x.T @ grad_z, "bias": grad_z.sum(axis=0)}
        # the first layer's input is the data: nobody needs dL/dx there, skip the matmul
        grad_x = grad_z @ params["kernel"].T if input_gradient else None
        return grads, grad_x

    def __repr__(self) -> str:
        return f"Dense({self.units}, activation={self.activation.name!r})"


class Sequential(Model):
    """A stack of layers, each one's output the next one's input; ``keras.Sequential``.

    Its parameters are created when it first sees data (``model(x)``, ``Trainer.fit``,
    ``check_gradients`` all call [`build`][minigd.layers.Sequential.build]), since the first kernel's shape depends
    on the number of input features. Inputs are (n, d); x of shape (n,) is taken as
    (n, 1), one feature (Keras requires 2-D input; minigd's data are often (n,)). The
    output is (n, units of the last layer), even for one unit: losses accept targets of
    shape (n,) with it, as Keras's do.

    Backpropagation ([`backward`][minigd.layers.Sequential.backward]) is the chain rule through the stack: with
    ``a_0 = x`` and ``a_l = layer_l(a_(l-1))`` for l = 1..m, start from
    ``dL/da_m = dL/dy_pred`` and, for l = m..1, let layer l turn ``dL/da_l`` into
    ``dL/d(its parameters)`` and ``dL/da_(l-1)``.

    Args:
        layers: the layers, first (nearest the input) to last.
        seed: seeds the initial kernels (a whole number >= 0), so that the same model
            starts from the same numbers every time; None draws fresh ones.

    Examples:
        >>> model = Sequential([Dense(3, activation="relu"), Dense(2, activation="softmax")])
        >>> probabilities = model(np.array([[1.0, 2.0]]))
        >>> probabilities.shape, round(float(probabilities.sum()), 12)
        ((1, 2), 1.0)
        >>> model
        Sequential([Dense(3, activation='relu'), Dense(2, activation='softmax')], seed=0)
    """

    def __init__(self, layers: Sequence[Layer] = (), seed: int | None = 0) -> None:
        super().__init__()
        if isinstance(layers, Layer) or not isinstance(layers, Sequence):
            raise ValueError(f"layers must be a list of layers such as [Dense(1)], got {layers!r}.")
        self.seed = check_seed(seed)
        self.layers: list[Layer] = []
        self.layer_names: list[str] = []
        self.input_dim: int | None = None
        for layer in layers:
            self.add(layer)

    def add(self, layer: Layer) -> None:
        """Put ``layer`` on top of the stack (before the model is built)."""
        if not isinstance(layer, Layer):
            raise ValueError(f"layers must be minigd layers such as Dense(1), got {layer!r}.")
        if any(layer is other for other in self.layers):
            raise ValueError(f"{layer!r} is already in this model: create a new layer for each place.")
        if self.params:
            raise ValueError("this Sequential is already built: add layers before its first use.")
        taken = sum(other.base_name == layer.base_name for other in self.layers)
        self.layers.append(layer)
        self.layer_names.append(layer.base_name if taken == 0 else f"{layer.base_name}_{taken}")

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create every layer's parameters for inputs of ``input_shape``; once only."""
        if self.params:
            return
        if not self.layers:
            raise ValueError("Sequential has no layers: pass some, e.g. Sequential([Dense(1)]).")
        if len(input_shape) not in (1, 2):
            raise ValueError(
                f"x has shape {tuple(input_shape)}: Sequential takes (n, d), or (n,) for one feature."
            )
        self.input_dim = dim = 1 if len(input_shape) == 1 else int(input_shape[1])
        rng = np.random.default_rng(self.seed)
        self._short_names = []  # per layer: (short name, full name) of each of its parameters
        for name, layer in zip(self.layer_names, self.layers):
            built = layer.build(dim, rng)
            for key, value in built.items():
                self.add_param(f"{name}/{key}", value)
            self._short_names.append([(key, f"{name}/{key}") for key in built])
            dim = layer.output_dim(dim)

    def check_input(self, x: np.ndarray) -> None:
        features = 1 if x.ndim == 1 else x.shape[1] if x.ndim == 2 else None
        if features is None or (self.input_dim is not None and features != self.input_dim):
            raise ValueError(
                f"x has shape {x.shape} but this Sequential was built for inputs of shape "
                f"(n, {self.input_dim})" + (" or (n,)" if self.input_dim == 1 else "") + "."
            )

    def forward(self, params, x):
        if len(x.shape) == 1:
            x = x[:, None]  # (n,) is n examples of one feature
        for index, layer in enumerate(self.layers):
            x = layer.forward(self._own(params, index), x)
        return x

    def backward(self, params, x, grad_y_pred):
        """Every ``dL/dparam``, from ``dL/dy_pred``, by the layers' backward passes in reverse.

        The Model API hands backward only ``(params, x, grad_y_pred)``, so the forward
        pass runs again here, in numpy, keeping each layer's cache. (Training with
        "analytic" uses [`fused_value_and_grad`][minigd.layers.Sequential.fused_value_and_grad] instead, which runs it once.)
        """
        _, caches = self._forward_and_caches(params, x)
        return self._backward(params, caches, grad_y_pred)

    def fused_value_and_grad(self, loss, params, x, y):
        """Loss and gradients with one forward pass: forward (keeping the caches), the
        loss and its ``dL/dy_pred``, then [`backward`][minigd.layers.Sequential.backward]'s reverse pass. Same numbers."""
        y_pred, caches = self._forward_and_caches(params, x)
        value, grad_y_pred = loss.value_and_gradient(y, y_pred)
        return value, self._backward(params, caches, grad_y_pred)

    def _forward_and_caches(self, params, x):
        if x.ndim == 1:
            x = x[:, None]
        caches = []
        for index, layer in enumerate(self.layers):
            x, cache = layer.forward_and_cache(self._own(params, index), x)
            caches.append(cache)
        return x, caches

    def _backward(self, params, caches, grad_y_pred):
        # a loss written for (n,) predictions may hand back dL/dy_pred of shape (n,)
        grad = np.asarray(grad_y_pred)
        if grad.ndim != 2:
            grad = grad.reshape(len(grad), -1)
        grads = dict.fromkeys(params)  # filled from the top layer down, kept in the parameters' order
        for index in reversed(range(len(self.layers))):
            names = self._short_names[index]
            layer_grads, grad = self.layers[index].backward(self._own(params, index), caches[index], grad,
                                                            input_gradient=index > 0)
            try:
                for short, full in names:
                    grads[full] = layer_grads[short]
            except KeyError:
                layer = self.layers[index]
                raise ValueError(
                    f"layer {self.layer_names[index]!r}: {type(layer).__name__}.backward returned gradients "
                    f"for {sorted(layer_grads)}; it must return one for each of its parameters "
                    f"{[short for short, _ in names]}.") from None
        return grads

    def _own(self, params: Mapping, index: int) -> dict:
        """Layer ``index``'s parameters under their short names: "dense_1/kernel" -> "kernel"."""
        return {short: params[full] for short, full in self._short_names[index]}

    def __repr__(self) -> str:
        return f"Sequential([{', '.join(map(repr, self.layers))}], seed={self.seed!r})"
