"""The service over HTTP and through BentoML's client, as other systems and a supervisor call it:
the same scores as the library, every bad input refused by name, tokens and roles, the audit
log, no personal data."""

from __future__ import annotations

import io
import json
import time

import httpx
import numpy as np
import pandas as pd
import pytest

from riskdraw.training.registry import CHAMPION, alias_version, load_version
from riskdraw.training.scoring import score
from tests.conftest import MODEL_FACTORS as FACTORS
from tests.serving.conftest import LIMITS, SCORE_TOKEN

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def screening_rows(tiny_profile):
    frame = tiny_profile.frame
    return frame[frame["snapshot"] == "screening"].reset_index(drop=True)


@pytest.fixture(scope="module")
def model():
    return load_version("tiny-served", alias_version("tiny-served", CHAMPION))


def rows_of(frame: pd.DataFrame) -> list[dict]:
    """JSON rows of the factors (null for none on record)."""
    values = frame[FACTORS].astype(float)
    return [
        {k: (None if np.isnan(v) else v) for k, v in r.items()}
        for r in values.to_dict(orient="records")
    ]


def problems(answer) -> str:
    body = answer.json()
    return " ".join([body.get("error", ""), *body.get("problems", [])])


def test_health_needs_no_token_and_names_the_champion_and_its_data(served):
    answer = httpx.post(f"{served.url}/health", json={})
    assert answer.status_code == 200
    health = answer.json()
    assert health["model_name"] == "tiny-served"
    assert health["model_version"] == alias_version("tiny-served", CHAMPION)
    assert len(health["data_version"]) == 64 and health["development_token"] is False
    meta = served.post("metadata", role="score").json()
    assert [f["name"] for f in meta["factors"]] == FACTORS
    assert meta["cutoffs"] and meta["model_version"] == health["model_version"]
    counted = next(f for f in meta["factors"] if "count" in f["name"])
    assert counted["lowest"] == 0.0


def test_json_rows_are_scored_as_the_library_scores_them(served, screening_rows, model):
    rows = screening_rows.head(60)
    answer = served.post("score", {"rows": rows_of(rows), "reasons": 2}, role="score")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = score(model, rows, reasons=2)
    assert body["rows"] == 60 and body["model_version"] == alias_version("tiny-served", CHAMPION)
    got = pd.DataFrame(body["scores"])
    np.testing.assert_allclose(got["probability"], expected["probability"], rtol=1e-9)
    assert got["risk_class"].tolist() == expected["risk_class"].tolist()
    assert got["reasons"].tolist() == expected["reasons"].tolist()


@pytest.mark.parametrize(
    ("change", "status", "named"),
    [
        (lambda r: r.pop(FACTORS[1]), 422, f"'{FACTORS[1]}': missing"),
        (lambda r: r.update(favourite_colour=1.0), 422, "'favourite_colour': not a factor"),
        (lambda r: r.update({FACTORS[1]: -2.0}), 422, f"'{FACTORS[1]}': -2 is outside [0, inf]"),
        (lambda r: r.update({FACTORS[0]: "many"}), 400, FACTORS[0]),
    ],
    ids=["missing", "extra", "out-of-range", "mistyped"],
)
def test_a_bad_row_is_refused_naming_the_row_the_field_and_the_rule(
    served, screening_rows, change, status, named
):
    rows = rows_of(screening_rows.head(3))
    change(rows[1])
    answer = served.post("score", {"rows": rows}, role="score")
    assert answer.status_code == status, answer.text
    said = answer.text if status == 400 else problems(answer)
    assert named in said and ("row 1" in said if status == 422 else "rows" in said)


def test_null_means_none_on_record_as_in_the_profile(served, screening_rows, model):
    rows = screening_rows.head(5).copy()
    rows[FACTORS[3]] = np.nan  # a rating nobody gave
    answer = served.post("score", {"rows": rows_of(rows)}, role="score")
    assert answer.status_code == 200
    got = pd.DataFrame(answer.json()["scores"])["probability"]
    np.testing.assert_allclose(got, score(model, rows)["probability"], rtol=1e-9)


