"""Fuzzing what the project parses itself, with hypothesis (issue 17): deep-link payloads,
button data, template JSON, the Bot API stand-in's request parsing and the watermark
detector's input.

Each target is one property over generated input: never an unexpected exception, a malformed
input refused the same clear way as any other bad input, and a valid value parsed back to what
was sent. The tests run every target with a few examples (tests/test_fuzzing.py); ``tuanyuan
bench fuzz`` runs the same targets with many and writes its section of RELIABILITY.md. A
failing example hypothesis finds is kept as an explicit test case once its bug is fixed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from telegram.ext import CallbackQueryHandler

from bot import reliability_report
from bot.app import build_application, polling
from bot.campaigns import JOIN_PREFIX, campaign_with_code
from bot.clock import SystemClock
from bot.config import Settings
from bot.family.spaces import (
    InviteProblem,
    InviteRefused,
    Role,
    SpaceStatus,
    create_invite,
    create_space,
    redeem_invite,
    update_space,
)
from bot.flows.campaign import is_join_payload
from bot.sandbox import BotApiStandIn, Limits, SandboxClient, SandboxUser
from bot.sandbox._botapi import _ROUTES
from bot.sandbox._errors import ApiError
from bot.sandbox._params import parse_params
from bot.storage import open_database
from engine import IngestError, RenderError
from engine._templates import Template, _load_file, list_templates, templates_dir
from engine.provenance import detect
from engine.provenance._audio import read_mark_from_samples
from engine.provenance._video import read_mark_from_luma

_T = TypeVar("_T")
SECTION = "Fuzzing"
"""The heading of RELIABILITY.md's section this benchmark writes."""


@dataclass(frozen=True)
class Target:
    name: str
    what: str  # what is fuzzed and what must hold, for the report
    run: Callable[[int], int]  # examples asked for -> examples run; raises on a failure


@dataclass(frozen=True)
class Result:
    target: Target
    examples: int
    seconds: float
    failure: str | None


def _settings(examples: int) -> settings:
    """No example database (a failure is kept as an explicit test, not replayed from disk) and
    no deadline: the machine is shared and slow, and a hang is caught by the stand-in's and the
    tests' own timeouts instead."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )


def _counted(examples: int, strategy: st.SearchStrategy[_T], check: Callable[[_T], None]) -> int:
    """Run ``check`` over ``strategy`` under hypothesis; how many examples it ran."""
    count = 0

    @_settings(examples)
    @given(strategy)
    def property_holds(value: _T) -> None:
        nonlocal count
        count += 1
        check(value)

    property_holds()
    return count


# --- deep links: /start <payload> ---

_URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _payloads() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=80),
        st.text(alphabet=_URL_SAFE, min_size=0, max_size=70),
        st.text(alphabet=_URL_SAFE, min_size=1, max_size=64).map(lambda s: s + "\n"),
        st.text(alphabet=_URL_SAFE + "\n\r\t =&%", max_size=70),
        st.text(max_size=20).map(lambda s: "campaign-" + s),
    )


def deep_links(examples: int) -> int:
    """Every payload: refused as malformed when it is not URL-safe base64 of at most 64
    characters, else as unknown; a campaign link's code finds no campaign; an invite the bot
    made is redeemed by its payload."""

    clock = SystemClock()
    with tempfile.TemporaryDirectory(prefix="tuanyuan-fuzz-") as folder:
        db = open_database(Path(folder) / "fuzz.sqlite3")
        try:
            space = create_space(db, clock, owner_id=1, cosigners_required=1)
            update_space(db, space.id, status=SpaceStatus.ACTIVE.value, subject_name="Ah Ma")
            joiner = iter(range(1000, 10**9))

            def check(payload: str) -> None:
                if is_join_payload(payload):
                    assert campaign_with_code(db, payload.removeprefix(JOIN_PREFIX)) is None
                try:
                    redeem_invite(db, clock, payload, next(joiner))
                except InviteRefused as refused:
                    expected = (InviteProblem.UNKNOWN if _PAYLOAD.fullmatch(payload)
                                else InviteProblem.MALFORMED)  # fmt: skip
                    assert refused.problem == expected, (payload, refused.problem)
                else:
                    raise AssertionError(f"{payload!r} joined a space")
                made = create_invite(db, clock, space, Role.MEMBER, created_by=1)
                assert redeem_invite(db, clock, made, next(joiner)).space_id == space.id

            return _counted(examples, _payloads(), check)
        finally:
            db.close()


# --- template JSON ---

_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=12)
"""Any code point, lone surrogates included: JSON's \\ud800 escapes decode to them."""


