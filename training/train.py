"""Train Argus: ``python training/train.py --config CONFIG [--resume]``.

The same as ``argus-edge train``; needs argus-edge installed with the [train] extra.
Multi-process: ``torchrun --nproc_per_node 2 training/train.py --config ...``.
"""

import sys

from argus_edge.training.engine.run import main

if __name__ == "__main__":
    sys.exit(main())