def test_files_csv_and_parquet_come_back_scored_in_their_own_format(served, screening_rows, model):
    rows = screening_rows.head(40)[["entity_id", *FACTORS]]
    expected = score(model, rows)
    for name, data, read in (
        ("rows.csv", rows.to_csv(index=False).encode(), lambda b: pd.read_csv(io.BytesIO(b))),
        ("rows.parquet", rows.to_parquet(index=False), lambda b: pd.read_parquet(io.BytesIO(b))),
    ):
        answer = httpx.post(
            f"{served.url}/score_file",
            files={"file": (name, data)},
            headers=served.headers("score"),
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        got = read(answer.content)
        assert got["entity_id"].tolist() == rows["entity_id"].tolist()
        np.testing.assert_allclose(got["probability"], expected["probability"], rtol=1e-9)
        assert set(got["model_version"].astype(str)) == {alias_version("tiny-served", CHAMPION)}


def test_a_file_that_is_not_a_table_or_lacks_a_factor_is_refused(served, screening_rows):
    short = screening_rows.head(3)[FACTORS[1:]].to_csv(index=False).encode()
    for data, named in (
        (b"\x00\x01garbage", f"'{FACTORS[0]}': missing"),
        (b"PAR1 not really parquet", "not a readable Parquet"),
        (short, f"'{FACTORS[0]}': missing"),
    ):
        answer = httpx.post(
            f"{served.url}/score_file",
            files={"file": ("x.csv", data)},
            headers=served.headers("score"),
            timeout=60,
        )
        assert answer.status_code == 422, answer.text
        assert named in problems(answer)


def test_limits_on_rows_ids_and_request_size_are_413(served, screening_rows):
    many = rows_of(screening_rows.head(1)) * (LIMITS["max_rows"] + 1)
    answer = served.post("score", {"rows": many}, role="score")
    assert answer.status_code == 413 and "serve.max_rows" in answer.json()["error"]
    ids = ["E1"] * (LIMITS["max_ids"] + 1)
    answer = served.post("score_enterprises", {"entity_ids": ids}, role="score")
    assert answer.status_code == 413 and "serve.max_ids" in answer.json()["error"]
    big = b"x" * (LIMITS["max_upload_mb"] * 2**20 + 1)
    answer = httpx.post(
        f"{served.url}/score_file",
        files={"file": ("big.csv", big)},
        headers=served.headers("score"),
        timeout=60,
    )
    assert answer.status_code == 413 and "serve.max_upload_mb" in answer.json()["error"]


def test_enterprises_by_id_are_scored_from_the_screening_profile(served, screening_rows, model):
    ids = screening_rows["entity_id"].sample(25, random_state=1).tolist()
    answer = served.post("score_enterprises", {"entity_ids": ids, "reasons": 3}, role="score")
    assert answer.status_code == 200
    body = answer.json()
    got = pd.DataFrame(body["scores"]).set_index("entity_id").loc[ids]
    expected = score(model, screening_rows.set_index("entity_id").loc[ids].reset_index())
    np.testing.assert_allclose(got["probability"], expected["probability"], rtol=1e-9)
    assert len(body["data_version"]) == 64
    unknown = served.post("score_enterprises", {"entity_ids": [ids[0], "E99999999"]}, role="score")
    assert unknown.status_code == 404 and "E99999999" in unknown.json()["error"]


def test_tokens_and_roles(served):
    url = served.url
    assert httpx.post(f"{url}/score", json={"rows": []}).status_code == 401
    wrong = httpx.post(f"{url}/metadata", json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    for route in ("screen/submit", "plan", "download"):
        answer = served.post(route, role="score")
        assert answer.status_code == 403 and "needs role plan" in answer.json()["error"]
    assert served.post("metadata", role="score").status_code == 200
    upload = httpx.post(f"{url}/score_file", files={"file": ("x.csv", b"a,b\n1,2\n")})
    assert upload.status_code == 401  # a file is not even read without a token


def test_one_click_screening_through_the_client_equals_the_screen_command(served):
    import bentoml

    report = json.loads((served.folder / "screen.json").read_text())
    with bentoml.SyncHTTPClient(
        served.url, token=served.headers()["Authorization"][7:], timeout=120
    ) as client:
        client._opened_files = []  # BentoML 1.4.40's client lacks it for task submission
        task = client.screen.submit()
        deadline = time.monotonic() + 120
        while task.get_status().value not in ("success", "completed", "failure", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        found = task.get()
        progress = client.screen_progress()
    assert {c: v["enterprises"] for c, v in found["by_class"].items()} == {
        c: v["enterprises"] for c, v in report["by_class"].items()
    }
    assert found["enterprises"] == report["enterprises"]
    assert found["expected_problems"] == pytest.approx(report["expected_problems"])
    assert progress["state"] == "done" and progress["done"] == progress["total"]
    cli_top = pd.read_parquet(served.scores / "scores.parquet").head(len(found["top"]))
    assert [t["entity_id"] for t in found["top"]] == cli_top["entity_id"].tolist()
    assert all(t["reasons"] for t in found["top"] if t["risk_class"] in ("C", "D"))
    download = served.post(
        "download", {"screening_id": found["screening_id"], "file": "scores.csv"}
    )
    assert download.status_code == 200
    assert len(pd.read_csv(io.BytesIO(download.content))) == found["enterprises"]
    for file in ("../../audit.jsonl", "scores.csv\x00", "/etc/passwd", "\u009d\u001f"):
        escape = served.post("download", {"screening_id": found["screening_id"], "file": file})
        assert escape.status_code in (400, 404), (file, escape.text)  # never a file outside


@pytest.fixture(scope="module")
def screened(served):
    """A screening through the plain HTTP task routes, as the page does it."""
    task = served.post("screen/submit").json()
    for _ in range(600):
        status = httpx.get(
            f"{served.url}/screen/status",
            params={"task_id": task["task_id"]},
            headers=served.headers(),
        ).json()["status"]
        if status not in ("in_progress", "pending"):
            break
        time.sleep(0.2)
    assert status == "completed"
    return httpx.get(
        f"{served.url}/screen/get", params={"task_id": task["task_id"]}, headers=served.headers()
    ).json()


def test_the_plan_draws_as_params_say_and_takes_overrides_within_their_ranges(served, screened):
    plan = json.loads((served.folder / "plan.json").read_text())
    answer = served.post("plan", {"screening_id": screened["screening_id"]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    report = body["report"]
    assert report["capacity"] == plan["capacity"] and report["drawn"] == plan["drawn"]
    assert report["expected_hit_rate"] == pytest.approx(plan["expected_hit_rate"])
    assert body["commitment"] == plan["draw"]["commitment"] and body["binding"] is False
    inclusion = served.post(
        "download", {"screening_id": screened["screening_id"], "file": body["downloads"][0]}
    )
    drawn = pd.read_csv(io.BytesIO(inclusion.content))
    published = pd.read_csv(served.plans / "inclusion.csv")
    assert drawn["status"].eq("drawn").sum() == published["status"].eq("drawn").sum()
    assert sorted(drawn.loc[drawn["status"] == "drawn", "entity_id"]) == sorted(
        published.loc[published["status"] == "drawn", "entity_id"]
    )
    fewer = served.post("plan", {"capacity": {"inspections": 20}, "policy": "ratios"}).json()
    assert fewer["report"]["capacity"] == 20 and fewer["report"]["policy"] == "ratios"
    for _ in range(2):  # two newer screenings: the first one's table is let go, not its plan
        task = served.post("screen/submit").json()["task_id"]
        while httpx.get(f"{served.url}/screen/status", params={"task_id": task},
                        headers=served.headers()).json()["status"] == "in_progress":  # fmt: skip
            time.sleep(0.2)
    again = served.post("plan", {"screening_id": screened["screening_id"]}).json()
    assert again["report"]["expected_hit_rate"] == pytest.approx(report["expected_hit_rate"])
    for wrong, named in (
        ({"capacity": {"share": 1.5}}, "field capacity.share: Input should be less than 1"),
        ({"floor": 0.9, "cap": 0.5}, "floor 0.9 is above cap 0.5"),
        ({"ratios": "no-such-preset", "policy": "ratios"}, "no-such-preset"),
    ):
        bad = served.post("plan", wrong)
        assert bad.status_code == 422 and named in problems(bad), bad.text


def test_a_published_draw_verifies_and_a_wrong_secret_does_not(served):
    secret = served.secret.read_text().strip()
    answer = served.post("verify", {"secret": secret}, role="score")
    assert answer.status_code == 200 and answer.json()["identical"] is True
    wrong = served.post("verify", {"secret": "0" * 64}, role="score").json()
    assert wrong["identical"] is False and any("commit" in p for p in wrong["problems"])
    assert served.post("verify", {"secret": "not hex"}, role="score").status_code == 400


def test_an_enterprises_file_holds_its_score_history_and_nothing_personal(
    served, screened, tiny_entities
):
    from riskdraw.inspection.disclosure import privacy_findings

    top = screened["top"][0]
    answer = served.post("enterprise", {"entity_id": top["entity_id"]}, role="score")
    assert answer.status_code == 200
    found = answer.json()
    assert found["score"]["probability"] == pytest.approx(top["probability"])
    assert found["score"]["risk_class"] == top["risk_class"]
    assert [f["factor"] for f in found["factors"]] and len(found["factors"]) == len(FACTORS)
    assert all(": " in r["text"] for r in found["on_record"])
    inspections = pd.read_parquet(tiny_entities / "events" / "inspection.parquet")
    assert found["inspections_total"] == int((inspections["entity_id"] == top["entity_id"]).sum())
    assert all(
        set(i) == {"date", "task", "result", "authority", "problem"} for i in found["inspections"]
    )  # never who inspected
    shown = pd.DataFrame(found["inspections"] + screened["top"]).astype(str)
    assert privacy_findings(shown) == []
    missing = served.post("enterprise", {"entity_id": "E99999999"}, role="score")
    assert missing.status_code == 404 and "E99999999" in missing.json()["error"]


def test_every_scoring_screening_and_plan_is_in_the_audit_log_by_caller(served, screened):
    from riskdraw.inspection import audit

    served.post(
        "score_enterprises", {"entity_ids": [screened["top"][0]["entity_id"]]}, role="score"
    )
    served.post("plan", {})
    entries = audit.read(served.audit)
    assert audit.verify(entries).ok
    service = [e for e in entries if e["action"].startswith("service.")]
    actions = {e["action"] for e in service}
    assert {"service.screen", "service.plan", "service.score_enterprises"} <= actions
    version = alias_version("tiny-served", CHAMPION)
    assert all(e["model_version"] == version for e in service)
    who = {e["action"]: e["who"] for e in service}
    assert who["service.score_enterprises"] == "scorer" and who["service.plan"] == "planner"
    assert who["service.screen"] == "planner"  # the task knows who submitted it


def test_the_openapi_document_describes_every_endpoint_with_examples(served):
    doc = httpx.get(f"{served.url}/docs.json").json()
    paths = doc["paths"]
    for route in (
        "/health",
        "/metadata",
        "/score",
        "/score_file",
        "/score_enterprises",
        "/screen/submit",
        "/screen_progress",
        "/plan",
        "/verify",
        "/enterprise",
        "/download",
    ):
        assert route in paths, route
    body = json.dumps(paths["/score"])
    assert FACTORS[0] in body  # the example row names the champion's factors
    for route in ("/score", "/score_enterprises", "/enterprise", "/plan", "/verify", "/download"):
        assert "examples" in json.dumps(paths[route]["post"]["requestBody"]), route
    for route in ("/score", "/plan", "/enterprise"):
        assert {"401", "403", "422"} <= set(paths[route]["post"]["responses"]), route


def test_production_refuses_the_development_token_and_no_tokens(tmp_path):
    from typer.testing import CliRunner

    from riskdraw.cli import app

    runner = CliRunner()
    for env, named in (
        ({"RISKDRAW_ENV": "production", "RISKDRAW_TOKENS": ""}, "unset"),
        (
            {
                "RISKDRAW_ENV": "production",
                "RISKDRAW_TOKENS": "dev:plan:riskdraw-development-token",
            },
            "development token is refused",
        ),
        ({"RISKDRAW_TOKENS": "a:admin:0123456789abcdef0"}, "role 'admin'"),
        ({"RISKDRAW_TOKENS": "a:plan:short"}, "shorter than 16"),
    ):
        result = runner.invoke(app, ["serve", "--check"], env=env)
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert named in " ".join(result.output.split()), result.output
    assert SCORE_TOKEN not in runner.invoke(app, ["serve", "--help"]).output


def test_bentomls_own_refusals_come_in_the_services_shape_never_as_a_500(served):
    typed = served.post("score", {"rows": [{FACTORS[0]: "many"}], "reasons": "x"}, role="score")
    assert typed.status_code == 400
    body = typed.json()
    assert body["problems"][0].startswith(
        f"field rows.0.{FACTORS[0]}: Input should be a valid number"
    )
    assert "field reasons: Input should be a valid integer" in body["detail"]
    broken = httpx.post(
        f"{served.url}/score_file",
        content=b"--b\r\n-1--b--\r\n",
        headers=served.headers("score") | {"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert broken.status_code == 400 and "multipart form cannot be read" in broken.json()["error"]
    bare = httpx.post(
        f"{served.url}/score_file",
        content=b"x",
        headers=served.headers("score") | {"Content-Type": "multipart/form-data"},
    )
    assert bare.status_code == 400 and "without a boundary" in bare.json()["error"]