def _json_values() -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        _ANY_TEXT,
        st.sampled_from(["#1a2b3c", "#GGGGGG", "{sender}", "{subject", "{0}", "16:9", "spring"]),
    )
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=8,
    )


_DELETE = object()


@dataclass(frozen=True)
class _Mutation:
    path: tuple[int, ...]  # child indices, each taken modulo the container's length
    value: Any  # the new value, or _DELETE


def _mutations() -> st.SearchStrategy[_Mutation]:
    return st.builds(
        _Mutation,
        st.lists(st.integers(min_value=0, max_value=60), max_size=5).map(tuple),
        st.one_of(_json_values(), st.just(_DELETE)),
    )


def _mutated(document: Any, mutation: _Mutation) -> Any:
    """A copy of ``document`` with the value at the mutation's path replaced or deleted."""
    copy = json.loads(json.dumps(document))
    parent: Any = None
    key: Any = None
    node = copy
    for index in mutation.path:
        if isinstance(node, dict) and node:
            parent, key = node, sorted(node)[index % len(node)]
        elif isinstance(node, list) and node:
            parent, key = node, index % len(node)
        else:
            break
        node = parent[key]
    if parent is None:
        return mutation.value if mutation.value is not _DELETE else {}
    if mutation.value is _DELETE:
        del parent[key]
    else:
        parent[key] = mutation.value
    return copy


def template_json(examples: int) -> int:
    """A festival template with one value replaced or removed anywhere in it, or a file of
    random text: loaded, or refused with RenderError naming the file; a loaded template
    dumped and validated again is the same template."""

    originals = {
        name: json.loads((templates_dir() / name / "template.json").read_text(encoding="utf-8"))
        for name in list_templates()
    }
    texts = st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.hex()))
    strategy = st.tuples(st.sampled_from(sorted(originals)), st.one_of(_mutations(), texts))
    with tempfile.TemporaryDirectory(prefix="tuanyuan-fuzz-") as folder:

        def check(case: tuple[str, _Mutation | str]) -> None:
            name, change = case
            path = Path(folder) / name / "template.json"
            path.parent.mkdir(exist_ok=True)
            if isinstance(change, str):
                path.write_text(change, encoding="utf-8", errors="surrogatepass")
            else:
                text = json.dumps(_mutated(originals[name], change), ensure_ascii=True)
                path.write_text(text, encoding="utf-8")
            try:
                template = _load_file(path)
            except RenderError as refused:
                assert str(path) in str(refused)
                return
            again = Template.model_validate(json.loads(template.model_dump_json(by_alias=True)))
            assert again == template

        return _counted(examples, strategy, check)


# --- the Bot API stand-in's parameters ---

_FORM_VALUES = st.one_of(
    _ANY_TEXT,
    st.integers().map(str),
    st.sampled_from(["true", "false", "[]", "{}", '{"inline_keyboard": [[{"text": "a"}]]}',
                     "null", "1e999", "attach://photo", "@channel", "-100"]),
)  # fmt: skip


def _fields(model: type[Any]) -> st.SearchStrategy[dict[str, Any]]:
    names = st.sampled_from(sorted(model.model_fields) or ["x"]) | st.text(max_size=6)
    return st.dictionaries(names, _FORM_VALUES | _json_values(), max_size=6)


