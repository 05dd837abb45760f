#!/usr/bin/python3
"""Webhook receiver for the side-by-side benchmark.

Takes the Alertmanager webhook payload (version 4, which both kpid and Alertmanager send)
and appends one JSON line per alert to a file: the arrival time, taken before the body is
parsed so that the receiver's own work does not count as the sender's latency, the
alert's `kpi` label and its status.

usage: webhook_sink.py PORT OUT.jsonl
"""

import http.server
import json
import sys
import threading
import time


def main() -> int:
    port = int(sys.argv[1])
    out = open(sys.argv[2], "a", buffering=1, encoding="utf-8")
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            arrived = time.time()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            lines = []
            try:
                payload = json.loads(body)
                for alert in payload.get("alerts", []):
                    labels = alert.get("labels", {})
                    lines.append(json.dumps({"t": arrived, "kpi": labels.get("kpi"),
                                             "status": alert.get("status")}))
            except (ValueError, AttributeError):
                lines.append(json.dumps({"t": arrived, "kpi": None, "status": "unparsable"}))
            with lock:
                for line in lines:
                    out.write(line + "\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:  # one line per request would be noise
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
