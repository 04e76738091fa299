"""The service's door: who may call what, how big a request may be, and BentoML's answers in
the service's own shape.

`Gate` is ASGI middleware around the whole service: the bearer token and its role on every
endpoint but the open ones (`riskdraw.access`), the request size limit, a multipart body parsed
once (BentoML 1.4.40 answers a form it cannot read with a 500), BentoML's own refusals given
the service's shape, and the OpenAPI document corrected where BentoML documents its own answers
unlike what it sends.
"""

from __future__ import annotations

import json

import bentoml
from starlette.responses import JSONResponse

ROUTE_ROLES = {
    "score": "score",
    "score_file": "score",
    "score_enterprises": "score",
    "enterprise": "score",
    "metadata": "score",
    "verify": "score",
    "screen_progress": "plan",
    "screen": "plan",
    "plan": "plan",
    "download": "plan",
}
"""The first segment of each endpoint's path -> the role it needs (the screen task's
submit/status/get routes fall under `screen`). Anything else (health, BentoML's own routes, the
docs, the page's static files) is open: the page's own calls carry the token."""


class Gate:
    """ASGI middleware: the bearer token and its role on every endpoint but the open ones, and
    the request size limit (`serve.max_upload_mb`) on every request."""

    def __init__(self, app, tokens, max_bytes: int) -> None:
        self.app, self.tokens, self.max_bytes = app, tokens, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await refusal(
                413,
                f"the request is {int(length):,} bytes; the limit is "
                f"{self.max_bytes:,} (serve.max_upload_mb)",
            )(scope, receive, send)
        kind = headers.get(b"content-type", b"").lower()
        if kind.startswith(b"multipart/form-data") and b"boundary=" not in kind:
            return await refusal(
                400,
                "Content-Type: multipart/form-data without a boundary: "
                "send the file as a multipart form (curl -F file=@rows.csv)",
            )(scope, receive, send)
        role = ROUTE_ROLES.get(scope["path"].strip("/").split("/")[0])
        if role is not None:
            caller = self.tokens.caller(headers.get(b"authorization", b"").decode("latin-1"))
            if caller is None:
                answer = refusal(401, "a bearer token is needed: Authorization: Bearer <token>")
                answer.headers["WWW-Authenticate"] = "Bearer"
                return await answer(scope, receive, send)
            if not caller.may(role):
                return await refusal(
                    403, f"{caller.name} has role {caller.role}; {scope['path']} needs role {role}"
                )(scope, receive, send)
            scope.setdefault("state", {})["caller"] = caller
        if kind.startswith(b"multipart/form-data"):  # read only for a caller it knows
            body, problem = await _form_body(scope, receive, self.max_bytes)
            if problem:
                return await refusal(*problem)(scope, receive, send)
            receive = _replay(body, receive)
        if scope["path"] == "/docs.json":
            return await self.app(scope, receive, _rewritten(send, _documented, {200}))
        refusals = set(range(400, 500))
        return await self.app(
            scope, _limited(receive, self.max_bytes), _rewritten(send, _plain_error, refusals)
        )


def _rewritten(send, rewrite, statuses: set[int]):
    """`send` that holds a JSON response of one of `statuses` whole and passes it through
    `rewrite(status, body)` (which returns the body to send, or None to send it as it is);
    any other response streams through untouched."""
    held: dict = {}

    async def rewriting(message):
        if message["type"] == "http.response.start":
            kind = dict(message.get("headers", [])).get(b"content-type", b"")
            if message["status"] in statuses and kind.startswith(b"application/json"):
                held["start"], held["body"] = message, b""
                return None
            return await send(message)
        if message["type"] == "http.response.body" and "start" in held:
            held["body"] += message.get("body", b"")
            if message.get("more_body"):
                return None
            start = held.pop("start")
            body = rewrite(start["status"], held["body"]) or held["body"]
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            return await send({"type": "http.response.body", "body": body})
        return await send(message)

    return rewriting


def _plain_error(status: int, body: bytes) -> bytes | None:
    """BentoML's own refusals in the service's shape: `{"error", "detail", "problems"}`, the
    detail in words (a validation error's every field and rule), never a list at the top (its
    4xx bodies come as `[{"error": ...}]`)."""
    if status < 400 or status >= 500:
        return None
    try:
        found = json.loads(body)
    except ValueError:
        return None
    if isinstance(found, list) and found and isinstance(found[0], dict):
        found = found[0]
    if not isinstance(found, dict):
        return None
    detail = found.get("detail")
    if isinstance(detail, list):
        problems = [
            f"field {'.'.join(str(p) for p in d.get('loc', [])) or '(body)'}: {d.get('msg')}"
            for d in detail
            if isinstance(d, dict)
        ]
        found = {
            "error": found.get("error", "bad request"),
            "detail": "; ".join(problems),
            "problems": problems,
        }
    found.setdefault("problems", [])
    return json.dumps(found, ensure_ascii=False).encode()


