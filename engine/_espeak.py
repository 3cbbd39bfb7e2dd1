"""Minimal ctypes binding to the bundled libespeak-ng (the package ships no Python API).

espeak-ng keeps global state, so every call goes through one lock and one initialisation.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass

import espeakng_loader
import numpy as np
import numpy.typing as npt

from engine._errors import RenderError

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_PARAM_RATE = 1
_PARAM_PITCH = 3
_EVENT_LIST_TERMINATED = 0
_EVENT_END = 5


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class Utterance:
    samples: npt.NDArray[np.float32]
    rate: int
    # Where espeak says the speech ends (its END event); trailing samples after it are silence.
    end_s: float


class _Engine:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lib: ctypes.CDLL | None = None
        self._rate = 0
        self._chunks: list[npt.NDArray[np.int16]] = []
        self._end_ms = 0
        # Keep a reference: espeak holds the raw pointer and the wrapper must outlive it.
        self._callback = _Callback(self._on_audio)

    def _on_audio(
        self, wave: ctypes.Array[ctypes.c_short], count: int, events: ctypes.Array[_Event]
    ) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wave, (count,)).copy())
        index = 0
        while events[index].type != _EVENT_LIST_TERMINATED:
            if events[index].type == _EVENT_END:
                self._end_ms = max(self._end_ms, events[index].audio_position)
            index += 1
        return 0

    def _ensure_started(self) -> ctypes.CDLL:
        if self._lib is None:
            lib = ctypes.CDLL(espeakng_loader.get_library_path())
            lib.espeak_Initialize.argtypes = [
                ctypes.c_int,
                ctypes.c_int,
                ctypes.c_char_p,
                ctypes.c_int,
            ]
            lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
            lib.espeak_Synth.argtypes = [
                ctypes.c_void_p,
                ctypes.c_size_t,
                ctypes.c_uint,
                ctypes.c_int,
                ctypes.c_uint,
                ctypes.c_uint,
                ctypes.c_void_p,
                ctypes.c_void_p,
            ]
            data = espeakng_loader.get_data_path().encode()
            rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
            if rate <= 0:
                raise RenderError("espeak-ng failed to initialise")
            lib.espeak_SetSynthCallback(self._callback)
            self._lib, self._rate = lib, rate
        return self._lib

    def synthesize(self, text: str, voice: str, pitch: int, words_per_minute: int) -> Utterance:
        with self._lock:
            lib = self._ensure_started()
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise RenderError(f"espeak-ng has no voice {voice!r}")
            lib.espeak_SetParameter(_PARAM_PITCH, int(np.clip(pitch, 0, 100)), 0)
            lib.espeak_SetParameter(_PARAM_RATE, words_per_minute, 0)
            self._chunks, self._end_ms = [], 0
            encoded = text.encode("utf-8")
            status = lib.espeak_Synth(
                encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None
            )
            if status != 0:
                raise RenderError(f"espeak-ng synthesis failed with status {status}")
            pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
            return Utterance(
                samples=pcm.astype(np.float32) / 32768.0, rate=self._rate, end_s=self._end_ms / 1000
            )


_ENGINE = _Engine()


def synthesize(text: str, voice: str, pitch: int = 50, words_per_minute: int = 160) -> Utterance:
    """Speak ``text`` with an espeak-ng voice; ``pitch`` is espeak's 0-100 base-pitch setting."""
    return _ENGINE.synthesize(text, voice, pitch, words_per_minute)
