"""The metrics dictionary importer: GitLab's real files, each parser rule, command and admin."""

import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

import scoring.admin_metrics  # noqa: F401 — registers the admin before scoring/admin.py exists
from scoring.metric_definitions import (
    DATA_CATEGORIES,
    DATA_SOURCES,
    STATUSES,
    TIERS,
    TIME_FRAMES,
    VALUE_TYPES,
    Rejection,
    metric_definition_parse,
    metric_definitions_import,
)
from scoring.models import MetricDefinition

REPO = Path(__file__).resolve().parents[2]
GITLAB = Path(__file__).resolve().parents[3] / "shared" / "data" / "gitlab"
METRICS = GITLAB / "metrics" / "config" / "metrics"
BASE_SCHEMA = GITLAB / "schema" / "config" / "metrics" / "schema" / "base.json"
needs_gitlab_files = pytest.mark.skipif(
    not METRICS.is_dir(), reason=f"GitLab's metric files are not beside the repo at {METRICS}"
)

BASE = {
    "key_path": "counts.deployments",
    "description": "Total deployments count",
    "product_group": "environments",
    "value_type": "number",
    "status": "active",
    "time_frame": "all",
    "data_source": "database",
    "data_category": "optional",
    "tier": "[free, premium, ultimate]",
    "milestone": '"13.2"',
}


def _file(*extra: str, drop: tuple[str, ...] = (), **fields: str) -> str:
    """BASE with ``fields`` replaced (raw YAML), ``drop`` left out and ``extra`` lines added."""
    merged = {**BASE, **fields}
    lines = [f"{name}: {value}" for name, value in merged.items() if name not in drop]
    return "\n".join(["---", *lines, *extra]) + "\n"


def _parse(text: str, path: str = "config/metrics/x.yml") -> dict | Rejection:
    return metric_definition_parse(text, path=Path(path))


def _run(*paths: Path) -> tuple[str, bool]:
    """The command's output, and whether it failed."""
    out = io.StringIO()
    try:
        call_command("import_metric_definitions", *map(str, paths), stdout=out)
    except CommandError:
        return out.getvalue(), True
    return out.getvalue(), False


# --- GitLab's real files -------------------------------------------------------------------


@needs_gitlab_files
@pytest.mark.django_db
def test_the_real_gitlab_folder_imports_what_is_sensible_and_names_each_bad_file():
    MetricDefinition.objects.all().delete()  # without the rubric's seeded entries

    output, failed = _run(METRICS)

    assert failed
    assert output.splitlines()[0] == "created 181, updated 0, unchanged 0, rejected 28"
    rejected = dict(
        line.removeprefix("REJECTED ").split(": ", 1)
        for line in output.splitlines()
        if line.startswith("REJECTED ")
    )
    assert Counter(rejected.values()) == {
        "missing required description, data_source": 10,
        "missing required description": 9,
        "missing required data_source": 7,
        "duplicated key 'milestone' at line 23 (first at line 11)": 1,
        "time_frame '28d' contradicts its folder counts_7d": 1,
    }
    assert rejected[str(METRICS / "counts_all" / "20210216183023_wiki_pages_view.yml")] == (
        "duplicated key 'milestone' at line 23 (first at line 11)"
    )
    assert rejected[str(METRICS / "counts_28d" / "20210216181158_epics.yml")] == (
        "missing required description, data_source"
    )
    assert rejected[str(METRICS / "counts_all" / "20210216174829_smtp_server.yml")] == (
        "missing required data_source"
    )
    weekly = (
        METRICS
        / "counts_7d"
        / "20210216181347_g_project_management_issue_cross_referenced_weekly.yml"
    )
    assert rejected[str(weekly)] == "time_frame '28d' contradicts its folder counts_7d"
    assert MetricDefinition.objects.count() == 181
    assert MetricDefinition.objects.get(key_path="counts_monthly.deployments").time_frame == "28d"


