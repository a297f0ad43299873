"""The `leadledger` command line: one module per command group."""
