"""Host link of the board tops: UART, COBS framing, CRC-16, the command processor and the board-independent
top (host_top.py). The protocol is contract/host_protocol.py."""
