"""Evaluate a checkpoint on every task: ``python training/evaluate.py --checkpoint CKPT
--config CONFIG``. The same as ``argus-edge evaluate``."""

import sys

from argus_edge.training.engine.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
