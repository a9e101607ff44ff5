"""The report's context: what every section reads (the store, the window, the AORs,
the metric, the coverage, the surge scan, the model's baselines) and the helpers they
share (counting with the query kept, charts, place words). One object, built once;
each section (icetally.report.sections) takes it and appends its Section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

import ibis

from icetally import install, reference
from icetally.analysis.operations import surges as find_surges
from icetally.analysis.surges import DEFAULT_THRESHOLD, AorBaseline, Surge
from icetally.analysis.windows import baselines_without, window_figures
from icetally.errors import IcetallyError
from icetally.query.count import CountResult, count
from icetally.query.filters import Slice
from icetally.query.series import daily_expr, daily_series, metric_slice
from icetally.report import charts
from icetally.report import page as P
from icetally.store.coverage import Coverage
from icetally.store.handle import Store
from icetally.vocabulary import METRICS


class ReportError(IcetallyError, ValueError):
    """The report cannot be made as asked (the message says why)."""


@dataclass
class Section:
    """One section of the page: its body (HTML fragments) and the queries behind it.
    ``supported=False`` when the records cannot support it (the body says why)."""

    id: str
    title: str
    body: list[str] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    supported: bool = True

    def html(self) -> Any:
        return P.section(self)


def aor_name(code: str) -> str:
    return reference.aor_name(code) or code


class ReportContext:
    """Everything a section needs (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        date_from: str | date | None,
        date_to: str | date | None,
        surge_id: str | None,
        aor: str | list[str] | None,
        claims: Any,
        dataset: str,
        metric: str,
        threshold: float = DEFAULT_THRESHOLD,
        campaign_id: str | None = None,
    ) -> None:
        self.store = store
        self.dataset = dataset
        self.metric = metric
        self.claims = claims
        self.threshold = threshold
        self.con = store.ibis
        self.queries: list[dict[str, Any]] = []
        self._qn = 0
        base = Slice.build(dataset, aor=aor)  # validates AOR codes and the dataset
        self.metric_slice = metric_slice(Slice.build(dataset), metric)
        self.cls = self.metric_slice.method_class[0] if self.metric_slice.method_class else None
        self.cov: Coverage = store.coverage(dataset)
        if self.cov.start is None:
            raise ReportError(f"the store has no {dataset} release: run `icetally ingest` first")
        self.surge_result = find_surges(dataset, metric=metric, store=store, threshold=threshold)
        self.all_surges: list[Surge] = self.surge_result.surges
        self.surge: Surge | None = None
        # a campaign report (icetally report --campaign ID): report/sections/campaign.py
        self.campaign: Any = None
        self.campaign_result: Any = None
        self.campaign_area = "aor"
        if campaign_id:
            self._find_campaign(campaign_id)
            self.start, self.end = self.campaign.start, self.campaign.end
            self.aors = [self.campaign.area] if self.campaign_area == "aor" else base.aor
        elif surge_id:
            hit = [s for s in self.all_surges if s.id == surge_id]
            if not hit:
                near = ", ".join(s.id for s in self.all_surges[-8:]) or "none found"
                raise ReportError(
                    f"no surge {surge_id!r} in the {dataset} records (metric {metric}); "
                    f"run `icetally surges` for the ids (latest: {near})"
                )
            self.surge = hit[0]
            self.start, self.end = self.surge.start, self.surge.end
            self.aors = base.aor or list(dict.fromkeys(a.aor for a in self.surge.aors))
        else:
            win = Slice.build(dataset, date_from=date_from, date_to=date_to)
            if win.date_from is None or win.date_to is None:
                raise ReportError("give a window (--from D --to D) or a surge (--surge ID)")
            if win.date_to < win.date_from:
                raise ReportError(f"--to {win.date_to} is before --from {win.date_from}")
            self.start, self.end = win.date_from, win.date_to
            self.aors = base.aor
            self.surge = self._overlapping_surge()
        self.days = (self.end - self.start).days + 1
        self.sections: list[Section] = []
        self.notes: list[str] = []
        self._bls: dict[str, AorBaseline] | None = None

    def _find_campaign(self, campaign_id: str) -> None:
        from icetally.analysis.campaigns_store import area_kind_of
        from icetally.analysis.campaigns_store import campaigns as find_campaigns

        self.campaign_area = area_kind_of(campaign_id)
        res = find_campaigns(
            self.dataset, metric=self.metric, area=self.campaign_area, store=self.store
        )
        self.campaign, self.campaign_result = res.find(campaign_id), res
        if self.campaign is None:
            near = ", ".join(c.id for c in res.campaigns[-8:]) or "none found"
            raise ReportError(
                f"no campaign {campaign_id!r} in the {self.dataset} records by "
                f"{self.campaign_area} (metric {self.metric}); run `icetally campaigns "
                f"--area {self.campaign_area}` for the ids (latest: {near})"
            )

    def _overlapping_surge(self) -> Surge | None:
        """The detected operation overlapping the window (in the report's AORs, if any)."""
        best = None
        for s in self.all_surges:
            if s.end < self.start or s.start > self.end:
                continue
            if self.aors and not {a.aor for a in s.aors} & set(self.aors):
                continue
            if best is None or s.excess > best.excess:
                best = s
        return best

    def filters(self, *, metric: bool = True, aor: bool = True, **over: Any) -> dict[str, Any]:
        f: dict[str, Any] = {"date_from": self.start, "date_to": self.end}
        if aor and self.aors:
            f["aor"] = self.aors
        if metric and self.cls:
            f["method_class"] = [self.cls]
        f.update(over)
        return {k: v for k, v in f.items() if v is not None}

    def count(
        self,
        label: str,
        section: Section,
        *,
        by: str | None = None,
        dataset: str | None = None,
        **filters: Any,
    ) -> CountResult:
        r = count(dataset or self.dataset, store=self.store, by=by, **filters)
        r.query["_id"] = self.add_query(
            section,
            label,
            r.query["sql"],
            dataset=r.query["dataset"],
            filters=r.query["filters"],
            by=r.query["by"],
            releases=r.query.get("releases", []),
            result=f"{r.total:,} records"
            if not by
            else f"{len(r.rows)} groups, {r.total:,} records",
        )
        return r

    def section(self, id: str, title: str) -> Section:
        """A new section, appended to the page in the order sections are built."""
        s = Section(id, title)
        self.sections.append(s)
        return s

    def add_query(self, section: Section, label: str, sql: str | None, **meta: Any) -> str:
        self._qn += 1
        q = {"id": f"q{self._qn}", "label": label, "sql": sql, "dataset": self.dataset, **meta}
        section.queries.append(q)
        self.queries.append(q)
        return q["id"]

    def chart(self, spec: dict[str, Any]) -> str | None:
        try:
            return charts.render_svg(spec)
        except ImportError as exc:
            note = install.needs("drawing the report's charts", exc)
            if note not in self.notes:
                self.notes.append(note)
            return None
        except Exception as exc:  # noqa: BLE001 - a chart must never cost the figures
            self.notes.append(f"a chart could not be drawn: {exc}")
            return None

    def where(self) -> str:
        if self.campaign is not None and self.campaign_area != "aor":
            from icetally.analysis.campaigns_store import place_name

            return place_name(self.campaign_area, self.campaign.area)
        if not self.aors:
            return "all AORs"
        return ", ".join(f"{aor_name(a)} ({a})" for a in self.aors)

    def where_short(self) -> str:
        """For chart titles and labels: a list of codes beyond three AORs."""
        if self.campaign is not None and self.campaign_area != "aor":
            return self.where()
        if not self.aors:
            return "all AORs"
        if len(self.aors) <= 3:
            return self.where()
        return f"{len(self.aors)} AORs ({', '.join(self.aors)})"

    def metric_words(self) -> str:
        if self.dataset != "arrests":
            return f"{self.dataset} records"
        return METRICS[self.metric].words

    @cached_property
    def series_sql(self) -> str:
        """The SQL of the daily series the baseline model is fitted on."""
        return str(ibis.to_sql(daily_expr(self.store.table(self.dataset), self.metric_slice)))

    def baselines(self) -> dict[str, AorBaseline]:
        """The surge model's baseline per AOR of the report, refitted without any detected
        operation and without the window itself, so neither lifts its own baseline."""
        if self._bls is None:
            daily = daily_series(self.store, self.metric_slice)
            windows: dict[str, list[tuple[date, date]]] = {"*": [(self.start, self.end)]}
            for su in self.all_surges:
                for p in su.aors:
                    windows.setdefault(p.aor, []).append((p.start, p.end))
            self._bls = baselines_without(
                daily,
                coverage=self.cov.by_area or self.cov.spans,
                aors=self.aors or None,
                windows=windows,
            )
        return self._bls

    def model_window(self, start: date, end: date, aors: list[str] | None = None) -> dict[str, Any]:
        """Observed, expected and excess (95% interval) over the AORs from the model."""
        return window_figures(self.baselines(), start, end, aors=aors)

    def tables(self) -> set[str]:
        """Which optional tables the store has. Probed one by one: Ibis 12's list_tables
        fails on DuckDB 2.0 and leaves a half-read result on the connection."""
        if not hasattr(self, "_tbl"):
            names = ("detainers", "jurisdictions", "jurisdiction_policies")
            self._tbl = {name for name in names if self.store.has_table(name)}
        return self._tbl

    def release_names(self, ids: list[str]) -> str:
        rel = self.releases_by_id()
        names = [
            f"{rel[i]['file_name']}{' / ' + rel[i]['sheet'] if rel[i].get('sheet') else ''}"
            for i in ids
            if i in rel
        ]
        return ", ".join(names) or "none"

    def releases_by_id(self) -> dict[str, dict[str, Any]]:
        if not hasattr(self, "_rel"):
            self._rel = {r["release_id"]: r for r in self.store.releases()}
        return self._rel
