"""riskdraw's BentoML service: batch scoring, one-click screening, plans, an enterprise's file,
and the page a supervisor uses (`/ui/`).

A thin adapter: it loads `models:/<train.model_name>@champion` at start-up (resolved to its
version, which every answer reports with the profile's data version), checks its input, calls
the library (`training.scoring`, `inspection.screening`, `inspection.planning`,
`inspection.publication`, `inspection.enterprise`) and returns. Every number it uses comes from
params.yaml (`serve`, `screen`, `plan`, `train`); it fills in no missing factor and has no
threshold of its own.

Started by `riskdraw serve` (which checks the configuration and passes the paths in the
environment variable `RISKDRAW_SERVICE`); `make serve` runs that. Every endpoint but `/health`
needs `Authorization: Bearer <token>` (`riskdraw.access`); scoring, screening and plan requests
are appended to the audit log, each with the caller's name and the model version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

import bentoml
import plotly
from answers import (  # serving/ is the service's working directory
    Capacity,
    Health,
    PlanAnswer,
    Progress,
    Row,
    ScoreAnswer,
    Scored,
    Screening,
    Verified,
)
from bentoml.validators import ContentType
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from gate import Gate, refuse
from pydantic import Field, ValidationError
from starlette.responses import JSONResponse

from riskdraw.access import DEV_TOKEN, ROLES, tokens_from_env
from riskdraw.domain.risk import RISK_CLASSES
from riskdraw.outputs import signature

CONFIG_ENV = "RISKDRAW_SERVICE"
"""The environment variable `riskdraw serve` passes the service's paths and params in."""
HERE = Path(__file__).resolve().parent
KEPT_SCREENINGS = 2
"""Screenings whose scores stay in memory for plans (older ones are read back from their
files): each holds a table of every open enterprise with its reasons."""
log = logging.getLogger("riskdraw.service")

# ---- the configuration `riskdraw serve` passes ------------------------------------------------


_STARTED = json.loads(os.environ.get(CONFIG_ENV) or "{}")
EXAMPLE_ROW: dict[str, float | None] = _STARTED.get("example", {})
"""One enterprise's factors from the screening profile, shown as the docs' example."""

# ---- the page ---------------------------------------------------------------------------------

page = FastAPI(title="riskdraw page")
page.mount("/static", StaticFiles(directory=str(HERE / "page")), name="static")
page.mount(
    "/vendor",
    StaticFiles(directory=str(Path(plotly.__file__).parent / "package_data")),
    name="vendor",
)  # plotly.min.js, from the plotly package: no network needed


@page.get("/", response_class=HTMLResponse, include_in_schema=False)
def _index() -> str:
    """The page; on the development token, with that (documented) token filled in."""
    html = (HERE / "page" / "index.html").read_text(encoding="utf-8")
    return html.replace("__DEV_TOKEN__", DEV_TOKEN if _TOKENS.development else "")


# ---- the service ------------------------------------------------------------------------------


