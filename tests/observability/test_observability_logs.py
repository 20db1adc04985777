"""Every log line of a request carries its id; JSON lines; the access line."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from pyramid.exceptions import ConfigurationError

from benben.observability.context import RequestContextFilter, request_context
from benben.observability.logs import JSONFormatter, TextFormatter, setup_logging


def include_logging_views(config):
    def chatty(request):
        logging.getLogger("tests.chatty").warning("working on %s", request.matchdict["thing"])
        logging.getLogger("tests.chatty").warning("own path", extra={"path": "/given"})
        request.benben_log_user = "alice"
        return {}

    config.add_route("test.chatty", "/test/chatty/{thing}")
    config.add_view(chatty, route_name="test.chatty", renderer="json")


@pytest.fixture
def logging_app(make_app):
    return make_app(include=include_logging_views)


def records(caplog, name):
    return [r for r in caplog.records if r.name == name]


def test_log_lines_of_a_request_carry_its_context(logging_app, caplog):
    caplog.set_level(logging.INFO)
    logging_app.get("/test/chatty/books?x=1", headers={"X-Request-ID": "req-7"})
    first, second = records(caplog, "tests.chatty")
    assert (first.request_id, first.method, first.path) == ("req-7", "GET", "/test/chatty/books")
    assert second.request_id == "req-7"
    assert second.path == "/given"  # a view's own extra= wins over the context

    (access,) = records(caplog, "benben.access")
    assert access.getMessage() == "GET /test/chatty/books?x=1 200"
    assert access.status == 200
    assert access.duration_ms >= 0
    assert access.request_id == "req-7"
    assert access.user == "alice"


def test_json_lines(logging_app, caplog):
    caplog.set_level(logging.INFO)
    logging_app.get("/test/chatty/books", headers={"X-Request-ID": "req-8"})
    formatter = JSONFormatter()
    line = json.loads(formatter.format(records(caplog, "tests.chatty")[0]))
    assert line["level"] == "warning"
    assert line["logger"] == "tests.chatty"
    assert line["message"] == "working on books"
    assert line["request_id"] == "req-8"
    assert line["method"] == "GET"
    assert line["path"] == "/test/chatty/books"
    assert line["time"].endswith("+00:00")
    assert "user" not in line  # not known yet when this line was logged

    access = json.loads(formatter.format(records(caplog, "benben.access")[0]))
    assert access["status"] == 200
    assert isinstance(access["duration_ms"], float)
    assert access["user"] == "alice"
    assert access["request_id"] == "req-8"


def test_lines_outside_requests_have_no_request_id(caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("tests.outside").info("no request here")
    (record,) = records(caplog, "tests.outside")
    assert "request_id" not in json.loads(JSONFormatter().format(record))
    assert TextFormatter().format(record).endswith("[tests.outside] [-] no request here")


def test_json_lines_include_extra_fields_and_tracebacks():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("tests.x").makeRecord(
            "tests.x", logging.ERROR, __file__, 1, "failed %s", ("once",), True, extra={"n": 3}
        )
        record.exc_info = sys.exc_info()
    line = json.loads(JSONFormatter().format(record))
    assert line["message"] == "failed once"
    assert line["n"] == 3
    assert "ValueError: boom" in line["exception"]


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in saved[0]:
            handler.close()
    root.handlers[:], root.level = saved
    root.setLevel(saved[1])


@pytest.mark.usefixtures("restore_logging")
def test_setup_logging_json_in_production(logging_app, capsys):
    setup_logging({"benben.environment": "production", "benben.logging.format": "auto",
                   "benben.logging.level": "info"})  # fmt: skip
    logging_app.get("/test/chatty/books", headers={"X-Request-ID": "req-9"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    chatty = [line for line in lines if line["logger"] == "tests.chatty"]
    assert chatty[0]["request_id"] == "req-9"
    (access,) = [line for line in lines if line["logger"] == "benben.access"]
    assert access["status"] == 200
    assert access["user"] == "alice"


@pytest.mark.usefixtures("restore_logging")
def test_setup_logging_text_in_development(logging_app, capsys):
    setup_logging({"benben.environment": "development", "benben.logging.format": "auto",
                   "benben.logging.level": "warning"})  # fmt: skip
    logging_app.get("/test/chatty/books", headers={"X-Request-ID": "req-10"})
    err = capsys.readouterr().err
    assert "WARNING [tests.chatty] [req-10] working on books" in err
    assert "benben.access" not in err  # info lines are below the configured level


def test_filter_gives_plain_records_the_current_context():
    token = request_context.set({"request_id": "r-1", "method": "GET", "path": "/p", "user": None})
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
        assert RequestContextFilter().filter(record)
    finally:
        request_context.reset(token)
    assert (record.request_id, record.method, record.path) == ("r-1", "GET", "/p")


@pytest.mark.usefixtures("restore_logging")
def test_logging_config_file(tmp_path, capsys):
    ini = tmp_path / "logging.ini"
    ini.write_text(
        "[loggers]\nkeys = root\n\n[handlers]\nkeys = console\n\n[formatters]\nkeys = json\n\n"
        "[logger_root]\nlevel = INFO\nhandlers = console\n\n"
        "[handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\nformatter = json\n\n"
        "[formatter_json]\nclass = benben.observability.logs.JSONFormatter\n"
    )
    setup_logging({"benben.logging.config": str(ini)})
    token = request_context.set({"request_id": "r-2", "method": "GET", "path": "/", "user": None})
    try:
        logging.getLogger("tests.ini").info("configured by file")
    finally:
        request_context.reset(token)
    (line,) = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
    assert (line["message"], line["request_id"]) == ("configured by file", "r-2")


@pytest.mark.usefixtures("restore_logging")
def test_bad_logging_config_file_names_the_setting(tmp_path):
    with pytest.raises(ConfigurationError, match=r"benben\.logging\.config: no such file"):
        setup_logging({"benben.logging.config": str(tmp_path / "missing.ini")})
    broken = tmp_path / "broken.ini"
    broken.write_text("[loggers]\nkeys = root\n")
    with pytest.raises(ConfigurationError, match=r"benben\.logging\.config: .* not a usable"):
        setup_logging({"benben.logging.config": str(broken)})
