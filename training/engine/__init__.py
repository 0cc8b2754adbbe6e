"""The multitask training engine: loop, optimizer, EMA, balancers, checkpoints, DDP."""

from .balancers import FAMO, GradNorm, StaticBalancer, build_balancer
from .config import OptimConfig, TaskConfig, TrainConfig, load_train_config
from .ema import ModelEma
from .loop import Trainer
from .run import run_training

__all__ = ["FAMO", "GradNorm", "ModelEma", "OptimConfig", "StaticBalancer", "TaskConfig",
           "TrainConfig", "Trainer", "build_balancer", "load_train_config", "run_training"]
