"""Our metrics agree with scipy and scikit-learn, ties and degenerate cases included."""

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score

from jacorpus.evaluate import metrics as M


@pytest.mark.parametrize("seed", range(5))
def test_correlations_match_scipy(seed):
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 6, 200) / 1.0  # JSTS-like scores with many ties
    pred = gold + rng.normal(0, 1.5, 200)
    pred[:20] = np.round(pred[:20])
    assert M.pearson(gold, pred) == pytest.approx(stats.pearsonr(gold, pred)[0], abs=1e-12)
    assert M.spearman(gold, pred) == pytest.approx(stats.spearmanr(gold, pred)[0], abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_accuracy_and_macro_f1_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 6, 150)
    pred = np.where(rng.random(150) < 0.5, gold, rng.integers(0, 7, 150))  # a class only predicted, never gold
    assert M.accuracy(gold, pred) == pytest.approx(accuracy_score(gold, pred))
    assert M.macro_f1(gold, pred) == pytest.approx(f1_score(gold, pred, average="macro"))


def test_degenerate_inputs():
    assert M.pearson([1, 1, 1], [1, 2, 3]) == 0.0
    assert M.accuracy([], []) == 0.0
