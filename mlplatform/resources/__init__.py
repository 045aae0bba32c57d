"""Resources, built by one function per deployment."""
