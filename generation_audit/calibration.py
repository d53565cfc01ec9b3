"""Scores to probabilities and how good they are: AUC and logistic (Platt) fits. Pure numpy."""

from __future__ import annotations

import numpy as np


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve: P(random positive outscores random negative), ties counting half."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=float)
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    combined = np.concatenate([pos, neg])
    _, inverse, counts = np.unique(combined, return_inverse=True, return_counts=True)
    # Average rank of each distinct value (1-based), so ties share their rank.
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ranks = (starts + (counts + 1) / 2)[inverse]
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def fit_logistic(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None, l2: float = 1e-2
) -> tuple[float, float]:
    """(a, b) maximising the weighted likelihood of sigmoid(a * x + b) for labels `y`; a small ridge on `a`.

    The ridge keeps the fit finite when the classes separate perfectly (as they do on clean data).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    theta = np.array([1.0, 0.0])
    design = np.stack([x, np.ones_like(x)], axis=1)
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(design @ theta, -50, 50)))
        grad = design.T @ (w * (p - y)) + l2 * np.array([theta[0], 0.0])
        hess = (design * (w * p * (1 - p))[:, None]).T @ design + l2 * np.diag([1.0, 0.0]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        theta = theta - step
        if np.max(np.abs(step)) < 1e-9:
            break
    return float(theta[0]), float(theta[1])


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Per-item weights giving both classes equal total weight (a fitted intercept then means a 50 % prior)."""
    y = np.asarray(y, dtype=float)
    n_pos, n_neg = max(1.0, float((y == 1).sum())), max(1.0, float((y == 0).sum()))
    return np.where(y == 1, len(y) / (2 * n_pos), len(y) / (2 * n_neg))


def gumbel_quantile(maxima: np.ndarray, q: float) -> float:
    """The q-quantile of a Gumbel law fitted by moments to sample maxima (the law of a maximum's tail)."""
    maxima = np.asarray(maxima, dtype=float)
    beta = float(np.std(maxima, ddof=1)) * np.sqrt(6) / np.pi if len(maxima) > 1 else 1.0
    mu = float(np.mean(maxima)) - 0.5772156649 * beta
    return mu - beta * float(np.log(-np.log(q)))