@bentoml.asgi_app(page, path="/ui")
@bentoml.service(name="riskdraw", workers=1, threads=4, traffic={"timeout": 3600})
class Riskdraw:
    """The champion, the screening profile, and the round's inputs, loaded once."""

    def __init__(self) -> None:
        from riskdraw.config import load_section
        from riskdraw.features.profile import attribute_bounds, screening_rows
        from riskdraw.inspection.audit import Appender
        from riskdraw.tracking import file_digest
        from riskdraw.training.registry import CHAMPION, alias_version, load_version

        if not _STARTED:
            raise RuntimeError(f"{CONFIG_ENV} is not set: start the service with `riskdraw serve`")
        config = _STARTED
        self.paths = {k: Path(v) for k, v in config["paths"].items()}
        params = Path(config["params"])
        self.limits = load_section("serve", params)
        self.screen_settings = load_section("screen", params)
        self.plan_settings = load_section("plan", params)
        self.model_name = load_section("train", params).model_name
        self.model_version = alias_version(self.model_name, CHAMPION)
        if self.model_version is None:
            raise RuntimeError(f"the registry has no champion of {self.model_name}")
        self.model = load_version(self.model_name, self.model_version)
        self.bounds = attribute_bounds(self.model.factors)
        profile = self.paths["profile"]
        self.data_version = file_digest(profile)
        self.snapshot = screening_rows(profile, "serve", self.model.factors)
        self.by_id = self.snapshot.set_index("entity_id", drop=False)
        self.registry = _registry(self.paths["entities"])
        self.audit = Appender(self.paths["audit"])
        self.development = _TOKENS.development
        self._lock = threading.Lock()
        self._progress = Progress(state="idle", stage="", done=0, total=0)
        self._screenings: dict[str, dict] = {}
        log.info(
            "serving %s version %s on data %s (%d enterprises)",
            self.model_name,
            self.model_version,
            self.data_version[:12],
            len(self.snapshot),
        )

    # -- health and metadata --

    @bentoml.api(route="/health")
    def health(self) -> Health:
        """Whether the service is up, and the model and data it serves (no token needed)."""
        return Health(
            status="ok",
            model_name=self.model_name,
            model_version=self.model_version,
            data_version=self.data_version,
            development_token=self.development,
        )

    @bentoml.api(route="/metadata")
    def metadata(self) -> dict[str, Any]:
        """The model version and its data version, its factors (words and valid ranges), its
        class cut-offs, the screening date, the limits on requests, the plan's settings."""
        described = self.model.describe()
        for f in described["factors"]:
            low, high = self.bounds.get(f["name"], (None, None))
            f["lowest"], f["highest"] = low, (None if high == float("inf") else high)
        return {
            "model_name": self.model_name,
            "model_version": self.model_version,
            "data_version": self.data_version,
            "screening_date": _day(self.snapshot),
            "enterprises": len(self.snapshot),
            **described,
            "classes": list(RISK_CLASSES),
            "limits": self.limits.model_dump(),
            "plan": self.plan_settings.model_dump(mode="json"),
            "roles": list(ROLES),
        }

    # -- batch scoring --

    @bentoml.api(route="/score")
    def score(
        self,
        ctx: bentoml.Context,
        rows: Annotated[list[Row], Field(examples=[[EXAMPLE_ROW]])],
        reasons: Annotated[int, Field(ge=0, le=12)] = 0,
    ) -> ScoreAnswer:
        """Score rows of the model's factors (JSON). Every factor must be present in every row
        (null: none on record); no other field; values within each factor's range."""
        from riskdraw.training.scoring import check_records

        if len(rows) > self.limits.max_rows:
            return refuse(
                ctx,
                413,
                f"{len(rows):,} rows; the limit is {self.limits.max_rows:,} (serve.max_rows)",
            )
        digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
        return self._scored(
            ctx,
            "service.score",
            lambda: check_records(self.model, rows, self.bounds),
            reasons,
            digest,
        )

    @bentoml.api(route="/score_file")
    def score_file(
        self,
        ctx: bentoml.Context,
        file: Annotated[Path, Field(description="CSV (UTF-8, a header row) or Parquet")],
        reasons: Annotated[int, Field(ge=0, le=12)] = 0,
    ) -> Annotated[Path, ContentType("application/octet-stream")]:
        """Score a CSV or Parquet file of the model's factors (an `entity_id` column is passed
        through); the answer is the same format, with probability, rank_score, risk_class and,
        with `reasons`, the reasons joined by "; "."""
        import pandas as pd

        from riskdraw.tracking import file_digest
        from riskdraw.training.scoring import check_rows

        parquet = file.read_bytes()[:4] == b"PAR1"
        try:
            rows = (
                pd.read_parquet(file)
                if parquet
                else pd.read_csv(file, dtype=str, keep_default_na=False)
            )
        except Exception as error:  # a file that is neither: the reader's own words
            return refuse(
                ctx,
                422,
                f"file: not a readable {'Parquet' if parquet else 'CSV'} file "
                f"({type(error).__name__}: {str(error)[:200]})",
            )
        if len(rows) > self.limits.max_rows:
            return refuse(
                ctx,
                413,
                f"file: {len(rows):,} rows; the limit is {self.limits.max_rows:,} (serve.max_rows)",
            )
        answer = self._score_frame(
            ctx,
            "service.score_file",
            lambda: check_rows(self.model, rows, self.bounds, ("entity_id",)),
            reasons,
            file_digest(file),
        )
        if isinstance(answer, JSONResponse):
            return answer
        out = file.with_name(f"scored-{uuid.uuid4().hex[:8]}.{'parquet' if parquet else 'csv'}")
        scored = answer.assign(model_name=self.model_name, model_version=self.model_version)
        for column in ("reasons", "reasons_zh"):
            if column in scored:
                scored[column] = scored[column].map("; ".join)
        if parquet:
            scored.to_parquet(out, index=False)
        else:
            scored.to_csv(out, index=False)
        return out

    @bentoml.api(route="/score_enterprises")
    def score_enterprises(
        self,
        ctx: bentoml.Context,
        entity_ids: Annotated[list[str], Field(min_length=1, examples=[["E00000001"]])],
        reasons: Annotated[int, Field(ge=0, le=12)] = 3,
    ) -> ScoreAnswer:
        """Score enterprises by id, from the current screening profile."""
        from riskdraw.training.scoring import check_rows

        if len(entity_ids) > self.limits.max_ids:
            return refuse(
                ctx,
                413,
                f"{len(entity_ids):,} ids; the limit is {self.limits.max_ids:,} (serve.max_ids)",
            )
        unknown = [i for i in dict.fromkeys(entity_ids) if i not in self.by_id.index]
        if unknown:
            return refuse(
                ctx,
                404,
                f"{len(unknown)} enterprise ids are not in the screening "
                f"profile (not open at {_day(self.snapshot)}, or not an entity id): "
                f"{unknown[:10]}",
            )
        rows = self.by_id.loc[entity_ids, ["entity_id", *self.model.factors]]
        answer = self._scored(
            ctx,
            "service.score_enterprises",
            lambda: check_rows(self.model, rows, self.bounds, ("entity_id",)),
            reasons,
            hashlib.sha256("\n".join(entity_ids).encode()).hexdigest(),
        )
        if isinstance(answer, ScoreAnswer):
            answer.data_version = self.data_version
        return answer

    def _score_frame(self, ctx, action: str, check, reasons: int, digest: str):
        """The scores of the rows `check()` gives checked, as a frame (or the refusal of what
        it found), audited."""
        from riskdraw.training.scoring import RowError
        from riskdraw.training.scoring import score as run_score

        try:
            checked = check()
        except RowError as error:
            return refuse(ctx, 422, str(error).split(": ", 1)[0], error.problems)
        scored = run_score(self.model, checked, reasons)
        keep = [c for c in checked.columns if c not in self.model.factors]
        out = checked[keep].join(scored.drop(columns=[c for c in scored if c in keep]))
        self.audit.append(
            action,
            actor=_caller(ctx),
            model_name=self.model_name,
            model_version=self.model_version,
            inputs={"rows": digest},
            rows=len(out),
        )
        return out.drop(columns=["reason_factors", "reason_contributions"], errors="ignore")

    def _scored(self, ctx, action: str, check, reasons: int, digest: str):
        found = self._score_frame(ctx, action, check, reasons, digest)
        if isinstance(found, JSONResponse):
            return found
        columns = ["probability", "rank_score", "risk_class"]
        columns += [c for c in ("entity_id", "reasons", "reasons_zh") if c in found]
        records = found[columns].to_dict(orient="records")
        return ScoreAnswer(
            model_name=self.model_name,
            model_version=self.model_version,
            rows=len(records),
            scores=[Scored(**r) for r in records],
        )

    # -- one enterprise --

    @bentoml.api(route="/enterprise")
    def enterprise(
        self,
        ctx: bentoml.Context,
        entity_id: Annotated[str, Field(min_length=1, examples=["E00000001"])],
    ) -> dict[str, Any]:
        """One enterprise's file: who it is, what the profile holds about it in plain words,
        its score, class and reasons (every factor's contribution), its latest inspections."""
        import pandas as pd

        from riskdraw.features.profile import screening_rows
        from riskdraw.inspection.enterprise import enterprise_file

        if entity_id not in self.by_id.index:
            return refuse(
                ctx,
                404,
                f"entity_id {entity_id!r} is not in the screening profile (not "
                f"open at {_day(self.snapshot)}, or not an entity id)",
            )
        row = screening_rows(self.paths["profile"], "serve", ids=[entity_id])
        path = self.paths["events"] / "inspection.parquet"
        inspections = (
            pd.read_parquet(path, filters=[("entity_id", "=", entity_id)])
            if path.exists()
            else None
        )
        found = self.registry[self.registry["entity_id"] == entity_id]
        record = found.iloc[0].to_dict() if len(found) else {"entity_id": entity_id}
        found = enterprise_file(
            self.model, row, record, inspections, self.screen_settings.reasons, self.limits.history
        )
        return {
            "model_name": self.model_name,
            "model_version": self.model_version,
            "data_version": self.data_version,
            **found,
        }

    # -- one-click screening --

    @bentoml.task(route="/screen")
    def screen(self, ctx: bentoml.Context) -> Screening:
        """Screen the whole city with the champion (a task: submit, then status and get; the
        progress at `screen_progress`): class counts, the riskiest enterprises with their
        reasons, and the full result to download."""
        from riskdraw.inspection.screening import screen as run_screen
        from riskdraw.inspection.screening import summary

        caller = _caller(ctx)
        if not self._lock.acquire(blocking=False):
            return refuse(ctx, 409, "a screening is running: wait for it (screen_progress)")
        started = time.perf_counter()
        screening_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        try:
            self._progress = Progress(
                state="running",
                stage="scoring",
                done=0,
                total=len(self.snapshot),
                screening_id=screening_id,
            )

            def step(done: int, total: int) -> None:
                self._progress = self._progress.model_copy(update={"done": done})

            scores = run_screen(
                self.model,
                self.snapshot,
                self.registry,
                self.screen_settings.reasons,
                tuple(self.screen_settings.explained_classes),
                self.limits.screen_part_rows,
                step,
            )
            self._progress = self._progress.model_copy(update={"stage": "writing"})
            scores = scores.assign(model_version=self.model_version, data_version=self.data_version)
            folder = self._write_screening(screening_id, scores)
            found = summary(scores)
            entry = self.audit.append(
                "service.screen",
                actor=caller,
                model_name=self.model_name,
                model_version=self.model_version,
                data_version=self.data_version,
                outputs={"scores": signature(folder / "scores.parquet")},
                enterprises=len(scores),
            )
            self._screenings[screening_id] = {
                "scores": scores,
                "folder": folder,
                "audit": entry["hash"],
                "downloads": {"scores.csv", "scores.parquet"},
            }
            for older in list(self._screenings)[:-KEPT_SCREENINGS]:
                self._screenings[older].pop("scores", None)  # memory: a city's table each
            answer = Screening(
                screening_id=screening_id,
                model_name=self.model_name,
                model_version=self.model_version,
                data_version=self.data_version,
                screening_date=_day(scores),
                enterprises=found["enterprises"],
                expected_problems=found["expected_problems"],
                expected_hit_rate_random=found["expected_hit_rate_random"],
                by_class=found["by_class"],
                top=_top(scores, self.limits.top),
                downloads=sorted(self._screenings[screening_id]["downloads"]),
                seconds=round(time.perf_counter() - started, 2),
            )
            self._progress = self._progress.model_copy(update={"state": "done", "stage": "done"})
            return answer
        except Exception as error:
            self._progress = self._progress.model_copy(
                update={"state": "failed", "error": str(error)[:300]}
            )
            raise
        finally:
            self._lock.release()

    def _write_screening(self, screening_id: str, scores):
        from riskdraw.inspection.screening import write_scores
        from riskdraw.outputs import staged_folder, write_completion

        folder = self.paths["out"] / "screenings" / screening_id
        inputs = {"profile": self.paths["profile"], "entities": self.paths["entities"]}
        with staged_folder(folder, inputs) as work:
            write_scores(scores, work)
            write_completion(
                work,
                "screen",
                inputs,
                {
                    "model_name": self.model_name,
                    "model_version": self.model_version,
                    "data_version": self.data_version,
                    **self.screen_settings.model_dump(mode="json"),
                    "cutoffs": dict(self.model.cutoffs),
                },
                {"enterprises": len(scores)},
            )
        return folder

    @bentoml.api(route="/screen_progress")
    def screen_progress(self) -> Progress:
        """How far the running (or the last) screening has come."""
        return self._progress

    # -- the plan --

    @bentoml.api(route="/plan")
    def plan(
        self,
        ctx: bentoml.Context,
        screening_id: Annotated[str | None, Field(description="default: the latest")] = None,
        capacity: Annotated[Capacity | None, Field(examples=[{"share": 0.05}])] = None,
        policy: Literal["ratios", "optimal"] | None = None,
        ratios: str | dict[str, float] | None = None,
        floor: float | None = None,
        cap: float | None = None,
    ) -> PlanAnswer:
        """Draw a plan from a screening (params' `plan` section; capacity, policy, ratios, floor
        and cap overridable within their validated ranges): the inclusion probability of every
        open enterprise, the draw by the committed secret and the public value, the expected
        hit rate per class and the frontier. A proposal: `riskdraw plan` draws the round's plan
        with its inspectors and checklists."""
        from riskdraw.config import PlanParams
        from riskdraw.errors import UserError
        from riskdraw.inspection.draw import commitment, derive_seed
        from riskdraw.inspection.planning import PLAN_COLUMNS, make_plan, recent

        if not self._screenings:
            return refuse(ctx, 409, "no screening yet: run `screen` first")
        screening_id = screening_id or next(reversed(self._screenings))
        if screening_id not in self._screenings:
            return refuse(
                ctx,
                404,
                f"screening_id {screening_id!r}: no such screening; "
                f"screenings: {list(self._screenings)}",
            )
        given = {
            "capacity": capacity.model_dump(exclude_none=True) if capacity else None,
            "policy": policy,
            "ratios": ratios,
            "floor": floor,
            "cap": cap,
        }
        try:
            settings = PlanParams.model_validate(
                self.plan_settings.model_dump() | {k: v for k, v in given.items() if v is not None}
            )
        except ValidationError as error:
            return refuse(
                ctx,
                422,
                "the plan's settings are out of their ranges",
                [f"field {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()],
            )
        secret = self.paths["secret"]
        if not secret.is_file():
            return refuse(
                ctx,
                409,
                f"no draw secret in {secret.name}: run `riskdraw commit` and "
                "publish its commitment first",
            )
        value = secret.read_text(encoding="utf-8").strip()
        held = self._screenings[screening_id]
        scores = held.get("scores")
        if scores is None:  # an older screening: its table was let go, its file was not
            import pandas as pd

            scores = pd.read_parquet(held["folder"] / "scores.parquet")
        frame = scores[list(PLAN_COLUMNS)]
        day = scores["as_of_date"].iloc[0]
        events = self.paths["events"]
        outside = {
            k: recent(events, k, day, d, "known_on") for k, d in settings.outside_draw.items()
        }
        cooled = recent(events, "inspection", day, settings.cool_off_days, "occurred_on")
        try:
            drawn = make_plan(
                frame, settings, derive_seed(value, settings.public_value), outside, cooled
            )
        except UserError as error:
            return refuse(ctx, 422, str(error))
        plan_id = f"plan-{uuid.uuid4().hex[:6]}"
        folder = held["folder"] / plan_id
        folder.mkdir(parents=True)
        drawn.inclusion.to_csv(folder / "inclusion.csv", index=False)
        shown = [c for c in ("entity_id", "name", "district_code", "reasons") if c in scores]
        visits = drawn.visits.merge(scores[shown], on="entity_id", how="left")
        visits.assign(reasons=visits["reasons"].map("; ".join)).to_csv(
            folder / "visits.csv", index=False
        )
        files = [f"{plan_id}/inclusion.csv", f"{plan_id}/visits.csv"]
        held["downloads"].update(files)
        committed = commitment(value)
        self.audit.append(
            "service.plan",
            actor=_caller(ctx),
            model_name=self.model_name,
            model_version=self.model_version,
            data_version=self.data_version,
            screening=screening_id,
            commitment=committed,
            public_value=settings.public_value,
            visits=len(visits),
            outputs={"inclusion": signature(folder / "inclusion.csv")},
        )
        return PlanAnswer(
            screening_id=screening_id,
            plan_id=plan_id,
            model_version=self.model_version,
            data_version=self.data_version,
            commitment=committed,
            public_value=settings.public_value,
            report=_json(drawn.report),
            visits=_json(visits.head(self.limits.top).to_dict(orient="records")),
            downloads=files,
            binding=False,
        )

    @bentoml.api(route="/verify")
    def verify(
        self,
        ctx: bentoml.Context,
        secret: Annotated[
            str,
            Field(
                pattern="^[0-9a-f]{64}$",
                description="the revealed secret (64 lower-case hex characters)",
                examples=["5f0c" * 16],
            ),
        ],
        public_value: Annotated[
            str | None, Field(description="default: the one the plan records")
        ] = None,
    ) -> Verified:
        """Re-run the published draw (`riskdraw plan`'s folder) from its inputs and the revealed
        secret: identical byte for byte, or each difference named."""
        from riskdraw.errors import UserError
        from riskdraw.inspection.publication import verify_plan

        try:
            problems = verify_plan(
                self.paths["plans"],
                self.paths["scores"],
                secret,
                public_value,
                None,
                self.paths["domains"],
            )
        except UserError as error:
            return refuse(ctx, 422, str(error))
        return Verified(
            plan=str(self.paths["plans"].name), identical=not problems, problems=problems
        )

    @bentoml.api(route="/download")
    def download(
        self,
        ctx: bentoml.Context,
        screening_id: str,
        file: Annotated[
            str,
            Field(
                examples=["scores.csv"], description="one of the screening's or plan's `downloads`"
            ),
        ],
    ) -> Annotated[Path, ContentType("application/octet-stream")]:
        """A screening's or a plan's file."""
        held = self._screenings.get(screening_id)
        if held is None:
            return refuse(ctx, 404, f"screening_id {screening_id!r}: no such screening")
        if file not in held["downloads"]:
            return refuse(
                ctx,
                404,
                f"file {file!r}: not one of screening {screening_id}'s files "
                f"({', '.join(sorted(held['downloads']))})",
            )
        return held["folder"] / file


_TOKENS = tokens_from_env()
Riskdraw.add_asgi_middleware(
    Gate, tokens=_TOKENS, max_bytes=int(_STARTED.get("max_bytes", 256 * 2**20))
)


def _caller(ctx) -> str:
    state = getattr(ctx.request, "state", None)
    caller = getattr(state, "caller", None)
    return caller.name if caller is not None else "unknown"


def _registry(path: Path):
    """The registry columns screening carries, one row per enterprise."""
    import pandas as pd
    import pyarrow.parquet as pq

    from riskdraw.inspection.screening import ENTITY_COLUMNS

    held = set(pq.ParquetDataset(path).schema.names)
    frame = pd.read_parquet(path, columns=[c for c in ("entity_id", *ENTITY_COLUMNS) if c in held])
    return frame


def _day(frame) -> str:
    import pandas as pd

    return str(pd.Timestamp(frame["as_of_date"].iloc[0]).date()) if len(frame) else ""


def _top(scores, n: int) -> list[dict]:
    keep = [
        "entity_id",
        "name",
        "district_code",
        "industry_code",
        "probability",
        "risk_class",
        "reasons",
        "reasons_zh",
    ]
    return _json(scores[[c for c in keep if c in scores]].head(n).to_dict(orient="records"))


def _json(value):
    """JSON values of numpy and pandas ones (numbers, dates, arrays, missing)."""
    return json.loads(json.dumps(value, default=_plain))


def _plain(value):
    import numpy as np
    import pandas as pd

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    return str(value)
