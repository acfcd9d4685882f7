"""nbtorch's differentiable primitives, one module per family.

Conventions (``../shared/STYLE.md``): an op is an ``Op`` subclass with static ``forward`` on arrays
and ``backward`` written against ``ctx.xp``, followed by its public wrapper; each module ends with
``METHODS`` and ``INPLACE`` for the Tensor methods it provides.
"""
