"""OpenSLO v1: opsflow's SLOs written and read back unchanged, a team's file setting the objective, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from opsflow import openslo
from opsflow.openslo import OpenSloError, SloObjective

EVENTS = pd.DataFrame(
    {
        "category": ["uptime", "uptime", "uptime", "shipping", "shipping"],
        "service": ["checkout", "checkout", "checkout", "wh1", "wh1"],
        # checkout's objective in force is its most frequent one: 0.999 (two rows) over 0.99 (one).
        "objective": [0.999, 0.999, 0.99, 0.95, 0.95],
        "met": [True, False, True, True, True],
    }
)


def test_round_trip_from_events_to_openslo_and_back() -> None:
    slos = openslo.from_events(EVENTS)
    assert [(s.category, s.service, s.target) for s in slos] == [
        ("shipping", "wh1", 0.95),
        ("uptime", "checkout", 0.999),
    ]
    text = openslo.dump(slos)
    assert text.count("apiVersion: openslo/v1") == 2 and "budgetingMethod: Occurrences" in text
    back = openslo.load(text)
    assert [(s.category, s.service, s.target) for s in back] == [(s.category, s.service, s.target) for s in slos]
    # And again: writing what was read gives the same file.
    assert openslo.dump(back) == text


def test_a_teams_file_sets_the_objective_every_report_uses(tmp_path: Path) -> None:
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "checkout.yaml").write_text(
        openslo.dump([SloObjective("uptime", "checkout", 0.9995)]), encoding="utf-8"
    )
    slos = openslo.read_folder(tmp_path)
    events, changed = openslo.apply(EVENTS, slos)
    # The three checkout rows take 0.9995; wh1 keeps the export's 0.95; the user's frame is not changed.
    assert list(events["objective"]) == [0.9995, 0.9995, 0.9995, 0.95, 0.95] and changed == 3
    assert list(EVENTS["objective"]) == [0.999, 0.999, 0.99, 0.95, 0.95]
    assert len(events) == len(EVENTS)


def test_target_percent_and_other_kinds() -> None:
    doc = openslo.to_document(SloObjective("uptime", "checkout", 0.999))
    doc["spec"]["objectives"] = [{"targetPercent": 99.5}]
    service = "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: checkout}\n---\n"
    [slo] = openslo.load(service + openslo.yaml.safe_dump(doc))
    assert slo.target == pytest.approx(0.995)  # a Service document is ignored, targetPercent read as a ratio


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(apiVersion="openslo/v2alpha"), "apiVersion 'openslo/v2alpha' is not supported"),
        (lambda d: d["spec"]["timeWindow"][0].update(duration="7d"), "timeWindow 7d is not supported"),
        (lambda d: d["spec"].update(objectives=[{"target": 99.9}]), "target must be a ratio between 0 and 1"),
        (
            lambda d: d["spec"]["indicator"]["spec"]["ratioMetric"]["total"]["metricSource"].update(type="Prometheus"),
            "metricSource type 'Prometheus' is measured elsewhere",
        ),
        (lambda d: d["spec"].pop("indicator"), "spec.indicator.spec.ratioMetric.total.metricSource is missing"),
    ],
)
def test_an_unusable_document_is_one_line(change: object, message: str) -> None:
    doc = openslo.to_document(SloObjective("uptime", "checkout", 0.999))
    change(doc)  # type: ignore[operator]
    with pytest.raises(OpenSloError) as err:
        openslo.load(openslo.yaml.safe_dump(doc), "slos/x.yaml")
    assert message in str(err.value) and str(err.value).startswith("slos/x.yaml document 1")
    assert "\n" not in str(err.value)


def test_two_files_that_disagree_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "slos").mkdir()
    for name, target in (("a.yaml", 0.999), ("b.yml", 0.99)):
        (tmp_path / "slos" / name).write_text(openslo.dump([SloObjective("uptime", "checkout", target)]), "utf-8")
    with pytest.raises(OpenSloError, match="slos/b.yml: uptime / checkout has target 0.99, but slos/a.yaml says 0.999"):
        openslo.read_folder(tmp_path)


SERVICES = pd.DataFrame({"service_id": ["api", "web"], "tier": ["critical", "standard"]})


def test_service_tier_slos_round_trip_with_their_latency_threshold() -> None:
    slos = [
        SloObjective("error_rate", "api", 0.999),
        SloObjective("latency", "api", 0.95, threshold=2.0),
        SloObjective("latency_p95", "web", 0.99, threshold=5.0),
    ]
    text = openslo.dump(slos)
    assert "op: lte" in text and "dataset: service_metrics" in text
    back = openslo.load(text)
    assert [(s.category, s.service, s.target, s.threshold) for s in back] == [
        (s.category, s.service, s.target, s.threshold) for s in slos
    ]
    assert openslo.dump(back) == text


def test_a_service_tier_file_sets_the_services_own_objectives() -> None:
    slos = [
        SloObjective("error_rate", "web", 0.98),  # at most 2% failed requests
        SloObjective("latency", "api", 0.9, threshold=1.5),
        SloObjective("uptime", "checkout", 0.9995),  # an SLA-event SLO: not the catalogue's business
    ]
    services, changed = openslo.apply_to_services(SERVICES, slos)
    # web's error_rate_max 1 - 0.98 = 0.02; api's threshold 1.5 s and objective 0.9: three values changed.
    assert changed == 3
    assert list(services["error_rate_max"].fillna(-1)) == [-1, 0.02]
    assert list(services["latency_threshold_seconds"].fillna(-1)) == [1.5, -1]
    assert list(services["latency_objective"].fillna(-1)) == [0.9, -1]
    assert "error_rate_max" not in SERVICES.columns  # the user's frame is not changed
    with pytest.raises(OpenSloError, match="is for service 'nope', which the services dataset does not list"):
        openslo.apply_to_services(SERVICES, [SloObjective("error_rate", "nope", 0.99)])


def test_a_latency_objective_needs_a_threshold_in_seconds() -> None:
    doc = openslo.to_document(SloObjective("latency", "api", 0.95, threshold=2.0))
    doc["spec"]["objectives"][0]["value"] = -1
    with pytest.raises(OpenSloError, match="a latency objective is `op: lte` with `value` in seconds above 0"):
        openslo.load(openslo.yaml.safe_dump(doc), "slos/x.yaml")