@needs_gitlab_files
@pytest.mark.django_db
def test_importing_over_existing_entries_fills_them_in_and_keeps_their_tracking():
    MetricDefinition.objects.update_or_create(
        key_path="counts_monthly.deployments",
        defaults={"description": "Deployments", "time_frame": "28d", "is_tracked": True},
    )
    before = MetricDefinition.objects.count()

    report = metric_definitions_import(paths=[METRICS])

    assert report.created + report.updated == 181
    assert MetricDefinition.objects.count() == before + report.created
    row = MetricDefinition.objects.get(key_path="counts_monthly.deployments")
    assert (row.description, row.is_tracked) == ("Total deployments count for recent 28 days", True)
    assert row.source_file == str(METRICS / "counts_28d" / "20210201124930_deployments.yml")


@needs_gitlab_files
@pytest.mark.django_db
def test_real_files_are_normalised_and_kept_whole():
    _run(METRICS)

    dast = MetricDefinition.objects.get(key_path="counts.dast_jobs")
    assert (dast.status, dast.data_category) == ("active", "operational")
    assert dast.definition["status"] == "data_available"
    assert dast.definition["data_category"] == "Operational"
    pipelines = MetricDefinition.objects.get(
        key_path="usage_activity_by_stage_monthly.verify.ci_pipelines"
    )
    assert pipelines.tiers == ["free", "premium", "ultimate"]
    assert MetricDefinition.objects.get(key_path="gitaly.filesystems").tiers == [
        "free",
        "premium",
        "ultimate",
    ]


@needs_gitlab_files
@pytest.mark.django_db
def test_a_key_path_defined_twice_is_taken_from_the_later_file():
    output, _ = _run(METRICS)

    earlier = METRICS / "counts_7d" / "20210216174908_analytics_unique_visits_for_any_target.yml"
    later = METRICS / "counts_all" / "20210216174908_analytics_unique_visits_for_any_target.yml"
    assert f"SUPERSEDED {earlier}: same key_path as {later}, which wins" in output.splitlines()
    row = MetricDefinition.objects.get(
        key_path="analytics_unique_visits.analytics_unique_visits_for_any_target"
    )
    assert (row.time_frame, row.source_file) == ("all", str(later))


@needs_gitlab_files
@pytest.mark.django_db
def test_importing_the_real_folder_again_changes_nothing():
    _run(METRICS)
    stamps = dict(MetricDefinition.objects.values_list("key_path", "updated_at"))

    output, _ = _run(METRICS)

    assert output.splitlines()[0] == "created 0, updated 0, unchanged 181, rejected 28"
    assert dict(MetricDefinition.objects.values_list("key_path", "updated_at")) == stamps


@needs_gitlab_files
def test_the_allowed_values_match_gitlabs_schema():
    properties = json.loads(BASE_SCHEMA.read_text())["properties"]

    assert tuple(properties["value_type"]["enum"]) == VALUE_TYPES
    assert tuple(properties["status"]["enum"]) == STATUSES
    assert tuple(properties["time_frame"]["enum"]) == TIME_FRAMES
    assert tuple(properties["data_source"]["enum"]) == DATA_SOURCES
    assert tuple(properties["data_category"]["enum"]) == DATA_CATEGORIES
    assert tuple(properties["tier"]["items"]["enum"]) == TIERS


# --- the parser, rule by rule --------------------------------------------------------------

