"""Attack run for bench/attack.sh: a legitimate client at a steady rate, measured alone and then
while attackers without a key (a) hold connections open trickling request bodies and (b) flood
the server with random bearer keys. The attackers run in a process of their own. Prints success
rate and latency percentiles per phase.

Usage: python3 bench/attack.py URL KEY [--quiet S] [--attack S] [--rate N] [--trickle N] [--floods N]
"""
import argparse
import asyncio
import json
import multiprocessing
import random
import string
import time
from urllib.parse import urlparse

ALPHABET = string.ascii_letters + string.digits


def random_key():
    return "popi_" + "".join(random.choices(ALPHABET, k=12)) + "_" + "".join(random.choices(ALPHABET, k=32))


async def read_response(reader):
    """Reads one response (head and a Content-Length body); returns the status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


class Legit:
    """One request per 1/rate seconds, each on a new connection (the hard case: it needs a free
    connection slot every time), with its key."""

    def __init__(self, host, port, key, path):
        self.host, self.port, self.key, self.path = host, port, key, path
        self.results = []  # (phase, ok, seconds)

    async def one(self, phase):
        started = time.monotonic()
        ok = False
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, local_addr=("127.0.0.1", 0)), 5)
            writer.write(f"GET {self.path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {self.key}\r\n"
                         "Connection: close\r\n\r\n".encode())
            status = await asyncio.wait_for(read_response(reader), 5)
            ok = status == 200
            writer.close()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
            ok = False
        self.results.append((phase, ok, time.monotonic() - started))

    async def run(self, rate, phases):
        tasks = []
        for phase, seconds in phases:
            end = time.monotonic() + seconds
            next_at = time.monotonic()
            while next_at < end:
                tasks.append(asyncio.create_task(self.one(phase)))
                next_at += 1 / rate
                await asyncio.sleep(max(0, next_at - time.monotonic()))
        await asyncio.gather(*tasks)


class Trickler:
    """Holds connections from 127.0.0.2 sending a 1 MB body's head and then one byte a second;
    reconnects a second after the server closes or refuses one (each of the 2,000 tries to stay
    connected; reconnecting in a tight loop would be a connection flood, a different attack that
    on a shared 2-core machine mostly measures the attacker's own CPU)."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.opened = 0
        self.refused = 0
        self.open_now = 0
        self.stop = False

    async def connection(self):
        while not self.stop:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port, local_addr=("127.0.0.2", 0))
            except OSError:
                self.refused += 1
                await asyncio.sleep(1)
                continue
            self.opened += 1
            self.open_now += 1
            try:
                writer.write(b"POST /v1/users/victim/feedback HTTP/1.1\r\nHost: bench\r\n"
                             b"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
                await writer.drain()
                while not self.stop and not reader.at_eof():
                    writer.write(b" ")
                    await writer.drain()
                    try:
                        await asyncio.wait_for(reader.read(4096), 1)
                    except asyncio.TimeoutError:
                        pass
            except (OSError, ConnectionError):
                pass
            finally:
                self.open_now -= 1
                writer.close()
            await asyncio.sleep(1)

    async def run(self, count):
        tasks = []
        for i in range(count):
            tasks.append(asyncio.create_task(self.connection()))
            if i % 200 == 199:
                await asyncio.sleep(0.2)
        return tasks


class KeyFlood:
    """Keep-alive connections from 127.0.0.3 sending requests with random, well-formed keys."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.sent = 0
        self.statuses = {}
        self.stop = False

    async def connection(self):
        while not self.stop:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port, local_addr=("127.0.0.3", 0))
                while not self.stop:
                    writer.write(f"GET /v1/users/victim/summary HTTP/1.1\r\nHost: bench\r\n"
                                 f"Authorization: Bearer {random_key()}\r\n\r\n".encode())
                    status = await asyncio.wait_for(read_response(reader), 10)
                    self.sent += 1
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                    if status == 429:
                        await asyncio.sleep(0.01)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
                await asyncio.sleep(0.1)

    async def run(self, count):
        return [asyncio.create_task(self.connection()) for _ in range(count)]


def summary(results, phase):
    times = sorted(t for p, ok, t in results if p == phase and ok)
    total = sum(1 for p, _, _ in results if p == phase)
    ok = len(times)

    def pct(q):
        return times[min(len(times) - 1, int(q * len(times)))] * 1000 if times else float("nan")
    return {"requests": total, "ok": ok, "success": ok / total if total else 0.0,
            "p50_ms": round(pct(0.50), 2), "p99_ms": round(pct(0.99), 2)}


async def attack(host, port, trickle, floods, seconds):
    """The attackers' side, run in a process of its own so that their event loop never delays
    the legitimate client's: returns what they did."""
    trickler, flood = Trickler(host, port), KeyFlood(host, port)
    tasks = await trickler.run(trickle) + await flood.run(floods)
    await asyncio.sleep(3)  # the attack is in place before the measured phase starts
    held_at_start = trickler.open_now
    await asyncio.sleep(seconds)
    held_at_end = trickler.open_now
    trickler.stop = flood.stop = True
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "trickle": {"connections": trickle, "opened": trickler.opened, "connect_failures": trickler.refused,
                    "held_at_start": held_at_start, "held_at_end": held_at_end},
        "key_flood": {"connections": floods, "requests": flood.sent,
                      "per_second": round(flood.sent / (seconds + 3), 1),
                      "statuses": {str(k): v for k, v in sorted(flood.statuses.items())}},
    }


def attacker_process(host, port, trickle, floods, seconds, results):
    results.put(asyncio.run(attack(host, port, trickle, floods, seconds)))


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("key")
    parser.add_argument("--path", default="/v1/users/legit/summary")
    parser.add_argument("--quiet", type=float, default=20)
    parser.add_argument("--attack", type=float, default=40)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--trickle", type=int, default=2000)
    parser.add_argument("--floods", type=int, default=8)
    args = parser.parse_args()
    url = urlparse(args.url)
    legit = Legit(url.hostname, url.port, args.key, args.path)

    await legit.run(args.rate, [("quiet", args.quiet)])
    results = multiprocessing.Queue()
    attacker = multiprocessing.Process(target=attacker_process,
                                       args=(url.hostname, url.port, args.trickle, args.floods, args.attack, results))
    attacker.start()
    await asyncio.sleep(3)
    await legit.run(args.rate, [("attack", args.attack)])
    report = {"quiet": summary(legit.results, "quiet"), "attack": summary(legit.results, "attack")}
    report.update(results.get(timeout=120))
    attacker.join()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
