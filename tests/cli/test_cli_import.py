"""`benben import`: lines into a collection through the API in process, on both backends."""

from __future__ import annotations

import json

import pytest
from transfer_support import World, write_ini, write_lines

from benben.transfer.state import ImportState


@pytest.fixture
def world(app):
    return World(app)


@pytest.fixture
def ini(app_settings, tmp_path):
    return write_ini(tmp_path, app_settings)


def test_refused_lines_are_reported_exactly_and_the_others_imported(cli, world, ini, tmp_path):
    world.collection("books")
    source = write_lines(
        tmp_path / "in.jsonl",
        {"title": "Emma", "price": 4},
        {"title": "Dune", "price": "abc"},
        "",
        '{"title": "broken"',
        [1, 2],
        {"id": "dune", "data": {"title": "Dune", "count": 2}},
        {"id": "bad id!", "data": {"title": "x"}},
    )
    report = tmp_path / "report.jsonl"
    result = cli("import", "--ini", ini, "books", source, "--report", str(report), "-q")
    assert result.code == 1, result.err
    refused = [
        {"line": 2, "pointer": "/data/price", "message": "must be a number, not a string"},
        {"line": 4, "pointer": "", "message": "is not JSON: Expecting ',' delimiter (column 19)"},
        {
            "line": 5,
            "pointer": "",
            "message": 'must be a JSON object (a record {"id", "data"} or its data), not an array',
        },
        {
            "line": 7,
            "pointer": "/id",
            "message": "must be a record id: 1-64 letters, digits, _ and -, starting with a "
            "letter or digit",
        },
    ]
    assert [json.loads(line) for line in report.read_text().splitlines()] == refused
    shown = [line for line in result.err.splitlines() if line.startswith("line ")]
    assert shown[0] == "line 2: /data/price: must be a number, not a string"
    assert len(shown) == 4
    assert result.out == "imported 2 records into books, 4 lines refused\n"
    records = world.records("books")
    assert records["dune"] == {"title": "Dune", "count": 2}
    assert sorted(data["title"] for data in records.values()) == ["Dune", "Emma"]
    assert not (tmp_path / "in.jsonl.import-state").exists()


def test_importing_the_same_file_again_creates_no_duplicate(cli, world, ini, tmp_path):
    world.collection("books")
    source = write_lines(tmp_path / "in.jsonl", *({"title": f"t{n}"} for n in range(7)))
    assert cli("import", "--ini", ini, "books", source, "-q").code == 0
    again = cli("import", "--ini", ini, "books", source, "-q")
    assert again.code == 0, again.err
    assert "imported 0 records into books, 7 already there" in again.out
    assert len(world.records("books")) == 7


def test_events_and_history_are_written_by_the_administrator(cli, world, ini, tmp_path):
    world.collection("books")
    source = write_lines(tmp_path / "in.jsonl", {"id": "a", "data": {"title": "A"}})
    assert cli("import", "--ini", ini, "books", source, "-q").code == 0
    created = [e for e in world.events("books") if e["type"] == "record.created"]
    assert [(e["data"]["id"], e["actor"]) for e in created] == [("a", world.admin_id)]
    history = [h for h in world.history("books") if h.get("record_id") == "a"]
    assert len(history) == 1


def test_a_dry_run_stores_nothing_and_reports_the_same(cli, world, ini, tmp_path):
    world.collection("books")
    events = len(world.events("books"))
    history = len(world.history("books"))
    source = write_lines(
        tmp_path / "in.jsonl", {"title": "A"}, {"title": 5}, {"id": "b", "data": {"title": "B"}}
    )
    result = cli("import", "--ini", ini, "books", source, "--dry-run", "-q")
    assert result.code == 1
    assert "line 2: /data/title: must be a string, not an integer" in result.err
    assert result.out == (
        "would import 2 records into books, 1 line refused (dry run: nothing was stored)\n"
    )
    assert world.records("books") == {}
    assert len(world.events("books")) == events
    assert len(world.history("books")) == history
    assert not (tmp_path / "in.jsonl.import-state").exists()


def test_a_user_without_write_has_every_line_refused(cli, world, ini, tmp_path):
    world.user("reader")
    world.collection("books", permissions={"read": ["system.Authenticated"]})
    source = write_lines(tmp_path / "in.jsonl", {"title": "A"}, {"id": "b", "data": {}})
    result = cli("import", "--ini", ini, "books", source, "--as", "reader", "-q")
    assert result.code == 1
    shown = [line for line in result.err.splitlines() if line.startswith("line ")]
    assert len(shown) == 2
    assert all(line.endswith("(403)") for line in shown), shown
    assert world.records("books") == {}


def test_rate_limits_do_not_apply(cli, world, app_settings, tmp_path, monkeypatch):
    world.collection("books", schema=None)
    monkeypatch.setenv("BENBEN_RATELIMIT_ENABLED", "true")  # forced off all the same
    ini = write_ini(
        tmp_path,
        app_settings,
        **{
            "benben.ratelimit.default": "2/minute",
            "benben.ratelimit.groups": "write=2/minute",
            "benben.data.batch_max_operations": "10",  # 6 batches: 3 times the limit
        },
    )
    source = write_lines(tmp_path / "in.jsonl", *({"n": n} for n in range(60)))
    result = cli("import", "--ini", ini, "books", source, "-q")
    assert result.code == 0, result.err
    assert "imported 60 records" in result.out
    count = world.app.get(
        "/api/v1/collections/books/records", {"_count": "true", "_limit": "1"}, headers=world.admin
    ).json["total"]
    assert count == 60


