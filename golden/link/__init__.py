"""Golden models of the board link (contract/host_protocol.py): the board's command processor."""
