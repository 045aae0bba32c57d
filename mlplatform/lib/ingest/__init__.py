"""Landing files and sources into raw tables: the simulator, landing readers, names, timestamps."""
