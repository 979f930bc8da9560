"""Who vouches for a bundle's manifest: a recorded digest, and optionally an Ed25519 signature.

The manifest lists the sha256 of every graph, so whoever can rewrite ``manifest.json``
can swap the graphs. Two checks cover the manifest itself:

- **Pins.** When a bundle is imported into ``<data dir>/bundles`` the sha256 of its
  ``manifest.json`` is recorded in ``<data dir>/bundles/pins.json``. Opening an installed
  bundle whose manifest no longer has that digest is refused ("changed after import").
  A folder found there without a pin (copied in by hand, or imported by an older
  version) is pinned the first time it is seen.
- **Signatures** (optional, needs the ``cryptography`` package: ``pip install
  mobile-vton[signing]``). ``vton bundle sign`` writes ``manifest.sig``: an Ed25519
  signature over the exact bytes of ``manifest.json``. When the user trusts at least one
  key (``*.pub`` files in ``<data dir>/keys``, added with ``vton bundle trust``), every
  bundle other than the app's own embedded default must carry a valid signature by one
  of those keys.

No Qt and no torch here; ``cryptography`` is imported only when a signature is made or
checked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from .bundle import MANIFEST, MAX_SIGNATURE_BYTES, SIGNATURE, Manifest
from .errors import BundleError, VtonError
from .paths import DEFAULT_BUNDLE, bundles_dir, keys_dir, make_private, private_mkdir

PINS = "pins.json"
KEY_PREFIX = "mobile-vton-ed25519"
STALE_SECONDS = 3600  # unfinished unpack/import folders older than this are removed


# -- pins -------------------------------------------------------------------------------------------
def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def installed_name(folder: Path) -> str | None:
    """The folder's name if it is an installed bundle (directly inside ``bundles_dir()``)."""
    folder = Path(folder)
    return folder.name if _same(folder.parent, bundles_dir()) else None


def read_pins() -> dict[str, str]:
    path = bundles_dir() / PINS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str) and len(v) == 64}


def _write_pins(pins: dict[str, str]) -> None:
    from .images import write_atomic

    root = private_mkdir(bundles_dir())
    write_atomic(root / PINS, (json.dumps(pins, indent=2, sort_keys=True) + "\n").encode(), durable=True,
                 private=True)


def pin(folder: Path, manifest: Manifest) -> None:
    """Record the manifest digest of an installed bundle."""
    name = installed_name(folder)
    if name is None or not manifest.digest:
        return
    pins = read_pins()
    if pins.get(name) != manifest.digest:
        pins[name] = manifest.digest
        _write_pins(pins)


def unpin(name: str) -> None:
    pins = read_pins()
    if pins.pop(name, None) is not None:
        _write_pins(pins)


def check_pin(folder: Path, manifest: Manifest) -> str:
    """Refuse an installed bundle whose manifest changed since it was imported."""
    name = installed_name(folder)
    if name is None:
        return ""
    recorded = read_pins().get(name)
    if recorded is None:
        pin(folder, manifest)  # first sight of a folder put there by hand: trust on first use
        return "pinned now"
    if recorded != manifest.digest:
        raise BundleError(Path(folder) / MANIFEST, "was changed after the bundle was imported (its sha256 is "
                                                   f"{manifest.digest[:16]}…, recorded {recorded[:16]}…); "
                                                   "remove the bundle and import it again")
    return "pinned"


# -- keys and signatures ---------------------------------------------------------------------------
def _crypto():
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    except ImportError:
        raise VtonError("bundle signatures need the 'cryptography' package: pip install 'mobile-vton[signing]'") from None
    return Ed25519PrivateKey, Ed25519PublicKey, InvalidSignature


