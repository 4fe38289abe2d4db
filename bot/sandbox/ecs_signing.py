"""Who may call the ECS emulator: access keys, ACS3-HMAC-SHA256 and V1 signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote, unquote, urlsplit

from bot.sandbox.ecs_errors import ApiError
from bot.sandbox.ecs_http import Request

DEMO_ACCESS_KEY_ID = "imagebot-demo"
DEMO_ACCESS_KEY_SECRET = "imagebot-demo-secret"
# The V1 signing parameters are protocol, not API input: calls record them out.
PROTOCOL_PARAMS = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "Timestamp",
        "SignatureNonce",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureType",
        "AccessKeyId",
        "Signature",
        "SecurityToken",
    }
)


def keys_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The access key pair from ALIBABA_CLOUD_ACCESS_KEY_*, else the demo pair."""
    key_id = environ.get("ALIBABA_CLOUD_ACCESS_KEY_ID", "").strip()
    secret = environ.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "").strip()
    if key_id and secret:
        return {key_id: secret}
    return {DEMO_ACCESS_KEY_ID: DEMO_ACCESS_KEY_SECRET}


def authenticate(
    request: Request, params: Mapping[str, str], keys: Mapping[str, str]
) -> None:
    """Raise an ApiError unless the request is signed with one of `keys`."""
    authorization = request.header("authorization")
    if authorization:
        _verify_v3(request, authorization, keys)
    elif "AccessKeyId" in params or "Signature" in params:
        _verify_v1(request, params, keys)
    else:
        raise ApiError("MissingParameter", "AccessKeyId")


def _secret(keys: Mapping[str, str], key_id: str) -> str:
    secret = keys.get(key_id)
    if secret is None:
        raise ApiError("InvalidAccessKeyId.NotFound")
    return secret


def _verify_v3(request: Request, authorization: str, keys: Mapping[str, str]) -> None:
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != "ACS3-HMAC-SHA256":
        raise ApiError("IncompleteSignature", f"Unsupported algorithm {algorithm}.")
    parts: dict[str, str] = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        parts[name] = value
    key_id = parts.get("Credential", "")
    signed = parts.get("SignedHeaders", "")
    signature = parts.get("Signature", "")
    if not (key_id and signed and signature):
        raise ApiError("IncompleteSignature")
    secret = _secret(keys, key_id)

    names = signed.split(";")
    if any(name.lower() not in request.headers for name in names):
        raise ApiError("IncompleteSignature", "A signed header is missing.")
    body_hash = hashlib.sha256(request.body).hexdigest()
    payload_hash = request.header("x-acs-content-sha256") or body_hash
    if payload_hash != body_hash:
        raise ApiError(
            "SignatureDoesNotMatch", "x-acs-content-sha256 does not match the body."
        )

    canonical = "\n".join(
        [
            request.method,
            unquote(urlsplit(request.path).path) or "/",
            "&".join(f"{k}={quote(v, safe='~')}" for k, v in sorted(request.query)),
            "".join(_canonical_header(request, name) for name in names),
            signed,
            payload_hash,
        ]
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    expected = hmac.new(
        secret.encode(), f"{algorithm}\n{digest}".encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise ApiError("SignatureDoesNotMatch")


def _verify_v1(
    request: Request, params: Mapping[str, str], keys: Mapping[str, str]
) -> None:
    key_id = params.get("AccessKeyId", "")
    signature = params.get("Signature", "")
    for name, value in (("AccessKeyId", key_id), ("Signature", signature)):
        if not value:
            raise ApiError("MissingParameter", name)
    method = params.get("SignatureMethod", "")
    if method != "HMAC-SHA1":
        raise ApiError(
            "IncompleteSignature", f"Unsupported SignatureMethod {method!r}."
        )
    secret = _secret(keys, key_id)
    joined = "&".join(
        f"{_quote(k)}={_quote(v)}"
        for k, v in sorted(params.items())
        if k != "Signature"
    )
    to_sign = f"{request.method}&%2F&{_quote(joined)}"
    mac = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1)
    expected = base64.b64encode(mac.digest()).decode()
    if not hmac.compare_digest(expected, signature):
        raise ApiError("SignatureDoesNotMatch")


def _canonical_header(request: Request, name: str) -> str:
    values = sorted(value.strip() for value in request.headers[name.lower()])
    return f"{name}:{','.join(values)}\n"


def _quote(value: str) -> str:
    return quote(value, safe="~")
