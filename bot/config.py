"""Settings from the environment: the one place that reads os.environ."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


class ConfigError(Exception):
    """Configuration that stops start-up; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = "https://slack.com/api/"
    host: str = "0.0.0.0"
    port: int = 3000
    region: str = ""
    ecs_endpoint: str = ""
    db_path: str = "./imagebot.sqlite"
    policy_path: str = ""
    command: str = "/image"
    access_key_id: str = ""
    access_key_secret: str = ""

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def __repr__(self) -> str:
        # Tokens and keys never reach logs, even through a repr.
        return (
            f"Settings(mode={'socket' if self.socket_mode else 'http'}, "
            f"host={self.host!r}, port={self.port}, region={self.region!r}, "
            f"ecs_endpoint={self.ecs_endpoint!r}, db_path={self.db_path!r}, "
            f"policy_path={self.policy_path!r})"
        )


def environ() -> Mapping[str, str]:
    """The process environment, for callers that must not touch os.environ."""
    return os.environ


def from_env(env: Mapping[str, str] | None = None, *, run: bool = True) -> Settings:
    """Read Settings; with run=True, check what `imagebot run` needs."""
    env = os.environ if env is None else env
    get = env.get
    settings = Settings(
        slack_bot_token=get("SLACK_BOT_TOKEN", "").strip(),
        slack_signing_secret=get("SLACK_SIGNING_SECRET", "").strip(),
        slack_app_token=get("SLACK_APP_TOKEN", "").strip(),
        slack_api_url=_api_url(get("IMAGEBOT_SLACK_API_URL", "https://slack.com/api/")),
        host=get("IMAGEBOT_HOST", "0.0.0.0").strip() or "0.0.0.0",
        port=_port(get("IMAGEBOT_PORT", "3000")),
        region=_region(get("IMAGEBOT_REGION", "")),
        ecs_endpoint=_endpoint(get("IMAGEBOT_ECS_ENDPOINT", "")),
        db_path=get("IMAGEBOT_DB", "./imagebot.sqlite").strip() or "./imagebot.sqlite",
        policy_path=get("IMAGEBOT_POLICY", "").strip(),
        command=_command(get("IMAGEBOT_COMMAND", "/image")),
        access_key_id=get("ALIBABA_CLOUD_ACCESS_KEY_ID", "").strip(),
        access_key_secret=get("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "").strip(),
    )
    if run:
        _check_run(settings)
    return settings


def _check_run(settings: Settings) -> None:
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set: give the bot token (xoxb-…).")
    if not settings.slack_bot_token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-.")
    if settings.socket_mode:
        if not settings.slack_app_token.startswith("xapp-"):
            raise ConfigError(
                "SLACK_APP_TOKEN must be an app-level token starting with xapp- "
                "(or unset it to serve Slack's HTTP mode)."
            )
    elif not settings.slack_signing_secret:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs the app's signing secret "
            "(or set SLACK_APP_TOKEN for Socket Mode)."
        )


def _api_url(raw: str) -> str:
    url = raw.strip() or "https://slack.com/api/"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"IMAGEBOT_SLACK_API_URL must be an http(s) URL such as "
            f"https://slack.com/api/ (got {raw!r})."
        )
    return url if url.endswith("/") else url + "/"


def _port(raw: str) -> int:
    try:
        port = int(raw.strip())
    except ValueError:
        raise ConfigError(f"IMAGEBOT_PORT must be a number (got {raw!r}).") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"IMAGEBOT_PORT must be between 0 and 65535 (got {port}).")
    return port


def _endpoint(raw: str) -> str:
    value = raw.strip()
    if not value:
        return ""
    parts = urlsplit(value if "://" in value else f"https://{value}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            "IMAGEBOT_ECS_ENDPOINT must look like http://127.0.0.1:18080 or "
            f"ecs.cn-hangzhou.aliyuncs.com (got {raw!r})."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise ConfigError(
            f"IMAGEBOT_ECS_ENDPOINT has a malformed port ({raw!r})."
        ) from None
    return value


_REGION = re.compile(r"[a-z]{2,}(-[a-z0-9]+)+")


def _region(raw: str) -> str:
    value = raw.strip()
    if value and not _REGION.fullmatch(value):
        raise ConfigError(
            f"IMAGEBOT_REGION must be a region id such as cn-hangzhou (got {raw!r})."
        )
    return value


def _command(raw: str) -> str:
    value = raw.strip() or "/image"
    if not value.startswith("/") or len(value) > 32 or " " in value:
        raise ConfigError(
            f"IMAGEBOT_COMMAND must be a slash command such as /image (got {raw!r})."
        )
    return value
