"""Host side of the board link (contract/host_protocol.py): the driver (host.driver.SBEBoard), its
exceptions (host.errors), the frame codec (host.frames) and byte transports (host.transport).
Imports only contract (tests/project/test_layering.py)."""
from host.driver import BoardInfo, Mode, SBEBoard, Status, Update
from host.errors import BoardError, LinkError, LinkTimeout, ReplyError
from host.transport import CallbackTransport, SerialTransport, Transport

__all__ = ["SBEBoard", "BoardInfo", "Mode", "Status", "Update", "BoardError", "LinkError", "LinkTimeout",
           "ReplyError", "Transport", "SerialTransport", "CallbackTransport"]