REJECTIONS = [
    pytest.param("key_path: [unclosed\n", "invalid YAML:", id="bad-yaml"),
    pytest.param("", "the file is empty", id="empty-file"),
    pytest.param("- key_path: a\n- key_path: b\n", "top level is list, not a mapping", id="list"),
    pytest.param(
        _file("status: removed"), "duplicated key 'status' at line 12 (first at line 6)", id="dup"
    ),
    pytest.param(
        _file("extra:\n  one: 1\n  one: 2"), "duplicated key 'one' at line 14", id="nested-dup"
    ),
    pytest.param(_file(drop=("description",)), "missing required description", id="no-desc"),
    pytest.param(_file(data_source="''"), "missing required data_source", id="empty-source"),
    pytest.param(_file(data_source=""), "missing required data_source", id="null-source"),
    pytest.param(
        _file(drop=("key_path", "value_type", "status", "time_frame")),
        "missing required key_path, value_type, status, time_frame",
        id="many-missing",
    ),
    pytest.param(
        _file(value_type="integer"),
        "value_type 'integer' is not one of string, number, boolean, object",
        id="value-type",
    ),
    pytest.param(
        _file(status="beta"), "status 'beta' is not one of active, removed, broken", id="status"
    ),
    pytest.param(
        _file(time_frame="14d"), "time_frame '14d' is not one of 7d, 28d, all, none", id="frame"
    ),
    pytest.param(
        _file(data_source="snowplow"),
        "data_source 'snowplow' is not one of database, redis, redis_hll, prometheus, system, "
        "license, internal_events",
        id="source",
    ),
    pytest.param(
        _file(data_category="secret"),
        "data_category 'secret' is not one of operational, optional, subscription, standard",
        id="category",
    ),
    pytest.param(
        _file(tier="[free, platinum]"),
        "tier 'platinum' not one of free, starter, premium, ultimate, bronze, silver, gold",
        id="tier",
    ),
    pytest.param(_file(tier="free"), "tier must be a list of tier names", id="tier-scalar"),
    pytest.param(
        _file("tiers: [free]"), "tier and tiers are both given and differ", id="tier-and-tiers"
    ),
    pytest.param(_file(description="{a: 1}"), "description must be text, not dict", id="desc-map"),
    pytest.param(_file("base: &b {a: 1}", "copy: *b"), "YAML alias *b at line", id="alias"),
    pytest.param(_file("options: {ratio: .nan}"), "not representable as JSON", id="nan"),
]


@pytest.mark.parametrize(("text", "reason"), REJECTIONS)
def test_a_file_breaking_a_rule_is_rejected_with_a_reason_naming_it(text, reason):
    result = _parse(text)

    assert isinstance(result, Rejection)
    assert result.reason.startswith(reason)


def test_a_file_whose_time_frame_contradicts_its_folder_is_rejected():
    result = _parse(_file(time_frame="28d"), path="metrics/counts_7d/x_weekly.yml")

    assert result == Rejection("time_frame '28d' contradicts its folder counts_7d")


def test_every_problem_of_a_file_is_named_at_once():
    result = _parse(_file(drop=("description",), status="beta", tier="[gold, iron]"))

    assert isinstance(result, Rejection)
    assert result.reason == (
        "missing required description; status 'beta' is not one of active, removed, broken; "
        "tier 'iron' not one of free, starter, premium, ultimate, bronze, silver, gold"
    )


NORMALISATIONS = [
    pytest.param(_file(data_category="Optional"), "data_category", "optional", id="category"),
    pytest.param(_file(drop=("data_category",)), "data_category", "", id="no-category"),
    pytest.param(
        _file("tiers: [premium, ultimate]", drop=("tier",)),
        "tiers",
        ["premium", "ultimate"],
        id="tiers-alias",
    ),
    pytest.param(_file("tiers: [free]", tier="[free, free]"), "tiers", ["free"], id="both-same"),
    pytest.param(
        _file(tier="[free, premium, free, ultimate]"),
        "tiers",
        ["free", "premium", "ultimate"],
        id="tier-dedup",
    ),
    pytest.param(_file(drop=("tier",)), "tiers", [], id="no-tier"),
    pytest.param(_file(status="data_available"), "status", "active", id="data-available"),
    pytest.param(_file(status="implemented"), "status", "active", id="implemented"),
    pytest.param(_file(status="deprecated"), "status", "removed", id="deprecated"),
    pytest.param(_file(milestone="13.10"), "milestone", "13.10", id="milestone-float"),
    pytest.param(_file(milestone="14"), "milestone", "14", id="milestone-int"),
    pytest.param(_file(milestone='"<13.9"'), "milestone", "<13.9", id="milestone-text"),
    pytest.param(_file(drop=("milestone",)), "milestone", "", id="no-milestone"),
    pytest.param(_file(product_section=""), "product_section", "", id="null-section"),
    pytest.param(
        _file(description=">\n  Deployments\n  in total"),
        "description",
        "Deployments in total",
        id="folded-description",
    ),
]


