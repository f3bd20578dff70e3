import numpy as np
import pytest
from scipy import sparse

from models.certify import (
    certify_threshold,
    clopper_pearson_interval,
    clopper_pearson_lower,
    min_items_to_certify,
)
from models.features import as_unseen


def test_clopper_pearson_bounds_match_the_exact_binomial_ones():
    # m items, all correct: the one-sided 95 % lower bound is 0.05 ** (1 / m)
    assert float(clopper_pearson_lower(59, 59, 0.05)) == pytest.approx(0.05 ** (1 / 59))
    assert min_items_to_certify(0.95, 0.05) == 59 and min_items_to_certify(0.95, 0.025) == 72
    assert float(clopper_pearson_lower(58, 58, 0.05)) < 0.95 <= float(clopper_pearson_lower(59, 59, 0.05))
    assert float(clopper_pearson_lower(0, 10, 0.05)) == 0.0
    low, high = clopper_pearson_interval(95, 100)
    assert low == pytest.approx(0.8872, abs=1e-3) and high == pytest.approx(0.9836, abs=1e-3)
    assert clopper_pearson_interval(10, 10)[1] == 1.0
    assert np.isnan(clopper_pearson_interval(0, 0)[0])


def draw(rng, n):
    """Confidences uniform on [0, 1], P(correct | c) = c ** 0.1: the true precision above t is ``true_precision``."""
    conf = rng.uniform(0, 1, n)
    return conf, rng.uniform(0, 1, n) < conf ** 0.1


def true_precision(t: float) -> float:
    return (1 - t ** 1.1) / (1.1 * (1 - t))  # about 0.95 at t = 0.27


def test_a_well_separated_set_is_certified_and_its_bound_holds():
    conf, correct = draw(np.random.default_rng(0), 3000)
    cert = certify_threshold(conf, correct, 0.95)
    assert cert.certified and cert.lower_bound >= 0.95
    above = conf >= cert.threshold
    assert cert.coverage == pytest.approx(above.mean())
    assert cert.precision == pytest.approx(correct[above].mean())
    assert true_precision(cert.threshold) >= 0.95 and cert.coverage > 0.5


def test_the_chance_of_breaking_the_promise_stays_near_alpha():
    """Repeated draws: how often the chosen threshold's true precision falls below the target."""
    rng = np.random.default_rng(1)
    broken, certified, runs = 0, 0, 300
    for _ in range(runs):
        conf, correct = draw(rng, 800)
        cert = certify_threshold(conf, correct, 0.95, alpha=0.05)
        certified += cert.certified
        broken += cert.certified and true_precision(cert.threshold) < 0.95
    assert certified > runs / 2 and broken / runs <= 0.08


def test_too_few_or_too_noisy_items_cannot_certify():
    assert not certify_threshold(np.linspace(0.9, 1, 40), np.ones(40, bool), 0.95).certified  # 40 < 72 items
    rng = np.random.default_rng(2)
    cert = certify_threshold(rng.uniform(0, 1, 2000), rng.uniform(0, 1, 2000) < 0.8, 0.95)
    assert not cert.certified and cert.threshold == 1.0 and cert.coverage == 0.0


def test_as_unseen_drops_unknown_terms_and_renormalises_each_block():
    # two blocks: columns 0-2 (min_df 1) and 3-4 (min_df 2)
    X = sparse.csr_matrix(np.array([[0.6, 0.8, 0.0, 0.6, 0.8]]))
    df = np.array([1, 0, 5, 1, 3])  # column 1 never seen, column 3 seen once (below its block's min_df)
    out = as_unseen(X, df, [(0, 3, 1), (3, 5, 2)]).toarray()[0]
    assert out == pytest.approx([1.0, 0.0, 0.0, 0.0, 1.0])
    assert X.toarray()[0][1] == 0.8  # the input is left alone
