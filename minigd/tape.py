"""The "tape" gradient provider: TensorFlow's GradientTape over the model's own forward.

TensorFlow is imported here and nowhere else, and only when a tape is first used.
Parameters and data become float64 tensors, so results agree with the analytic
provider to about 1e-12.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys

import numpy as np



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
        raise ImportError(INSTALL_HINT) from error
    return tf


INSTALL_HINT = "The 'tape' gradient provider needs TensorFlow: pip install 'minigd[tf]'"


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
        compiled: run the tape inside ``tf.function`` (traced once per fit, about 10x
            faster per step); False runs it eagerly, step by step, which is easier to
            debug and to print from.
        check_installed: fail here, at once, if TensorFlow is not installed (rather
            than at the first step).
    """

    name = "tape"

    def __init__(self, compiled: bool = True, check_installed: bool = True) -> None:
        if check_installed and importlib.util.find_spec("tensorflow") is None:
            raise ImportError(INSTALL_HINT)
        self.compiled = compiled
        self.trace_count = 0  # how often tf.function traced a step; tests watch this
        self._cache_key = None
        self._function = None

    def value_and_grad(self, model, loss, params, x, y):
        tf = import_tensorflow()
        function = self._function_for(tf, model, loss, params, x.shape, y.shape)
        tensors = {name: tf.constant(value, dtype=tf.float64) for name, value in params.items()}
        value, grads = function(tensors, tf.constant(x, dtype=tf.float64),
                                tf.constant(y, dtype=tf.float64))
        return float(value), {name: grad.numpy() for name, grad in grads.items()}

    def train_step_for(self, model, loss, optimizer, x_shape, y_shape):
        """The whole step in one compiled function, or None when not compiled.

        Passing parameters into a ``tf.function`` and gradients out of it costs more
        than the step itself for small data, so the forward pass, loss, gradient and the
        optimizer's own ``update`` all run inside TensorFlow, on variables. See
        :func:`minigd.gradients.train_step_for` for the step function's form.
        """
        if not self.compiled:
            return None
        return _CompiledStep(self, import_tensorflow(), model, loss, optimizer, x_shape, y_shape)

    def _function_for(self, tf, model, loss, params, x_shape, y_shape):
        """The tape function for this model, loss and shapes; traced at most once for them."""
        key = (id(model), id(loss), tuple((name, value.shape) for name, value in params.items()),
               x_shape[1:], y_shape[1:])
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
                    param_specs, *_data_signature(tf, x_shape, y_shape))
            self._cache_key = key
            self._keep_alive = (model, loss)  # so the ids in the key stay unique
        return self._function

    def __repr__(self) -> str:
        return f"TapeGradients(compiled={self.compiled})"


class _CompiledStep:
    """Forward, loss, gradient and the optimizer's update in one ``tf.function``, on variables.

    The variables mirror the parameters and the optimizer state the step was last
    given. The step computes the new values and returns them as numpy arrays; it puts
    nothing in the trainer's hands in place (the trainer commits them, or not, if the
    run diverged). If the trainer passes other arrays than the last ones returned (a
    callback restored weights, a run resumed, a step was refused), the next call copies
    them into the variables first.
    """

    def __init__(self, provider, tf, model, loss, optimizer, x_shape, y_shape):
        self.tf = tf
        self.params = {name: tf.Variable(value, dtype=tf.float64) for name, value in model.params.items()}
        self.state = tf.nest.map_structure(lambda value: tf.Variable(value, dtype=tf.float64),
                                           optimizer.init(model.params))
        self.learning_rate = tf.Variable(0.0, dtype=tf.float64)
        self.synced = (None, None, None)  # the (params, state, learning rate) the variables hold
        self.data = (None, None, None)  # (x array, y array, their tensors): reused while the same

        def step(x, y):
            provider.trace_count += 1  # Python code runs only while tracing
            with tf.GradientTape() as tape:
                value = _forward_on_tensors(model, loss, self.params, x, y)
            grads = tape.gradient(value, self.params)
            _check_connected(model, grads)
            new_params, new_state = optimizer.update(grads, self.state, self.params, self.learning_rate)
            for name, variable in self.params.items():
                variable.assign(new_params[name])
            tf.nest.map_structure(lambda variable, new: variable.assign(new), self.state, new_state)
            # returned rather than read back: reading a variable costs a call of its own
            return value, new_params, new_state

        self.step = tf.function(step, autograph=False).get_concrete_function(
            *_data_signature(tf, x_shape, y_shape))

    def __call__(self, params, state, x, y, learning_rate):
        synced_params, synced_state, synced_rate = self.synced
        if synced_params is None or any(params[name] is not synced_params[name] for name in self.params):
            for name, variable in self.params.items():
                variable.assign(params[name])
        if state is not synced_state:
            self.tf.nest.map_structure(lambda variable, value: variable.assign(value), self.state, state)
        if learning_rate != synced_rate:  # e.g. a schedule, or a callback that changed it
            self.learning_rate.assign(learning_rate)
        value, new_params, new_state = self.step(*self._tensors(x, y))
        new_params = {name: tensor.numpy() for name, tensor in new_params.items()}
        new_state = self.tf.nest.map_structure(lambda tensor: tensor.numpy(), new_state)
        self.synced = (new_params, new_state, learning_rate)
        return float(value), new_params, new_state

    def _tensors(self, x, y):
        if self.data[0] is not x or self.data[1] is not y:  # full batch: converted only once
            tf = self.tf
            self.data = (x, y, (tf.constant(x, dtype=tf.float64), tf.constant(y, dtype=tf.float64)))
        return self.data[2]


def _data_signature(tf, x_shape, y_shape):
    """Specs for (x, y) with an open batch dimension.

    One trace then serves every batch size (a short last batch included), and calling
    the concrete function skips ``tf.function``'s per-call argument lookup, which costs
    more than a small step itself.
    """
    return (tf.TensorSpec((None, *x_shape[1:]), tf.float64),
            tf.TensorSpec((None, *y_shape[1:]), tf.float64))


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