@pytest.mark.parametrize(("text", "name", "value"), NORMALISATIONS)
def test_a_sensible_file_is_normalised(text, name, value):
    result = _parse(text)

    assert not isinstance(result, Rejection), result
    assert result[name] == value


def test_the_whole_file_is_kept_as_written_in_definition():
    text = _file("introduced_on: 2021-02-16", "options:\n  events: [a, b]", status="data_available")

    result = _parse(text)

    assert not isinstance(result, Rejection)
    assert result["definition"]["status"] == "data_available"
    assert result["definition"]["introduced_on"] == "2021-02-16"
    assert result["definition"]["options"] == {"events": ["a", "b"]}
    assert result["definition"]["tier"] == ["free", "premium", "ultimate"]
    assert result["source_file"] == "config/metrics/x.yml"


# --- the service ---------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "counts_all").mkdir()
    (tmp_path / "counts_all" / "deployments.yml").write_text(_file())
    (tmp_path / "counts_all" / "pipelines.yaml").write_text(_file(key_path="counts.pipelines"))
    (tmp_path / "README.md").write_text("not a definition")
    return tmp_path


@pytest.mark.django_db
def test_an_edited_description_counts_as_updated_and_tracking_survives(folder):
    metric_definitions_import(paths=[folder])
    MetricDefinition.objects.filter(key_path="counts.deployments").update(is_tracked=True)
    (folder / "counts_all" / "deployments.yml").write_text(_file(description="All deployments"))

    report = metric_definitions_import(paths=[folder])

    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 1, 1, 0)
    row = MetricDefinition.objects.get(key_path="counts.deployments")
    assert (row.description, row.is_tracked) == ("All deployments", True)
    assert row.definition["description"] == "All deployments"


@pytest.mark.django_db
def test_an_unreadable_file_is_rejected_and_the_others_still_import(folder):
    bad = folder / "counts_all" / "latin1.yml"
    bad.write_bytes(_file(key_path="counts.caf\xe9").encode("latin-1"))

    report = metric_definitions_import(paths=[folder])

    assert report.created == 2
    assert report.rejections == [(bad, "not UTF-8 (byte 24)")]


@pytest.mark.django_db
def test_a_file_without_read_permission_is_rejected(folder, monkeypatch):
    locked = folder / "counts_all" / "locked.yml"
    locked.write_text(_file(key_path="counts.locked"))
    read_bytes = Path.read_bytes

    def refuse_locked(path: Path) -> bytes:  # chmod cannot lock out root, who runs CI
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse_locked)

    report = metric_definitions_import(paths=[folder])

    assert report.rejections == [(locked, "cannot read: Permission denied")]
    assert report.created == 2


@pytest.mark.django_db
def test_a_value_too_long_for_its_column_is_rejected_not_raised(folder):
    (folder / "long.yml").write_text(_file(key_path="counts.long", product_group="g" * 101))

    report = metric_definitions_import(paths=[folder])

    assert report.created == 2
    [(path, reason)] = report.rejections
    assert path == folder / "long.yml"
    assert reason.startswith("product_group: Ensure this value has at most 100 characters")


# --- the command ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_imports_quietly_when_every_file_is_good(folder):
    output, failed = _run(folder)

    assert not failed
    assert output == "created 2, updated 0, unchanged 0, rejected 0\n"


@pytest.mark.django_db
def test_the_command_fails_and_prints_the_reason_for_a_rejected_file(folder):
    bad = folder / "bad.yml"
    bad.write_text(_file(status="beta"))

    output, failed = _run(folder)

    assert failed
    assert output.splitlines() == [
        "created 2, updated 0, unchanged 0, rejected 1",
        f"REJECTED {bad}: status 'beta' is not one of active, removed, broken",
    ]


@pytest.mark.django_db
def test_the_command_fails_and_names_a_missing_path(folder):
    missing = folder / "no-such-folder"

    output, failed = _run(folder, missing)

    assert failed
    assert f"REJECTED {missing}: no such file or folder" in output.splitlines()
    assert MetricDefinition.objects.filter(source_file__startswith=str(folder)).count() == 2


