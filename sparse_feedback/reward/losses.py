"""The two reward-model losses side by side, per example (the trainer takes the mean over the global batch).

>>> scores = torch.tensor([2.0, -1.0, 0.0, 0.0])
>>> [round(x, 4) for x in rankings_loss(scores, torch.tensor([0, 2]), torch.tensor([1, 3])).tolist()]
[0.0486, 0.6931]
>>> [round(x, 4) for x in ratings_loss(scores, torch.tensor([1.0, 0.0, 0.5, 1.0])).tolist()]
[0.0142, 0.0723, 0.0, 0.25]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def ratings_loss(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Ratings RM: squared error between sigmoid(score) and the rating mapped to [0, 1], (rating - 1) / 6.

    One value per rated response.
    """
    return (torch.sigmoid(scores.float()) - targets.float()) ** 2


def rankings_loss(scores: torch.Tensor, chosen: torch.Tensor, rejected: torch.Tensor,
                  margin: float = 0.0) -> torch.Tensor:
    """Rankings RM: -log sigmoid(r_chosen - r_rejected - margin), one value per pair.

    ``chosen`` / ``rejected`` index ``scores`` (a response shared by pairs is scored once).
    """
    scores = scores.float()
    return -F.logsigmoid(scores[chosen] - scores[rejected] - margin)


def per_example_loss(protocol: str, scores: torch.Tensor, batch: dict, margin: float = 0.0) -> torch.Tensor:
    """The protocol's loss for a collated batch: a value per rated response (ratings) or per pair (rankings)."""
    if protocol == "ratings":
        return ratings_loss(scores, batch["targets"])
    return rankings_loss(scores, batch["chosen"], batch["rejected"], margin)
