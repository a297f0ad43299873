"""HTTP handlers: each builds a command or query and hands it to the service."""
