"""The ``tuanyuan`` command: run the bot, render from the command line, play the offline demo."""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, settings_from_env
from bot.i18n import LANGUAGES
from bot.logs import configure_logging


def _render(args: argparse.Namespace) -> int:
    from engine import IngestError, RenderError, RenderSpec, render

    spec = RenderSpec(
        render_id=args.render_id,
        template_id=args.template,
        language=args.language,
        portrait=args.portrait,
        voice_samples=tuple(args.voice),
        recipient=args.recipient,
        sender=args.sender,
        output_dir=args.out,
    )
    try:
        result = render(spec)
    except (RenderError, IngestError) as error:
        print(f"tuanyuan render: {error}", file=sys.stderr)
        return 1
    print(result.model_dump_json(indent=2))
    return 0


def _run(_: argparse.Namespace) -> int:
    from bot.app import build_application

    try:
        settings = settings_from_env()
    except ConfigError as error:
        print(f"tuanyuan run: {error}", file=sys.stderr)
        return 2
    build_application(settings).run_polling()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(args.out)


def _sandbox(args: argparse.Namespace) -> int:
    from bot.sandbox import run_forever

    run_forever(args.token, args.port)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tuanyuan", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the bot (token and URLs from the environment)")
    run.set_defaults(handler=_run)

    render = commands.add_parser("render", help="render one greeting video without the bot")
    render.add_argument("--template", default="mid-autumn")
    render.add_argument("--language", choices=LANGUAGES, default="zh-Hant")
    render.add_argument("--portrait", type=Path, required=True)
    render.add_argument("--voice", type=Path, action="append", default=[], help="voice sample")
    render.add_argument("--recipient", required=True)
    render.add_argument("--sender", default="")
    render.add_argument("--render-id", default="cli")
    render.add_argument("--out", type=Path, default=Path("render-out"))
    render.set_defaults(handler=_render)

    demo = commands.add_parser("demo", help="play a scripted family through the bot, offline")
    demo.add_argument("--out", type=Path, default=Path("demo-out"))
    demo.set_defaults(handler=_demo)

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
