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
        compiled: run the tape inside ``tf.function`` (traced once, about 10x faster per
            step; on the full batch the trainer runs many steps per call, in a loop
            inside TensorFlow); False runs it eagerly, step by step, which is easier to
            debug and to print from.
        jit_compile: compile the step with XLA (``tf.function(jit_compile=True)``).
            Faster for small models, but XLA may fuse and reorder the arithmetic, so
            results can differ from the other paths in the last digits (about 1e-15
            relative per step); the first call of each chunk length pays a compilation.
        check_installed: fail here, at once, if TensorFlow is not installed (rather
            than at the first step).
    """

    name = "tape"

    def __init__(self, compiled: bool = True, jit_compile: bool = False,
                 check_installed: bool = True) -> None:
        if check_installed and importlib.util.find_spec("tensorflow") is None:
            raise ImportError(INSTALL_HINT)
        if jit_compile and not compiled:
            raise ValueError("jit_compile=True needs compiled=True: XLA compiles tf.function code.")
        self.compiled = compiled
        self.jit_compile = jit_compile
        self.trace_count = 0  # how often tf.function traced a step; tests watch this
        self._cache_key = None
        self._function = None
        self._step_key, self._step = None, None

    def value_and_grad(self, model, loss, params, x, y):
        tf = import_tensorflow()
        function = self._function_for(tf, model, loss, params, x.shape, y.shape)
        tensors = {name: tf.constant(value, dtype=tf.float64) for name, value in params.items()}
        value, grads = function(tensors, tf.constant(x, dtype=tf.float64),
                                tf.constant(y, dtype=tf.float64))
        return float(value), {name: np.asarray(grad.numpy()) for name, grad in grads.items()}

    def train_step_for(self, model, loss, optimizer, x_shape, y_shape):
        """The whole step in one compiled function, or None when not compiled.

        Passing parameters into a ``tf.function`` and gradients out of it costs more
        than the step itself for small data, so the forward pass, loss, gradient and the
        optimizer's own ``update`` all run inside TensorFlow, on variables; the step
        also offers ``run_steps``, several steps in one call (see
        `minigd.gradients.train_steps_for`). The traced step is kept for the next
        fit of the same model, loss and optimizer (a notebook cell run again), as long
        as the shapes and the optimizer's settings are the same.
        """
        if not self.compiled:
            return None
        config = {name: value for name, value in optimizer.get_config().items() if name != "learning_rate"}
        key = (id(model), id(loss), _settings(loss), id(optimizer), repr(config), x_shape[1:],
               y_shape[1:], tuple((name, value.shape) for name, value in model.params.items()))
        if self._step_key != key:
            self._step = _CompiledStep(self, import_tensorflow(), model, loss, optimizer, x_shape, y_shape)
            self._step_key = key
        self._step.forget_values()  # a new fit: the data or weights may have changed in place
        return self._step

    def _function_for(self, tf, model, loss, params, x_shape, y_shape):
        """The tape function for this model, loss and shapes; traced at most once for them."""
        key = (id(model), id(loss), _settings(loss),
               tuple((name, value.shape) for name, value in params.items()), x_shape[1:], y_shape[1:])
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
        extra = ", jit_compile=True" if self.jit_compile else ""
        return f"TapeGradients(compiled={self.compiled}{extra})"


class _CompiledStep:
    """Forward, loss, gradient and the optimizer's update in one ``tf.function``, on variables.

    The function is a loop over a tensor of learning rates, one step each, inside
    TensorFlow: a call with one rate is one step; a call with many is a *chunk*. The
    loop records every step's loss, and the sum of every step's new parameters, which
    is finite unless some step made a parameter NaN or infinite. After a chunk the
    divergence guard judges the losses in Python; if it refuses one, or the sum is not
    finite, the chunk is run again one step at a time and the guard decides on each. One
    traced function serves both, so a chunk does exactly the arithmetic of the steps one
    by one.

    The variables mirror the parameters and the optimizer state the step was last
    given. The step computes the new values and returns them as numpy arrays; it puts
    nothing in the trainer's hands in place (the trainer commits them, or not, if the
    run diverged). If the trainer passes other values than the last ones returned (a
    callback restored or clipped weights, a run resumed, a step was refused, the user
    changed a weight in place between fits), the next call copies them into the
    variables first: values are compared by their bytes, not by which array holds them.
    The data's tensors are made once per fit, so data changed in place between fits is
    seen too.
    """

    def __init__(self, provider, tf, model, loss, optimizer, x_shape, y_shape):
        self.tf = tf
        self.params = {name: tf.Variable(value, dtype=tf.float64) for name, value in model.params.items()}
        self.state = tf.nest.map_structure(lambda value: tf.Variable(value, dtype=tf.float64),
                                           optimizer.init(model.params))
        self.synced = (None, None)  # the bytes of the (params, state) the variables hold
        self.data = (None, None, None)  # (x array, y array, their tensors): reused within a fit
        self.rates = (None, None)  # the last learning rates and their tensor
        self._keep_alive = (model, loss, optimizer)  # the provider's cache key holds their ids

        def steps(x, y, learning_rates):
            provider.trace_count += 1  # Python code runs only while tracing

            def body(index, losses, total, params, state):
                # on tensors carried by the loop, not on the variables: no reads or writes
                # per step; the variables take the last values once, after the loop
                with tf.GradientTape() as tape:
                    tape.watch(params)
                    value = _forward_on_tensors(model, loss, params, x, y)
                grads = tape.gradient(value, params)
                _check_connected(model, grads)
                # tf.gather: one operation, where indexing makes a strided slice and three more
                rate = tf.gather(learning_rates, index)
                new_params, new_state = optimizer.update(grads, state, params, rate)
                # For the guard's "new parameters finite": one running sum stands for them
                # all (NaN and infinity survive it; an overflow of finite ones only sends the
                # chunk to the guard step by step). Nothing in the loop waits for it or for
                # the losses, so TensorFlow computes them beside the next step.
                total += tf.add_n([tf.reduce_sum(new_params[name]) for name in params])
                return index + 1, losses.write(index, value), total, new_params, new_state

            count = tf.shape(learning_rates)[0]
            params = {name: tf.convert_to_tensor(variable) for name, variable in self.params.items()}
            state = tf.nest.map_structure(tf.convert_to_tensor, self.state)
            losses = tf.TensorArray(tf.float64, size=count, element_shape=())
            # the default parallel_iterations lets a step's loss, sum and data slicing run on a
            # second core while the next step starts (1 made the MLP's chunk ~15% slower)
            _, losses, total, params, state = tf.while_loop(
                lambda index, *_: index < count, body,
                (tf.constant(0), losses, tf.constant(0.0, tf.float64), params, state))
            for name, variable in self.params.items():
                variable.assign(params[name])
            tf.nest.map_structure(lambda variable, value: variable.assign(value), self.state, state)
            return losses.stack(), total, params, state

        self.function = tf.function(steps, autograph=False, jit_compile=provider.jit_compile)
        self.full_shapes, self.traced = (tuple(x_shape), tuple(y_shape)), {}

    def forget_values(self) -> None:
        """Take nothing for granted at the next call: convert the data again and assign
        the variables (a fit starts; the user may have changed x or a weight in place)."""
        self.synced, self.data = (None, None), (None, None, None)

    def __call__(self, params, state, x, y, learning_rate):
        """One step, unguarded: the trainer's guard decides on the values it returns."""
        losses, _, new_params, new_state = self._run(params, state, x, y, [learning_rate])
        return float(losses[0]), new_params, new_state

    def run_steps(self, params, state, x, y, learning_rates, guard):
        """Several steps in one call, checked afterwards; see `minigd.gradients.train_steps_for`."""
        from .gradients import run_guarded_steps

        if not learning_rates:
            return [], params, state, None
        losses, total, new_params, new_state = self._run(params, state, x, y, learning_rates)
        if guard.accepts_chunk(losses, total):
            return losses.tolist(), new_params, new_state, None
        # Some step may be refused: the chunk again, one step at a time from its start
        # (the same arithmetic), with the guard deciding on each.
        return run_guarded_steps(self, params, state, x, y, learning_rates, guard)

    def _run(self, params, state, x, y, learning_rates):
        tf = self.tf
        synced_params, synced_state = self.synced
        # Until the results are back, the variables hold nothing the trainer has: a Ctrl-C
        # meanwhile must not leave them taken for the committed values.
        self.synced = (None, None)
        # Compared by value, not by identity: a callback may change a weight in place
        # (clipping it) between chunks. read_value=False: an eager assign otherwise reads
        # the variable back, a quarter of its cost.
        if _values(params) != synced_params:
            for name, variable in self.params.items():
                variable.assign(params[name], read_value=False)
        if _values(state) != synced_state:
            tf.nest.map_structure(lambda variable, value: variable.assign(value, read_value=False),
                                  self.state, state)
        losses, total, new_params, new_state = self._steps_for(x.shape, y.shape)(
            *self._tensors(x, y), self._rates(learning_rates))
        # np.asarray: a 0-d tensor's .numpy() is a numpy scalar; parameters stay 0-d arrays
        new_params = {name: np.asarray(tensor.numpy()) for name, tensor in new_params.items()}
        new_state = tf.nest.map_structure(lambda tensor: np.asarray(tensor.numpy()), new_state)
        self.synced = (_values(new_params), _values(new_state))
        return losses.numpy(), float(total), new_params, new_state

    def _steps_for(self, x_shape, y_shape):
        """The traced function for batches of this size, traced at its first use.

        The full batch gets one traced for its exact shape: with the batch dimension
        known, TensorFlow drops the shape computations from the gradients (a 1-32-1 MLP's
        loop body has about 80 operations instead of 100). Mini-batches share one with
        an open batch dimension, so a short last batch traces nothing new.
        """
        full = (x_shape, y_shape) == self.full_shapes
        if full not in self.traced:
            tf = self.tf
            data = ((tf.TensorSpec(x_shape, tf.float64), tf.TensorSpec(y_shape, tf.float64))
                    if full else _data_signature(tf, x_shape, y_shape))
            self.traced[full] = self.function.get_concrete_function(
                *data, tf.TensorSpec((None,), tf.float64))
        return self.traced[full]

    def _tensors(self, x, y):
        if self.data[0] is not x or self.data[1] is not y:  # full batch: converted only once
            tf = self.tf
            self.data = (x, y, (tf.constant(x, dtype=tf.float64), tf.constant(y, dtype=tf.float64)))
        return self.data[2]

    def _rates(self, learning_rates):
        if self.rates[0] != learning_rates:  # a constant rate: the same list, chunk after chunk
            self.rates = (list(learning_rates), self.tf.constant(learning_rates, self.tf.float64))
        return self.rates[1]


def _settings(loss) -> str:
    """A loss's settings (``Huber.delta``, ``from_logits``), as traced into a function: a
    change to one after the trace must trace again."""
    return repr(sorted(vars(loss).items()))


def _values(structure) -> list[bytes]:
    """Every array's bytes in a structure of arrays: what tells whether the variables still
    hold it, even when an array was changed in place (same object, new numbers)."""
    return [np.asarray(value).tobytes() for value in _leaves(structure)]


def _leaves(structure) -> list:
    """The arrays of a nested dict of arrays (parameters, optimizer state), in key order."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in _leaves(structure[key])]
    return [structure]


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
