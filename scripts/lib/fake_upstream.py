"""A tiny OpenAI-compatible upstream for scripts/chaos.sh: POST /v1/chat/completions (streamed
or not) and GET /v1/models, standard library only. A streamed answer sends one word every
--delay seconds, so that the chaos run can kill this server (or the popi replica proxying it)
while a stream is in flight; a plain answer comes at once.

    python3 scripts/lib/fake_upstream.py --port 9200 [--words 16] [--delay 0.5]

Each request is logged to stdout as one line (method, path, stream or not).
"""
import argparse
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = "the quick brown fox jumps over the lazy dog and then runs far away into the woods".split()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    words = 16
    delay = 0.5

    def log_message(self, fmt, *args):  # one line per request, on stdout
        pass

    def _json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "chaos"}]})
        else:
            self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._json(400, {"error": {"message": "bad json", "type": "invalid_request_error"}})
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
        stream = bool(request.get("stream"))
        print(f"{time.time():.3f} POST {self.path} stream={stream}", flush=True)
        words = min(self.words, int(request.get("max_tokens") or self.words))
        model = request.get("model", "fake-model")
        created = int(time.time())
        usage = {"prompt_tokens": 10, "completion_tokens": words, "total_tokens": 10 + words}
        if not stream:
            text = " ".join(WORDS[i % len(WORDS)] for i in range(words))
            return self._json(200, {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}],
                "usage": usage})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def event(payload):
            data = f"data: {payload}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def chunk(delta, finish=None, with_usage=False):
            body = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            if with_usage:
                body["usage"] = usage
            return json.dumps(body)

        try:
            event(chunk({"role": "assistant", "content": ""}))
            for i in range(words):
                time.sleep(self.delay)
                event(chunk({"content": ("" if i == 0 else " ") + WORDS[i % len(WORDS)]}))
            event(chunk({}, finish="length", with_usage=True))
            event("[DONE]")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--words", type=int, default=16, help="words in a streamed answer")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds between two streamed words")
    args = parser.parse_args()
    Handler.words, Handler.delay = args.words, args.delay
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"fake upstream on 127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
