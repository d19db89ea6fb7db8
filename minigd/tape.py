"""The "tape" gradient provider: TensorFlow's GradientTape over the model's own forward.

TensorFlow is imported here and nowhere else, and only when a tape is first used.
Parameters and data become float64 tensors, so results agree with the analytic
provider to about 1e-12.
"""

from __future__ import annotations

import contextlib
import os
import sys

import numpy as np

from .optimizers import sgd_update


def import_tensorflow():
    """Import TensorFlow quietly and deterministically, or explain how to install it."""
    if "tensorflow" in sys.modules and sys.modules["tensorflow"] is not None:
        return sys.modules["tensorflow"]
    # Before the first import only (a user's own settings win): silence C++ logs
    # (level 3: a machine without a GPU otherwise gets a CUDA error line), and turn off
    # oneDNN's reordered kernels, which make float results vary slightly between runs.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        with _quiet_stderr():
            import tensorflow as tf
    except ImportError as error:
        raise ImportError(
            "The 'tape' gradient provider needs TensorFlow: pip install 'minigd[tf]'"
        ) from error
    return tf


@contextlib.contextmanager
def _quiet_stderr():
    """Hide what C++ code writes to file descriptor 2 meanwhile.

    TensorFlow's GPU probing prints "Could not find cuda drivers" before its log level
    is read, so TF_CPP_MIN_LOG_LEVEL cannot stop it. Python exceptions still propagate.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class TapeGradients:
    """Automatic differentiation with ``tf.GradientTape`` over the model's own ``forward``.

    Parameters and data become float64 tensors, so the result agrees with the analytic
    gradient to about 1e-12.

    Args:
        compiled: run the tape inside ``tf.function`` (traced once per model and loss,
            about 10x faster per step); False runs it eagerly, step by step, which is
            easier to debug and to print from.
    """

    name = "tape"

    def __init__(self, compiled: bool = True) -> None:
        self.compiled = compiled
        self.trace_count = 0  # how often tf.function traced the step; tests watch this
        self._cache_key = None
        self._function = None

    def value_and_grad(self, model, loss, params, x, y):
        tf = import_tensorflow()
        function = self._function_for(tf, model, loss, params, x.shape)
        tensors = {name: tf.constant(value, dtype=tf.float64) for name, value in params.items()}
        value, grads = function(tensors, tf.constant(x, dtype=tf.float64),
                                tf.constant(y, dtype=tf.float64))
        return float(value), {name: grad.numpy() for name, grad in grads.items()}

    def train_step_for(self, model, loss, optimizer, x_shape):
        """The whole step in one compiled function, or None where that does not apply.

        Passing parameters into a ``tf.function`` and gradients out of it costs more
        than the step itself for small data, so in compiled mode with :class:`SGD` the
        forward pass, loss, gradient and update (the same :func:`sgd_update`) all run
        inside TensorFlow, on variables. Returns a function
        ``(params, x, y) -> (loss before the update, new params)`` for inputs whose
        shape is ``x_shape`` but for the number of examples.
        """
        from .optimizers import SGD

        if not self.compiled or type(optimizer) is not SGD:
            return None
        return _CompiledSGDStep(self, import_tensorflow(), model, loss, optimizer, x_shape)

    def _function_for(self, tf, model, loss, params, x_shape):
        """The tape function for this model, loss and shapes; traced at most once for them."""
        key = (id(model), id(loss), tuple((name, value.shape) for name, value in params.items()),
               x_shape[1:])
        if self._cache_key != key:
            def tape_step(params, x, y):
                if not tf.executing_eagerly():
                    self.trace_count += 1  # Python code runs only while tracing
                with tf.GradientTape() as tape:
                    tape.watch(params)
                    value = _forward_on_tensors(model, loss, params, x, y)
                grads = tape.gradient(value, params)
                _check_connected(model, grads)
                return value, grads

            self._function = tape_step
            if self.compiled:
                param_specs = {name: tf.TensorSpec(value.shape, tf.float64) for name, value in params.items()}
                self._function = tf.function(tape_step, autograph=False).get_concrete_function(
                    param_specs, *_data_signature(tf, x_shape))
            self._cache_key = key
            self._keep_alive = (model, loss)  # so the ids in the key stay unique
        return self._function

    def __repr__(self) -> str:
        return f"TapeGradients(compiled={self.compiled})"


class _CompiledSGDStep:
    """Forward, loss, gradient and SGD update in one ``tf.function``, on ``tf.Variable``s.

    The variables mirror ``model.params`` (and the optimizer's velocities); each step
    returns the new values, so callbacks and checkpoints see numpy arrays as always. If
    the parameters were changed from outside (a callback restoring weights, a resumed
    run), the next call copies them in first.
    """

    def __init__(self, provider, tf, model, loss, optimizer, x_shape):
        self.tf, self.optimizer = tf, optimizer
        self.variables = {name: tf.Variable(value, dtype=tf.float64) for name, value in model.params.items()}
        self.velocities = {
            name: tf.Variable(optimizer.velocities.get(name, np.zeros_like(value)), dtype=tf.float64)
            for name, value in model.params.items()
        } if optimizer.momentum else {}
        self.learning_rate = optimizer.learning_rate
        self.learning_rate_variable = tf.Variable(self.learning_rate, dtype=tf.float64)
        self.synced = dict(model.params)  # the arrays the variables hold right now
        self.hyperparameters = (optimizer.momentum, optimizer.nesterov)
        self.data = (None, None, None)  # (x array, y array, their tensors): reused while the same
        momentum, nesterov = self.hyperparameters

        def step(x, y):
            provider.trace_count += 1  # Python code runs only while tracing
            with tf.GradientTape() as tape:
                value = _forward_on_tensors(model, loss, self.variables, x, y)
            grads = tape.gradient(value, self.variables)
            _check_connected(model, grads)
            new_params, new_velocities = {}, {}
            for name, variable in self.variables.items():
                new_params[name], velocity = sgd_update(
                    variable, grads[name], self.velocities.get(name),
                    self.learning_rate_variable, momentum, nesterov)
                variable.assign(new_params[name])
                if momentum:
                    new_velocities[name] = self.velocities[name].assign(velocity)
            # returned rather than read back: reading a variable costs a call of its own
            return value, new_params, new_velocities

        self.step = tf.function(step, autograph=False).get_concrete_function(
            *_data_signature(tf, x_shape))

    def __call__(self, params, x, y):
        optimizer = self.optimizer
        if (optimizer.momentum, optimizer.nesterov) != self.hyperparameters:
            raise ValueError("momentum and nesterov cannot change during a compiled tape run.")
        if any(params[name] is not self.synced[name] for name in self.variables):
            for name, variable in self.variables.items():
                variable.assign(params[name])
        if optimizer.learning_rate != self.learning_rate:  # e.g. changed by a schedule callback
            self.learning_rate = optimizer.learning_rate
            self.learning_rate_variable.assign(self.learning_rate)
        value, new_params, new_velocities = self.step(*self._tensors(x, y))
        self.synced = {name: np.asarray(tensor.numpy()) for name, tensor in new_params.items()}
        for name, velocity in new_velocities.items():
            optimizer.velocities[name] = velocity.numpy()
        return float(value), dict(self.synced)

    def _tensors(self, x, y):
        if self.data[0] is not x or self.data[1] is not y:  # full batch: converted only once
            tf = self.tf
            self.data = (x, y, (tf.constant(x, dtype=tf.float64), tf.constant(y, dtype=tf.float64)))
        return self.data[2]


def _data_signature(tf, x_shape):
    """Specs for (x, y) with an open batch dimension.

    One trace then serves every batch size (a short last batch included), and calling
    the concrete function skips ``tf.function``'s per-call argument lookup, which costs
    more than a small step itself.
    """
    return tf.TensorSpec((None, *x_shape[1:]), tf.float64), tf.TensorSpec((None,), tf.float64)


def _forward_on_tensors(model, loss, params, x, y):
    try:
        return loss.compute(y, model.forward(params, x))
    except (TypeError, NotImplementedError, AttributeError) as error:
        raise TypeError(
            f"{type(model).__name__}.forward or {type(loss).__name__}.compute failed on "
            f"TensorFlow tensors ({error}). Write them with operators (+ - * / **) and "
            "minigd.ops functions, not numpy functions such as np.sum or np.exp."
        ) from error


def _check_connected(model, grads):
    unused = [name for name, grad in grads.items() if grad is None]
    if unused:
        raise ValueError(
            f"GradientTape found no path from the loss to parameter(s) {unused} of "
            f"{type(model).__name__}: forward() must use every parameter through operators "
            "and minigd.ops (numpy functions cut the tape)."
        )
