"""The ``tuanyuan`` command: run the bot, render from the command line, play the offline demo."""

import argparse
import os
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

from bot.config import (
    ConfigError,
    read_vault_key,
    read_watermark_key,
    settings_from_env,
    signing_dir_in,
    split_host_port,
)
from bot.i18n import LANGUAGES
from bot.logs import configure_logging
from engine import Aspect, ConsentReference, Marking, RenderSpec

ASPECTS: tuple[Aspect, ...] = get_args(Aspect)


def _render(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from bot.app import render_marking
    from bot.vault import VaultError
    from engine import IngestError, RenderError, render

    if not args.synthetic_media:
        print(
            "tuanyuan render: a real person's face and voice are rendered only through the bot, "
            "after their consent; pass --synthetic-media for media made by code that depicts "
            "nobody.",
            file=sys.stderr,
        )
        return 2
    if args.portrait is None and not args.footage:
        print("tuanyuan render: give --portrait, --footage or both", file=sys.stderr)
        return 2
    # Marked exactly as the bot marks its greetings, so no greeting leaves this software
    # unmarked and `tuanyuan detect --data-dir` recognises it like any other.
    data_dir = _data_dir(args)
    try:
        key = _watermark_key(data_dir, create=True)
        marking = render_marking(key, signing_dir_in(data_dir))(args.render_id)
    except (ConfigError, VaultError, ValueError, OSError) as error:
        print(f"tuanyuan render: {error} (the watermark key comes from TUANYUAN_WATERMARK_KEY, "
              "else the vault key in --data-dir)", file=sys.stderr)  # fmt: skip
        return 2
    try:
        spec = _render_spec(args, marking)
    except ValidationError as error:
        for problem in error.errors():
            option = _OPTION_OF_FIELD.get(str(problem["loc"][0]), f"--{problem['loc'][0]}")
            print(f"tuanyuan render: {option.replace('_', '-')}: {problem['msg']}", file=sys.stderr)
        return 2
    try:
        result = render(spec)
    except (RenderError, IngestError) as error:
        print(f"tuanyuan render: {error}", file=sys.stderr)
        return 1
    print(result.model_dump_json(indent=2))
    print(f"marked with the keys of {data_dir}: tuanyuan detect {result.video} --data-dir "
          f"{data_dir}", file=sys.stderr)  # fmt: skip
    return 0


# The options whose names are not their RenderSpec field's.
_OPTION_OF_FIELD = {
    "template_id": "--template",
    "voice_samples": "--voice",
    "spoken_language": "--speak",
}


def _render_spec(args: argparse.Namespace, marking: Marking) -> RenderSpec:
    return RenderSpec(
        render_id=args.render_id,
        template_id=args.template,
        language=args.language,
        portrait=args.portrait,
        voice_samples=tuple(args.voice),
        footage=tuple(args.footage),
        likeness=args.likeness,
        aspect=args.aspect,
        spoken_language=args.speak,
        recipient=args.recipient,
        sender=args.sender,
        message=args.message,
        output_dir=args.out,
        consent=ConsentReference.for_synthetic_media(),
        marking=marking,
    )


def _templates_list(_: argparse.Namespace) -> int:
    from engine import list_templates

    print("\n".join(list_templates()))
    return 0


def _templates_preview(args: argparse.Namespace) -> int:
    from engine import RenderError, preview_template

    try:
        result = preview_template(args.id, args.language, args.aspect, args.out)
    except RenderError as error:
        print(f"tuanyuan templates preview: {error}", file=sys.stderr)
        return 1
    print(f"video: {result.video}\nthumbnail: {result.thumbnail}")
    return 0


def _bench_render(args: argparse.Namespace) -> int:
    from engine import bench_render

    result = bench_render(seconds=args.seconds, scale=args.height / 720, repeats=args.repeats)
    print(f"size: {result.width}x{result.height}, {result.frames} frames, marked "
          "(watermarks in picture and sound, AIGC metadata, C2PA)")  # fmt: skip
    print(f"render: {result.render_s:.2f} s, encode-only: {result.encode_only_s:.2f} s "
          f"(fastest of {result.repeats})")  # fmt: skip
    print(f"ratio: {result.ratio:.2f}")
    print(f"cpu ratio: {result.cpu_ratio:.2f} ({result.render_cpu_s:.2f} s against "
          f"{result.encode_only_cpu_s:.2f} s)")  # fmt: skip
    print(f"turnaround, order to file ready: {result.first_render_s:.2f} s in a fresh render "
          f"process, {result.render_s:.2f} s after")  # fmt: skip
    found = result.detection
    print(f"marks read back: video {'yes' if found.video.mac_valid else 'NO'}, "
          f"audio {'yes' if found.audio.mac_valid else 'NO'}, C2PA {found.c2pa.state}, "
          f"AIGC {'yes' if found.aigc else 'NO'}")  # fmt: skip
    print(f"peak memory: {result.peak_rss_mb:.0f} MB (renderer), "
          f"{result.peak_ffmpeg_rss_mb:.0f} MB (ffmpeg)")  # fmt: skip
    for title, stages in (
        ("processor time by stage (one profiled render, all threads and ffmpeg)",
         result.cpu_stages),
        ("wall time along the render's own thread (one profiled render)", result.wall_stages),
    ):  # fmt: skip
        total = sum(stage.seconds for stage in stages)
        print(f"{title}: {total:.2f} s")
        for stage in stages:
            print(f"  {stage.name:<44} {stage.seconds:6.2f} s {stage.seconds / total:6.1%}")
    return 0


def _bench_watermark(args: argparse.Namespace) -> int:
    import os
    import tempfile

    from engine.provenance import bench

    with tempfile.TemporaryDirectory(prefix="tuanyuan-bench-") as scratch:
        work = args.work or Path(scratch)
        key = os.urandom(32)
        print(bench.run(work, args.videos, args.seconds, args.unmarked, args.baseline_videos, key))
        print()
        print(bench.run_audio(work, args.audio_clips, key))
    return 0


def _bench_likeness(args: argparse.Namespace) -> int:
    from engine.likeness import bench

    bench.run(
        sys.stdout, seconds=args.seconds, portraits=not args.voices_only, voices=not args.faces_only
    )
    return 0


def _bench_portraits(args: argparse.Namespace) -> int:
    """The photo checks against degraded faces; exit 1 on a good photo refused or a miss."""
    from engine import _portrait_bench

    return 0 if _portrait_bench.run(sys.stdout) else 1


def _bench_voice(args: argparse.Namespace) -> int:
    from bot.config import read_voxcpm_dir, read_xtts_dir
    from engine.likeness import voice_bench

    environ = dict(os.environ)
    voice_bench.run(
        sys.stdout,
        args.xtts_dir or read_xtts_dir(environ),
        args.language,
        args.voxcpm_dir or read_voxcpm_dir(environ),
        args.only or ("xtts", "voxcpm"),
    )
    return 0


def _bench_streaming(args: argparse.Namespace) -> int:
    from bot.config import read_xtts_dir
    from engine import _streaming_bench

    xtts_dir = args.xtts_dir or read_xtts_dir(dict(os.environ))
    _streaming_bench.run(sys.stdout, args.height, args.pace, args.xtts, xtts_dir, args.repeats)
    return 0


def _bench_faults(args: argparse.Namespace) -> int:
    """kill -9 the bot at random points of orders, and other faults; exit 1 on any duplicate or
    lost order, or any other break of the invariant."""
    import asyncio
    import tempfile

    from bot import faults, reliability_report

    with tempfile.TemporaryDirectory(prefix="tuanyuan-faults-") as scratch:
        work = args.work or Path(scratch)
        points = faults.KILL_POINTS
        if not faults.disk_full_possible(work):
            points = tuple(point for point in points if point != "disk-full")
            print("disk-full left out: mounting a small tmpfs needs root", flush=True)
        plan = faults.kill_plan(args.runs, random.Random(args.seed), points)
        report = asyncio.run(faults.run_faults(plan, work, args.stars, args.seed, sys.stdout))
    print(faults.describe(report))
    if args.reliability is not None:
        command = f"tuanyuan bench faults --runs {args.runs} --seed {args.seed}"
        body = faults.section(
            faults.summaries(report), report.refunds, report.refunded_twice, command
        )
        reliability_report.write_section(args.reliability, faults.SECTION, body)
        print(f"{args.reliability} written")
    return 0 if report.duplicates == report.lost == report.broken == 0 else 1


def _bench_load(args: argparse.Namespace) -> int:
    """Many people at once through the stand-in; exit 1 on any lost or duplicated answer."""
    from bot import load_bench, reliability_report

    report = load_bench.bench(args.users, args.duration, args.think, args.ramp, args.seed,
                              args.work, sys.stdout)  # fmt: skip
    if args.reliability is not None:
        command = (f"tuanyuan bench load --users {args.users} --duration {args.duration:g} "
                   f"--think {args.think:g} --ramp {args.ramp:g} --seed {args.seed}")  # fmt: skip
        body = load_bench.section(load_bench.describe(report), command)
        reliability_report.write_section(args.reliability, load_bench.SECTION, body)
        print(f"{args.reliability} written")
    return 0 if report.lost == report.duplicates == 0 else 1


def _bench_reliability(args: argparse.Namespace) -> int:
    """The hostile corpus against the real bot; RELIABILITY.md; exit 1 unless every case held."""
    import asyncio
    import tempfile

    from bot import hostile

    with tempfile.TemporaryDirectory(prefix="tuanyuan-reliability-") as scratch:
        work = args.work or Path(scratch)
        held = asyncio.run(hostile.bench(work, args.out, lambda line: print(line, flush=True)))
    print(f"{args.out} written")
    return 0 if held else 1


def _bench_fuzz(args: argparse.Namespace) -> int:
    """The fuzz targets with many examples; RELIABILITY.md's section; exit 1 unless all held."""
    from bot import fuzzing  # hypothesis comes with the test extra

    held = fuzzing.bench(args.examples, args.out, lambda line: print(line, flush=True))
    print(f"{args.out} written")
    return 0 if held else 1


def _bench_queue(args: argparse.Namespace) -> int:
    """Many orders at once on the embedded pool and on a local Ray cluster; exit 1 unless each
    was delivered exactly once."""
    import asyncio
    import tempfile

    from bot import queue_bench

    with tempfile.TemporaryDirectory(prefix="tuanyuan-queue-") as scratch:
        work = args.work or Path(scratch)
        return asyncio.run(queue_bench.run(args.orders, args.workers, work, sys.stdout))


def _bench_campaign(args: argparse.Namespace) -> int:
    """A festival morning's broadcast through the stand-in; exit 1 when a target is missed."""
    from bot.campaigns import bench

    return 0 if bench.main(args.recipients, args.work, sys.stdout) else 1


def _detect(args: argparse.Namespace) -> int:
    from bot.clock import SystemClock
    from bot.config import DATABASE_FILE
    from bot.storage.database import open_existing
    from bot.vault import VaultError
    from bot.verification import look_up
    from engine import IngestError
    from engine.provenance import detect, trust_anchor_from_env

    if not args.file.is_file():  # before the keys: a mistyped name is the likelier mistake
        print(f"tuanyuan detect: {args.file}: no such file", file=sys.stderr)
        return 2
    data_dir = _data_dir(args)
    try:
        key = _watermark_key(data_dir, create=False)
    except (ConfigError, VaultError, ValueError, OSError) as error:
        print(f"tuanyuan detect: {error} (set TUANYUAN_WATERMARK_KEY, or point "
              "--data-dir at the bot's data with its vault key)", file=sys.stderr)  # fmt: skip
        return 2
    try:
        report = detect(args.file, key, trust_anchor_from_env(signing_dir_in(data_dir)))
    except IngestError as error:
        print(f"tuanyuan detect: {error}", file=sys.stderr)
        return 1
    database = data_dir / DATABASE_FILE
    try:
        db = open_existing(database) if database.exists() else None
    except RuntimeError as error:
        print(f"tuanyuan detect: {error}", file=sys.stderr)
        return 2
    verification = look_up(db, report, SystemClock().now())
    if args.json:
        print(verification.model_dump_json(indent=2))
        return 0
    print(f"made by this service: {'yes' if report.made_by_service else 'no'}")
    for name, mark in (("video", report.video), ("audio", report.audio)):
        print(f"{name}: payload {mark.payload}, MAC {'valid' if mark.mac_valid else 'invalid'}, "
              f"confidence {mark.confidence:.2f}")  # fmt: skip
    print(f"c2pa: {report.c2pa.state}")
    print(f"aigc: {report.aigc}")
    if render := verification.render:
        print(f"render: order {render.order_id}, template {render.template_id}, "
              f"created {render.created_at}, delivered {render.delivered_at}")  # fmt: skip
    if family := verification.family:
        print(f"family: space {family.space_id}, subject {family.subject_name}")
    if consent := verification.consent:
        print(f"consent: {consent.status}")
    return 0


def _data_dir(args: argparse.Namespace) -> Path:
    given: Path | None = args.data_dir
    return given or Path(os.environ.get("TUANYUAN_DATA_DIR", "var"))


def _master_key(data_dir: Path, *, create: bool = False) -> bytes:
    """The vault key as the bot reads it: the environment, else the key file, which ``create``
    makes (0600) when it is absent, as the bot's first start does."""
    from bot.vault import load_or_create_key, read_key_file

    if (key := read_vault_key(dict(os.environ))) is not None:
        return key
    key_file = os.environ.get("TUANYUAN_VAULT_KEY_FILE")
    path = Path(key_file) if key_file else data_dir / "vault.key"
    if create:
        return load_or_create_key(path, data_dir / "media", data_dir / "audit.log")
    return read_key_file(path)


def _watermark_key(data_dir: Path, *, create: bool) -> bytes:
    """The key the bot marks with: the operator's TUANYUAN_WATERMARK_KEY (or _FILE), else the
    one derived from the vault key (see ``_master_key``)."""
    from bot.vault import watermark_key

    return watermark_key(
        read_watermark_key(dict(os.environ)), lambda: _master_key(data_dir, create=create)
    )


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from bot.app import build_application
    from bot.audit import AuditError
    from bot.server import run
    from bot.vault import VaultError

    try:
        settings = settings_from_env()
    except ConfigError as error:
        print(f"tuanyuan run: {error}", file=sys.stderr)
        return 2
    url: str | None = args.webhook
    if url is not None and not url.startswith("https://"):
        print("tuanyuan run: --webhook must be an https:// URL (Telegram sends updates only "
              "over https)", file=sys.stderr)  # fmt: skip
        return 2
    try:
        application = build_application(settings, webhook=url is not None)
    except (VaultError, AuditError) as error:
        print(f"tuanyuan run: {error}", file=sys.stderr)
        return 2
    asyncio.run(run(application, url, settings.webhook_secret))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(args.out, args.language)


def _audit_verify(args: argparse.Namespace) -> int:
    """Exit 0 when every entry of the audit log is intact and in order, 1 when not."""
    import sqlite3

    from bot.audit import read_head, verify_log
    from bot.config import DATABASE_FILE
    from bot.vault import AUDIT_KEY_PURPOSE, VaultError, derive_key

    data_dir = _data_dir(args)
    try:
        master_key = _master_key(data_dir)
    except (ConfigError, VaultError, ValueError, OSError) as error:
        print(f"tuanyuan audit verify: {error}", file=sys.stderr)
        return 2
    key = derive_key(master_key, AUDIT_KEY_PURPOSE)
    try:
        head = read_head(data_dir / DATABASE_FILE)
    except sqlite3.Error as error:
        print(f"tuanyuan audit verify: {data_dir / DATABASE_FILE}: {error}", file=sys.stderr)
        return 2
    verdict = verify_log(data_dir / "audit.log", key, head)
    if not verdict.intact:
        print(f"tuanyuan audit verify: TAMPERED after {verdict.entries} good entries: "
              f"{verdict.problem}", file=sys.stderr)  # fmt: skip
        return 1
    print(f"audit log intact: {verdict.entries} entries")
    return 0


def _worker(args: argparse.Namespace) -> int:
    """Become a render node of the cluster: ``ray start --address ... --block`` in this process,
    so stopping the command (Ctrl-C, a service manager's TERM) takes the node down with it."""
    from bot.executors import visible_gpus, worker_command

    if split_host_port(args.address) is None:
        print("tuanyuan worker: --address must be the head node's HOST:PORT (the port of "
              "`ray start --head --port`, 6379 by default)", file=sys.stderr)  # fmt: skip
        return 2
    actors = args.render_actors or visible_gpus() or 1
    extra = args.ray_options[1:] if args.ray_options[:1] == ["--"] else args.ray_options
    command = worker_command(args.address, actors, extra)
    print(f"tuanyuan worker: joining {args.address} with {actors} render actor(s)",
          file=sys.stderr, flush=True)  # fmt: skip
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.execvp(command[0], command)


def _sandbox(args: argparse.Namespace) -> int:
    from bot.sandbox import run_forever

    run_forever(args.token, args.port)
    return 0


def _report_file(value: str) -> Path:
    """A report a benchmark writes when it ends: checked before it starts, since a long run
    (30 minutes of load, 50 kill runs) should not end in a traceback about a missing folder."""
    path = Path(value)
    folder = path.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(
            f"{folder} is not a folder: create it, or name a file in one"
        )
    if not os.access(path if path.exists() else folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"{path} cannot be written here")
    return path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tuanyuan", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", help="run the bot, its admin web and /metrics (settings from the environment)"
    )
    run.add_argument(
        "--webhook",
        metavar="URL",
        help="receive updates at this https URL (Telegram posts there, a proxy forwards them "
        "to TUANYUAN_WEB_LISTEN) instead of long polling",
    )
    run.set_defaults(handler=_run)

    render = commands.add_parser("render", help="render one greeting video without the bot")
    render.add_argument(
        "--template",
        default="mid-autumn",
        help="the festival (`tuanyuan templates list` names them); default: mid-autumn",
    )
    render.add_argument("--language", choices=LANGUAGES, default="zh-Hant")
    render.add_argument(
        "--aspect", choices=ASPECTS, default="16:9",
        help="landscape, upright (a phone's screen) or square; default: 16:9",
    )  # fmt: skip
    render.add_argument("--portrait", type=Path, help="a photo (or give --footage)")
    render.add_argument("--voice", type=Path, action="append", default=[], help="voice sample")
    render.add_argument("--footage", type=Path, action="append", default=[], help="video clip")
    render.add_argument(
        "--likeness", choices=("portrait", "footage"), help="force the animated photo or the clips"
    )
    render.add_argument("--speak", choices=("yue",), help="read Chinese text in Cantonese")
    render.add_argument(
        "--recipient", required=True, help="who the greeting is for, named as it speaks to them"
    )
    render.add_argument(
        "--sender", default="", help="who it is from (without it, no sentence names them)"
    )
    render.add_argument(
        "--message",
        help="the sender's own words, said between the template's greeting and its sign-off "
        "(as 'Write my own words' in the bot)",
    )
    render.add_argument(
        "--render-id", default="cli", help="the id its marks carry (`tuanyuan detect` reads it)"
    )
    render.add_argument(
        "--out", type=Path, default=Path("render-out"), help="the folder for the video"
    )
    render.add_argument(
        "--data-dir", type=Path, help="the keys to mark with; default: $TUANYUAN_DATA_DIR or ./var"
    )
    render.add_argument(
        "--synthetic-media",
        action="store_true",
        help="the portrait and voice were made by code and depict nobody (no consent needed)",
    )
    render.set_defaults(handler=_render)

    demo = commands.add_parser("demo", help="play a scripted family through the bot, offline")
    demo.add_argument("--out", type=Path, default=Path("demo-out"))
    demo.add_argument(
        "--language", choices=LANGUAGES, default="zh-Hant",
        help="the language the family writes in, and the greeting's",
    )  # fmt: skip
    demo.set_defaults(handler=_demo)

    templates = commands.add_parser("templates", help="list festival templates or preview one")
    template_commands = templates.add_subparsers(dest="templates_command", required=True)
    template_commands.add_parser("list", help="print one template id per line").set_defaults(
        handler=_templates_list
    )
    preview = template_commands.add_parser("preview", help="render a short preview and thumbnail")
    preview.add_argument("id", help="a template's id, as `tuanyuan templates list` prints it")
    preview.add_argument("--language", choices=LANGUAGES, default="zh-Hant")
    preview.add_argument("--aspect", choices=ASPECTS, default="16:9")
    preview.add_argument("--out", type=Path, default=Path("preview-out"))
    preview.set_defaults(handler=_templates_preview)

    bench = commands.add_parser("bench", help="benchmarks")
    bench_commands = bench.add_subparsers(dest="bench_command", required=True)
    bench_render = bench_commands.add_parser(
        "render", help="render time against an ffmpeg-only encode of as many frames"
    )
    bench_render.add_argument("--seconds", type=float, default=30.0)
    bench_render.add_argument("--height", type=int, choices=(720, 1080), default=720)
    bench_render.add_argument("--repeats", type=int, default=3)
    bench_render.set_defaults(handler=_bench_render)
    bench_watermark = bench_commands.add_parser(
        "watermark", help="the watermark attack suite, ours against two libraries"
    )
    bench_watermark.add_argument("--videos", type=int, default=20)
    bench_watermark.add_argument("--seconds", type=float, default=10.0)
    bench_watermark.add_argument("--unmarked", type=int, default=1000)
    bench_watermark.add_argument("--baseline-videos", type=int, default=2, help="0 skips them")
    bench_watermark.add_argument("--audio-clips", type=int, default=50)
    bench_watermark.add_argument("--work", type=Path, help="keep the clips here")
    bench_watermark.set_defaults(handler=_bench_watermark)
    bench_likeness = bench_commands.add_parser(
        "likeness", help="voice similarity and talking-portrait measurements on test subjects"
    )
    bench_likeness.add_argument("--seconds", type=float, default=30.0, help="video per face")
    bench_likeness.add_argument(
        "--voices-only", action="store_true", help="measure the voices, not the talking portrait"
    )
    bench_likeness.add_argument(
        "--faces-only", action="store_true", help="measure the talking portrait, not the voices"
    )
    bench_likeness.set_defaults(handler=_bench_likeness)
    bench_portraits = bench_commands.add_parser(
        "portraits", help="the photo checks' thresholds on good and degraded real and drawn faces"
    )
    bench_portraits.set_defaults(handler=_bench_portraits)
    bench_voice = bench_commands.add_parser(
        "voice", help="real-time factor and first-chunk latency of each available voice"
    )
    bench_voice.add_argument("--language", choices=LANGUAGES, default="zh-Hant")
    bench_voice.add_argument(
        "--xtts-dir", type=Path, help="XTTS weights (default: $TUANYUAN_XTTS_DIR, else random)"
    )
    bench_voice.add_argument(
        "--voxcpm-dir",
        type=Path,
        help="VoxCPM2 weights (default: $TUANYUAN_VOXCPM_DIR, else random)",
    )
    bench_voice.add_argument(
        "--only", choices=("xtts", "voxcpm"), action="append", help="one cloning model (repeatable)"
    )
    bench_voice.set_defaults(handler=_bench_voice)
    bench_streaming = bench_commands.add_parser(
        "streaming", help="render time saved by composing while the voice speaks"
    )
    bench_streaming.add_argument("--height", type=int, choices=(360, 720), default=720)
    bench_streaming.add_argument(
        "--pace", type=float, default=0.5, help="real-time factor of the voice on another device"
    )
    bench_streaming.add_argument("--repeats", type=int, default=3, help="XTTS runs once")
    bench_streaming.add_argument("--xtts", action="store_true", help="XTTS on this CPU too (slow)")
    bench_streaming.add_argument(
        "--xtts-dir", type=Path, help="XTTS weights (default: $TUANYUAN_XTTS_DIR, else random)"
    )
    bench_streaming.set_defaults(handler=_bench_streaming)

    bench_faults = bench_commands.add_parser(
        "faults", help="kill -9 the bot mid-order at random points: duplicates and lost orders"
    )
    bench_faults.add_argument("--runs", type=int, default=20)
    bench_faults.add_argument("--seed", type=int, help="the kill points' draw (default: random)")
    bench_faults.add_argument("--stars", type=int, default=5, help="price per order, 0 = free")
    bench_faults.add_argument("--work", type=Path, help="keep the bot's data and log here")
    bench_faults.add_argument(
        "--reliability", type=_report_file, help="write the results as this file's Faults section"
    )
    bench_faults.set_defaults(handler=_bench_faults)
    bench_reliability = bench_commands.add_parser(
        "reliability", help="the hostile-input corpus against the real bot: RELIABILITY.md"
    )
    bench_reliability.add_argument("--out", type=_report_file, default=Path("RELIABILITY.md"))
    bench_reliability.add_argument("--work", type=Path, help="keep the bot's data and log here")
    bench_reliability.set_defaults(handler=_bench_reliability)
    bench_fuzz = bench_commands.add_parser(
        "fuzz", help="hypothesis on what the project parses itself: RELIABILITY.md's section"
    )
    bench_fuzz.add_argument("--examples", type=int, default=2000, help="per target")
    bench_fuzz.add_argument("--out", type=_report_file, default=Path("RELIABILITY.md"))
    bench_fuzz.set_defaults(handler=_bench_fuzz)
    bench_campaign = bench_commands.add_parser(
        "campaign",
        help="a campaign's greetings broadcast at Telegram's pace: time, 429s, duplicates",
    )
    bench_campaign.add_argument("--recipients", type=int, default=10_000)
    bench_campaign.add_argument("--work", type=Path, help="keep the bot's data here")
    bench_campaign.set_defaults(handler=_bench_campaign)

    bench_load = bench_commands.add_parser(
        "load", help="many people joining, consenting, uploading and asking at once: latency"
    )
    bench_load.add_argument("--users", type=int, default=1000)
    bench_load.add_argument("--duration", type=float, default=1800.0, help="seconds of load")
    bench_load.add_argument("--think", type=float, default=10.0, help="mean s between /help")
    bench_load.add_argument("--ramp", type=float, default=60.0, help="s over which people start")
    bench_load.add_argument("--seed", type=int, default=2026)
    bench_load.add_argument("--work", type=Path, help="keep the bot's data and log here")
    bench_load.add_argument(
        "--reliability", type=_report_file, help="write the results as this file's Load section"
    )
    bench_load.set_defaults(handler=_bench_load)

    bench_queue = bench_commands.add_parser(
        "queue", help="orders at once through the bot: embedded pool against a local Ray cluster"
    )
    bench_queue.add_argument("--orders", type=int, default=200)
    bench_queue.add_argument("--workers", type=int, default=2, help="renders at once, each side")
    bench_queue.add_argument("--work", type=Path, help="keep the bots' data and logs here")
    bench_queue.set_defaults(handler=_bench_queue)

    detect = commands.add_parser(
        "detect", help="read a video's provenance marks; with the bot's database, its render"
    )
    detect.add_argument("file", type=Path)
    detect.add_argument("--json", action="store_true", help="machine-readable report")
    detect.add_argument("--data-dir", type=Path, help="default: $TUANYUAN_DATA_DIR or ./var")
    detect.set_defaults(handler=_detect)

    audit = commands.add_parser("audit", help="the audit log of sensitive actions")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="check the log's hash chain; 0 = intact")
    verify.add_argument("--data-dir", type=Path, help="default: $TUANYUAN_DATA_DIR or ./var")
    verify.set_defaults(handler=_audit_verify)

    worker = commands.add_parser(
        "worker", help="join a Ray cluster as a render node (ray start --address ... --block)"
    )
    worker.add_argument("--address", required=True, help="the head node's HOST:PORT")
    worker.add_argument(
        "--render-actors",
        type=int,
        help="renders this node runs at once (default: one per NVIDIA GPU, else 1)",
    )
    worker.add_argument(
        "ray_options", nargs=argparse.REMAINDER, help="after --: more `ray start` options"
    )
    worker.set_defaults(handler=_worker)

    sandbox = commands.add_parser("sandbox", help="run the local Bot API stand-in")
    sandbox.add_argument("--token", required=True)
    sandbox.add_argument("--port", type=int, default=8081)
    sandbox.set_defaults(handler=_sandbox)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging()
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
