"""How task losses are combined: fixed weights, FAMO or GradNorm.

All balancers see the task losses already multiplied by their static λ from the config
(so λ puts each loss in a sensible range and the balancer adapts around it) and keep
their task weights summing to the number of tasks. What a balancer *reads* as a task's
loss (FAMO's 1/ℓ scale and rate, GradNorm's training rate) is ``stats``: the whole loss
by default, or the parts a task's ``balance_on`` names; the gradient is always the
whole loss's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

Reduce = Callable[[torch.Tensor], torch.Tensor]  # mean over data-parallel ranks


class StaticBalancer:
    """Σ_t λ_t ℓ_t (λ applied by the caller): the paper's default."""

    name = "static"

    def __init__(self, tasks: Sequence[str], reduce: Reduce | None = None) -> None:
        self.tasks = list(tasks)
        self.reduce = reduce  # mean over data-parallel ranks, for balancer statistics

    def combine(self, losses: dict[str, torch.Tensor], feats=None,
                stats: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """The total loss. ``stats``: the detached statistic the balancer reads per task
        (default: the losses themselves)."""
        return sum(losses[t] for t in self.tasks)

    def after_step(self, losses: dict[str, float]) -> None:
        """Update the balancer from this step's loss statistics (averaged over ranks)."""

    def weights(self) -> dict[str, float]:
        return {t: 1.0 for t in self.tasks}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class FAMO(StaticBalancer):
    """Fast Adaptive Multitask Optimization (Liu et al., 2023).

    Task logits ξ with z = softmax(ξ). FAMO's objective Σ_t z_t log ℓ_t / c, with
    c = Σ_t z_t / ℓ_t held constant, has the gradient Σ_t z_t/(c ℓ_t) ∇ℓ_t; we return the
    equivalent Σ_t w_t ℓ_t with w_t = T z_t / (ℓ̄_t Σ_s z_s/ℓ̄_s), ℓ̄_t the task's loss
    statistic (the detached loss, or the parts ``balance_on`` names) averaged over
    data-parallel ranks, so the gradient is the same however a batch is split, and the
    weights sum to the number of tasks T. ξ is trained with Adam (lr 0.025, weight decay
    0.001) on the observed decrease of log ℓ̄_t. The paper re-evaluates the losses on the
    same batch after the step; we use the next step's losses (one forward per step
    instead of two), a documented approximation.

    ``max_weight`` (not in the paper; default none) caps any task's w_t and hands the
    excess to the others in proportion to their weights: 1/ℓ̄ lets a task whose loss
    nears zero take almost all the weight (measured: cls 4.9 of 6 at the end of the
    synthetic run, docs/training.md).
    """

    name = "famo"

    def __init__(self, tasks: Sequence[str], lr: float = 0.025, weight_decay: float = 0.001,
                 eps: float = 1e-8, max_weight: float | None = None,
                 reduce: Reduce | None = None) -> None:
        super().__init__(tasks, reduce)
        if max_weight is not None and not max_weight >= 1.0:
            raise ValueError(f"FAMO max_weight must be >= 1 (weights average 1), got {max_weight}")
        self.eps, self.max_weight = eps, max_weight
        self.logits = torch.zeros(len(self.tasks), requires_grad=True)
        self.opt = torch.optim.Adam([self.logits], lr=lr, weight_decay=weight_decay)
        self.prev: torch.Tensor | None = None
        self._last_w: torch.Tensor | None = None

    def combine(self, losses: dict[str, torch.Tensor], feats=None,
                stats: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        stats = stats or {}
        vec = torch.stack([stats.get(t, losses[t]).detach().float() for t in self.tasks])
        if self.reduce is not None:
            vec = self.reduce(vec)
        z = F.softmax(self.logits.detach(), -1).to(vec.device)
        inv = z / (vec.clamp_min(0) + self.eps)
        w = len(self.tasks) * inv / inv.sum()
        if self.max_weight is not None:
            w = cap_weights(w, self.max_weight)
        self._last_w = w.detach().cpu()
        return sum(w[i] * losses[t] for i, t in enumerate(self.tasks))

    def after_step(self, losses: dict[str, float]) -> None:
        cur = torch.tensor([max(losses[t], 0.0) + self.eps for t in self.tasks])
        if self.prev is not None:
            delta = self.prev.log() - cur.log()
            with torch.enable_grad():
                z = F.softmax(self.logits, -1)
                (grad,) = torch.autograd.grad(z, self.logits, grad_outputs=delta)
            self.opt.zero_grad()
            self.logits.grad = grad
            self.opt.step()
        self.prev = cur

    def weights(self) -> dict[str, float]:
        """The effective loss weights of the last step (T·softmax(ξ) before any step)."""
        w = self._last_w
        if w is None:
            w = F.softmax(self.logits.detach(), -1) * len(self.tasks)
        return dict(zip(self.tasks, w.tolist()))

    def task_priorities(self) -> dict[str, float]:
        """T·softmax(ξ): the learned preference over tasks, independent of loss scales."""
        z = F.softmax(self.logits.detach(), -1) * len(self.tasks)
        return dict(zip(self.tasks, z.tolist()))

    def state_dict(self) -> dict:
        return {"logits": self.logits.detach().tolist(), "opt": _adam_state(self.opt),
                "prev": None if self.prev is None else self.prev.tolist()}

    def load_state_dict(self, state: dict) -> None:
        with torch.no_grad():
            self.logits.copy_(torch.tensor(state["logits"]))
        _load_adam_state(self.opt, state["opt"])
        self.prev = None if state["prev"] is None else torch.tensor(state["prev"])


class GradNorm(StaticBalancer):
    """GradNorm (Chen et al., 2018) on feature-map gradients.

    G_t = w_t · g_t with g_t the per-sample gradient norm of ℓ_t on the shared backbone's
    maps F_t of task t's batch (so only the head is back-propagated through): the
    Frobenius norm over channels and space of ∂ℓ_t/∂F_b, averaged over samples b and the
    four maps, times the local batch size B_t — a mean loss divides each sample's gradient
    by B_t, and tasks train with very different batch sizes. The weights
    follow the gradient of Σ_t |G_t − mean(G) · r_t^α| with r_t the task's relative
    inverse training rate, then are renormalised to sum to the number of tasks.
    """

    name = "gradnorm"

    def __init__(self, tasks: Sequence[str], alpha: float = 1.5, lr: float = 0.025,
                 reduce: Reduce | None = None) -> None:
        super().__init__(tasks, reduce)
        self.alpha = alpha
        self.w = torch.ones(len(self.tasks), requires_grad=True)
        self.opt = torch.optim.Adam([self.w], lr=lr)
        self.initial: torch.Tensor | None = None
        self._grad_norms: torch.Tensor | None = None

    def combine(self, losses: dict[str, torch.Tensor], feats=None,
                stats: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        if feats is None:
            raise ValueError("GradNorm needs the feature maps of each task's batch")
        norms = []
        for t in self.tasks:
            maps = [f for f in feats[t] if f.requires_grad]
            grads = torch.autograd.grad(losses[t], maps, retain_graph=True, allow_unused=True)
            per_map = [g.float().flatten(1).norm(dim=1).mean() * g.shape[0]
                       for g in grads if g is not None]
            norms.append(torch.stack(per_map).mean() if per_map else torch.zeros(()))
        self._grad_norms = torch.stack(norms).detach().cpu()
        w = self.w.detach().to(losses[self.tasks[0]].device)
        return sum(w[i] * losses[t] for i, t in enumerate(self.tasks))

    def after_step(self, losses: dict[str, float]) -> None:
        cur = torch.tensor([losses[t] for t in self.tasks]).clamp_min(1e-12)
        g = self._grad_norms
        if g is None:
            return
        if self.reduce is not None:
            g = self.reduce(g)
        if self.initial is None:
            self.initial = cur.clone()
        ratio = cur / self.initial
        r = ratio / ratio.mean()
        with torch.enable_grad():
            gw = self.w * g
            target = (gw.mean() * r.pow(self.alpha)).detach()
            (grad,) = torch.autograd.grad((gw - target).abs().sum(), self.w)
        self.opt.zero_grad()
        self.w.grad = grad
        self.opt.step()
        with torch.no_grad():
            self.w.clamp_(min=1e-3)
            self.w.mul_(len(self.tasks) / self.w.sum())

    def weights(self) -> dict[str, float]:
        return dict(zip(self.tasks, self.w.detach().tolist()))

    def state_dict(self) -> dict:
        return {"w": self.w.detach().tolist(), "opt": _adam_state(self.opt),
                "initial": None if self.initial is None else self.initial.tolist()}

    def load_state_dict(self, state: dict) -> None:
        with torch.no_grad():
            self.w.copy_(torch.tensor(state["w"]))
        _load_adam_state(self.opt, state["opt"])
        self.initial = None if state["initial"] is None else torch.tensor(state["initial"])


def cap_weights(w: torch.Tensor, cap: float) -> torch.Tensor:
    """Weights with the same sum, none above ``cap`` (needs sum <= cap · count): capped
    entries are fixed at ``cap`` and the rest are scaled up to keep the sum, repeatedly."""
    w = w.clone()
    total = float(w.sum())
    fixed = torch.zeros_like(w, dtype=torch.bool)
    for _ in range(len(w)):
        over = (w > cap) & ~fixed
        if not bool(over.any()):
            break
        fixed |= over
        w[fixed] = cap
        free = ~fixed
        rest = float(w[free].sum())
        if rest > 0:
            w[free] *= (total - cap * float(fixed.sum())) / rest
    return w


def _adam_state(opt: torch.optim.Adam) -> dict:
    st = opt.state_dict()
    return {"state": {str(k): {n: (v.tolist() if torch.is_tensor(v) else v)
                               for n, v in s.items()} for k, s in st["state"].items()},
            "param_groups": st["param_groups"]}


def _load_adam_state(opt: torch.optim.Adam, d: dict) -> None:
    state = {int(k): {n: torch.tensor(v) for n, v in s.items()} for k, s in d["state"].items()}
    opt.load_state_dict({"state": state, "param_groups": d["param_groups"]})


BALANCERS = {"static": StaticBalancer, "famo": FAMO, "gradnorm": GradNorm}


def build_balancer(name: str, tasks: Sequence[str], **kwargs) -> StaticBalancer:
    """A balancer by name: ``static``, ``famo`` or ``gradnorm``."""
    try:
        return BALANCERS[name](tasks, **kwargs)
    except KeyError:
        raise ValueError(f"unknown loss balancer {name!r}; choose from {sorted(BALANCERS)}") from None
