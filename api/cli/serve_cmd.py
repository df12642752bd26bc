"""``kizuki serve``: the HTTP API and the web page on the bundled corpus."""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from kizuki.api.app import create_app
from kizuki.api.cli.inputs import RankerFileOption, check_ranker_file
from kizuki.api.exceptions import CliError
from kizuki.api.http.connections import guarded_protocol, raise_open_file_limit
from kizuki.corpus.settings import Settings
from kizuki.corpus.store import StoreDamaged, StoreUnavailable, redact


def _check_port(host: str, port: int) -> None:
    """Fail fast (before the index is loaded) when the address cannot be bound."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CliError(f"cannot resolve host {host!r}: {exc.strerror}") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CliError(f"port {port} on {host} is already in use") from None
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (127.0.0.1: this machine only).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where the case store and index live (default: KIZUKI_DATA_DIR or ~/.kizuki).",
            file_okay=False,
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="PostgreSQL store shared by several servers (postgresql://user@host/db; "
            "default: KIZUKI_DATABASE_URL, else the SQLite file in the data dir).",
        ),
    ] = None,
    ranker_file: RankerFileOption = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Start the web page and HTTP API (OpenAPI docs at /docs) on the bundled corpus."""
    given = {"data_dir": data_dir, "database_url": database_url, "ranker_file": ranker_file}
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    check_ranker_file(settings)
    _check_port(host, port)
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}/"
    store = f", store: {redact(settings.database_url)}" if settings.database_url else ""
    typer.echo(f"Kizuki: starting on {url} (data: {settings.data_dir}{store}) ...")
    for line in startup_notes(settings):
        typer.echo(line)

    try:
        app = create_app(settings)
    except (StoreDamaged, StoreUnavailable) as exc:
        raise CliError(str(exc)) from None
    app.state.public_url = url

    raise_open_file_limit()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=log_level,
            timeout_graceful_shutdown=5,
            http=guarded_protocol(settings.max_connections, settings.header_timeout_s),
            timeout_keep_alive=settings.keep_alive_s,
            backlog=min(2048, settings.max_connections * 2),
        )
    )
    app.state.stop_server = lambda: setattr(server, "should_exit", True)
    server.run()
    if app.state.service.start_error:  # printed as an error: line when it happened
        raise typer.Exit(1)


def startup_notes(settings: Settings) -> list[str]:
    """What the console says at start about the key: without it, writes are refused and
    the page's 類似 / 類似ではない buttons answer with an error unless anonymous
    judgements are on, which a user would otherwise learn only by pressing one."""
    notes = []
    if settings.api_key is None:
        notes.append("Writes are disabled: set KIZUKI_API_KEY to enable POST/DELETE /cases.")
    if settings.anonymous_feedback:
        notes.append(
            "Judgements: anonymous ones are on (KIZUKI_ANONYMOUS_FEEDBACK=true); the page's "
            "類似 / 類似ではない buttons work without the key."
        )
    elif settings.api_key is None:
        notes.append(
            "Judgements: the page's 類似 / 類似ではない buttons need the API key: set "
            "KIZUKI_API_KEY and enter it under 判定の設定 (Judgement settings), or set "
            "KIZUKI_ANONYMOUS_FEEDBACK=true."
        )
    else:
        notes.append(
            "Judgements: the page's 類似 / 類似ではない buttons need the API key: enter it "
            "under 判定の設定 (Judgement settings) on the search page."
        )
    return notes


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