def test_the_command_exits_non_zero_for_a_missing_path(tmp_path):
    missing = tmp_path / "nowhere"

    result = subprocess.run(
        [sys.executable, "manage.py", "import_metric_definitions", str(missing)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert f"REJECTED {missing}: no such file or folder" in result.stdout
    assert "1 file(s) rejected" in result.stderr


# --- the admin -----------------------------------------------------------------------------


def _definition(key_path: str, **fields) -> MetricDefinition:
    values = {"time_frame": "28d", "data_source": "database", "status": "active"}
    return MetricDefinition.objects.create(key_path=key_path, **{**values, **fields})


@pytest.fixture
def dictionary(db) -> None:
    MetricDefinition.objects.all().delete()  # without the rubric's seeded entries
    _definition("counts.free_only", tiers=["free"], data_category="optional")
    _definition("counts.paid", tiers=["premium", "ultimate"], description="Paid deployments")
    _definition("counts.everyone", tiers=["free", "premium", "ultimate"], is_tracked=True)
    _definition("counts.untiered", tiers=[], time_frame="all", data_source="redis_hll")
    for index in range(40):
        _definition(f"counts.filler_{index:02}", tiers=["gold"], status="removed")


CHANGELIST = reverse("admin:scoring_metricdefinition_changelist")
FILTERS = [
    pytest.param({"q": "paid"}, {"counts.paid"}, id="search-key-path"),
    pytest.param({"q": "Paid deployments"}, {"counts.paid"}, id="search-description"),
    pytest.param({"time_frame": "all"}, {"counts.untiered"}, id="time-frame"),
    pytest.param({"data_source": "redis_hll"}, {"counts.untiered"}, id="data-source"),
    pytest.param({"data_category": "optional"}, {"counts.free_only"}, id="data-category"),
    pytest.param({"is_tracked__exact": "1"}, {"counts.everyone"}, id="is-tracked"),
    pytest.param(
        {"status": "active"},
        {"counts.free_only", "counts.paid", "counts.everyone", "counts.untiered"},
        id="status",
    ),
    pytest.param({"tier": "premium"}, {"counts.paid", "counts.everyone"}, id="tier-premium"),
    pytest.param({"tier": "free"}, {"counts.free_only", "counts.everyone"}, id="tier-free"),
    pytest.param({"tier": "ultimate", "q": "paid"}, {"counts.paid"}, id="tier-and-search"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("params", "expected"), FILTERS)
def test_the_metric_change_list_filters_and_searches_in_bounded_queries(
    client, admin_user, dictionary, django_assert_max_num_queries, params, expected
):
    client.force_login(admin_user)

    with django_assert_max_num_queries(7):
        response = client.get(CHANGELIST, params)

    assert response.status_code == 200
    assert {row.key_path for row in response.context["cl"].result_list} == expected


@pytest.mark.django_db
def test_the_whole_change_list_costs_the_same_bounded_queries(
    client, admin_user, dictionary, django_assert_max_num_queries
):
    client.force_login(admin_user)

    with django_assert_max_num_queries(7):
        response = client.get(CHANGELIST)

    assert response.status_code == 200
    assert response.context["cl"].result_count == 44


@pytest.mark.django_db
def test_a_definition_page_shows_the_file_pretty_and_only_tracking_is_editable(client, admin_user):
    row = _definition("counts.deployments", definition={"key_path": "counts.deployments"})
    client.force_login(admin_user)
    url = reverse("admin:scoring_metricdefinition_change", args=[row.pk])

    page = client.get(url).content.decode()
    client.post(url, {"is_tracked": "on", "key_path": "counts.renamed"})

    assert "<pre>{\n  &quot;key_path&quot;: &quot;counts.deployments&quot;\n}</pre>" in page
    row.refresh_from_db()
    assert (row.key_path, row.is_tracked) == ("counts.deployments", True)
    assert client.get(reverse("admin:scoring_metricdefinition_add")).status_code == 403