def stand_in_params(examples: int) -> int:
    """Every method's parameters, as a form's strings or a JSON body's values: parsed, or
    refused with Telegram's 400 "Bad Request: ..."; a message text within the limit comes back
    as sent."""
    limits = Limits()
    models = sorted((route.model for route in _ROUTES.values()), key=lambda m: m.__name__)
    strategy = st.one_of(
        st.sampled_from(models).flatmap(lambda m: st.tuples(st.just(m), _fields(m))),
        st.tuples(
            st.just(_ROUTES["sendmessage"].model),
            st.fixed_dictionaries(
                {
                    "chat_id": st.integers(min_value=1, max_value=2**52),
                    "text": st.text(min_size=1, max_size=300).filter(str.strip),
                }
            ),
        ),
    )

    def check(case: tuple[type[Any], dict[str, Any]]) -> None:
        model, params = case
        try:
            parsed = parse_params(model, params, limits)
        except ApiError as refused:
            assert refused.code == 400 and refused.description.startswith("Bad Request: ")
            return
        assert isinstance(parsed, model)
        if model.__name__ == "SendMessage" and isinstance(params.get("text"), str):
            assert parsed.text == params["text"]

    return _counted(examples, strategy, check)


# --- running the stand-in (and the bot) beside hypothesis ---


class _LoopThread:
    """An event loop in a thread of its own: hypothesis drives its examples synchronously, the
    stand-in and the bot run on this loop meanwhile."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._stack = contextlib.AsyncExitStack()

    def __enter__(self) -> _LoopThread:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        try:
            self.run(self._stack.aclose(), timeout_s=60)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def run(self, coroutine: Coroutine[Any, Any, _T], timeout_s: float = 30) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout_s)

    def enter(self, manager: contextlib.AbstractAsyncContextManager[_T]) -> _T:
        return self.run(self._stack.enter_async_context(manager))


_TOKEN = "123456:fuzz-TEST_token"
_BODY_KINDS = ("json", "form", "multipart", "other")


@dataclass(frozen=True)
class _Request:
    method: str
    kind: str
    fields: dict[str, Any]
    raw: bytes | None  # sent as is, with the kind's content type, instead of the fields


def _requests() -> st.SearchStrategy[_Request]:
    methods = st.sampled_from(sorted(_ROUTES)) | st.text(alphabet=_URL_SAFE, max_size=12)
    return st.builds(
        _Request,
        methods,
        st.sampled_from(_BODY_KINDS),
        st.dictionaries(
            st.text(alphabet=_URL_SAFE, min_size=1, max_size=10)
            | st.sampled_from(["chat_id", "text", "photo", "reply_markup", "caption", "offset"]),
            _FORM_VALUES,
            max_size=5,
        ),
        st.none() | st.binary(max_size=300),
    )


async def _post(session: aiohttp.ClientSession, url: str, request: _Request) -> tuple[int, Any]:
    content_type = {"json": "application/json", "form": "application/x-www-form-urlencoded",
                    "multipart": "multipart/form-data; boundary=fuzz",
                    "other": "text/plain"}[request.kind]  # fmt: skip
    body: Any
    if request.raw is not None:
        body = request.raw
    elif request.kind == "json":
        body = json.dumps(request.fields).encode("utf-8", "surrogatepass")
    elif request.kind == "multipart":
        form = aiohttp.FormData()
        for name, value in request.fields.items():
            form.add_field(name, value.encode("utf-8", "surrogatepass"), filename=name)
        body = form
        content_type = ""
    else:
        body = "&".join(f"{k}={v}" for k, v in request.fields.items()).encode(
            "utf-8", "surrogatepass"
        )
    headers = {"Content-Type": content_type} if content_type else {}
    async with session.post(f"{url}/{request.method}", data=body, headers=headers) as response:
        return response.status, await response.json(content_type=None)


@contextlib.asynccontextmanager
async def _session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:  # made on the loop that uses it
        yield session


def stand_in_requests(examples: int) -> int:
    """Any method name with a JSON, urlencoded, multipart or other body, well formed or random
    bytes, over HTTP: answered with Telegram's JSON (ok, or an error code and description),
    never a 500."""
    with _LoopThread() as loop:
        stand_in = loop.enter(BotApiStandIn(_TOKEN, Limits()))
        session = loop.enter(_session())
        url = stand_in.api_base_url + _TOKEN

        def check(request: _Request) -> None:
            status, answer = loop.run(_post(session, url, request))
            assert status < 500, (status, answer)
            assert isinstance(answer, dict) and isinstance(answer.get("ok"), bool), answer
            if not answer["ok"]:
                assert answer["error_code"] == status and answer["description"], answer

        return _counted(examples, _requests(), check)


# --- the watermark detector ---

_KEY = bytes(range(32))
_MAGIC = (b"", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", b"\x1aE\xdf\xa3",
          b"RIFF\x00\x00\x00\x00AVI ", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"OggS\x00\x02",
          b"#EXTM3U\n", b"\x00\x00\x01\xba", b"ID3\x03\x00")  # fmt: skip


def detector_arrays(examples: int) -> int:
    """Odd luma means (any size from 1 x 1, flat, dark, bright) and odd sample runs (silence,
    clipping, any length and rate): read as "not ours", never an exception."""

    luma = hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 48), st.integers(1, 48)),
        elements=st.floats(0, 255, width=32),
    )
    samples = st.tuples(
        hnp.arrays(np.float32, st.integers(0, 20_000), elements=st.floats(-1, 1, width=32)),
        st.sampled_from([8000, 16000, 22050, 44100, 48000]) | st.integers(1, 96_000),
    )

    def check(case: Any) -> None:
        reading = (read_mark_from_luma(case, _KEY) if isinstance(case, np.ndarray)
                   else read_mark_from_samples(case[0], case[1], _KEY))  # fmt: skip
        assert not reading.mac_valid

    return _counted(examples, luma | samples, check)


def detector_files(examples: int) -> int:
    """Arbitrary bytes, alone or behind a container's magic, given to the detector: "not ours"
    or IngestError (empty, truncated, not a video), never another exception or a hang."""

    with tempfile.TemporaryDirectory(prefix="tuanyuan-fuzz-") as folder:
        path = Path(folder) / "upload.mp4"

        def check(case: tuple[bytes, bytes]) -> None:
            path.write_bytes(case[0] + case[1])
            try:
                report = detect(path, _KEY)
            except IngestError:
                return
            assert not report.made_by_service

        return _counted(examples, st.tuples(st.sampled_from(_MAGIC), st.binary(max_size=2000)),
                        check)  # fmt: skip


# --- button data through the real bot ---

_ADMIN = SandboxUser(9001, "Admin", language_code="en")
_STRANGER = SandboxUser(9002, "Stranger", language_code="zh-hant")
_WENT_WRONG = "Something went wrong on my side"


def _button_prefixes(application: Any) -> list[str]:
    """Every prefix a button handler of the bot's answers, read from its registered patterns."""

    prefixes = set()
    for handlers in application.handlers.values():
        for handler in handlers:
            if isinstance(handler, CallbackQueryHandler) and handler.pattern is not None:
                pattern = handler.pattern
                prefixes.add(re.sub(r"^\^", "", getattr(pattern, "pattern", str(pattern))))
    return sorted(prefixes)


