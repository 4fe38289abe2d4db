"""`imagebot emulator`: run the ECS emulator from the command line."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from bot.sandbox.ecs_faults import SLOW_DEFAULT_MS, parse_fault
from bot.sandbox.ecs_seed import read_seed
from bot.sandbox.ecs_signing import (
    DEMO_ACCESS_KEY_ID,
    DEMO_ACCESS_KEY_SECRET,
    keys_from_env,
)

DEFAULT_PORT = 18080

_HELP = f"""\
Seeding:
  Without --seed the emulator serves the demo images in cn-hangzhou: m-webold01,
  m-webdep01 (Deprecated) and m-webnew01 in family web-base; m-dbonly01, the only
  image of db-base; m-shared01 (shared with 1234567890123456); m-inuse01 (three
  Running instances); m-creating1 (Creating); m-imdsv201 (ImdsSupport v2);
  m-plain0001. --seed FILE replaces them with a JSON file:
    {{"images": [{{"ImageId": "m-1", "RegionId": "cn-hangzhou", "ImageName": "web-1",
                 "ImageFamily": "web", "Status": "Available",
                 "CreationTime": "2026-01-10T08:00:00Z"}}],
     "instances": [{{"InstanceId": "i-1", "ImageId": "m-1",
                    "RegionId": "cn-hangzhou", "Status": "Running"}}],
     "shares": {{"m-1": {{"accounts": ["1234567890123456"], "groups": []}}}}}}
  Image fields use DescribeImages' names; only ImageId is required.

Latency and faults:
  --latency-ms N delays every call by N milliseconds.
  --fail ACTION:FAULT[:TIMES] makes ACTION ("*" = every action) fail, TIMES times
  (default: always). FAULT is one of:
    throttle[=MS]   400 Throttling.User (=MS adds x-acs-retry-after: MS)
    5xx / 500       503 ServiceUnavailable / 500 InternalError, nothing applied
    drop            close the connection without an answer
    latency=MS      answer normally after MS milliseconds
    slow[=MS]       like latency, default {SLOW_DEFAULT_MS:.0f} ms (past SDK timeouts)
    non-json        502 with an HTML body
    apply-then-5xx, apply-then-drop
                    apply the change, then answer 503 or drop: an unknown outcome
                    (dry runs pass these by; they wait for a real write)
  Example: --fail ModifyImageAttribute:apply-then-5xx:1 --fail '*:latency=200'

Access keys:
  Requests must be signed (ACS3-HMAC-SHA256 or V1 HMAC-SHA1). The emulator accepts
  ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET when both are set,
  else the public demo pair {DEMO_ACCESS_KEY_ID} / {DEMO_ACCESS_KEY_SECRET}.
  Point the bot at it with IMAGEBOT_ECS_ENDPOINT=http://127.0.0.1:PORT.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagebot emulator",
        description="Serve a local ECS API with seeded demo images on 127.0.0.1.",
        epilog=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}"
    )
    parser.add_argument("--seed", metavar="FILE", help="JSON seed replacing the demo")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, metavar="N", help="delay every call"
    )
    parser.add_argument(
        "--fail",
        action="append",
        default=[],
        metavar="ACTION:FAULT[:TIMES]",
        help="inject a fault (repeatable; see below)",
    )
    return parser


def serve(argv: list[str] | None = None) -> int:
    """`imagebot emulator`: serve until SIGINT or SIGTERM; returns the exit status."""
    from bot.config import environ

    # Imported here: ecs_emulator re-exports this function, so it imports us first.
    from bot.sandbox.ecs_emulator import EcsEmulator

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        seed = read_seed(args.seed) if args.seed else None
        faults = [parse_fault(spec) for spec in args.fail]
        keys = keys_from_env(environ())
        emulator = EcsEmulator(
            seed=seed,
            access_keys=keys,
            latency_ms=args.latency_ms,
            host=args.host,
            port=args.port,
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(
            f"imagebot emulator: cannot load the seed or faults: {error}",
            file=sys.stderr,
        )
        return 2
    for action, fault, options in faults:
        emulator.inject(action, fault, **options)

    try:
        emulator.start()
    except OSError as error:
        print(
            f"imagebot emulator: cannot listen on {args.host}:{args.port} ({error}); "
            "pick another --port.",
            file=sys.stderr,
        )
        return 1
    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    key_id = next(iter(keys))
    shown = (
        f", secret {DEMO_ACCESS_KEY_SECRET}"
        if keys[key_id] == DEMO_ACCESS_KEY_SECRET
        else ""
    )
    print(
        f"ECS emulator on {emulator.endpoint} (access key {key_id}{shown}); "
        "Ctrl-C stops it.",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
