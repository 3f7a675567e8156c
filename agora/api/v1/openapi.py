"""The OpenAPI 3.1 description of API v1; a test checks it against the URL map and real responses."""

from agora.services.sanitize import VISIBLE_TEXT_PATTERN

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
        }
    },
}
NULLABLE_STRING = {"type": ["string", "null"]}
CONSULTATION = {
    "type": "object",
    "required": ["id", "slug", "title", "stage", "status", "counts"],
    "properties": {
        "id": {"type": "integer"},
        "slug": {"type": "string"},
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "stage": {"type": "string", "enum": ["round_table", "conference", "partnership", "hearing"]},
        "status": {"type": "string", "enum": ["open", "closed", "reported"]},
        "forum": {"type": "string"},
        "languages": {"type": "array", "items": {"type": "string"}},
        "opens_at": NULLABLE_STRING,
        "closes_at": NULLABLE_STRING,
        "briefing_html": {"type": "string", "description": "Sanitised HTML"},
        "attribution": NULLABLE_STRING,
        "counts": {
            "type": "object",
            "required": ["submissions", "participants", "votes"],
            "properties": {k: {"type": "integer"} for k in ("submissions", "participants", "votes")},
        },
    },
}
VOTES = {
    "type": "object",
    "required": ["agree", "disagree", "pass"],
    "properties": {k: {"type": "integer"} for k in ("agree", "disagree", "pass")},
}
SUBMISSION = {
    "type": "object",
    "required": ["id", "consultation_id", "text", "html", "created_at", "votes"],
    "properties": {
        "id": {"type": "integer"},
        "consultation_id": {"type": "integer"},
        "text": {"type": "string", "description": "The text as written (plain text)"},
        "html": {"type": "string", "description": "The text escaped, with links made clickable"},
        "language": NULLABLE_STRING,
        "channel": {"type": "string"},
        "author": NULLABLE_STRING,
        "constituency": NULLABLE_STRING,
        "region": NULLABLE_STRING,
        "created_at": {"type": "string"},
        "votes": VOTES,
        "state": {"type": "string", "enum": ["pending", "published", "held", "hidden", "rejected"]},
    },
}


REPORT_SUMMARY = {
    "type": "object",
    "required": ["id", "title", "version", "consultation_id", "sha256", "frozen_at"],
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "version": {"type": "integer"},
        "consultation_id": {"type": "integer"},
        "hearing_id": {"type": ["integer", "null"]},
        "supersedes": {"type": ["integer", "null"]},
        "sha256": {"type": "string"},
        "frozen_at": {"type": "string"},
    },
}
VERIFICATION = {
    "type": "object",
    "required": ["ok", "message", "problems"],
    "properties": {
        "ok": {"type": "boolean"},
        "report_id": {"type": ["integer", "null"]},
        "message": {"type": "string"},
        "problems": {"type": "array", "items": {"type": "string"}},
        "checked": {"type": "array", "items": {"type": "string"}},
    },
}


