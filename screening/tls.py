"""HTTPS for `screening serve --tls-cert FILE --tls-key FILE`.

The supervisor builds the context once before it starts any worker, so a missing,
unreadable or mismatched file stops `serve` with one line naming the option and the file
(not a crash loop of workers); each worker then builds its own context from the same files
(an `SSLContext` does not cross a process boundary). TLS 1.2 is the oldest accepted.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from screening.settings import ServeError, Settings


def _readable(option: str, path: Path) -> None:
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except FileNotFoundError:
        raise ServeError(f"{option} {path}: no such file") from None
    except OSError as error:
        raise ServeError(f"{option} {path}: cannot read it: {error.strerror or error}") from None


def _no_password() -> bytes:
    """An encrypted key is refused, instead of OpenSSL asking for its password on the tty."""
    raise ServeError("the key is encrypted: give an unencrypted PEM key")


def _check_certificate(cert: Path) -> None:
    try:
        ssl.create_default_context().load_verify_locations(cafile=str(cert))
    except ssl.SSLError as error:
        raise ServeError(
            f"--tls-cert {cert}: not a PEM certificate ({error.reason or error})"
        ) from None


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The server context of `--tls-cert`/`--tls-key`, or None for plain HTTP."""
    cert, key = settings.tls_cert, settings.tls_key
    if cert is None or key is None:
        return None
    _readable("--tls-cert", cert)
    _readable("--tls-key", key)
    _check_certificate(cert)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert), str(key), password=_no_password)
    except ServeError as error:
        raise ServeError(f"--tls-key {key}: {error}") from None
    except ssl.SSLError as error:
        if error.reason == "KEY_VALUES_MISMATCH":
            raise ServeError(
                f"--tls-key {key} is not the private key of --tls-cert {cert}"
            ) from None
        raise ServeError(
            f"--tls-key {key}: not a PEM private key ({error.reason or error})"
        ) from None
    return context
