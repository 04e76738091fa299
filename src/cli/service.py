"""`riskdraw serve`: the BentoML service in serving/, with its configuration checked first."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Annotated

import typer

from ._common import PARAMS, app, console, fail, load

PANEL = "5. the round"
SERVING = Path(__file__).resolve().parents[2] / "serving"
"""The service's folder (beside src/ in the repository)."""


@app.command(rich_help_panel=PANEL)
def serve(
    host: Annotated[str, typer.Option(help="the address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="the port")] = 3000,
    profile: Annotated[Path, typer.Option(help="the profile (its screening snapshot)")] = Path(
        "data/features/profile.parquet"
    ),
    entities: Annotated[Path, typer.Option(help="resolve's entities")] = Path(
        "data/entities/entities.parquet"
    ),
    events: Annotated[Path, typer.Option(help="resolve's events")] = Path("data/entities/events"),
    scores: Annotated[Path, typer.Option(help="the scores the published plan was drawn from")] = (
        Path("data/scores/scores.parquet")
    ),
    plans: Annotated[Path, typer.Option(help="the published plan (`verify` re-runs it)")] = Path(
        "data/plans"
    ),
    secret: Annotated[Path, typer.Option(help="the draw's secret (`riskdraw commit`)")] = Path(
        "data/secrets/draw.key"
    ),
    domains: Annotated[Path, typer.Option(help="the supervision domains catalogue")] = Path(
        "catalogue/domains.yaml"
    ),
    out: Annotated[Path, typer.Option(help="folder for the service's screenings and plans")] = (
        Path("data/service")
    ),
    audit: Annotated[Path, typer.Option(help="the audit log")] = Path("data/audit/log.jsonl"),
    params: Annotated[Path, PARAMS] = Path("params.yaml"),
    check: Annotated[bool, typer.Option(help="check the configuration and exit")] = False,
) -> None:
    """Serve the champion over HTTP (BentoML): batch scoring, one-click screening, plans, an
    enterprise's file, and the page at http://HOST:PORT/ui/.

    Checks before it starts: the tokens (`RISKDRAW_TOKENS`, `name:role:token` entries separated
    by `;`, roles `score` and `plan`; without it the documented development token
    `riskdraw-development-token` is used, with a warning, and refused when
    `RISKDRAW_ENV=production`), params.yaml `serve`, `screen`, `plan` and `train`, the
    champion (`models:/<train.model_name>@champion`) and the profile's screening snapshot.
    Every endpoint but /health needs `Authorization: Bearer <token>`. The OpenAPI document is
    at /docs.json, its Swagger page at /. Scoring, screening and plan requests are appended to
    AUDIT with the caller's name. Stop with Ctrl-C.
    """
    from riskdraw.access import tokens_from_env
    from riskdraw.features.profile import screening_rows
    from riskdraw.training.registry import CHAMPION, alias_version, load_version

    tokens = tokens_from_env()
    limits = load("serve", params)
    for section in ("screen", "plan"):
        load(section, params)
    name = load("train", params).model_name
    version = alias_version(name, CHAMPION)
    if version is None:
        raise fail(
            f"serve: the registry has no champion of {name}: run `make run` (or "
            "`riskdraw evaluate`) first"
        )
    model = load_version(name, version)
    snapshot = screening_rows(profile, "serve", model.factors)
    if snapshot.empty:
        raise fail(f"serve: {profile} holds no screening snapshot", 3)
    for path, made_by in ((entities, "resolve"), (domains, "the repository")):
        if not path.exists():
            raise fail(f"serve: {path} not found (made by {made_by})")
    example = snapshot[model.factors].head(1).astype(float)
    config = {
        "params": str(params.resolve()),
        "paths": {
            k: str(Path(v).resolve())
            for k, v in {
                "profile": profile,
                "entities": entities,
                "events": events,
                "scores": scores,
                "plans": plans,
                "secret": secret,
                "domains": domains,
                "out": out,
                "audit": audit,
            }.items()
        },
        "example": {k: (None if v != v else v) for k, v in example.iloc[0].to_dict().items()},
        "max_bytes": int(limits.max_upload_mb * 2**20),
    }
    if tokens.development:
        console.print(
            "[yellow]RISKDRAW_TOKENS is unset: serving on the development token "
            "`riskdraw-development-token` (role plan). Never in production: set "
            "RISKDRAW_TOKENS and RISKDRAW_ENV=production.[/yellow]"
        )
    console.print(
        f"serving {name} version {version} for {len(snapshot):,} enterprises at "
        f"http://{host}:{port}/ui/ (API docs at http://{host}:{port}/)"
    )
    if check:
        return
    bentoml = shutil.which("bentoml") or str(Path(os.sys.executable).with_name("bentoml"))
    env = os.environ | {"RISKDRAW_SERVICE": json.dumps(config), "BENTOML_DO_NOT_TRACK": "true"}
    os.execve(
        bentoml,
        [
            bentoml,
            "serve",
            "service:Riskdraw",
            "--host",
            host,
            "--port",
            str(port),
            "--working-dir",
            str(SERVING),
        ],
        env,
    )