def _error(description):
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _ok(description, schema):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _id_param(name):
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def spec(base: str = "/api/v1") -> dict:
    page_params = [
        {"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["newest", "agreed"]}},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
        {"name": "language", "in": "query", "schema": {"type": "string"}},
        {"name": "constituency", "in": "query", "schema": {"type": "string"}},
        {
            "name": "q",
            "in": "query",
            "description": "Search: views that mean the same as these words, in any "
            "language, or contain them; best first (sort, language and constituency then do not apply).",
            "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": VISIBLE_TEXT_PATTERN},
        },
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Agora API",
            "version": "1.0.0",
            "description": "Public consultations: list them, read published views, submit views and vote. "
            "Authenticate with 'Authorization: Bearer <personal token>' (create one on your profile page) "
            "or with the browser session plus an X-CSRFToken header.",
        },
        "servers": [{"url": base}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": ERROR,
                "Consultation": CONSULTATION,
                "Submission": SUBMISSION,
                "Votes": VOTES,
                "ReportSummary": REPORT_SUMMARY,
                "Verification": VERIFICATION,
            },
        },
        "paths": {
            "/consultations": {
                "get": {
                    "operationId": "listConsultations",
                    "summary": "Consultations that are open, closed or reported (never drafts)",
                    "parameters": [
                        {
                            "name": "status",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["open", "closed", "reported"]},
                        },
                        {
                            "name": "stage",
                            "in": "query",
                            "schema": {
                                "type": "string",
                                "enum": ["round_table", "conference", "partnership", "hearing"],
                            },
                        },
                    ],
                    "responses": {
                        "200": _ok(
                            "The consultations",
                            {
                                "type": "object",
                                "required": ["items"],
                                "properties": {"items": {"type": "array", "items": _ref("Consultation")}},
                            },
                        ),
                        "422": _error("Unknown filter value"),
                    },
                }
            },
            "/consultations/{consultation_id}": {
                "get": {
                    "operationId": "getConsultation",
                    "parameters": [_id_param("consultation_id")],
                    "responses": {
                        "200": _ok("The consultation with its briefing", _ref("Consultation")),
                        "404": _error("No such consultation"),
                    },
                }
            },
            "/consultations/{consultation_id}/submissions": {
                "get": {
                    "operationId": "listSubmissions",
                    "summary": "Published views, newest first or most agreed",
                    "parameters": [_id_param("consultation_id"), *page_params],
                    "responses": {
                        "200": _ok(
                            "A page of published views",
                            {
                                "type": "object",
                                "required": ["items", "page", "per_page", "total", "pages"],
                                "properties": {
                                    "items": {"type": "array", "items": _ref("Submission")},
                                    "page": {"type": "integer"},
                                    "per_page": {"type": "integer"},
                                    "total": {"type": "integer"},
                                    "pages": {"type": "integer"},
                                },
                            },
                        ),
                        "404": _error("No such consultation"),
                        "422": _error("Bad paging or filter value"),
                    },
                },
                "post": {
                    "operationId": "createSubmission",
                    "summary": "Submit a view. It is screened: published at once, or held for a moderator.",
                    "security": [{"bearer": []}],
                    "parameters": [
                        _id_param("consultation_id"),
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                            "description": "Retrying with the same key returns the first submission instead of a duplicate.",
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["text"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "text": {
                                            "type": "string",
                                            "minLength": 1,
                                            "maxLength": 5000,
                                            "pattern": VISIBLE_TEXT_PATTERN,
                                            "description": "Plain text with at least one character that is not whitespace or a control character",
                                        }
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": _ok("Stored (state says whether it is published or held)", _ref("Submission")),
                        "200": _ok("A retry with the same Idempotency-Key: the first submission", _ref("Submission")),
                        "400": _error("Malformed JSON"),
                        "401": _error("Not signed in"),
                        "404": _error("No such consultation"),
                        "409": _error("Consultation closed, or Idempotency-Key reused for another text"),
                        "413": _error("Text too long"),
                        "422": _error("Empty text, unknown or missing field"),
                        "429": _error("Rate limited"),
                    },
                },
            },
            "/submissions/{submission_id}": {
                "get": {
                    "operationId": "getSubmission",
                    "parameters": [_id_param("submission_id")],
                    "responses": {
                        "200": _ok("A published view, or your own in any state", _ref("Submission")),
                        "404": _error("No such view"),
                    },
                }
            },
            "/submissions/{submission_id}/vote": {
                "post": {
                    "operationId": "vote",
                    "summary": "Agree, disagree or pass; voting again changes your vote",
                    "security": [{"bearer": []}],
                    "parameters": [_id_param("submission_id")],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["vote"],
                                    "additionalProperties": False,
                                    "properties": {"vote": {"type": "string", "enum": ["agree", "disagree", "pass"]}},
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _ok(
                            "The new tallies",
                            {
                                "type": "object",
                                "required": ["id", "vote", "agree", "disagree", "pass"],
                                "properties": {
                                    "id": {"type": "integer"},
                                    "vote": {"type": "string"},
                                    "agree": {"type": "integer"},
                                    "disagree": {"type": "integer"},
                                    "pass": {"type": "integer"},
                                },
                            },
                        ),
                        "400": _error("Malformed JSON"),
                        "401": _error("Not signed in"),
                        "404": _error("No such published view"),
                        "409": _error("Consultation closed"),
                        "422": _error("Unknown vote value or field"),
                        "429": _error("Rate limited"),
                    },
                }
            },
            "/reports": {
                "get": {
                    "operationId": "listReports",
                    "summary": "Frozen reports",
                    "responses": {
                        "200": _ok(
                            "Frozen reports",
                            {
                                "type": "object",
                                "required": ["items"],
                                "properties": {"items": {"type": "array", "items": _ref("ReportSummary")}},
                            },
                        )
                    },
                }
            },
            "/reports/{report_id}": {
                "get": {
                    "operationId": "getReport",
                    "summary": "A frozen report with its canonical content",
                    "parameters": [_id_param("report_id")],
                    "responses": {
                        "200": _ok(
                            "The report",
                            {
                                "allOf": [
                                    _ref("ReportSummary"),
                                    {
                                        "type": "object",
                                        "required": ["content"],
                                        "properties": {"content": {"type": "object"}},
                                    },
                                ]
                            },
                        ),
                        "404": _error("No frozen report with this number"),
                    },
                }
            },
            "/reports/{report_id}/package": {
                "get": {
                    "operationId": "getReportPackage",
                    "summary": "The transmission package (zip: JSON, HTML, PDF, CSV tables, manifest of hashes)",
                    "parameters": [_id_param("report_id")],
                    "responses": {
                        "200": {
                            "description": "The package",
                            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
                        },
                        "404": _error("No frozen report with this number"),
                    },
                }
            },
            "/reports/{report_id}/verify": {
                "get": {
                    "operationId": "verifyReport",
                    "summary": "Check that a stored report still matches its frozen SHA-256",
                    "parameters": [_id_param("report_id")],
                    "responses": {
                        "200": _ok("The verdict", _ref("Verification")),
                        "404": _error("Not a report number"),
                    },
                }
            },
            "/reports/verify": {
                "post": {
                    "operationId": "verifyPackage",
                    "summary": "Check an uploaded package against what was frozen",
                    "requestBody": {
                        "required": True,
                        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    "responses": {
                        "200": _ok("The verdict, naming every file that changed", _ref("Verification")),
                        "413": _error("Package too large"),
                        "422": _error("Not a zip body"),
                    },
                }
            },
            "/openapi.json": {
                "get": {"operationId": "openapi", "responses": {"200": {"description": "This document"}}}
            },
        },
    }
