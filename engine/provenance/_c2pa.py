"""C2PA Content Credentials on the final MP4: who made it, that a trained model made it, and
under which render and consent, with no personal data.

Signing is the last step: any remux or re-encode afterwards strips the manifest (FACTS), while
the AIGC metadata written by the encoder survives signing.

Keys come from the operator (TUANYUAN_C2PA_CERT_CHAIN = leaf + intermediates PEM,
TUANYUAN_C2PA_KEY = the leaf's private key PEM, TUANYUAN_C2PA_TRUST_ANCHOR = the root PEM) or,
on first run, a local root -> intermediate -> leaf chain is made in a key folder. The local
root's and intermediate's private keys are thrown away once the chain exists: nothing can issue
another certificate from this machine, and only the leaf key (mode 0600) is left to protect.

The local leaf lasts two years; within :data:`RENEW_BEFORE` of its end a whole new chain is
made, and the new root is put before the old ones in ``root.pem``, so greetings signed before
stay trusted. Making, renewing and reading the chain happen under an exclusive lock on the key
folder, and each file is replaced by a rename: two processes starting at once use one chain,
and a key never meets another chain's certificate.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import io
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CHAIN_ENV = "TUANYUAN_C2PA_CERT_CHAIN"
KEY_ENV = "TUANYUAN_C2PA_KEY"
TRUST_ENV = "TUANYUAN_C2PA_TRUST_ANCHOR"
RENDER_ASSERTION = "org.tuanyuan.render"
_TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
_MP4 = "video/mp4"
LEAF_YEARS = 2
RENEW_BEFORE = datetime.timedelta(days=60)

C2paState = Literal["absent", "invalid", "valid", "trusted"]


@dataclass(frozen=True)
class SigningIdentity:
    """PEM material for signing; ``trust_anchor`` is what a verifier must trust to say Trusted."""

    chain: bytes
    private_key: bytes
    trust_anchor: bytes

    def __repr__(self) -> str:  # the private key must never reach a log line
        return "SigningIdentity(<redacted>)"


def signing_identity(key_dir: Path, environ: Mapping[str, str] | None = None) -> SigningIdentity:
    """The operator's chain if the environment names one, else the local chain (made once)."""
    env = os.environ if environ is None else environ
    if CHAIN_ENV in env or KEY_ENV in env:
        if not (CHAIN_ENV in env and KEY_ENV in env and TRUST_ENV in env):
            raise ValueError(f"set all of {CHAIN_ENV}, {KEY_ENV} and {TRUST_ENV}")
        return SigningIdentity(
            chain=Path(env[CHAIN_ENV]).read_bytes(),
            private_key=Path(env[KEY_ENV]).read_bytes(),
            trust_anchor=Path(env[TRUST_ENV]).read_bytes(),
        )
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    files = key_dir / "chain.pem", key_dir / "leaf.key", key_dir / "root.pem"
    with _locked(key_dir):
        now = datetime.datetime.now(datetime.UTC)
        if not all(path.exists() for path in files) or not _usable(*files[:2], now):
            _make_local_chain(key_dir, now)
        chain, private_key, root = (path.read_bytes() for path in files)
    return SigningIdentity(chain=chain, private_key=private_key, trust_anchor=root)


