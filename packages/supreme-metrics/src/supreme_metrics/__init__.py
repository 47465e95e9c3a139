"""SUPREME's evaluation metrics, one module per metric.

Every metric reads the forward passes cached by :class:`supreme.contracts.EvalContext`
(one eval-mode pass per model and split), so adding a metric never adds a pass over data
another metric already ran. Importing this package (and :mod:`supreme_metrics.plugin`)
does not import torch or scikit-learn; they are imported when a metric is computed.
"""

__version__ = "0.2.0"
