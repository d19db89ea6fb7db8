"""A straightforward re-implementation of the seed article's numpy program.

Loops over points exactly as the article does; the tests compare minigd against it.
Run it directly to see its output: ``python tests/seed_program.py``.
"""

import numpy as np


def sample_points(n=1000, seed=None):
    """The article's sampling loop: one uniform x and one Gaussian noise draw per point."""
    if seed is not None:
        np.random.seed(seed)
    data = []
    for _ in range(n):
        x = np.random.uniform(-10.0, 10.0)
        noise = np.random.normal(0.0, 0.1)
        data.append([x, 1.915 * x + 0.915 + noise])
    return np.array(data)


def mse(b, w, points):
    total_loss = 0
    for i in range(len(points)):
        x, y = points[i, 0], points[i, 1]
        total_loss += (y - (w * x + b)) ** 2
    return total_loss / float(len(points))


def step_gradient(b_current, w_current, points, lr):
    b_gradient = 0
    w_gradient = 0
    m = float(len(points))
    for i in range(len(points)):
        x, y = points[i, 0], points[i, 1]
        b_gradient += (2 / m) * ((w_current * x + b_current) - y)
        w_gradient += (2 / m) * x * ((w_current * x + b_current) - y)
    return [b_current - lr * b_gradient, w_current - lr * w_gradient]


def gradient_descent(points, b, w, lr, num_iterations, print_=print):
    for step in range(num_iterations):
        b, w = step_gradient(b, w, points, lr)
        loss = mse(b, w, points)
        if step % 50 == 0:
            print_(f"iteration:{step}, loss:{loss}, w:{w}, b:{b}")
    return [b, w]


def run(points, lr=0.01, num_iterations=1000, print_=print):
    b, w = gradient_descent(points, 0, 0, lr, num_iterations, print_)
    print_(f"Final loss:{mse(b, w, points)}, w:{w}, b:{b}")
    return b, w


if __name__ == "__main__":
    run(sample_points(seed=0))
