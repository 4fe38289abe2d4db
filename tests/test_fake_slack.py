"""The fake Slack answers like Slack, keeps channel state and rejects bad Block Kit."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient
from websockets.sync.client import connect

from bot.sandbox.fake_slack import FakeSlack, validate_blocks, validate_view


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(usergroups={"S0ADMINS": ["U1", "U2"]}) as running:
        yield running


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=fake.bot_token, base_url=fake.api_url)


def button(text: str = "Apply", **extra: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": "img_apply",
        "value": "op-1",
    } | extra


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def section(text: str = "Preview") -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def confirm(**overrides: Any) -> dict[str, Any]:
    dialog: dict[str, Any] = {
        "title": {"type": "plain_text", "text": "Deprecate?"},
        "text": {"type": "mrkdwn", "text": "Last image of family *web*."},
        "confirm": {"type": "plain_text", "text": "Deprecate"},
        "deny": {"type": "plain_text", "text": "Cancel"},
        "style": "danger",
    }
    return dialog | overrides


def post_form(url: str, fields: dict[str, str], token: str) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        body: dict[str, Any] = json.loads(answer.read())
    return body


# -- Web API methods --------------------------------------------------------------


def test_auth_test_names_the_bot_and_team(fake: FakeSlack, client: WebClient) -> None:
    answer = client.auth_test()

    assert answer["user_id"] == "UBOT"
    assert answer["team_id"] == "T0TEST"
    assert answer["bot_id"]
    assert fake.calls_to("auth.test")[0].token == fake.bot_token


def test_wrong_token_is_refused_as_invalid_auth(fake: FakeSlack) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=fake.api_url)

    with pytest.raises(SlackApiError) as refused:
        wrong.chat_postMessage(channel="C1", text="hi")

    assert refused.value.response["error"] == "invalid_auth"
    assert fake.messages("C1") == []
    assert not fake.calls_to("chat.postMessage")[0].ok


def test_app_token_works_only_for_connections_open(fake: FakeSlack) -> None:
    app_client = WebClient(token=fake.app_token, base_url=fake.api_url)

    with pytest.raises(SlackApiError) as refused:
        app_client.chat_postMessage(channel="C1", text="hi")
    url = app_client.apps_connections_open(app_token=fake.app_token)["url"]

    assert refused.value.response["error"] == "not_allowed_token_type"
    assert url == fake.socket_url
    assert url.startswith("ws://127.0.0.1:") and url.endswith("/link")


def test_missing_token_is_not_authed(fake: FakeSlack) -> None:
    request = urllib.request.Request(f"{fake.api_url}auth.test", data=b"")

    with urllib.request.urlopen(request, timeout=5) as answer:
        body = json.loads(answer.read())

    assert body == {"ok": False, "error": "not_authed"}


def test_unknown_method_is_refused(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        client.api_call("conversations.kick")

    assert refused.value.response["error"] == "unknown_method"


def test_messages_update_and_thread_replies_keep_channel_state(
    fake: FakeSlack, client: WebClient
) -> None:
    root = client.chat_postMessage(channel="C1", text="preview", blocks=[section()])
    reply = client.chat_postMessage(channel="C1", text="done", thread_ts=root["ts"])
    nested = client.chat_postMessage(channel="C1", text="again", thread_ts=reply["ts"])
    client.chat_update(channel="C1", ts=root["ts"], text="applied", blocks=[])

    assert float(root["ts"]) < float(reply["ts"]) < float(nested["ts"])
    assert [m.text for m in fake.messages("C1")] == ["applied"]
    assert fake.message("C1", root["ts"]).blocks == []
    assert [m.text for m in fake.thread("C1", root["ts"])] == ["done", "again"]
    assert fake.message("C1", nested["ts"]).thread_ts == root["ts"]
    assert fake.messages("C2") == []


def test_update_keeps_blocks_when_only_text_changes(
    fake: FakeSlack, client: WebClient
) -> None:
    root = client.chat_postMessage(channel="C1", text="preview", blocks=[section()])

    client.chat_update(channel="C1", ts=root["ts"], text="expired")

    assert fake.message("C1", root["ts"]).blocks == [section()]
    assert fake.message("C1", root["ts"]).text == "expired"


def test_update_of_unknown_message_is_message_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        client.chat_update(channel="C1", ts="1700000000.999900", text="x")

    assert refused.value.response["error"] == "message_not_found"


def test_reply_to_unknown_thread_is_refused(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", text="x", thread_ts="1.000001")

    assert refused.value.response["error"] == "thread_not_found"


def test_form_encoded_body_with_json_blocks_is_understood(fake: FakeSlack) -> None:
    fields = {"channel": "C9", "text": "t", "blocks": json.dumps([section("form")])}

    body = post_form(f"{fake.api_url}chat.postMessage", fields, fake.bot_token)

    assert body["ok"] is True
    assert fake.message("C9", body["ts"]).blocks == [section("form")]


def test_message_without_text_or_blocks_is_no_text(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as refused, pytest.warns(UserWarning):
        client.chat_postMessage(channel="C1")

    assert refused.value.response["error"] == "no_text"


def test_ephemeral_messages_are_kept_per_channel_and_user(
    fake: FakeSlack, client: WebClient
) -> None:
    answer = client.chat_postEphemeral(channel="C1", user="U1", text="only you")

    assert answer["message_ts"]
    assert [m.text for m in fake.ephemerals("C1", "U1")] == ["only you"]
    assert fake.ephemerals("C1", "U2") == []
    assert fake.messages("C1") == []


def test_bot_outside_a_channel_gets_not_in_channel(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.not_in_channel.add("CPRIVATE")
    fake.missing_channels.add("CGONE")

    with pytest.raises(SlackApiError) as outside:
        client.chat_postMessage(channel="CPRIVATE", text="hi")
    with pytest.raises(SlackApiError) as missing:
        client.chat_postMessage(channel="CGONE", text="hi")

    assert outside.value.response["error"] == "not_in_channel"
    assert missing.value.response["error"] == "channel_not_found"
    assert fake.messages("CPRIVATE") == []


def test_usergroup_members_come_from_the_configured_groups(
    fake: FakeSlack, client: WebClient
) -> None:
    assert client.usergroups_users_list(usergroup="S0ADMINS")["users"] == ["U1", "U2"]

    fake.usergroups["S0ADMINS"].append("U3")
    assert client.usergroups_users_list(usergroup="S0ADMINS")["users"][-1] == "U3"

    with pytest.raises(SlackApiError) as refused:
        client.usergroups_users_list(usergroup="S0NOPE")
    assert refused.value.response["error"] == "no_such_subteam"


def test_users_info_describes_any_user_id(fake: FakeSlack, client: WebClient) -> None:
    fake.users["U7"] = {"deleted": True}

    person = client.users_info(user="U1")["user"]
    gone = client.users_info(user="U7")["user"]

    assert person["id"] == "U1" and person["is_bot"] is False
    assert person["real_name"] and person["tz"]
    assert gone["deleted"] is True
    assert client.users_info(user="UBOT")["user"]["is_bot"] is True


def modal(**overrides: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": "img_reason",
        "title": {"type": "plain_text", "text": "Deprecate image"},
        "submit": {"type": "plain_text", "text": "Deprecate"},
        "private_metadata": "op-1",
        "blocks": [section("Why?")],
    }
    return view | overrides


def test_views_open_then_update_by_id_and_hash(
    fake: FakeSlack, client: WebClient
) -> None:
    opened = client.views_open(trigger_id="trig-1", view=modal())["view"]
    updated = client.views_update(
        view_id=opened["id"], hash=opened["hash"], view=modal(private_metadata="op-2")
    )["view"]

    assert updated["id"] == opened["id"]
    assert fake.views[opened["id"]]["private_metadata"] == "op-2"
    with pytest.raises(SlackApiError) as stale:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal())
    assert stale.value.response["error"] == "hash_conflict"


def test_trigger_id_can_open_only_one_view(client: WebClient) -> None:
    client.views_open(trigger_id="trig-1", view=modal())

    with pytest.raises(SlackApiError) as refused:
        client.views_open(trigger_id="trig-1", view=modal())

    assert refused.value.response["error"] == "exchanged_trigger_id"


def test_views_open_rejects_a_title_longer_than_24(
    fake: FakeSlack, client: WebClient
) -> None:
    long_title = {"type": "plain_text", "text": "T" * 25}

    with pytest.raises(SlackApiError) as refused:
        client.views_open(trigger_id="trig-1", view=modal(title=long_title))

    assert refused.value.response["error"] == "invalid_blocks"
    assert fake.invalid[0]["method"] == "views.open"


# -- Block Kit validation ------------------------------------------------------


def test_valid_preview_blocks_pass() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Deprecate m-1"}},
        section("*Before* / *After*"),
        {"type": "divider"},
        actions(
            button(style="danger", confirm=confirm()),
            button("Cancel", action_id="img_cancel"),
        ),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "expires 10:30"}]},
    ]

    assert validate_blocks(blocks) == []


def test_button_text_longer_than_75_is_rejected() -> None:
    problems = validate_blocks([actions(button("x" * 76))])

    assert problems == ["blocks[0].elements[0].text.text: 76 characters, at most 75"]


def test_button_value_and_action_id_limits_are_enforced() -> None:
    problems = validate_blocks([actions(button(value="v" * 2001, action_id="a" * 256))])

    assert any("value: 2001 characters, at most 2000" in p for p in problems)
    assert any("action_id: 256 characters, at most 255" in p for p in problems)


def test_more_than_50_blocks_is_too_many_for_a_message_not_a_modal() -> None:
    blocks = [section(str(i)) for i in range(51)]

    assert validate_blocks(blocks) == ["blocks: 51 blocks, at most 50 in a message"]
    assert validate_blocks(blocks, modal=True) == []
    assert validate_blocks(blocks * 2, modal=True)[0].startswith("blocks: 102 blocks")


def test_malformed_blocks_are_rejected() -> None:
    assert validate_blocks([{"type": "section"}]) == [
        "blocks[0]: a section needs text or fields"
    ]
    assert validate_blocks([{"type": "sectoin", "text": "x"}])[0].startswith(
        "blocks[0].type: unknown block type"
    )
    assert validate_blocks([section() | {"txet": "typo"}]) == [
        "blocks[0]: unknown properties txet"
    ]
    assert validate_blocks([{"type": "section", "text": "bare string"}]) == [
        "blocks[0].text: must be a text object, not str"
    ]
    assert validate_blocks([{"type": "image", "image_url": "https://x/y.png"}])


def test_section_text_longer_than_3000_and_header_longer_than_150() -> None:
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}

    problems = validate_blocks([section("s" * 3001), header])

    assert problems == [
        "blocks[0].text.text: 3001 characters, at most 3000",
        "blocks[1].text.text: 151 characters, at most 150",
    ]


def test_bad_confirm_dialogs_are_rejected() -> None:
    long_title = {"type": "plain_text", "text": "t" * 101}
    no_deny = confirm()
    del no_deny["deny"]

    assert validate_blocks([actions(button(confirm=confirm(title=long_title)))]) == [
        "blocks[0].elements[0].confirm.title.text: 101 characters, at most 100"
    ]
    assert validate_blocks([actions(button(confirm=no_deny))]) == [
        "blocks[0].elements[0].confirm.deny: required"
    ]
    assert validate_blocks([actions(button(confirm=confirm(style="warning")))]) == [
        "blocks[0].elements[0].confirm.style: must be primary or danger"
    ]
    mrkdwn_button = {"type": "mrkdwn", "text": "Yes"}
    assert validate_blocks([actions(button(confirm=confirm(confirm=mrkdwn_button)))])


def test_duplicate_ids_are_rejected() -> None:
    twice = [section() | {"block_id": "b"}, section() | {"block_id": "b"}]

    assert validate_blocks(twice) == ["blocks[1].block_id: 'b' is used twice"]
    assert validate_blocks([actions(button(), button())]) == [
        "blocks[0].elements[1].action_id: 'img_apply' is used twice"
    ]


def test_sdk_validators_catch_what_the_own_checks_leave_out() -> None:
    option = {"text": {"type": "plain_text", "text": "o"}, "value": "o"}
    select = {"type": "static_select", "action_id": "pick", "options": [option] * 101}
    image = {"type": "image", "image_url": "https://example.com/i.png"}

    assert validate_blocks([actions(select)]) == [
        "blocks[0]: options attribute cannot exceed 100 elements"
    ]
    assert validate_blocks([image])[0].startswith("blocks[0]: malformed")


def test_modal_limits_are_enforced() -> None:
    assert validate_view(modal()) == []
    assert validate_view(modal(private_metadata="m" * 3001)) == [
        "view.private_metadata: 3001 characters, at most 3000"
    ]
    assert validate_view(modal(blocks=[])) == [
        "view.blocks: must list at least one block"
    ]
    input_block = {
        "type": "input",
        "label": {"type": "plain_text", "text": "Reason"},
        "element": {"type": "plain_text_input", "action_id": "reason"},
    }
    without_submit = modal(blocks=[input_block])
    del without_submit["submit"]
    assert validate_view(without_submit) == [
        "view.submit: required when the modal has input blocks"
    ]


def test_invalid_blocks_are_refused_and_recorded(
    fake: FakeSlack, client: WebClient
) -> None:
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(
            channel="C1", text="t", blocks=[actions(button("x" * 80))]
        )

    assert refused.value.response["error"] == "invalid_blocks"
    assert refused.value.response["errors"] == [
        "blocks[0].elements[0].text.text: 80 characters, at most 75"
    ]
    assert fake.invalid[0]["method"] == "chat.postMessage"
    assert fake.messages("C1") == []


def test_update_with_invalid_blocks_leaves_the_message_alone(
    fake: FakeSlack, client: WebClient
) -> None:
    root = client.chat_postMessage(channel="C1", text="t", blocks=[section()])

    with pytest.raises(SlackApiError):
        client.chat_update(
            channel="C1", ts=root["ts"], text="t", blocks=[{"type": "section"}]
        )

    assert fake.message("C1", root["ts"]).blocks == [section()]
    assert len(fake.invalid) == 1


def test_blocks_without_top_level_text_only_warn(
    fake: FakeSlack, client: WebClient
) -> None:
    with pytest.warns(UserWarning, match="top-level `text`"):
        client.chat_postMessage(channel="C1", blocks=[section()])

    assert len(fake.messages("C1")) == 1
    assert fake.warnings and "without top-level text" in fake.warnings[0]
    assert fake.invalid == []


# -- response_url -----------------------------------------------------------------


def test_response_url_posts_are_recorded_by_name(fake: FakeSlack) -> None:
    url = fake.response_url("click")
    webhook = WebhookClient(url)

    answer = webhook.send(text="Applied", replace_original=True, blocks=[section()])

    assert answer.status_code == 200
    assert fake.responses[0].name == "click"
    assert fake.responses[0].body["replace_original"] is True
    assert fake.responses[0].body["blocks"] == [section()]
    assert fake.wait_for("response_url")[0].params["text"] == "Applied"
    assert url != fake.response_url("click")


def test_response_url_with_invalid_blocks_answers_400(fake: FakeSlack) -> None:
    webhook = WebhookClient(fake.response_url())

    answer = webhook.send(text="x", blocks=[actions(button("x" * 76))])

    assert (answer.status_code, answer.body) == (400, "invalid_blocks")
    assert fake.responses == []
    assert fake.invalid[0]["method"] == "response_url"


def test_response_url_works_five_times_only(fake: FakeSlack) -> None:
    webhook = WebhookClient(fake.response_url("cmd"))

    statuses = [webhook.send(text=f"update {i}").status_code for i in range(6)]

    assert statuses == [200] * 5 + [404]
    assert len(fake.responses) == 5


def test_response_url_failure_can_be_injected(fake: FakeSlack) -> None:
    fake.fail("response_url", "expired_url")
    webhook = WebhookClient(fake.response_url())

    failed = webhook.send(text="late")
    retried = webhook.send(text="again")

    assert (failed.status_code, failed.body) == (404, "expired_url")
    assert retried.status_code == 200
    assert [r.body["text"] for r in fake.responses] == ["again"]


# -- failures, rate limits, latency ------------------------------------------------


def test_injected_failure_answers_once_then_recovers(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.fail("usergroups.users.list", "plan_upgrade_required")

    with pytest.raises(SlackApiError) as refused:
        client.usergroups_users_list(usergroup="S0ADMINS")
    recovered = client.usergroups_users_list(usergroup="S0ADMINS")

    assert refused.value.response["error"] == "plan_upgrade_required"
    assert recovered["ok"] is True


def test_rate_limit_answers_429_with_retry_after(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.ratelimit("chat.postMessage", retry_after=7)

    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C1", text="hi")

    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert limited.value.response["error"] == "ratelimited"


def test_client_with_rate_limit_retry_handler_succeeds(fake: FakeSlack) -> None:
    fake.ratelimit("chat.postMessage", times=2, retry_after=0)
    client = WebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )

    answer = client.chat_postMessage(channel="C1", text="eventually")

    assert answer["ok"] is True
    assert [c.ok for c in fake.calls_to("chat.postMessage")] == [False, False, True]
    assert [m.text for m in fake.messages("C1")] == ["eventually"]


def test_latency_delays_every_answer(fake: FakeSlack, client: WebClient) -> None:
    fake.latency_ms = 150

    started = time.monotonic()
    client.auth_test()

    assert time.monotonic() - started >= 0.15


def test_wait_for_times_out_naming_the_calls_seen(
    fake: FakeSlack, client: WebClient
) -> None:
    client.auth_test()

    with pytest.raises(AssertionError, match=r"auth\.test\(ok\)"):
        fake.wait_for("chat.update", timeout=0.1)


def test_subscribers_see_every_call_after_it_is_recorded(
    fake: FakeSlack, client: WebClient
) -> None:
    seen: list[tuple[str, int]] = []
    fake.subscribe(lambda call: seen.append((call.method, len(fake.messages("C1")))))

    client.chat_postMessage(channel="C1", text="hi")

    assert seen == [("chat.postMessage", 1)]


def test_concurrent_posts_get_unique_increasing_timestamps(
    fake: FakeSlack, client: WebClient
) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(
                lambda i: client.chat_postMessage(channel="C1", text=str(i)),
                range(40),
            )
        )

    stamps = [a["ts"] for a in answers]
    assert len(set(stamps)) == 40
    assert [m.ts for m in fake.messages("C1")] == sorted(stamps, key=float)
    assert len(fake.wait_for("chat.postMessage", count=40)) == 40


# -- Socket Mode ------------------------------------------------------------------


def slash_command(fake: FakeSlack, text: str) -> dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": fake.team_id,
        "channel_id": "C1",
        "user_id": "U1",
        "command": "/image",
        "text": text,
        "response_url": fake.response_url("command"),
        "trigger_id": "trig-1",
    }


def test_envelopes_reach_a_client_and_return_its_ack(fake: FakeSlack) -> None:
    with connect(fake.socket_url) as ws:
        hello = json.loads(ws.recv(timeout=5))
        fake.wait_connected()
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(
                fake.send_envelope, "slash_commands", slash_command(fake, "help")
            )
            envelope = json.loads(ws.recv(timeout=5))
            bad = {"blocks": [{"type": "section"}], "text": "x"}
            ws.send(
                json.dumps({"envelope_id": envelope["envelope_id"], "payload": bad})
            )
            ack = pending.result(timeout=5)

    assert hello["type"] == "hello"
    assert envelope["type"] == "slash_commands"
    assert envelope["payload"]["text"] == "help"
    assert envelope["accepts_response_payload"] is True
    assert ack["envelope_id"] == envelope["envelope_id"]
    assert fake.invalid[0]["method"] == "ack:slash_commands"


def test_send_envelope_without_a_client_fails_fast(fake: FakeSlack) -> None:
    with pytest.raises(AssertionError, match="no Socket Mode client connected"):
        fake.send_envelope("interactive", {"type": "block_actions"}, timeout=0.2)


def close_quickly(handler: SocketModeHandler, fake: FakeSlack) -> None:
    # A server-side close wakes the client's reader, which otherwise waits out
    # its 3 s receive timeout after close().
    handler.client.auto_reconnect_enabled = False
    fake.close_connections()
    handler.close()


def test_bolt_socket_mode_app_receives_commands_and_clicks(fake: FakeSlack) -> None:
    app = App(client=WebClient(token=fake.bot_token, base_url=fake.api_url))

    @app.command("/image")
    def on_command(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack("Preparing a preview…")
        client.chat_postMessage(
            channel=body["channel_id"],
            text=f"Preview for {body['text']}",
            blocks=[section("Preview"), actions(button())],
        )

    @app.action("img_apply")
    def on_click(ack: Any, respond: Any) -> None:
        ack()
        respond(replace_original=True, text="Applied", blocks=[section("Applied")])

    handler = SocketModeHandler(app, fake.app_token)
    handler.connect()
    try:
        fake.wait_connected()
        command_ack = fake.send_envelope(
            "slash_commands", slash_command(fake, "show m-1")
        )
        posted = fake.wait_for("chat.postMessage")[0]
        click = {
            "type": "block_actions",
            "team": {"id": fake.team_id},
            "user": {"id": "U1"},
            "channel": {"id": "C1"},
            "container": {"type": "message", "message_ts": posted.response["ts"]},
            "response_url": fake.response_url("click"),
            "trigger_id": "trig-2",
            "actions": [
                {"action_id": "img_apply", "block_id": "b", "type": "button"}
                | {"value": "op-1", "action_ts": "1700000001.000000"}
            ],
        }
        click_ack = fake.send_envelope("interactive", click)
        fake.wait_for("response_url", lambda c: c.params.get("text") == "Applied")
    finally:
        close_quickly(handler, fake)

    assert command_ack["payload"] == {"text": "Preparing a preview…"}
    assert "payload" not in click_ack
    assert [m.text for m in fake.messages("C1")] == ["Preview for show m-1"]
    assert fake.responses[-1].name == "click"
    assert fake.responses[-1].body["replace_original"] is True
    assert fake.calls_to("apps.connections.open")[0].token == fake.app_token
    assert fake.invalid == []


def test_bolt_reconnects_after_the_server_drops_the_connection(
    fake: FakeSlack,
) -> None:
    app = App(client=WebClient(token=fake.bot_token, base_url=fake.api_url))

    @app.command("/image")
    def on_command(ack: Any) -> None:
        ack("still here")

    handler = SocketModeHandler(app, fake.app_token, ping_interval=0.2)
    handler.connect()
    try:
        fake.wait_connected()
        fake.close_connections()
        fake.wait_for("apps.connections.open", count=2)
        fake.wait_connected()
        ack = fake.send_envelope("slash_commands", slash_command(fake, "help"))
    finally:
        close_quickly(handler, fake)

    assert ack["payload"] == {"text": "still here"}
