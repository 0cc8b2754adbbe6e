"""argus_edge.training: the PyTorch side of argus-edge (models, weights, checkpoints).

Importing this package imports torch; the runtime package ``argus_edge`` never does.
"""

from .models import ArgusConfig, create_model, list_models

__all__ = ["ArgusConfig", "create_model", "list_models"]
