"""What the demo's family member saw, written as Markdown for people and JSON for tools."""

import json
from pathlib import Path
from typing import Any

from bot.sandbox import SandboxUser, SentMessage


class Transcript:
    """An ordered record of the member's actions and the bot's messages between them."""

    def __init__(self, member: SandboxUser) -> None:
        self._member = member
        self._entries: list[dict[str, Any]] = []
        self._bot_message_ids: set[int] = set()

    @property
    def last_message_id(self) -> int:
        """The newest bot message recorded so far; later replies have larger ids."""
        return max(self._bot_message_ids, default=0)

    def member(self, action: str) -> None:
        self._entries.append({"from": self._member.first_name, "text": action})

    def bot(self, messages: list[SentMessage]) -> None:
        """Record the bot's messages not seen before, in the order the bot sent them."""
        for message in sorted(messages, key=lambda m: m.message_id):
            if message.message_id in self._bot_message_ids:
                continue
            self._bot_message_ids.add(message.message_id)
            self._entries.append({"from": "bot", **message.model_dump(exclude_defaults=True)})

    def write(self, out_dir: Path) -> None:
        (out_dir / "transcript.json").write_text(
            json.dumps(self._entries, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        (out_dir / "transcript.md").write_text(self._markdown(), encoding="utf-8")

    def _markdown(self) -> str:
        lines = ["# Tuanyuan demo transcript", ""]
        for entry in self._entries:
            if entry["from"] != "bot":
                lines.append(f"**{entry['from']}:** {entry['text']}")
            else:
                lines.append(f"**Tuanyuan** ({entry['method']}): {_bot_text(entry)}")
            lines.append("")
        return "\n".join(lines)


def _bot_text(entry: dict[str, Any]) -> str:
    parts = [entry.get("text") or entry.get("caption") or ""]
    if entry["method"] == "sendVideo":
        parts.append(
            f"[video {entry.get('width')}x{entry.get('height')}, {entry.get('duration')} s, "
            f"streaming={entry.get('supports_streaming')}, file greeting.mp4]"
        )
    keyboard = (entry.get("reply_markup") or {}).get("inline_keyboard")
    if keyboard:
        labels = [button["text"] for row in keyboard for button in row]
        parts.append("[buttons: " + " | ".join(labels) + "]")
    return " ".join(part for part in parts if part).replace("\n", "  \n")
