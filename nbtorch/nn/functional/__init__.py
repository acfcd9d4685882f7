"""``torch.nn.functional``: the stateless side of the layers.

Functions are grouped by family in private modules; each exports its public names in ``__all__``.
"""

from ._activation import *  # noqa: F403
from ._attention import *  # noqa: F403
from ._conv import *  # noqa: F403
from ._linear import *  # noqa: F403
from ._loss import *  # noqa: F403
from ._misc import *  # noqa: F403
from ._norm import *  # noqa: F403
from ._pooling import *  # noqa: F403
