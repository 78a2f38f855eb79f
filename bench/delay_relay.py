#!/usr/bin/python3
"""bench/delay_relay.py - a userspace TCP relay that adds a fixed one-way delay.

    delay_relay.py --listen PORT --to PORT --delay-ms D [--pidfile F]

Listens on 127.0.0.1:PORT and relays every connection to 127.0.0.1:TO. Each
chunk read on either side is written to the other side D ms after it was read
(order kept), so a request/response exchange costs 2*D: one round trip (RTT).
There is no netem in this kernel; this is the userspace stand-in.

The TCP handshake to the relay is local and instant. To count it as a real
one, the relay opens the upstream connection only 3*D after accepting: with
the greeting's own D on the way back, the client sees the greeting 4*D = 2 RTT
after connect(), as over a real path (1 RTT for SYN/SYN-ACK, then the ACK's
half and the greeting's half). Round trips are then elapsed / RTT.

Only loopback: both addresses are 127.0.0.1. Stops on SIGTERM.
"""
import argparse
import asyncio
import os
import signal
import time


async def pump(reader, writer, delay):
    """Copy reader -> writer, each chunk delayed by `delay` seconds."""
    queue = asyncio.Queue()

    async def sender():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    task = asyncio.ensure_future(sender())
    try:
        while True:
            data = await reader.read(65536)
            await queue.put((time.monotonic() + delay, data if data else None))
            if not data:
                break
    except (ConnectionError, OSError):
        await queue.put((0, None))
    try:
        await task
    except (ConnectionError, OSError):
        pass


async def handle(creader, cwriter, args):
    delay = args.delay_ms / 1000.0
    await asyncio.sleep(3 * delay)
    try:
        sreader, swriter = await asyncio.open_connection("127.0.0.1", args.to)
    except OSError:
        cwriter.close()
        return
    await asyncio.gather(pump(creader, swriter, delay), pump(sreader, cwriter, delay))
    for w in (cwriter, swriter):
        try:
            w.close()
        except OSError:
            pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--to", type=int, required=True)
    ap.add_argument("--delay-ms", type=float, required=True)
    ap.add_argument("--pidfile")
    args = ap.parse_args()
    server = await asyncio.start_server(lambda r, w: handle(r, w, args), "127.0.0.1",
                                        args.listen, reuse_address=True)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