@contextlib.asynccontextmanager
async def _polling_bot(settings_: Settings) -> AsyncIterator[Any]:
    """The bot built on the loop it runs on: its SQLite connection belongs to that thread."""
    async with polling(build_application(settings_, SystemClock())) as application:
        yield application


def _fits_a_button(data: str) -> bool:
    return 1 <= len(data.encode("utf-8")) <= 64  # Telegram's limit on callback_data


async def _press(sandbox: SandboxClient, user: SandboxUser, message_id: int, data: str) -> None:
    """Press a forged button; return once the bot answered it (the button stops spinning)."""
    query_id = await sandbox.press_button(user, message_id, data, forged=True)
    async with asyncio.timeout(20):
        while not await _answered(sandbox, query_id):  # noqa: ASYNC110 - nothing to wait on
            await asyncio.sleep(0.02)


async def _answered(sandbox: SandboxClient, query_id: str) -> bool:
    return any(answer.callback_query_id == query_id for answer in await sandbox.callback_answers())


def button_data(examples: int) -> int:
    """Data behind every button prefix the bot registers (and none), with any suffix, pressed
    by a stranger and by a moderator in the admin chat: each press answered, and nobody told
    that something went wrong on the bot's side."""
    with tempfile.TemporaryDirectory(prefix="tuanyuan-fuzz-") as folder, _LoopThread() as loop:
        stand_in = loop.enter(BotApiStandIn(_TOKEN, Limits(chat_messages_per_second=30.0,
                                                           chat_burst=30)))  # fmt: skip
        sandbox = loop.enter(SandboxClient(stand_in.root_url))
        settings_ = Settings(
            token=_TOKEN,
            data_dir=Path(folder),
            api_base_url=stand_in.api_base_url,
            file_base_url=stand_in.file_base_url,
            admin_ids=frozenset({_ADMIN.id}),
            admin_chat_id=_ADMIN.id,
            flood_updates=1_000_000,
        )
        application = loop.enter(_polling_bot(settings_))
        menus = {}
        for user in (_ADMIN, _STRANGER):
            loop.run(sandbox.send_text(user, "/language"))
            menus[user.id] = loop.run(sandbox.wait_for_message(user.id)).message_id
        prefixes = _button_prefixes(application)
        data = st.tuples(st.sampled_from(["", *prefixes]), st.text(max_size=40)).map("".join)
        strategy = st.tuples(st.sampled_from([_ADMIN, _STRANGER]), data.filter(_fits_a_button))

        def check(case: tuple[SandboxUser, str]) -> None:
            user, pressed = case
            loop.run(_press(sandbox, user, menus[user.id], pressed))
            told = loop.run(sandbox.sent_messages(user.id))
            assert not any(_WENT_WRONG in (m.text or "") for m in told), pressed

        return _counted(examples, strategy, check)


