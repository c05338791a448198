"""An HTTP server on 127.0.0.1 for download tests: no machine here reaches the real hosts."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request lines in the test output
        pass


class _Truncating(_Quiet):
    """Announces the whole file, sends half of it, then drops the connection."""

    def do_GET(self):
        body = Path(self.translate_path(self.path)).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True


@contextmanager
def serve(folder: Path, truncate: bool = False):
    """Serve ``folder`` on a free port of 127.0.0.1; yields the base URL."""
    handler = partial(_Truncating if truncate else _Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
