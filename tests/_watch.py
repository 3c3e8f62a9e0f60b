"""A thread that predicts with a network all the while a block runs, for the tests that
check that predictions during training see only states between two updates."""

import contextlib
import threading

import mlp


@contextlib.contextmanager
def predictions_during(net, probe):
    """Yield a list that a watching thread fills with ``net.predict(probe)``, over and over,
    from before the block starts (it waits for the first) until the block ends."""
    seen, watching, running = [], threading.Event(), threading.Event()
    running.set()

    def watch():
        while running.is_set():
            seen.append(net.predict(probe))
            watching.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    assert watching.wait(10)
    try:
        yield seen
    finally:
        running.clear()
        watcher.join()


def outputs_of(net, states, probe):
    """The bytes of ``probe``'s outputs for each parameter vector of ``states``."""
    twin = mlp.MLP.from_params(net.sizes, net.params)
    allowed = set()
    for params in states:
        twin.params[:] = params
        allowed.add(twin.predict(probe).tobytes())
    return allowed