TARGETS = (
    Target("deep links", "`/start` payloads: invites and campaign links", deep_links),
    Target(
        "button data", "callback data behind every prefix, pressed through the bot", button_data
    ),
    Target("template JSON", "festival templates with any value replaced or removed", template_json),
    Target("stand-in parameters", "every Bot API method's parameters", stand_in_params),
    Target(
        "stand-in requests", "JSON, form, multipart and raw bodies over HTTP", stand_in_requests
    ),
    Target("detector arrays", "odd luma means and sample runs", detector_arrays),
    Target("detector files", "arbitrary bytes behind container magic", detector_files),
)


def run(target: Target, examples: int) -> Result:
    start = time.monotonic()
    try:
        count = target.run(examples)
    except Exception as failure:  # the report says which target failed and how
        return Result(target, examples, time.monotonic() - start, f"{type(failure).__name__}: "
                      f"{str(failure)[:300]}")  # fmt: skip
    return Result(target, count, time.monotonic() - start, None)


def bench(examples: int, out: Path, say: Callable[[str], None]) -> bool:
    """Every target with ``examples`` examples; its section of RELIABILITY.md written to
    ``out``. True when every property held."""
    results = []
    for target in TARGETS:
        result = run(target, examples)
        say(f"{target.name}: {result.examples} examples, {result.seconds:.1f} s, "
            f"{result.failure or 'held'}")  # fmt: skip
        results.append(result)
    reliability_report.write_section(out, SECTION, section(results))
    return all(result.failure is None for result in results)


def section(results: list[Result]) -> str:
    """RELIABILITY.md's fuzzing section: each target, how many examples, what held."""
    total = sum(result.examples for result in results)
    failed = [result for result in results if result.failure is not None]
    lines = [
        "Regenerated by `tuanyuan bench fuzz`: hypothesis generates input for what the project "
        "parses itself (`bot/fuzzing.py`; the same properties run briefly in "
        "tests/test_fuzzing.py). Each must hold for every example: no unexpected exception, a "
        "malformed input refused the way any bad input is, a valid value parsed back as sent.",
        "",
        f"- examples: {total} over {len(results)} targets; failed targets: {len(failed)}",
        "",
        "| target | what | examples | seconds | result |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in results:
        outcome = (result.failure or "held").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {result.target.name} | {result.target.what} | {result.examples} | "
                     f"{result.seconds:.1f} | {outcome} |")  # fmt: skip
    return "\n".join(lines)
