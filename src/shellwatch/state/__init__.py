"""State that spans events, kept per host: the process table, login sessions, network connections."""
