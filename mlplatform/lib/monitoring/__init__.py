"""Drift, live accuracy, retrain decisions and what a deployment has built."""
