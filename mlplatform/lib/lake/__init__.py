"""Files of the lake: atomic writes and SQL over its Parquet tables."""
