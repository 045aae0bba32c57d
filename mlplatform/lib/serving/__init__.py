"""What serving computes besides model predictions."""
