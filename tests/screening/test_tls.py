"""`screening serve --tls-cert FILE --tls-key FILE`: HTTPS in every worker, and a clear
refusal to start when the files cannot serve (screening/tls.py).

Strategy: a throwaway CA (trustme) issues a certificate for 127.0.0.1; a client that
trusts only that CA must reach both workers over HTTPS and screen. Broken files are
refused by `serve` before any worker starts, in process, through the CLI.
"""

from __future__ import annotations

import http.client
import ssl
from pathlib import Path
from typing import Any

import orjson
import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from screening.cli import main
from screening.demo import Demo, DemoKey, instructions
from screening.keys import add_key
from screening.testing import Serve, ServerProcess

SPECIMEN = {"db": "SLTD", "number": "L898902C3", "country": "UTO"}


def write_pair(ca: trustme.CA, folder: Path) -> tuple[Path, Path]:
    """A certificate (with its chain) for 127.0.0.1 and its key, as PEM files."""
    issued = ca.issue_cert("127.0.0.1", "localhost")
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(key))
    return cert, key


def https(
    server: ServerProcess,
    trust: ssl.SSLContext,
    method: str,
    path: str,
    key: str | None = None,
    body: object = None,
) -> tuple[int, Any]:
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=trust, timeout=10)
    headers = {"Connection": "close"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    try:
        payload = None if body is None else orjson.dumps(body)
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, orjson.loads(response.read())
    finally:
        connection.close()


def test_https_in_every_worker(serve: Serve, loaded: Path, tmp_path: Path) -> None:
    ca = trustme.CA()
    cert, key_file = write_pair(ca, tmp_path / "tls")
    gate = add_key(tmp_path / "keys.json", "gate", "UTO", "frontline")[0]
    server = serve(
        "--data", str(loaded), "--keys", str(tmp_path / "keys.json"), "--workers", "2",
        "--tls-cert", str(cert), "--tls-key", str(key_file),
    )  # fmt: skip
    trust = ssl.create_default_context()
    ca.configure_trust(trust)
    pids: set[int] = set()

    def both_workers_answer() -> bool:
        try:
            status, body = https(server, trust, "GET", "/healthz")
        except OSError:
            return False
        if status == 200:
            pids.add(body["pid"])
        return len(pids) == 2

    server.wait_until(both_workers_answer, what="2 workers answering over HTTPS")
    status, body = https(server, trust, "POST", "/v1/screen", gate, {"queries": [SPECIMEN]})
    assert status == 200 and len(body["results"]) == 1 and body["results"][0]["hit"] is True
    with pytest.raises((OSError, http.client.HTTPException)):
        server.request("GET", "/healthz", timeout=5)  # plain HTTP on the TLS port
    assert f"on https://127.0.0.1:{server.port} with 2 worker(s)" in server.log
    assert server.stop() == 0


def _encrypted(key: Path, folder: Path) -> Path:
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    locked = folder / "locked.pem"
    locked.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    return locked


@pytest.mark.parametrize(
    ("breaks", "message"),
    [
        ("missing cert", "--tls-cert {cert}.gone: no such file"),
        ("key is a folder", "--tls-key {folder}: cannot read it: Is a directory"),
        ("cert not PEM", "--tls-cert {key}: not a PEM certificate"),
        ("key of another cert", "--tls-key {other} is not the private key of --tls-cert {cert}"),
        ("encrypted key", "--tls-key {folder}/locked.pem: the key is encrypted"),
    ],
)
def test_serve_refuses_files_that_cannot_serve(
    breaks: str,
    message: str,
    loaded: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ca = trustme.CA()
    cert, key = write_pair(ca, tmp_path / "tls")
    other = write_pair(ca, tmp_path / "other")[1]
    folder = tmp_path / "tls"
    given = {
        "missing cert": (Path(f"{cert}.gone"), key),
        "key is a folder": (cert, folder),
        "cert not PEM": (key, key),
        "key of another cert": (cert, other),
        "encrypted key": (cert, _encrypted(key, folder)),
    }[breaks]
    status = main(
        ["serve", "--data", str(loaded), "--port", "0",
         "--tls-cert", str(given[0]), "--tls-key", str(given[1])]
    )  # fmt: skip
    assert status == 1
    error = capsys.readouterr().err
    expected = message.format(cert=cert, key=key, folder=folder, other=other)
    assert error.startswith(f"screening serve: {expected}"), error
    assert error.count("\n") == 1


def test_cert_and_key_come_together(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--data", str(loaded), "--tls-cert", "cert.pem"]) == 2
    assert "--tls-cert and --tls-key: give both, or neither" in capsys.readouterr().err


def test_the_demo_curl_line_says_https() -> None:
    demo = Demo(Path("demo-data"), (DemoKey("frontline", "gate", "FRA", "scr_x"),), built=False)
    assert "curl -s https://127.0.0.1:8443/v1/screen" in instructions(
        demo, "0.0.0.0", 8443, "https"
    )