def test_an_interrupted_import_continues_where_it_stopped(cli, world, app_settings, tmp_path,
                                                          monkeypatch):  # fmt: skip
    world.collection("books")
    world.collection("control")
    ini = write_ini(tmp_path, app_settings, **{"benben.data.batch_max_operations": "5"})
    values = [{"title": f"t{n}", "count": n} for n in range(21)]
    values[7] = {"title": 7}  # refused, in the chunk that crashes
    values[12] = {"id": "fixed", "data": {"title": "fixed"}}
    source = write_lines(tmp_path / "in.jsonl", *values)
    real_save = ImportState.save
    calls = []

    def crash_on_third(self, path):
        calls.append(self.line)
        if len(calls) == 3:  # chunk 3 is committed, its state never written: it is replayed
            raise KeyboardInterrupt
        real_save(self, path)

    monkeypatch.setattr(ImportState, "save", crash_on_third)
    report = tmp_path / "report.jsonl"
    first = cli("import", "--ini", ini, "books", source, "-q", "--report", str(report))
    assert first.code == 130
    state = tmp_path / "in.jsonl.import-state"
    assert json.loads(state.read_text())["line"] == 10
    monkeypatch.setattr(ImportState, "save", real_save)
    second = cli("import", "--ini", ini, "books", source, "--report", str(report))
    assert second.code == 1, second.err
    assert "resuming the import of" in second.err
    assert "after line 10" in second.err
    assert not state.exists()
    assert [json.loads(line)["line"] for line in report.read_text().splitlines()] == [8]
    assert cli("import", "--ini", ini, "control", source, "-q").code == 1
    assert world.records("books") == world.records("control")
    assert len(world.records("books")) == 20


def test_a_changed_file_is_refused_on_resume(cli, world, ini, tmp_path):
    world.collection("books")
    source = write_lines(tmp_path / "in.jsonl", {"title": "A"})
    ImportState(digest="0" * 64, collection="books", line=1).save(
        tmp_path / "in.jsonl.import-state"
    )
    result = cli("import", "--ini", ini, "books", source, "-q")
    assert result.code == 2
    assert "changed since the interrupted import" in result.err
    assert world.records("books") == {}


def test_csv_cells_take_the_schema_types_and_a_bad_cell_names_its_column(cli, world, ini, tmp_path):
    world.collection("books")
    source = tmp_path / "in.csv"
    source.write_text(
        "id,title,price,count,open,note,tags,author.name,extra\n"
        'a,Emma,4.5,3,true,null,"[""x""]",Austen,007\n'
        "b,Dune,cheap,1,false,,,,\n"
        "\n"
        "c,Ulysses,,,,,,Joyce,\n"
    )
    result = cli("import", "--ini", ini, "books", str(source), "-q")
    assert result.code == 1
    assert 'line 3: /data/price: column price: "cheap" is not a number' in result.err
    assert world.records("books") == {
        "a": {
            "title": "Emma",
            "price": 4.5,
            "count": 3,
            "open": True,
            "note": None,
            "tags": ["x"],
            "author": {"name": "Austen"},
            "extra": "007",
        },
        "c": {"title": "Ulysses", "author": {"name": "Joyce"}},
    }


@pytest.mark.parametrize(
    ("arguments", "content", "code", "message"),
    [
        (("nothere", "in.jsonl"), "{}\n", 1, "no collection 'nothere' that admin may see"),
        (("books", "missing.jsonl"), None, 2, "no file missing.jsonl"),
        (("books", "in.jsonl"), "id,title\nx,y\n", 2, "in.jsonl line 1 is not JSON"),
        (("books", "in.csv"), "id,,title\n", 2, "bad CSV header: column 2 has no name"),
        (("books", "in.jsonl", "--as", "nobody"), "{}\n", 1, "no user 'nobody'"),
    ],
)
def test_bad_input_is_a_one_line_error(
    cli, world, ini, tmp_path, monkeypatch, arguments, content, code, message
):
    world.collection("books")
    monkeypatch.chdir(tmp_path)
    if content is not None:
        (tmp_path / arguments[1]).write_text(content)
    result = cli("import", "--ini", ini, *arguments, "-q")
    assert result.code == code
    errors = [line for line in result.err.splitlines() if line.startswith("benben: error:")]
    assert len(errors) == 1
    assert message in errors[0]
    assert "Traceback" not in result.err


def test_a_deactivated_user_is_refused(cli, world, ini, tmp_path):
    world.collection("books")
    world.user("gone", is_active=False)
    source = write_lines(tmp_path / "in.jsonl", {"title": "A"})
    result = cli("import", "--ini", ini, "books", source, "--as", "gone", "-q")
    assert result.code == 1
    assert "benben: error: user gone is deactivated" in result.err