REFUSALS = {
    "401": "no token, or not one the service knows",
    "403": "the token's role does not cover this endpoint",
    "409": "not now: a screening is running, none has run yet, or no draw secret",
    "413": "over a limit: rows, ids or request size (params serve)",
    "422": "input the rules refuse: each problem names the row, field and rule",
}
TASK_STATES = [
    "pending",
    "in_progress",
    "completed",
    "failed",
    "canceled",
    "success",
    "failure",
    "cancelled",
]


def _documented(status: int, body: bytes) -> bytes | None:
    """The OpenAPI document as the service answers: BentoML 1.4.40 documents its 400 bodies'
    `detail` and its task routes' answers unlike what they send, and none of the refusals."""
    if status != 200:
        return None
    doc = json.loads(body)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Refusal"] = {
        "type": "object",
        "required": ["error"],
        "title": "Refusal",
        "properties": {
            "error": {"type": "string"},
            "detail": {"type": "string"},
            "problems": {"type": "array", "items": {"type": "string"}},
        },
    }
    for name in ("InvalidArgument", "NotFound", "InternalServerError"):
        if name in schemas:
            schemas[name].setdefault("properties", {})["problems"] = {
                "type": "array",
                "items": {"type": "string"},
            }
    task = schemas.get("TaskStatusResponse")
    if task is not None:
        task["required"] = ["task_id", "status"]
        task.setdefault("properties", {}).setdefault("status", {})["enum"] = TASK_STATES
    for path, operations in doc.get("paths", {}).items():
        if ROUTE_ROLES.get(path.strip("/").split("/")[0]) is None:
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, why in REFUSALS.items():
                responses.setdefault(
                    code,
                    {
                        "description": why,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Refusal"}}
                        },
                    },
                )
    _nullable(doc)
    return json.dumps(doc).encode()


def _nullable(node) -> None:
    """OpenAPI 3.0 spells an optional value `nullable: true`; BentoML drops it where pydantic
    said `X | None` at the top of an answer."""
    if isinstance(node, dict):
        if "type" in node and node.get("default", 0) is None:
            node["nullable"] = True
        for value in node.values():
            _nullable(value)
    elif isinstance(node, list):
        for value in node:
            _nullable(value)


async def _form_body(scope, receive, max_bytes: int) -> tuple[bytes, tuple | None]:
    """A multipart request's body, read whole and parsed once here: a form Starlette cannot
    read is a 400 (BentoML 1.4.40 answers it with a 500)."""
    from starlette.requests import Request

    chunks, size = [], 0
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > max_bytes:
            return b"", (
                413,
                f"the request is over the limit of {max_bytes:,} bytes (serve.max_upload_mb)",
            )
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    try:
        form = await Request(scope, _replay(body)).form()
        await form.close()
    except Exception as error:  # the parser's own words name what is wrong
        return body, (400, f"the multipart form cannot be read: {getattr(error, 'detail', error)}")
    return body, None


def _replay(body: bytes, receive=None):
    """`receive` that gives `body` once, then what `receive` gives (the client going away)."""
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive() if receive is not None else {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _limited(receive, max_bytes: int):
    """`receive` that stops a body without a length (chunked) at the limit."""
    seen = 0

    async def limited():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                from http import HTTPStatus

                raise bentoml.exceptions.BentoMLException(
                    f"the request is over the limit of {max_bytes:,} bytes (serve.max_upload_mb)",
                    error_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                )
        return message

    return limited


def refusal(status: int, error: str, problems: list[str] | None = None) -> JSONResponse:
    """A 4xx answer: what is wrong (`error`) and, where there are several, each `problem`
    naming the row, field and rule."""
    return JSONResponse({"error": error, "problems": problems or []}, status_code=status)


def refuse(ctx, status: int, error: str, problems: list[str] | None = None) -> JSONResponse:
    """`_refusal` from inside an endpoint (BentoML keeps the body of a returned response but
    takes the status from the context)."""
    ctx.response.status_code = status
    return refusal(status, error, problems)
