"""SQL identifiers from names the lake holds: a folder's name is data, never SQL."""


def quoted(name: str) -> str:
    """`name` as one DuckDB identifier, whatever it holds (`a"b` is `"a""b"`)."""
    return '"' + name.replace('"', '""') + '"'
