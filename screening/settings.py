"""The settings of `screening serve`: one table, from which the options and their help derive.

Each field of `Settings` is one `--option` (underscores become dashes) with its default
and its help; `screening/SERVING.md` documents every one of them (a test checks it).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

KEYS_FILE_NAME = "keys.json"
DEMO_DATA = Path("demo-data")


class ServeError(Exception):
    """The service cannot start: no data directory, the port is taken, a worker cannot."""


def doc(text: str, metavar: str | None = None) -> dict[str, Any]:
    """A setting's help and metavar, as dataclass field metadata."""
    return {"help": text, "metavar": metavar}


@dataclass(frozen=True)
class Settings:
    data: Path | None = field(
        default=None,
        metadata=doc(
            "data directory (one folder per database); with --demo: default ./demo-data", "DIR"
        ),
    )
    host: str = field(default="127.0.0.1", metadata=doc("address to listen on"))
    port: int = field(default=8080, metadata=doc("TCP port; the workers share it (SO_REUSEPORT)"))
    workers: int = field(
        default=os.cpu_count() or 1,
        metadata=doc("worker processes, each mapping the same files (default: CPUs)", "N"),
    )
    keys: Path | None = field(
        default=None,
        metadata=doc(
            f"API key file (default: DIR/{KEYS_FILE_NAME}); re-read when it changes", "FILE"
        ),
    )
    max_batch: int = field(
        default=10_000, metadata=doc("most queries in one /v1/screen request; more is a 413", "N")
    )
    max_body: int = field(
        default=16 << 20,
        metadata=doc("largest request body in bytes; larger is a 413 (default: 16 MiB)", "BYTES"),
    )
    rate: float = field(
        default=0.0,
        metadata=doc(
            "requests per second per API key, shared by all workers, with a 1 s burst;"
            " 0 = no limit",
            "R",
        ),
    )
    request_timeout: float = field(
        default=15.0,
        metadata=doc(
            "seconds a connection may stay idle or take to send a request's headers (then it"
            " is closed), and a request's body may take to arrive (then a 408)",
            "SECONDS",
        ),
    )
    tls_cert: Path | None = field(
        default=None,
        metadata=doc("serve HTTPS with this PEM certificate (chain); needs --tls-key", "FILE"),
    )
    tls_key: Path | None = field(
        default=None, metadata=doc("the PEM private key of --tls-cert", "FILE")
    )
    shutdown_timeout: float = field(
        default=30.0,
        metadata=doc("seconds requests in flight get to finish after SIGTERM", "SECONDS"),
    )
    poll_interval: float = field(
        default=0.5,
        metadata=doc("seconds between checks for a new manifest or key file", "SECONDS"),
    )
    audit_sync: float = field(
        default=0.005,
        metadata=doc(
            "seconds a written audit or hit line may wait for its fdatasync (one per batch,"
            " on a thread); 0 = at once",
            "SECONDS",
        ),
    )
    audit_rotate: int = field(
        default=64 << 20,
        metadata=doc(
            "bytes at which an audit or hits file is sealed and the next one begun", "BYTES"
        ),
    )
    demo: bool = field(
        default=False,
        metadata=doc("build (once) and serve a demo data set with demo keys; prints a curl line"),
    )
    demo_records: int = field(
        default=1_000_000, metadata=doc("SLTD records in the demo data set", "N")
    )

    @property
    def data_dir(self) -> Path:
        if self.data is None:
            raise ValueError("no data directory")
        return self.data

    @property
    def keys_file(self) -> Path:
        return self.keys if self.keys is not None else self.data_dir / KEYS_FILE_NAME

    @property
    def scheme(self) -> str:
        return "http" if self.tls_cert is None else "https"

    def check(self) -> Settings:
        """The settings, with --demo's default directory; ValueError says which is wrong."""
        checked = self
        if self.demo and self.keys is not None:
            raise ValueError(f"--keys: --demo makes its own key file, DIR/{KEYS_FILE_NAME}")
        if self.data is None:
            if not self.demo:
                raise ValueError("--data DIR is required (or --demo)")
            checked = replace(self, data=DEMO_DATA)
        for name in ("port", "workers", "max_batch", "max_body", "demo_records", "audit_rotate"):
            if getattr(checked, name) < (0 if name == "port" else 1):
                raise ValueError(f"--{_option(name)}: must be positive")
        if checked.port > 65535:
            raise ValueError("--port: must be 0..65535")
        for name in ("rate", "shutdown_timeout", "audit_sync"):
            if getattr(checked, name) < 0:
                raise ValueError(f"--{_option(name)}: must be zero or more")
        for name in ("poll_interval", "request_timeout"):
            if getattr(checked, name) <= 0:
                raise ValueError(f"--{_option(name)}: must be positive")
        if (checked.tls_cert is None) != (checked.tls_key is None):
            raise ValueError("--tls-cert and --tls-key: give both, or neither")
        return checked


def _option(name: str) -> str:
    return name.replace("_", "-")


def options() -> list[tuple[str, str]]:
    """(option, help) of every setting, for the docs and their test."""
    return [(f"--{_option(f.name)}", str(f.metadata["help"])) for f in fields(Settings)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One `--option` per setting, typed by its default."""
    for setting in fields(Settings):
        default = setting.default
        assert default is not MISSING
        option = f"--{_option(setting.name)}"
        help_text = str(setting.metadata["help"])
        if isinstance(default, bool):
            parser.add_argument(option, action="store_true", help=help_text)
            continue
        kind: type = Path if default is None else type(default)
        parser.add_argument(
            option,
            type=kind,
            default=default,
            metavar=setting.metadata["metavar"],
            help=help_text,
        )


def from_arguments(args: argparse.Namespace) -> Settings:
    return Settings(**{setting.name: getattr(args, setting.name) for setting in fields(Settings)})
