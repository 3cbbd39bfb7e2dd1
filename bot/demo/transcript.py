"""What the demo's family member saw, written as Markdown for people and JSON for tools."""

import json
from pathlib import Path
from typing import Any

from bot.sandbox import SandboxUser, SentMessage


class Transcript:
    """An ordered record of what each person did and the bot's messages to them in between."""

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        # (chat, message): ids count per chat; each message's words as last recorded
        self._seen: dict[tuple[int, int], str] = {}

    def last_message_id(self, chat_id: int) -> int:
        """The newest bot message recorded in this chat; later replies have larger ids."""
        return max((message for chat, message in self._seen if chat == chat_id), default=0)

    def person(self, user: SandboxUser, action: str) -> None:
        self._entries.append({"from": user.first_name, "text": action})

    def bot(self, to: SandboxUser, messages: list[SentMessage]) -> None:
        """Record the bot's messages not seen before, in the order the bot sent them, and the
        new words of one seen before that the bot has since edited (the order's status line:
        "Making the greeting: 40%", then "Delivered")."""
        for message in sorted(messages, key=lambda m: m.message_id):
            key, words = (message.chat_id, message.message_id), message.text or message.caption
            if key not in self._seen:
                entry = {"from": "bot", "to": to.first_name}
                self._entries.append(entry | message.model_dump(exclude_defaults=True))
            elif words and words != self._seen[key]:
                self._entries.append({"from": "bot", "to": to.first_name, "method": "edit",
                                      "message_id": message.message_id, "text": words})  # fmt: skip
            self._seen[key] = words or ""

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
                to, method = entry["to"], entry["method"]
                done = "edits its earlier message" if method == "edit" else method
                lines.append(f"**Tuanyuan → {to}** ({done}): {_bot_text(entry)}")
            lines.append("")
        return "\n".join(lines)


def _bot_text(entry: dict[str, Any]) -> str:
    parts = [entry.get("text") or entry.get("caption") or ""]
    if entry["method"] == "sendVideo":
        parts.append(
            f"[video {entry.get('width')}x{entry.get('height')}, {entry.get('duration')} s, "
            f"streaming={entry.get('supports_streaming')}, file greeting.mp4]"
        )
    markup = entry.get("reply_markup") or {}
    keyboard = markup.get("inline_keyboard") or markup.get("keyboard")
    if keyboard:
        labels = [button["text"] for row in keyboard for button in row]
        parts.append("[buttons: " + " | ".join(labels) + "]")
    return " ".join(part for part in parts if part).replace("\n", "  \n")
