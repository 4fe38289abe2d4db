"""Making text safe for Slack's mrkdwn (pure)."""


def esc(text: str) -> str:
    """Escape the three characters Slack reserves (&, <, >), `&` first.

    Only these three: anything more (HTML entities) would show literally in Slack.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
