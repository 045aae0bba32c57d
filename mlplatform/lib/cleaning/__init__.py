"""Raw text tables to validated, deduplicated, UTC tables, with every rejected row kept."""