def key_id(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()[:16]


def _parse_public(text: str, path: Path) -> bytes:
    parts = text.strip().split()
    if len(parts) < 2 or parts[0] != KEY_PREFIX:
        raise BundleError(path, f"not a public key (expected a line starting with '{KEY_PREFIX}')")
    try:
        raw = base64.b64decode(parts[1], validate=True)
    except ValueError:
        raise BundleError(path, "not a public key (bad base64)") from None
    if len(raw) != 32:
        raise BundleError(path, "not an Ed25519 public key (it must be 32 bytes)")
    return raw


def trusted_keys() -> dict[str, bytes]:
    """key id -> raw Ed25519 public key, from ``<data dir>/keys/*.pub``."""
    folder = keys_dir()
    keys: dict[str, bytes] = {}
    if not folder.is_dir():
        return keys
    for path in sorted(folder.glob("*.pub")):
        try:
            raw = _parse_public(path.read_text(encoding="utf-8", errors="replace")[:4096], path)
        except (OSError, BundleError):
            continue  # an unreadable key file trusts nobody
        keys[key_id(raw)] = raw
    return keys


def generate_key(out: Path) -> tuple[Path, Path, str]:
    """Write ``out.key`` (private, PEM, 0600) and ``out.pub``; returns them and the key id."""
    Ed25519PrivateKey, _, _ = _crypto()
    from cryptography.hazmat.primitives import serialization

    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    key_path, pub_path = out.with_suffix(".key"), out.with_suffix(".pub")
    for p in (key_path, pub_path):
        if p.exists():
            raise VtonError(f"{p}: already exists; choose another name")
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    kid = key_id(raw)
    pub_path.write_text(f"{KEY_PREFIX} {base64.b64encode(raw).decode()} {kid}\n", encoding="utf-8")
    return key_path, pub_path, kid


def sign_bundle(folder: Path, key_path: Path) -> str:
    """Write ``folder/manifest.sig`` for ``folder/manifest.json`` with the private key; returns the key id."""
    Ed25519PrivateKey, _, _ = _crypto()
    from cryptography.hazmat.primitives import serialization

    try:
        private = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise VtonError(f"{key_path}: not a usable private key ({exc})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise VtonError(f"{key_path}: not an Ed25519 private key")
    data = (Path(folder) / MANIFEST).read_bytes()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    sig = {"algorithm": "ed25519", "key": key_id(raw), "signature": base64.b64encode(private.sign(data)).decode()}
    (Path(folder) / SIGNATURE).write_text(json.dumps(sig, indent=2) + "\n", encoding="utf-8")
    return sig["key"]


def trust_key(pub: Path) -> Path:
    """Copy a public key into ``<data dir>/keys``."""
    raw = _parse_public(Path(pub).read_text(encoding="utf-8", errors="replace")[:4096], Path(pub))
    folder = private_mkdir(keys_dir())
    target = folder / f"{key_id(raw)}.pub"
    target.write_text(f"{KEY_PREFIX} {base64.b64encode(raw).decode()} {key_id(raw)}\n", encoding="utf-8")
    make_private(target)
    return target


def read_signature(folder: Path) -> dict | None:
    path = Path(folder) / SIGNATURE
    if not path.is_file() or path.is_symlink():
        return None
    try:
        data = json.loads(path.read_bytes()[:MAX_SIGNATURE_BYTES].decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        raise BundleError(path, "is not a valid signature file") from None
    if not (isinstance(data, dict) and data.get("algorithm") == "ed25519" and isinstance(data.get("key"), str)
            and isinstance(data.get("signature"), str)):
        raise BundleError(path, "is not a valid signature file")
    return data


def check_signature(folder: Path, manifest: Manifest) -> str:
    """'' when no key is trusted; else the signer's key id. Raises if it does not verify."""
    keys = trusted_keys()
    if not keys:
        return ""
    path = Path(folder) / SIGNATURE
    sig = read_signature(folder)
    if sig is None:
        raise BundleError(path, "missing: a signing key is configured, so bundles must be signed "
                                f"(trusted keys: {', '.join(sorted(keys))})")
    raw = keys.get(sig["key"])
    if raw is None:
        raise BundleError(path, f"signed by key {sig['key'][:16]}, which is not trusted here")
    _, Ed25519PublicKey, InvalidSignature = _crypto()
    try:
        signature = base64.b64decode(sig["signature"], validate=True)
        data = (Path(folder) / MANIFEST).read_bytes()
        if hashlib.sha256(data).hexdigest() != manifest.digest:
            raise BundleError(Path(folder) / MANIFEST, "changed while it was being checked")
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, data)
    except (ValueError, InvalidSignature):
        raise BundleError(path, "does not match manifest.json: the manifest was changed after signing") from None
    return sig["key"]


def check_trust(folder: Path, manifest: Manifest) -> str:
    """Pins and signatures for an opened bundle. Returns a short description for the user."""
    if _same(Path(folder), DEFAULT_BUNDLE):
        return "the app's embedded model"
    parts = []
    signer = check_signature(folder, manifest)
    if signer:
        parts.append(f"signed by {signer}")
    pinned = check_pin(folder, manifest)
    if pinned:
        parts.append(f"manifest {pinned}")
    return ", ".join(parts)


# -- housekeeping ---------------------------------------------------------------------------------
def sweep_stale(root: Path, older_than: float = STALE_SECONDS) -> int:
    """Remove unfinished unpack/import folders (``.unpack-*``, ``.*.part``) left by a crash."""
    removed = 0
    try:
        entries = list(Path(root).iterdir())
    except OSError:
        return 0
    now = time.time()
    for p in entries:
        if not (p.name.startswith(".unpack-") or (p.name.startswith(".") and p.name.endswith(".part"))):
            continue
        try:
            if now - p.lstat().st_mtime < older_than:
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed += 1
        except OSError:
            pass
    return removed
