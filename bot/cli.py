"""The `imagebot` command line: run, emulator, try, audit (argparse only)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot import __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "emulator":
        from bot.sandbox import ecs_emulator

        return ecs_emulator.serve(rest)
    if args.command == "try":
        from bot.sandbox import console

        return int(console.main(rest))
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "run":
        return _run(args)
    if args.command == "audit":
        return _audit(args)
    parser.print_help()
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagebot",
        description="Change Alibaba Cloud ECS image attributes from Slack, safely.",
    )
    parser.add_argument(
        "--version", action="version", version=f"imagebot {__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run the bot (Socket Mode when SLACK_APP_TOKEN is set, else HTTP mode)",
        description="Run the bot, configured from the environment (see README).",
    )
    run.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="logging level (default INFO)",
    )
    sub.add_parser(
        "emulator",
        help="run the local ECS API emulator (see `imagebot emulator --help`)",
        add_help=False,
    )
    sub.add_parser(
        "try",
        help="a local demo: bot, ECS emulator and a terminal Slack channel "
        "(see `imagebot try --help`)",
        add_help=False,
    )
    audit = sub.add_parser(
        "audit",
        help="export the audit trail",
        description="Export the audit trail from the state file (IMAGEBOT_DB).",
    )
    audit.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    audit.add_argument("--since", help="a date (2026-12-01) or a duration (36h, 7d)")
    audit.add_argument("--image", help="only events of this image id")
    audit.add_argument(
        "--db", help="state file (default: IMAGEBOT_DB or ./imagebot.sqlite)"
    )
    audit.add_argument("--output", "-o", help="write to this file instead of stdout")
    return parser


def _run(args: argparse.Namespace) -> int:
    from bot import config
    from bot.policy import PolicyError
    from bot.store import StoreError

    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = config.from_env()
        from bot.slack.app import Bot

        bot = Bot(settings)
    except (config.ConfigError, PolicyError) as error:
        print(f"imagebot: {error}", file=sys.stderr)
        return 2
    except StoreError as error:
        print(f"imagebot: IMAGEBOT_DB: {error}", file=sys.stderr)
        return 2
    bot.run_forever()
    return 0


def _audit(args: argparse.Namespace) -> int:
    import os

    from bot import audit, config
    from bot.store import RequestStore

    settings = config.from_env(run=False)
    path = args.db or settings.db_path
    if not os.path.exists(path):
        print(
            f"imagebot: no state file at {path}; set IMAGEBOT_DB or --db.",
            file=sys.stderr,
        )
        return 2
    try:
        since = audit.parse_since(args.since) if args.since else None
    except audit.SinceError as error:
        print(f"imagebot: {error}", file=sys.stderr)
        return 2
    with RequestStore(path, read_only=True) as store:
        events = store.events(since=since, image_id=args.image or None)
    write = audit.write_csv if args.format == "csv" else audit.write_jsonl
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            count = write(events, out)
        print(f"imagebot: wrote {count} events to {args.output}", file=sys.stderr)
    else:
        write(events, sys.stdout)
    return 0
