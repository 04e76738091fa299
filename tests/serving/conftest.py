"""A real riskdraw service on loopback, serving a champion of the tiny city, for the tests that
call it over HTTP, through BentoML's client and from a browser."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from benchmarks.service import free_port, stop, wait_ready
from tests.conftest import ROOT, run_cli, tiny_champion

PLAN_TOKEN = "planner-token-0123456789abcdef"
SCORE_TOKEN = "scorer-token-0123456789abcdef"
LIMITS = {"max_rows": 400, "max_upload_mb": 1, "max_ids": 300}
"""Low limits, so that the tests reach them with small requests."""


@dataclass(frozen=True)
class Served:
    url: str
    folder: Path
    params: str
    audit: Path
    scores: Path
    plans: Path
    secret: Path
    log: Path

    def headers(self, role: str = "plan") -> dict[str, str]:
        return {"Authorization": f"Bearer {PLAN_TOKEN if role == 'plan' else SCORE_TOKEN}"}

    def post(self, route: str, body: dict | None = None, role: str = "plan", **kwargs):
        return httpx.post(f"{self.url}/{route}", json=body if body is not None else {},
                          headers=self.headers(role), timeout=120, **kwargs)  # fmt: skip


@pytest.fixture(scope="session")
def served(tiny_profile, tiny_entities, tiny_city, tmp_path_factory):
    """`riskdraw serve` started as a user starts it (a process on 127.0.0.1), with a published
    plan beside it for `verify`; stopped at the end of the session."""
    tmp = tmp_path_factory.mktemp("served")
    params = tiny_champion(tiny_profile.path, tmp, "tiny-served")
    raw = yaml.safe_load(Path(params).read_text(encoding="utf-8"))
    raw["serve"] |= LIMITS
    Path(params).write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    audit = tmp / "audit.jsonl"
    entities = tiny_entities / "entities.parquet"
    run_cli("screen", "--profile", str(tiny_profile.path), "--entities", str(entities), "--out",
            str(tmp / "scores"), "--report", str(tmp / "screen.json"), "--audit", str(audit),
            "--params", params)  # fmt: skip
    run_cli("plan", "--scores", str(tmp / "scores"), "--events", str(tiny_entities / "events"),
            "--pool", str(tiny_city.raw / "inspectors" / "pool.csv"), "--domains",
            str(ROOT / "catalogue" / "domains.yaml"), "--profile", str(tiny_profile.path),
            "--secret", str(tmp / "secret.key"), "--out", str(tmp / "plans"), "--report",
            str(tmp / "plan.json"), "--plot", str(tmp / "plan.png"), "--audit", str(audit),
            "--params", params)  # fmt: skip
    port = free_port()
    env = os.environ | {
        "RISKDRAW_TOKENS": f"planner:plan:{PLAN_TOKEN}; scorer:score:{SCORE_TOKEN}",
        "BENTOML_HOME": str(tmp / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "true",
    }
    log = tmp / "service.log"
    command = [str(Path(sys.executable).with_name("riskdraw")), "serve", "--port", str(port),
               "--profile", str(tiny_profile.path), "--entities", str(entities), "--events",
               str(tiny_entities / "events"), "--scores", str(tmp / "scores" / "scores.parquet"),
               "--plans", str(tmp / "plans"), "--secret", str(tmp / "secret.key"), "--domains",
               str(ROOT / "catalogue" / "domains.yaml"), "--out", str(tmp / "service"),
               "--audit", str(audit), "--params", params]  # fmt: skip
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True, cwd=tmp)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_ready(url, process, log)
        except RuntimeError as error:
            pytest.fail(str(error))
        yield Served(url, tmp, params, audit, tmp / "scores", tmp / "plans", tmp / "secret.key",
                     log)  # fmt: skip
    finally:
        stop(process)
