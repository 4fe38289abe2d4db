"""Slash-command text → Command: the grammar of `/image` (pure, no I/O).

Every error is a CommandError whose message says what was wrong and how to fix it,
with the usage line of the command concerned, so the listener can reply as is.
Messages echo what the user typed verbatim: the renderer escapes & < > for Slack.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from bot import attributes
from bot.model import Command, Verb


class CommandError(Exception):
    """Text that is not a valid command; the message says what to change."""

    def __init__(self, message: str, *, usage: str = "", code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage
        self.code = code


_IMAGE_ID = re.compile(r"m-[A-Za-z0-9]+")
_REGION = re.compile(r"[a-z]{2,}(-[a-z0-9]+)+")
_INCIDENT = re.compile(r"[A-Za-z0-9._:/#-]{1,100}")
# Looser than the catalogue's rule for setting a family: public families such as
# acs:ubuntu_22_04_x64 are readable even though no custom image may join them.
_FAMILY = re.compile(r"[A-Za-z\u4e00-\u9fa5][A-Za-z0-9\u4e00-\u9fa5.:_-]{1,127}")
_REASON_MAX = 500

_KEY = re.compile(r"([^\s=\"'“”„‘’‚«»]*)=")
# Phones type curly quotes, and keyboards differ on which one opens and which closes.
_CLOSERS = {
    '"': '"',
    "'": "'",
    "“": "”“",
    "”": "”“",
    "„": "“”",
    "‘": "’‘",
    "’": "’‘",
    "‚": "‘’",
    "«": "»",
}
_INVISIBLE = str.maketrans("", "", "\u200b\u2060\ufeff")
_RESERVED = ("region", "reason", "incident")
_OPTION_EXAMPLE = {
    "region": "region=cn-hangzhou",
    "reason": 'reason="kernel panic on boot"',
    "incident": "incident=INC-42",
}

_SYNOPSIS: dict[Verb, str] = {
    Verb.HELP: "help [command]",
    Verb.SHOW: "show <image-id> [region=<r>]",
    Verb.FAMILY: "family <family> [region=<r>]",
    Verb.SET: 'set <image-id> [region=<r>] key=value … [reason="…"] [incident=<ref>]',
    Verb.DEPRECATE: 'deprecate <image-id> [region=<r>] [reason="…"] [incident=<ref>]',
    Verb.RESTORE: 'restore <image-id> [region=<r>] [reason="…"] [incident=<ref>]',
    Verb.RENAME: (
        'rename <image-id> <new-name> [region=<r>] [reason="…"] [incident=<ref>]'
    ),
    Verb.HISTORY: "history [<image-id>]",
    Verb.PENDING: "pending",
}

_SUMMARY: dict[Verb, str] = {
    Verb.HELP: "this help, or the details of one command",
    Verb.SHOW: "an image's current attributes",
    Verb.FAMILY: "the images of a family and the one it resolves to",
    Verb.SET: "preview a change of attributes",
    Verb.DEPRECATE: "preview setting an image's status to Deprecated",
    Verb.RESTORE: "preview setting a deprecated image back to Available",
    Verb.RENAME: "preview a new name for an image",
    Verb.HISTORY: "recent changes, of one image or of all",
    Verb.PENDING: "requests still waiting for Apply or approval",
}

_DETAILS: dict[Verb, str] = {
    Verb.HELP: "Lists every command, or explains one in detail.",
    Verb.SHOW: "Shows the image's attributes as ECS reports them. Changes nothing.",
    Verb.FAMILY: (
        "Shows the Available and Deprecated images of a family in the region and "
        "which one new instances launched from the family get. Changes nothing."
    ),
    Verb.SET: (
        "Previews the change with a before/after table, the API's dry run and any "
        "warnings; nothing changes until Apply is pressed. Keys and choices are "
        "case-insensitive; quote values that contain spaces."
    ),
    Verb.DEPRECATE: (
        "Previews status Deprecated. The family stops resolving to the image "
        "(instances can still be created from it by id); the preview warns when it "
        "is the family's last Available image. A shared image must be unshared first."
    ),
    Verb.RESTORE: (
        "Previews status Available, so the image can be shared and its family can "
        "resolve to it again."
    ),
    Verb.RENAME: (
        "Previews a new image name: 2 to 128 characters, letters, digits and "
        ". : _ - starting with a letter, no spaces."
    ),
    Verb.HISTORY: (
        "Lists the recent audit trail (requested, approved, applied, failed, "
        "break-glass, …), of one image or of all."
    ),
    Verb.PENDING: "Lists requests that are still waiting for Apply or approval.",
}

_EXAMPLE: dict[Verb, str] = {
    Verb.HELP: "help set",
    Verb.SHOW: "show m-bp1abc123 region=cn-hangzhou",
    Verb.FAMILY: "family web-base region=cn-hangzhou",
    Verb.SET: 'set m-bp1abc123 boot-mode=uefi description="Patched kernel"',
    Verb.DEPRECATE: 'deprecate m-bp1abc123 reason="kernel panic" incident=INC-42',
    Verb.RESTORE: 'restore m-bp1abc123 reason="fixed kernel verified"',
    Verb.RENAME: "rename m-bp1abc123 web-2026-12-01",
    Verb.HISTORY: "history m-bp1abc123",
    Verb.PENDING: "pending",
}


@dataclass(frozen=True)
class _Shape:
    """What one verb accepts after it."""

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    @property
    def needs_region(self) -> bool:
        return "region" in self.options


_SHAPES: dict[Verb, _Shape] = {
    Verb.HELP: _Shape(optional=("command",)),
    Verb.SHOW: _Shape(required=("image-id",), options=("region",)),
    Verb.FAMILY: _Shape(required=("family",), options=("region",)),
    Verb.SET: _Shape(required=("image-id",), options=_RESERVED),
    Verb.DEPRECATE: _Shape(required=("image-id",), options=_RESERVED),
    Verb.RESTORE: _Shape(required=("image-id",), options=_RESERVED),
    Verb.RENAME: _Shape(required=("image-id", "new-name"), options=_RESERVED),
    Verb.HISTORY: _Shape(optional=("image-id",)),
    Verb.PENDING: _Shape(),
}

_FIXED_CHANGES: dict[Verb, dict[str, str]] = {
    Verb.DEPRECATE: {"status": "Deprecated"},
    Verb.RESTORE: {"status": "Available"},
}


def usage(verb: Verb, command: str = "/image") -> str:
    """The one-line usage of a command, e.g. `/image show <image-id> [region=<r>]`."""
    return f"{command} {_SYNOPSIS[verb]}"


USAGE: dict[Verb, str] = {verb: usage(verb) for verb in Verb}


def summary(command: str = "/image") -> str:
    """Every usage line, for replies to a command that does not exist."""
    return "\n".join(usage(verb, command) for verb in Verb)


def help_text(topic: Verb | None = None, *, command: str = "/image") -> str:
    """Help in Slack mrkdwn: all commands, or one command in detail."""
    if topic is not None:
        return _command_help(topic, command)
    lines = [
        "*imagebot* changes ECS custom image attributes: each change is previewed "
        "first and made only when Apply is pressed."
    ]
    lines += [f"`{usage(v, command)}` — {_SUMMARY[v]}" for v in Verb]
    lines += ["*Keys of set* (case-insensitive; quote values with spaces):"]
    lines += [f"• `{a.key}` — {_allowed(a)}" for a in attributes.CATALOGUE]
    lines += [
        'Any change may carry `reason="…"` and `incident=<ref>` (break-glass path).',
        "Without `region=<r>` the bot's default region is used, if one is set.",
        "*Examples*",
        f"`{command} {_EXAMPLE[Verb.SET]}`",
        f"`{command} {_EXAMPLE[Verb.DEPRECATE]}`",
        f"`{command} help deprecate` for the details of one command.",
    ]
    return "\n".join(lines)


def _command_help(verb: Verb, command: str) -> str:
    lines = [f"`{usage(verb, command)}`", _DETAILS[verb]]
    if verb is Verb.SET:
        lines += [
            f"• `{a.key}` — {_allowed(a)}{_aliases(a)}" for a in attributes.CATALOGUE
        ]
    if _SHAPES[verb].options == _RESERVED:
        lines.append(
            "`reason` is free text (up to 500 characters); `incident` is a "
            "reference such as INC-42, for the break-glass path."
        )
    lines.append(f"Example: `{command} {_EXAMPLE[verb]}`")
    return "\n".join(lines)


def _allowed(attribute: attributes.Attribute) -> str:
    if attribute.choices:
        return " | ".join(attribute.choices)
    return attribute.hint or "text"


def _aliases(attribute: attributes.Attribute) -> str:
    return f" (also {', '.join(attribute.aliases)})" if attribute.aliases else ""


@dataclass(frozen=True)
class _Token:
    """One word of the command: a positional, or key=value when `key` is set."""

    typed: str
    value: str
    key: str | None = None


def parse(text: str, *, default_region: str = "", command: str = "/image") -> Command:
    """Turn the text after the slash command into a Command, or raise CommandError."""
    text = _clean(text)
    tokens = _tokenize(text, _usage_for(text, command))
    if not tokens:
        return Command(verb=Verb.HELP)
    verb = _verb(tokens[0], command)
    return _Parser(verb, command, default_region).parse(tokens[1:])


def _clean(text: str) -> str:
    # Slack entity-encodes & < > in command text; &amp; goes last so that a typed
    # "&lt;" (sent as "&amp;lt;") stays literal.
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.translate(_INVISIBLE).split())


def _usage_for(text: str, command: str) -> str:
    """Usage for a quoting error: the verb's, if the text starts with one."""
    first = text.split(" ", 1)[0].lower()
    known = {verb.value for verb in Verb}
    return usage(Verb(first), command) if first in known else summary(command)


