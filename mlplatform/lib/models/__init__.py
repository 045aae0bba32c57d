"""Training, forecasting, the anomaly detector, the registry and promotion."""
