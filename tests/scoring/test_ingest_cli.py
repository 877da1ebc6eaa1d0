"""manage.py ingest_pings: files and folders through the same service as the API."""

import gzip
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from scoring.models import UsagePing
from tests.scoring.payloads import encoded, payload

pytestmark = pytest.mark.django_db


def _run(*paths) -> str:
    out = io.StringIO()
    call_command("ingest_pings", *map(str, paths), stdout=out)
    return out.getvalue()


def test_json_ndjson_and_gzip_files_in_a_folder_all_ingest(tmp_path):
    (tmp_path / "one.json").write_bytes(encoded(payload(uuid="a")))
    (tmp_path / "many.ndjson").write_bytes(
        b"\n".join(encoded(payload(uuid=f"b{i}")) for i in range(3)) + b"\n"
    )
    nested = tmp_path / "2026" / "11"
    nested.mkdir(parents=True)
    (nested / "week.ndjson.gz").write_bytes(gzip.compress(encoded(payload(uuid="c")) + b"\n"))
    (tmp_path / "notes.txt").write_text("not a payload")
    output = _run(tmp_path)
    assert output.splitlines()[0] == "5 accepted, 0 duplicate, 0 conflict, 0 rejected"
    assert UsagePing.objects.filter(source="cli").count() == 5


def test_running_twice_reports_duplicates_and_stores_nothing_new(tmp_path):
    path = tmp_path / "pings.ndjson"
    path.write_bytes(encoded(payload(uuid="a")) + b"\n" + encoded(payload(uuid="b")))
    _run(path)
    assert _run(path).splitlines()[0] == "0 accepted, 2 duplicate, 0 conflict, 0 rejected"
    assert UsagePing.objects.count() == 2


def test_rejections_are_counted_explained_and_exit_non_zero(tmp_path, capsys):
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(
        b"\n".join([encoded(payload(uuid="a")), b"{oops", encoded(payload(uuid="", x=1))])
    )
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 rejected"):
        call_command("ingest_pings", str(path), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "1 accepted, 0 duplicate, 0 conflict, 2 rejected"
    assert lines[1].startswith(f"REJECTED {path}:2: Malformed JSON")
    assert lines[2].startswith(f"REJECTED {path}:3: uuid:")
    assert UsagePing.objects.count() == 1


def test_a_missing_path_is_named(tmp_path):
    with pytest.raises(CommandError, match=r"nowhere\.ndjson"):
        _run(tmp_path / "nowhere.ndjson")


def test_a_truncated_gzip_file_keeps_what_was_read_and_says_so(tmp_path):
    body = b"\n".join(encoded(payload(uuid=f"g{i}")) for i in range(50))
    path = tmp_path / "cut.ndjson.gz"
    path.write_bytes(gzip.compress(body)[:-200])
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("ingest_pings", str(path), stdout=out)
    assert "REJECTED" in out.getvalue()
    assert UsagePing.objects.count() >= 1


def test_a_file_larger_than_one_chunk_keeps_line_order_and_catches_repeats(tmp_path):
    from scoring.ingestion import CHUNK_SIZE

    count = CHUNK_SIZE * 2 + 50
    lines = [encoded(payload(uuid=f"u{i}")) for i in range(count)]
    lines[CHUNK_SIZE + 3] = lines[2]  # a repeat one chunk later: a duplicate
    lines[CHUNK_SIZE * 2 + 1] = b"{bad"
    path = tmp_path / "big.ndjson"
    path.write_bytes(b"\n".join(lines))
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("ingest_pings", str(path), stdout=out)
    summary, first_reason = out.getvalue().splitlines()[:2]
    assert summary == f"{count - 2} accepted, 1 duplicate, 0 conflict, 1 rejected"
    assert first_reason.startswith(f"REJECTED {path}:{CHUNK_SIZE * 2 + 2}:")
    assert UsagePing.objects.count() == count - 2
