"""Alert delivery: notices, grouped messages, channels and the ledger that sends each once."""
