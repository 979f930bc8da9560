"""Evaluation: metrics, trivial baselines and the quality report of bundles on held-out data."""