def _tokenize(text: str, usage_line: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        if text[i] == " ":
            i += 1
            continue
        start = i
        key = None
        match = _KEY.match(text, i)
        if match:
            key, i = match.group(1), match.end()
        if i < len(text) and text[i] in _CLOSERS:
            value, i = _quoted(text, i, usage_line)
        else:
            end = text.find(" ", i)
            end = len(text) if end < 0 else end
            value, i = text[i:end], end
        tokens.append(_Token(text[start:i], value, key))
    return tokens


def _quoted(text: str, start: int, usage_line: str) -> tuple[str, int]:
    # A quote closes only before a space or the end, so apostrophes inside a
    # quoted value ('it's broken') do not end it early.
    closers = _CLOSERS[text[start]]
    for j in range(start + 1, len(text)):
        if text[j] in closers and (j + 1 == len(text) or text[j + 1] == " "):
            return text[start + 1 : j], j + 1
    rest = _shown(text[start:])
    if any(c in closers for c in text[start + 1 :]):
        message = (
            f"Text follows a closing quote in `{rest}`: put a space after the "
            'closing quote, e.g. reason="disk full" incident=INC-1.'
        )
    else:
        message = (
            f"Unterminated quote in `{rest}`: close the value with a matching "
            'quote, e.g. reason="disk full".'
        )
    raise CommandError(message, usage=usage_line)


def _verb(token: _Token, command: str) -> Verb:
    word = token.typed if token.key is not None else token.value
    try:
        return Verb(word.lower())
    except ValueError:
        pass
    close = difflib.get_close_matches(word.lower(), [v.value for v in Verb], n=1)
    hint = f" Did you mean `{command} {close[0]}`?" if close else ""
    raise CommandError(
        f"Unknown command `{_shown(word)}`.{hint} Try `{command} help` for the list.",
        usage=summary(command),
    )


def _shown(text: str, limit: int = 60) -> str:
    """User text fit to echo inside a code span."""
    text = text.replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Parser:
    """Checks the words after the verb against the verb's shape."""

    def __init__(self, verb: Verb, command: str, default_region: str) -> None:
        self.verb = verb
        self.command = command
        self.default_region = default_region.strip().lower()
        self.shape = _SHAPES[verb]

    def fail(self, message: str, code: str = "") -> CommandError:
        return CommandError(message, usage=usage(self.verb, self.command), code=code)

    def parse(self, tokens: list[_Token]) -> Command:
        options, changes = self._options(tokens)
        words = self._positionals(tokens)

        if self.verb is Verb.SET and not changes:
            raise self.fail(
                f"Nothing to change: add at least one key=value, e.g. "
                f"`{self.command} {_EXAMPLE[Verb.SET]}`. Keys: {_key_list()}."
            )
        changes = dict(_FIXED_CHANGES.get(self.verb, changes))
        if self.verb is Verb.RENAME:
            changes = {"name": self._value(attributes.get("name"), words[1])}

        fields = dict(
            zip(self.shape.required + self.shape.optional, words, strict=False)
        )
        return Command(
            verb=self.verb,
            image_id=fields.get("image-id", ""),
            family=fields.get("family", ""),
            region=self._region(options.get("region")),
            changes={k: changes[k] for k in attributes.ordered(changes)},
            reason=options.get("reason", ""),
            incident=options.get("incident", ""),
            topic=fields.get("command", ""),
        )

    def _positionals(self, tokens: list[_Token]) -> list[str]:
        words: list[str] = []
        previous: _Token | None = None
        names = self.shape.required + self.shape.optional
        for token in tokens:
            if token.key is None:
                if len(words) == len(names):
                    raise self.fail(self._extra(token, previous))
                words.append(self._positional(names[len(words)], token.value))
            previous = token
        if len(words) < len(self.shape.required):
            missing = self.shape.required[len(words)]
            raise self.fail(
                f"Missing <{missing}>: `{self.command} {self.verb}` needs it, "
                f"e.g. `{self.command} {_EXAMPLE[self.verb]}`."
            )
        return words

    def _extra(self, token: _Token, previous: _Token | None) -> str:
        message = (
            f"Unexpected `{_shown(token.typed)}` after `{self.command} {self.verb}`."
        )
        if previous is not None and previous.key is not None:
            key = _shown(previous.key)
            return f'{message} If it belongs to `{key}=`, quote the value: {key}="… …".'
        return f"{message} Remove it, or quote it if it belongs to the value before it."

    def _positional(self, name: str, value: str) -> str:
        if name == "image-id":
            if not _IMAGE_ID.fullmatch(value):
                raise self.fail(
                    f"`{_shown(value)}` is not an image id (they look like "
                    "m-bp1abc…). Copy it from the ECS console or an earlier message."
                )
        elif name == "family":
            if not _FAMILY.fullmatch(value):
                raise self.fail(
                    f"`{_shown(value)}` is not a family name: families are 2 to 128 "
                    "letters, digits and . : _ - starting with a letter."
                )
        elif name == "command":
            try:
                return Verb(value.lower()).value
            except ValueError:
                raise self.fail(
                    f"There is no command `{_shown(value)}`. Commands: "
                    f"{', '.join(v.value for v in Verb)}."
                ) from None
        return value

    def _options(self, tokens: list[_Token]) -> tuple[dict[str, str], dict[str, str]]:
        options: dict[str, str] = {}
        changes: dict[str, str] = {}
        typed_as: dict[str, str] = {}
        for token in tokens:
            if token.key is None:
                continue
            name = self._option_name(token.key, token.typed)
            if name in typed_as:
                raise self.fail(
                    f"`{name}` is given twice (as `{_shown(typed_as[name])}=` and "
                    f"`{_shown(token.key)}=`): keep one."
                )
            typed_as[name] = token.key
            if not token.value and token.typed.endswith("="):
                raise self.fail(
                    f"`{_shown(token.key)}=` has no value: write it right after `=` "
                    f"with no space, e.g. {_example_of(name)}.",
                    code=_code_of(name),
                )
            if name in _RESERVED:
                options[name] = self._reserved(name, token.value)
            else:
                changes[name] = self._value(attributes.get(name), token.value)
        return options, changes

    def _option_name(self, typed_key: str, typed: str) -> str:
        key = typed_key.lower()
        if not key:
            raise self.fail(
                f"`{_shown(typed)}` has no key before `=`: write key=value "
                "with no spaces around `=`."
            )
        if key in _RESERVED and key in self.shape.options:
            return key
        attribute = attributes.find(key)
        if self.verb is Verb.SET and attribute is not None:
            return attribute.key
        raise self.fail(self._unknown_key(typed_key, attribute))

    def _unknown_key(self, key: str, attribute: attributes.Attribute | None) -> str:
        shown = _shown(key)
        if self.verb is Verb.SET:
            names = [n for a in attributes.CATALOGUE for n in (a.key, *a.aliases)]
            close = difflib.get_close_matches(key.lower(), [*names, *_RESERVED], n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            return (
                f"Unknown key `{shown}`.{hint} Valid keys: {_key_list()}; "
                "also reason, incident and region."
            )
        where = f"`{self.command} {self.verb}`"
        if self.shape.options:
            taken = ", ".join(f"{o}=" for o in self.shape.options)
            message = f"{where} does not take `{shown}=`; it takes {taken}."
        else:
            message = f"{where} takes no key=value options (got `{shown}=`)."
        if attribute is not None:
            message += (
                f" To change {attribute.label.lower()}, use "
                f"`{self.command} set <image-id> {attribute.key}=…`."
            )
        return message

    def _reserved(self, name: str, value: str) -> str:
        value = value.strip()
        if not value:
            raise self.fail(f"`{name}=` is empty: e.g. {_OPTION_EXAMPLE[name]}.")
        if name == "region":
            region = value.lower()
            if not _REGION.fullmatch(region):
                raise self.fail(
                    f"`{_shown(value)}` is not a region: write it like "
                    "region=cn-hangzhou or region=ap-southeast-1."
                )
            return region
        if name == "reason":
            if not 1 <= len(value) <= _REASON_MAX:
                raise self.fail(
                    f"A reason must be 1 to {_REASON_MAX} characters "
                    f'(got {len(value)}): e.g. reason="kernel panic on boot".'
                )
            return value
        if not _INCIDENT.fullmatch(value):
            raise self.fail(
                f"`{_shown(value)}` is not an incident reference: use 1 to 100 "
                "letters, digits and . _ : / # -, e.g. incident=INC-42."
            )
        return value

    def _value(self, attribute: attributes.Attribute, raw: str) -> str:
        if not raw.strip():
            wanted = " | ".join(attribute.choices) if attribute.choices else ""
            hint = f"one of {wanted}." if wanted else f"a value. {attribute.hint}"
            message = f"`{attribute.key}=` is empty: give {hint}".strip()
            raise self.fail(message, code=attribute.error_code)
        try:
            return attribute.normalize(raw)
        except attributes.InvalidValue as error:
            raise self.fail(error.message, code=error.code) from None

    def _region(self, given: str | None) -> str:
        if not self.shape.needs_region:
            return ""
        if given:
            return given
        if self.default_region:
            return self.default_region
        raise self.fail(
            "Which region? Add region=<r> to the command, e.g. region=cn-hangzhou "
            "(the operator can set IMAGEBOT_REGION to make one the default)."
        )


def _example_of(name: str) -> str:
    if name in _OPTION_EXAMPLE:
        return _OPTION_EXAMPLE[name]
    attribute = attributes.get(name)
    return f"{name}={attribute.choices[0] if attribute.choices else '…'}"


def _code_of(name: str) -> str:
    return "" if name in _RESERVED else attributes.get(name).error_code


def _key_list() -> str:
    return ", ".join(a.key for a in attributes.CATALOGUE)
