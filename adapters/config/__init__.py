"""Settings, workspaces and the first-run config file."""
