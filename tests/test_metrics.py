"""Metrics against closed forms: Fréchet distance of known Gaussians, sample W2 with std ≠ 1."""
import numpy as np
import pytest
import torch

from artlib.eval.metrics import frechet_distance, frechet_distance_samples, sample_w2_normal


def test_frechet_distance_of_known_gaussians():
    # 1-D: (μ1 − μ2)² + (s1 − s2)²
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.array([[1.0]])) \
        == pytest.approx(9.0 + 1.0, rel=1e-10)
    # commuting diagonal covariances: Σ (√a − √b)² plus the mean term
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expect = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expect, rel=1e-10)
    # non-commuting: rotate one covariance; the distance equals the closed form for 2×2
    R = np.array([[np.cos(0.7), -np.sin(0.7)], [np.sin(0.7), np.cos(0.7)]])
    c1, c2 = np.diag([1.0, 4.0]), R @ np.diag([2.0, 0.5]) @ R.T
    s = np.linalg.eigvals(c1 @ c2)
    expect = np.trace(c1) + np.trace(c2) - 2 * np.sum(np.sqrt(s.real))
    assert frechet_distance(np.zeros(2), c1, np.zeros(2), c2) == pytest.approx(expect, rel=1e-8)
    assert frechet_distance(mu1, np.diag(a), mu1, np.diag(a)) == pytest.approx(0.0, abs=1e-10)


def test_frechet_distance_of_samples_sees_mean_and_spread():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20000, 3, generator=g, dtype=torch.float64)
    y = torch.randn(20000, 3, generator=g, dtype=torch.float64)
    assert frechet_distance_samples(x, y) < 0.01
    assert frechet_distance_samples(x, y + 2.0) == pytest.approx(12.0, rel=0.02)      # mean term 3·2²
    assert frechet_distance_samples(x, 3 * y) == pytest.approx(3 * (3 - 1) ** 2, rel=0.03)
    assert frechet_distance_samples(x, torch.zeros_like(y)) == pytest.approx(3.0, rel=0.03)


def test_sample_w2_normal_with_std():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(100000, generator=g, dtype=torch.float64) * 2.5
    assert sample_w2_normal(x, 2.5) < 0.02
    assert sample_w2_normal(x, 1.0) == pytest.approx(1.5, abs=0.02)     # W2(N(0, 2.5²), N(0, 1)) = 1.5
    assert sample_w2_normal(x + 0.3, 2.5) == pytest.approx(0.3, abs=0.02)


def test_frechet_distance_matches_scipys_matrix_square_root():
    # an independent implementation: tr sqrtm(cov1 cov2) with scipy's general square root (what
    # EDM's fid.py computes), on full-rank covariances and on rank-deficient ones (fewer samples
    # than dimensions, as FID's 2048 features from a few hundred images)
    from scipy import linalg
    rng = np.random.default_rng(0)
    for n in (200, 30):
        a, b = rng.normal(size=(n, 40)), rng.normal(size=(n, 40)) @ rng.normal(size=(40, 40)) * 0.3
        c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        m1, m2 = a.mean(0), b.mean(0)
        expect = np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * np.trace(np.real(linalg.sqrtm(c1 @ c2)))
        assert frechet_distance(m1, c1, m2, c2) == pytest.approx(expect, rel=1e-6)


def test_the_smallest_sample_sets_are_accepted():
    # two samples are enough: W2 of (−1, 1) against the quartiles ±0.6745 of N(0, 1); and the
    # Fréchet distance of (0, 2) and (0, 4): (1 − 2)² + (√2 − √8)² = 3
    q = 0.6744897501960817
    assert sample_w2_normal(torch.tensor([-1.0, 1.0])) == pytest.approx(1 - q, rel=1e-12)
    a, b = torch.tensor([[0.0], [2.0]]), torch.tensor([[0.0], [4.0]])
    assert frechet_distance_samples(a, b) == pytest.approx(3.0, rel=1e-12)
