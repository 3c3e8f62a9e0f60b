"""An example extension that embeds mlp's kernels (see _demo.pyx)."""

from mlp_embed._demo import mean_gradient, predict_parallel, train_epochs, train_online

__all__ = ["mean_gradient", "predict_parallel", "train_epochs", "train_online"]
