"""A local TCP server for tests that play a misbehaving neighbour (a broker that never answers,
an endpoint that trickles): accepts on 127.0.0.1 and hands each connection to `handle` in a
thread of its own."""

from __future__ import annotations

import socket
import threading


class LocalTCPServer:
    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.getsockname()[1]

    def handle(self, conn: socket.socket) -> None:
        """Override: serve one connection (the default keeps it open and says nothing)."""

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return  # closed
            self.connections.append(conn)
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def close(self) -> None:
        self.server.close()
        for conn in self.connections:
            conn.close()
