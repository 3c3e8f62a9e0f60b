"""Which estimators the drop-in tests (test_sklearn*.py) check.

By default mlp.sklearn's MLPClassifier and MLPRegressor. MLP_DROPIN=<module> points the
tests at another module's pair instead; MLP_DROPIN=sklearn.neural_network runs them against
scikit-learn itself, where each must pass (that is how they were validated):

    MLP_DROPIN=sklearn.neural_network pytest tests/test_sklearn*.py
"""

import importlib
import os

MODULE = os.environ.get("MLP_DROPIN", "mlp.sklearn")


def estimators():
    """(MLPClassifier, MLPRegressor) of the module under test."""
    module = importlib.import_module(MODULE)
    return module.MLPClassifier, module.MLPRegressor