@contextlib.contextmanager
def _locked(key_dir: Path) -> Iterator[None]:
    """An exclusive lock on the key folder itself (no lock file among the keys)."""
    descriptor = os.open(key_dir, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _usable(chain_pem: Path, key_pem: Path, now: datetime.datetime) -> bool:
    """The leaf is not about to expire and the key is the leaf's own."""
    leaf = x509.load_pem_x509_certificates(chain_pem.read_bytes())[0]
    key = serialization.load_pem_private_key(key_pem.read_bytes(), password=None)
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return leaf.not_valid_after_utc - now >= RENEW_BEFORE and leaf.public_key().public_bytes(
        *raw
    ) == key.public_key().public_bytes(*raw)


def _replace(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename, durably."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _make_local_chain(key_dir: Path, now: datetime.datetime) -> None:
    """A new root -> intermediate -> leaf; called with the key folder locked."""
    root_key, mid_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))

    def name(common: str) -> x509.Name:
        return x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tuanyuan (local)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ])  # fmt: skip

    def issue(
        subject: x509.Name, public: ec.EllipticCurvePublicKey, issuer: x509.Name,
        signer: ec.EllipticCurvePrivateKey, years: int, ca_path: int | None,
    ) -> x509.Certificate:  # fmt: skip
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365 * years))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        )
        if subject != issuer:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                critical=False,
            )
        is_ca = ca_path is not None or subject == issuer
        builder = builder.add_extension(
            x509.BasicConstraints(ca=is_ca, path_length=ca_path), critical=True
        ).add_extension(
            x509.KeyUsage(
                digital_signature=not is_ca, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=is_ca,
                crl_sign=is_ca, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        if not is_ca:
            # C2PA rejects a leaf without an EKU it recognises; emailProtection is one.
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    root_name, mid_name = name("Tuanyuan local root"), name("Tuanyuan local intermediate")
    root = issue(root_name, root_key.public_key(), root_name, root_key, 20, None)
    mid = issue(mid_name, mid_key.public_key(), root_name, root_key, 10, 0)
    leaf = issue(name("Tuanyuan signer"), leaf_key.public_key(), mid_name, mid_key, LEAF_YEARS,
                 None)  # fmt: skip
    pem = serialization.Encoding.PEM
    key_bytes = leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    old_roots = (key_dir / "root.pem").read_bytes() if (key_dir / "root.pem").exists() else b""
    # Readers hold the same lock; a crash between two renames leaves a key that does not match
    # the chain, which the next start finds and replaces with a whole new chain.
    _replace(key_dir / "root.pem", root.public_bytes(pem) + old_roots)
    _replace(key_dir / "chain.pem", leaf.public_bytes(pem) + mid.public_bytes(pem))
    _replace(key_dir / "leaf.key", key_bytes, 0o600)


def sign_mp4(
    source: Path,
    destination: Path,
    identity: SigningIdentity,
    *,
    render_id: str,
    template_id: str,
    consent_sha256: str,
) -> None:
    """Embed a signed manifest; ``consent_sha256`` is the hash of the consent record, not it."""
    manifest = {
        "claim_generator_info": [{"name": "tuanyuan", "version": "0.1.0"}],
        "title": destination.name,
        "format": _MP4,
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": _TRAINED}]},
            },
            {
                "label": RENDER_ASSERTION,
                "data": {
                    "render_id": render_id,
                    "template_id": template_id,
                    "consent_sha256": consent_sha256,
                },
            },
        ],
    }
    info = c2pa.C2paSignerInfo(b"es256", identity.chain, identity.private_key, None)
    with (
        c2pa.Signer.from_info(info) as signer,
        c2pa.Builder(json.dumps(manifest)) as builder,
        source.open("rb") as src,
        destination.open("w+b") as dst,
    ):
        builder.sign(signer, _MP4, src, dst)


@dataclass(frozen=True)
class C2paReading:
    state: C2paState
    render: dict[str, Any] | None  # the org.tuanyuan.render assertion's data, when present


def read_c2pa(path: Path, trust_anchor: bytes | None = None) -> C2paReading:
    """absent / invalid / valid (signature holds, signer unknown) / trusted (chains to anchor)."""
    settings: dict[str, Any] = {"verify": {"verify_trust": trust_anchor is not None}}
    if trust_anchor is not None:
        settings["trust"] = {"trust_anchors": trust_anchor.decode()}
    try:
        with (
            c2pa.Context(c2pa.Settings.from_dict(settings)) as context,
            path.open("rb") as stream,
        ):
            reader = c2pa.Reader.try_create(_MP4, io.BufferedReader(stream), None, context)
            if reader is None:
                return C2paReading("absent", None)
            with reader:
                validation = (reader.get_validation_state() or "").lower()
                manifest = reader.get_active_manifest() or {}
    except c2pa.C2paError:
        return C2paReading("invalid", None)
    render = next(
        (
            a.get("data")
            for a in manifest.get("assertions", [])
            if a.get("label") == RENDER_ASSERTION
        ),
        None,
    )
    state: C2paState = validation if validation in ("valid", "trusted") else "invalid"  # type: ignore[assignment]
    return C2paReading(state, render)
