"""Every message a member can see exists in all three languages with the same placeholders."""

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import bot
from bot.i18n import LANGUAGES, catalog_path, gettext_for, language_from_telegram, sentences

BOT_DIR = Path(bot.__file__).parent


def _source_messages() -> set[str]:
    return {
        message
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(BOT_DIR), method_map=[("**.py", "python")], keywords={"_": None}
        )
        if isinstance(message, str)
    }


def _placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_message_is_translated_with_the_same_placeholders(language: str) -> None:
    with catalog_path(language).open("rb") as po_file:  # type: ignore[arg-type]
        catalog = read_po(po_file)
    translations = {m.id: m.string for m in catalog if m.id}
    for message in _source_messages():
        translated = translations.get(message)
        assert isinstance(translated, str) and translated, (
            f"{language}: no translation for {message!r}"
        )
        assert _placeholders(translated) == _placeholders(message), message
    # pybabel's guess at a new message from a similar old one, never checked by a person.
    assert not [m.id for m in catalog if m.fuzzy], f"{language}: fuzzy translations"


def test_english_messages_are_all_english() -> None:
    """The source messages are what an English speaker reads: an example written in Chinese
    ('for example 外公和外婆') tells them nothing. Each catalog gives its own example."""
    han = re.compile(r"[\u3400-\u9fff]")
    assert not [message for message in _source_messages() if han.search(message)]


def test_catalogs_hold_no_stale_messages() -> None:
    source = _source_messages()
    for language in LANGUAGES:
        if language == "en":
            continue
        with catalog_path(language).open("rb") as po_file:
            stale = {m.id for m in read_po(po_file) if m.id and m.id not in source}
        assert not stale, f"{language} keeps messages the code no longer uses: {stale}"


def test_scripts_differ_between_traditional_and_simplified() -> None:
    message = "Which language should I use?"
    assert gettext_for("zh-Hant")(message) == "要用哪種語言？"
    assert gettext_for("zh-Hans")(message) == "要用哪种语言？"
    assert gettext_for("en")(message) == message
    assert not re.search(r"[\u4e00-\u9fff]", gettext_for("en")(message))


@pytest.mark.parametrize(
    ("telegram_code", "expected"),
    [
        ("zh-hant", "zh-Hant"),
        ("zh-TW", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh-hans", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("zh-CN", "zh-Hans"),
        ("en-GB", "en"),
        ("de", "en"),
        (None, "en"),
        ("", "en"),
    ],
)
def test_telegram_language_codes_map_to_our_languages(
    telegram_code: str | None, expected: str
) -> None:
    assert language_from_telegram(telegram_code) == expected


# Words written in Taiwan (and Hong Kong) where the mainland writes another (通过, 获取, 发给,
# 记录, 一条, 消息, 视频, 文件, 账号, 网络, 软件, 设置, 默认, 支持, 屏幕, 点击, 链接, 登录,
# 裁剪, 定制, 转发), and the reverse for zh-Hant (影片, 連結, 帳號, 網路, 軟體, 預設, 設定,
# 螢幕, 點選, 登入, 使用者, 品質, 訊息).
REGIONAL_WORDS = {
    "zh-Hans": ("透过", "取得", "传给", "纪录", "一笔", "讯息", "视讯", "影片", "档案", "帐号",
                "网路", "软体", "设定", "预设", "支援", "萤幕", "点选", "连结", "登入", "裁切",
                "订制", "转传"),
    "zh-Hant": ("視頻", "鏈接", "賬號", "網絡", "軟件", "默認", "設置", "屏幕", "點擊", "登錄",
                "用戶", "質量", "信息"),
}  # fmt: skip


@pytest.mark.parametrize("language", ["zh-Hans", "zh-Hant"])
def test_chinese_reads_as_written_where_it_is_read(language: str) -> None:
    """Mainland usage in zh-Hans, Taiwan / Hong Kong usage in zh-Hant; and no 他 or 她 for the
    person in the greeting, whom the family may call 奶奶 or 外公: the texts use their name
    or "this family member" instead (他们 for a group, 其他 and 他人 are not about them).
    Everyone is 你, never 您 in one message and 你 in the next; and what AI made is "AI 生成",
    as the video's own label reads, not "AI 制作" in one message and "AI 生成" in the next."""
    with catalog_path(language).open("rb") as po_file:  # type: ignore[arg-type]
        catalog = read_po(po_file)
    for message in catalog:
        if not message.id:
            continue
        text = str(message.string)
        found = [word for word in REGIONAL_WORDS[language] if word in text]
        assert not found, f"{language}: {found} in {text!r}"
        assert not re.search(r"(?<!其)[他她](?![们們人])", text), f"{language}: pronoun in {text!r}"
        assert "您" not in text, f"{language}: 您 in {text!r}"
        assert not re.search(r"AI ?[制製]作", text), f"{language}: not AI 生成 in {text!r}"


def test_sentences_follow_each_other_as_each_language_writes_them() -> None:
    """Chinese puts no space after a sentence ("…已獲授權。你現在…"), English puts one; a
    message built from two sentences read "…授權。 你現在…" before."""
    assert sentences("阿嬤的祝福已獲授權。", "你現在可以製作祝福了。") == (
        "阿嬤的祝福已獲授權。你現在可以製作祝福了。"
    )
    assert sentences("Greetings are authorised.", "You can make one now.", "") == (
        "Greetings are authorised. You can make one now."
    )
    assert sentences("", "Only this.") == "Only this."
