"""supreme-methods: the unlearning methods of SUPREME, one module per method.

The methods are registered with SUPREME through the ``supreme`` entry point
(:mod:`supreme_methods.plugin`); see ``docs/methods.md`` for each one's paper,
hyperparameters and differences from the reference implementation.
"""
