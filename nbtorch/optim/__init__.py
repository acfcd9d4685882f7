"""Optimizers and learning-rate schedulers, as ``torch.optim`` and ``torch.optim.lr_scheduler``.

One algorithm per file (its docstring states the update rule); ``optimizer.py`` holds the base
class.

>>> import nbtorch as torch
>>> w = torch.nn.Parameter(torch.tensor([3.0]))
>>> opt = torch.optim.SGD([w], lr=0.25)
>>> sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
>>> for _ in range(3):
...     opt.zero_grad()
...     (w ** 2).sum().backward()
...     opt.step()
...     sched.step()
>>> w.item(), sched.get_last_lr()
(0.984375, [0.03125])
"""

from . import lr_scheduler, optimizer
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
