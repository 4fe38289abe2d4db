"""The latency and failures the ECS emulator injects into calls on request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.sandbox.ecs_errors import ApiError
from bot.sandbox.ecs_http import Response, error_response

SLOW_DEFAULT_MS = 12000.0  # above the SDK's default 10 s read timeout

FAULT_KINDS = (
    "latency",
    "slow",
    "throttle",
    "5xx",
    "500",
    "drop",
    "non-json",
    "apply-then-5xx",
    "apply-then-drop",
)


@dataclass
class Fault:
    """One injected fault; `times` counts down to its removal (None = always)."""

    action: str
    kind: str
    times: int | None
    latency_ms: float
    retry_after_ms: int | None


def parse_fault(spec: str) -> tuple[str, str, dict[str, Any]]:
    """ACTION:FAULT[=N][:TIMES] -> (action, fault, keyword arguments of inject)."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise ValueError(f"--fail wants ACTION:FAULT[:TIMES], got {spec!r}")
    action, fault_spec = parts[0], parts[1]
    fault, _, number = fault_spec.partition("=")
    if fault not in FAULT_KINDS:
        raise ValueError(f"unknown fault {fault!r} in {spec!r}; see --help")
    options: dict[str, Any] = {}
    try:
        if len(parts) == 3:
            options["times"] = int(parts[2])
        if number and fault == "throttle":
            options["retry_after_ms"] = int(number)
        elif number and fault in ("latency", "slow"):
            options["latency_ms"] = float(number)
        elif number:
            raise ValueError(f"fault {fault!r} takes no =N in {spec!r}")
    except ValueError as error:
        raise ValueError(f"--fail {spec!r}: {error}") from None
    if fault == "latency" and "latency_ms" not in options:
        raise ValueError(f"--fail {spec!r}: latency needs =MS, e.g. latency=200")
    return action, fault, options


def take_faults(
    faults: list[Fault], action: str, dry_run: bool, delay: float
) -> tuple[float, Fault | None]:
    """Total latency to add, and the fault (if any) that decides the answer."""
    # Counted faults are used up here, so the caller holds the lock over `faults`.
    decisive: Fault | None = None
    for fault in list(faults):
        if fault.action not in ("*", action):
            continue
        if dry_run and fault.kind.startswith("apply-then-"):
            continue  # a dry run applies nothing, so leave it for the write
        is_delay = fault.kind in ("latency", "slow")
        if not is_delay and decisive is not None:
            continue
        if is_delay:
            delay += fault.latency_ms
        else:
            decisive = fault
        if fault.times is not None:
            fault.times -= 1
            if fault.times == 0:
                faults.remove(fault)
    return delay, decisive


def fault_response(fault: Fault, request_id: str, region: str) -> Response | None:
    """The answer a decisive fault gives; None means drop the connection."""
    if fault.kind in ("drop", "apply-then-drop"):
        return None
    if fault.kind == "non-json":
        return Response(
            502, b"<html><body>502 Bad Gateway</body></html>", {}, "text/html"
        )
    if fault.kind == "throttle":
        headers = {}
        if fault.retry_after_ms is not None:
            headers["x-acs-retry-after"] = str(fault.retry_after_ms)
        error = ApiError("Throttling.User", headers=headers)
    elif fault.kind == "500":
        error = ApiError("InternalError")
    else:
        error = ApiError("ServiceUnavailable")
    return error_response(error, request_id, region)
