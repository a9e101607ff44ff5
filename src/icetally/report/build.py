"""Gather the report's figures from the store and lay them out as one HTML page.

Every figure comes from ``icetally.count`` (or the surge detector's baseline over the
same daily series) and keeps its query: SQL, filters and releases are printed in a
<details> next to the section that uses them. A section the records cannot support says
so instead of disappearing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import ibis
import numpy as np
from scipy import stats

from icetally import install, reference
from icetally.analysis.operations import surges as find_surges
from icetally.analysis.surges import (
    DEFAULT_INCOMPLETE_TAIL_DAYS,
    DEFAULT_THRESHOLD,
    AorBaseline,
    Surge,
    fit_baselines,
)
from icetally.query.backend import BackendError, table
from icetally.query.count import CountResult, count
from icetally.query.filters import QueryError, Slice
from icetally.query.series import daily_expr, daily_series, metric_slice
from icetally.report import charts, tiles
from icetally.report import page as P
from icetally.store.coverage import Coverage
from icetally.store.handle import Store
from icetally.vocabulary import METRICS

CONTEXT_BEFORE = 56  # days of normal records shown before the window (eight weeks)
CONTEXT_AFTER = 28
BAND = 0.90  # the daily chart's band: where nine normal days in ten fall


class ReportError(ValueError):
    """The report cannot be made as asked (the message says why)."""


@dataclass
class _Section:
    id: str
    title: str
    body: list[str] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    supported: bool = True

    def html(self) -> str:
        qs = "".join(P.query_details(q) for q in self.queries)
        return (
            f'<section id="{P.esc(self.id)}" data-supported="{str(self.supported).lower()}">'
            f"<h2>{P.esc(self.title)}</h2>{''.join(self.body)}{qs}</section>"
        )


def _nb_interval(mean: float, var: float, level: float) -> tuple[float, float]:
    """Central interval of a negative binomial with this mean and variance (Poisson when
    the variance is not above the mean)."""
    if mean <= 0:
        return 0.0, 0.0
    a = (1 - level) / 2
    if var <= mean * 1.0001:
        d = stats.poisson(mean)
    else:
        n = mean * mean / (var - mean)
        d = stats.nbinom(n, n / (n + mean))
    return float(d.ppf(a)), float(d.ppf(1 - a))


def _aor_name(code: str) -> str:
    return reference.aor_name(code) or code


class ReportBuilder:
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
        if surge_id:
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
        self.sections: list[_Section] = []
        self.figures: list[str] = []
        self.notes: list[str] = []

    # ------------------------------------------------------------------ helpers

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
        section: _Section,
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

    def add_query(self, section: _Section, label: str, sql: str | None, **meta: Any) -> str:
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
        if not self.aors:
            return "all AORs"
        return ", ".join(f"{_aor_name(a)} ({a})" for a in self.aors)

    def where_short(self) -> str:
        """For chart titles and labels: a list of codes beyond three AORs."""
        if not self.aors:
            return "all AORs"
        if len(self.aors) <= 3:
            return self.where()
        return f"{len(self.aors)} AORs ({', '.join(self.aors)})"

    def metric_words(self) -> str:
        if self.dataset != "arrests":
            return f"{self.dataset} records"
        return METRICS[self.metric].words

    # ------------------------------------------------------------------ baseline

    def baselines(self) -> dict[str, AorBaseline]:
        """The surge model's baseline per AOR of the report, refitted without any detected
        operation and without the window itself, so neither lifts its own baseline."""
        if hasattr(self, "_bls"):
            return self._bls
        daily = daily_series(self.con, self.metric_slice)
        self.series_sql = str(
            ibis.to_sql(daily_expr(table(self.con, self.dataset), self.metric_slice))
        )
        cov = self.cov.by_area or self.cov.spans
        bls = fit_baselines(daily, coverage=cov, aors=self.aors or None) if len(daily) else {}
        out = {}
        for a, bl in bls.items():
            excl = np.zeros(bl.n_days, dtype=bool)
            spans = [(p.start, p.end) for s in self.all_surges for p in s.aors if p.aor == a]
            spans.append((self.start, self.end))
            for s, e in spans:
                i, j = bl.window_index(s, e)
                excl[max(i - 1, 0) : max(j + 2, 0)] = True
            try:
                out[a] = bl.refit(excl)
            except Exception:  # noqa: BLE001 - too few days left: keep the robust fit
                out[a] = bl
        self._bls = out
        return out

    def model_window(self, start: date, end: date, aors: list[str] | None = None) -> dict[str, Any]:
        """Observed, expected and excess (95% interval) over the AORs from the model."""
        c = b = v = 0.0
        used = []
        for a, bl in self.baselines().items():
            if aors is not None and a not in aors:
                continue
            i, j = bl.window_index(start, end)
            i, j = max(i, 0), min(j, bl.n_days - 1)
            if j < i:
                continue
            c += float(bl.observed[i : j + 1].sum())
            bb, vv = bl.window_variance(i, j)
            b += bb
            v += vv
            used.append(a)
        lo, hi = _nb_interval(b, v, 0.95)
        return {
            "observed": c,
            "expected": b,
            "excess": c - b,
            "excess_low": c - hi,
            "excess_high": c - lo,
            "aors": used,
        }

    # ------------------------------------------------------------------ sections

    def build(self) -> str:
        self.s_headline()
        self.s_aors()
        self.s_daily()
        self.s_week()
        self.s_earlier()
        self.s_citizenship()
        self.s_method()
        self.s_criminality()
        self.s_claims()
        self.s_cooperation()
        self.s_detention()
        self.s_methods()
        return self.page()

    def s_detention(self) -> None:
        """ICE's published detention statistics, when the store holds them
        (report/detention.py; docs/official.md)."""
        from icetally.report import detention

        if not self.store.is_duckdb:
            return
        part = detention.section(self.store, self.start, self.end)
        if part is None:
            return
        s = _Section("detention", part["title"])
        self.sections.append(s)
        s.body.extend(part["body"])
        for q in part["queries"]:
            meta = {k: v for k, v in q.items() if k not in ("label", "sql", "dataset")}
            meta["filters"] = {**(q.get("filters") or {}), "table": q.get("table")}
            self.add_query(s, q["label"], q["sql"], **{**meta, "dataset": "official"})

    def s_headline(self) -> None:
        s = _Section("headline", "Headline figures")
        self.sections.append(s)
        total = self.count(f"{self.metric_words()} in the window", s, **self.filters())
        cards = [
            P.figure_card(
                "records",
                f"{self.metric_words()}, {self.start:%d %b %Y} – {self.end:%d %b %Y}, "
                f"{self.where_short()}",
                total.total,
                P.fmt_int(total.total),
                query=total.query["_id"],
            )
        ]
        if self.cls:
            every = self.count(
                "arrests of all methods in the window", s, **self.filters(metric=False)
            )
            share = total.total / every.total if every.total else None
            cards.append(
                P.figure_card(
                    "records_all_methods",
                    "arrests of all methods in the same window and AORs",
                    every.total,
                    P.fmt_int(every.total),
                    query=every.query["_id"],
                    note=f"{P.fmt_pct(share)} {self.cls.replace('_', '-')}"
                    if share is not None
                    else "",
                )
            )
        m = self.model_window(self.start, self.end, self.aors or None)
        self.window_model = m
        mid = self.add_query(
            s,
            "daily series behind the baseline (per AOR and day; the model is fitted in Python)",
            self.series_sql,
            filters=self.metric_slice.to_dict(),
            releases=[r["release_id"] for r in self.cov.releases],
        )
        if m["aors"]:
            cards.append(
                P.figure_card(
                    "expected",
                    "expected in a normal window (baseline model)",
                    round(m["expected"], 1),
                    P.fmt_int(m["expected"]),
                    query=mid,
                )
            )
            cards.append(
                P.figure_card(
                    "excess",
                    "above the baseline (95% interval)",
                    round(m["excess"], 1),
                    P.fmt_int(m["excess"]),
                    query=mid,
                    note=f"{P.fmt_int(m['excess_low'])} to {P.fmt_int(m['excess_high'])}",
                )
            )
        if self.surge is not None:
            su = self.surge
            cards.append(
                P.figure_card(
                    "surge_excess",
                    f"operation found: {su.id}",
                    round(su.excess, 1),
                    P.fmt_int(su.excess),
                    query=mid,
                    note=f"{su.start:%d %b} – {su.end:%d %b %Y}, {len(su.aors)} AOR(s), "
                    f"{su.observed:,} observed vs {su.expected:,.0f} expected",
                )
            )
        s.body.append(f'<div class="figures">{"".join(cards)}</div>')
        tail_from = self.cov.end - timedelta(DEFAULT_INCOMPLETE_TAIL_DAYS) if self.cov.end else None
        if not self.cov.contains(self.start, self.end):
            s.body.append(
                P.unsupported(
                    f"The window runs outside the releases' coverage ({self.cov.describe()}); "
                    "days outside it have no records, which is not zero arrests."
                )
            )
        elif tail_from and self.end > tail_from:
            s.body.append(
                P.note(
                    f"The window reaches into the last {DEFAULT_INCOMPLETE_TAIL_DAYS} days of the "
                    f"coverage (after {tail_from}): records there are still being entered when a "
                    "release is extracted, so counts may be low."
                )
            )
        if self.surge is None:
            s.body.append(
                P.note(
                    "The surge detector finds no operation overlapping this window "
                    f"({self.metric} records, p ≤ {self.threshold} per AOR-year)."
                )
            )

    def s_aors(self) -> None:
        s = _Section("aors", "Records per area of responsibility")
        self.sections.append(s)
        nat = self.count(
            "records per AOR, all AORs (for the map)", s, by="aor", **self.filters(aor=False)
        )
        totals = {r["aor"]: r["n"] for r in nat.rows if r.get("aor")}
        missing = sum(r["n"] for r in nat.rows if not r.get("aor"))
        wanted = self.aors or sorted(totals, key=lambda a: -totals[a])
        every = {}
        if self.cls:
            ev = self.count(
                "arrests of all methods per AOR",
                s,
                by="aor",
                **self.filters(metric=False, aor=False),
            )
            every = {r["aor"]: r["n"] for r in ev.rows if r.get("aor")}
        det = {p.aor: p for p in (self.surge.aors if self.surge else [])}
        rows = []
        for a in wanted:
            m = self.model_window(self.start, self.end, [a])
            p = det.get(a)
            row = [a, _aor_name(a), P.fmt_int(totals.get(a, 0))]
            if self.cls:
                row.append(P.fmt_int(every.get(a, 0)))
            row += [
                P.fmt_int(m["expected"]) if m["aors"] else "–",
                P.fmt_int(m["excess"]) if m["aors"] else "–",
                f"{p.start:%m-%d}→{p.end:%m-%d}: {p.excess:,.0f}" if p else "–",
            ]
            rows.append(row)
        headers = ["AOR", "name", self.metric_words()]
        if self.cls:
            headers.append("all methods")
        headers += ["expected", "above baseline", "detector window: excess"]
        num = [2, 3, 4, 5, 6] if self.cls else [2, 3, 4, 5]
        s.body.append(P.table(headers, rows, numeric=num))
        if missing:
            s.body.append(
                P.note(f"{missing:,} records in the window carry no AOR and are not on the map.")
            )
        svg = self.chart(
            charts.tile_map(
                tiles.tile_rows(totals, set(self.aors), any_aor=True),
                title=f"{self.metric_words().capitalize()}, "
                f"{self.start:%d %b} – {self.end:%d %b %Y}, by AOR",
            )
        )
        split = "; ".join(f"{st}: {', '.join(a)}" for st, a in tiles.split_states().items())
        s.body.append(
            P.svg_figure(
                svg,
                "Each state takes the colour of its AOR's total over the window (the AOR code "
                "under "
                "the state). States marked * are split between AORs and show the AOR with most of "
                f"their population ({split}). States wholly or partly in the report's AORs are "
                "outlined in red.",
                "Tile map of US states coloured by AOR totals",
            )
        )

    def s_daily(self) -> None:
        s = _Section("daily", "Day by day, against the baseline")
        self.sections.append(s)
        c0 = max(self.cov.start, self.start - timedelta(CONTEXT_BEFORE))
        c1 = min(self.cov.end, self.end + timedelta(CONTEXT_AFTER))
        if c1 < c0:
            s.supported = False
            s.body.append(P.unsupported("The window lies outside the releases' coverage."))
            return
        obs = self.count(
            "records per day around the window",
            s,
            by="date",
            **self.filters(date_from=c0, date_to=c1),
        )
        per_day = {r["date"]: r["n"] for r in obs.rows}
        bls = self.baselines()
        points = []
        for k in range((c1 - c0).days + 1):
            d = c0 + timedelta(k)
            if not self.cov.covered(d):
                continue  # a gap between releases: no records, not zero records
            mu = var = 0.0
            for bl in bls.values():
                i = bl.window_index(d, d)[0]
                if 0 <= i < bl.n_days and bl.covered[i]:
                    m = float(bl.expected[i])
                    mu += m
                    var += m + bl.phi * m * m
            lo, hi = _nb_interval(mu, var, BAND)
            points.append(
                {
                    "date": d.isoformat(),
                    "observed": int(per_day.get(d.isoformat(), 0)),
                    "expected": round(mu, 2),
                    "low": lo,
                    "high": hi,
                }
            )
        others = [
            (s2.start, s2.end, s2.id)
            for s2 in self.all_surges
            if s2.end >= c0
            and s2.start <= c1
            and s2 is not self.surge
            and (not self.aors or {a.aor for a in s2.aors} & set(self.aors))
        ]
        svg = self.chart(
            charts.daily_chart(
                points,
                window=(self.start, self.end),
                others=others,
                title=f"{self.metric_words().capitalize()} per day, {self.where_short()}",
                band_label="baseline band",
            )
        )
        s.body.append(
            P.svg_figure(
                svg,
                f"Blue: records per day. Dashed: the baseline (negative-binomial model per AOR: "
                f"trend, weekday, holidays; fitted without detected operations). Band: where "
                f"{BAND:.0%} of normal days fall. Red shading: the report window"
                + ("; grey: other operations found in these AORs." if others else "."),
                "Daily records with baseline band",
            )
        )
        win = [p for p in points if self.start.isoformat() <= p["date"] <= self.end.isoformat()]
        s.body.append(
            P.table(
                ["day", "records", "expected", f"{BAND:.0%} band"],
                [
                    [
                        f"{date.fromisoformat(p['date']):%a %d %b %Y}",
                        P.fmt_int(p["observed"]),
                        f"{p['expected']:.1f}",
                        f"{p['low']:.0f}–{p['high']:.0f}",
                    ]
                    for p in win
                ],
                numeric=[1, 2, 3],
                caption="Days of the window",
            )
        )

    def s_week(self) -> None:
        s = _Section("week", "The week's total against the operation's excess")
        self.sections.append(s)
        w0 = self.start
        w1 = min(self.start + timedelta(6), self.cov.end)
        if w1 < w0:
            s.supported = False
            s.body.append(
                P.unsupported(
                    f"The week from {w0} lies after the releases' coverage (to {self.cov.end})."
                )
            )
            return
        week = self.count(
            "records in the seven days from the window's first day",
            s,
            **self.filters(date_from=w0, date_to=w1),
        )
        nat = self.count(
            "records in the same seven days, all AORs",
            s,
            **self.filters(date_from=w0, date_to=w1, aor=False),
        )
        mw = self.model_window(w0, w1, self.aors or None)
        m = self.window_model
        rows = []
        if m["aors"]:
            rows += [
                {
                    "scope": f"window {self.start:%d %b}–{self.end:%d %b}",
                    "part": "normal (baseline)",
                    "n": round(m["expected"]),
                    "order": 0,
                },
                {
                    "scope": f"window {self.start:%d %b}–{self.end:%d %b}",
                    "part": "above baseline",
                    "n": max(round(m["excess"]), 0),
                    "order": 1,
                },
            ]
        if mw["aors"]:
            rows += [
                {
                    "scope": f"week {w0:%d %b}–{w1:%d %b}",
                    "part": "normal (baseline)",
                    "n": round(mw["expected"]),
                    "order": 0,
                },
                {
                    "scope": f"week {w0:%d %b}–{w1:%d %b}",
                    "part": "above baseline",
                    "n": max(round(mw["observed"] - mw["expected"]), 0),
                    "order": 1,
                },
            ]
        svg = (
            self.chart(
                charts.week_chart(rows, title=f"{self.where_short()}: normal and extra records")
            )
            if rows
            else None
        )
        s.body.append(
            P.svg_figure(
                svg,
                "Each bar is what the records hold, split into what the baseline expects and what "
                "lies above it.",
                "Week total against operation excess",
            )
        )
        table_rows = [
            ["records in the week (report AORs)", P.fmt_int(week.total)],
            ["records in the week (all AORs)", P.fmt_int(nat.total)],
        ]
        if mw["aors"]:
            table_rows.append(
                ["a normal week would hold (report AORs, baseline)", P.fmt_int(mw["expected"])]
            )
        if m["aors"]:
            table_rows.append(
                [
                    f"excess over the window {self.start:%d %b}–{self.end:%d %b} (95% interval)",
                    f"{P.fmt_int(m['excess'])} "
                    f"({P.fmt_int(m['excess_low'])}–{P.fmt_int(m['excess_high'])})",
                ]
            )
        if self.surge is not None:
            table_rows.append(
                [f"excess of the operation found ({self.surge.id})", P.fmt_int(self.surge.excess)]
            )
        s.body.append(P.table(["", "records"], table_rows, numeric=[1]))
        if m["aors"] and week.total:
            s.body.append(
                f"<p>Of the {P.fmt_int(week.total)} records of the week in "
                f"{P.esc(self.where_short())}, about "
                f"{P.fmt_int(mw['expected'])} are what a normal week holds there; the window's "
                "excess "
                f"of {P.fmt_int(m['excess'])} is the part an operation could account for. A press "
                "figure "
                "for an operation should lie between that excess and everything recorded in its "
                "window.</p>"
            )

    def s_earlier(self) -> None:
        s = _Section("earlier", "Earlier comparable operations in the records")
        self.sections.append(s)
        qid = self.add_query(
            s,
            "daily series scanned by the surge detector",
            self.surge_result.query.get("series_sql", ""),
            filters=self.surge_result.query.get("filters"),
            releases=[r["release_id"] for r in self.cov.releases],
        )
        want = set(self.aors) if self.aors else None
        earlier = [
            x
            for x in self.all_surges
            if x.end < self.start and (want is None or {a.aor for a in x.aors} & want)
        ]
        earlier.sort(key=lambda x: -x.excess)
        shown = sorted(earlier[:15], key=lambda x: x.start, reverse=True)
        if not shown:
            s.body.append(
                P.note(
                    f"No operation before {self.start} in {self.where()} stands out in these "
                    "records "
                    f"(coverage from {self.cov.start}; p ≤ {self.threshold} per AOR-year)."
                )
            )
            return
        rows = []
        for x in shown:
            common = [a.aor for a in x.aors if want is None or a.aor in want]
            rows.append(
                [
                    x.id,
                    f"{x.start} → {x.end:%m-%d}"
                    if x.start.year == x.end.year
                    else f"{x.start} → {x.end}",
                    ", ".join(common),
                    str(len(x.aors)),
                    P.fmt_int(x.observed),
                    P.fmt_int(x.expected),
                    P.fmt_int(x.excess),
                    f"{x.p_value:.1g}",
                ]
            )
        s.body.append(
            f"<p>{len(earlier)} earlier operation(s) found in {P.esc(self.where_short())} since "
            f"{self.cov.start} ({P.esc(self.metric)} records); the largest {len(shown)} by "
            "excess:</p>"
        )
        s.body.append(
            P.table(
                [
                    "operation",
                    "dates",
                    "AORs in common",
                    "AORs",
                    "observed",
                    "expected",
                    "excess",
                    "p (per AOR-year)",
                ],
                rows,
                numeric=[3, 4, 5, 6, 7],
            )
        )
        s.body.append(
            f'<p><a href="#{qid}">The series the detector scans</a>; method in the last '
            "section.</p>"
        )

    def s_citizenship(self) -> None:
        s = _Section("citizenship", "Citizenship")
        self.sections.append(s)
        cit = self.count("records by citizenship", s, by="citizenship", **self.filters())
        cont = self.count("records by continent", s, by="continent", **self.filters())
        total = cit.total
        if not total:
            s.body.append(P.note("No records in the window."))
            return
        known = [r for r in cit.rows if r.get("citizenship")]
        if not known:
            s.supported = False
            s.body.append(P.unsupported("These releases give no citizenship."))
            return
        top = sorted(known, key=lambda r: -r["n"])[:10]
        s.body.append(
            P.svg_figure(
                self.chart(
                    charts.bar_chart(
                        [{"country": r["citizenship"], "n": r["n"]} for r in top],
                        label="country",
                        value="n",
                        title="Top citizenship countries",
                    )
                ),
                f"The ten most frequent citizenships of {total:,} records ({len(known)} countries "
                "in all).",
                "Top citizenship countries",
            )
        )
        s.body.append(
            P.table(
                ["citizenship (as released)", "records", "share"],
                [[r["citizenship"], P.fmt_int(r["n"]), P.fmt_pct(r["n"] / total, 1)] for r in top],
                numeric=[1, 2],
            )
        )
        crow = sorted(cont.rows, key=lambda r: -r["n"])
        unknown = sum(r["n"] for r in crow if not r.get("continent"))
        s.body.append(
            P.table(
                ["continent", "records", "share"],
                [
                    [
                        r.get("continent") or "not mapped / unknown",
                        P.fmt_int(r["n"]),
                        P.fmt_pct(r["n"] / total, 1),
                    ]
                    for r in crow
                ],
                numeric=[1, 2],
            )
        )
        n_cont = len([r for r in crow if r.get("continent")])
        s.body.append(
            f"<p>{n_cont} continent(s) and {len(known)} countries of citizenship"
            + (f"; {unknown:,} records with no mappable country." if unknown else ".")
            + "</p>"
        )

    def s_method(self) -> None:
        s = _Section("method", "Custodial and at-large arrests")
        self.sections.append(s)
        if self.dataset != "arrests":
            s.supported = False
            s.body.append(
                P.unsupported(
                    f"Apprehension methods are an arrests field; this report is on {self.dataset}."
                )
            )
            return
        cls = self.count(
            "arrests by method class (all methods)",
            s,
            by="method_class",
            **self.filters(metric=False),
        )
        meth = self.count(
            "arrests by apprehension method (all methods)",
            s,
            by="method",
            **self.filters(metric=False),
        )
        total = cls.total
        if not total:
            s.body.append(P.note("No arrests in the window."))
            return
        if not any(r.get("method") for r in meth.rows):
            s.supported = False
            s.body.append(P.unsupported("These releases give no apprehension method."))
            return
        s.body.append(
            P.table(
                ["class", "arrests", "share"],
                [
                    [
                        r.get("method_class") or "none",
                        P.fmt_int(r["n"]),
                        P.fmt_pct(r["n"] / total, 1),
                    ]
                    for r in cls.rows
                ],
                numeric=[1, 2],
            )
        )
        top = sorted(meth.rows, key=lambda r: -r["n"])[:10]
        s.body.append(
            P.svg_figure(
                self.chart(
                    charts.bar_chart(
                        [{"method": r.get("method") or "(none)", "n": r["n"]} for r in top],
                        label="method",
                        value="n",
                        title="Apprehension methods (all)",
                    )
                ),
                "Methods as released; classes from the shipped table (reference/data/methods.csv): "
                "CAP "
                "and 287(g) are custodial (a jail or prison hands the person over), Located and "
                "Non-Custodial Arrest are at-large (in the community).",
                "Apprehension methods",
            )
        )
        if self.cls:
            s.body.append(
                P.note(
                    f"The headline, the map and the daily series count {self.metric_words()} only."
                )
            )

    def s_criminality(self) -> None:
        s = _Section("criminality", "Criminality, and convictions for immigration offences only")
        self.sections.append(s)
        cr = self.count("records by criminality class", s, by="criminality", **self.filters())
        known = [r for r in cr.rows if r.get("criminality") and r["criminality"] != "unknown"]
        releases = self.release_names(cr.query.get("releases", []))
        if not cr.total:
            s.body.append(P.note("No records in the window."))
            return
        if not known:
            s.supported = False
            s.body.append(
                P.unsupported(
                    f"The releases behind this window ({releases}) have no criminality field "
                    "(the FY2016–2019 ERO-LESA national releases never do), so the share of people "
                    "convicted or charged cannot be computed from them, and neither can the "
                    "immigration-only split."
                )
            )
            return
        total = cr.total
        order = ["convicted", "pending_charges", "immigration_violator", "unknown", None]
        rows = sorted(
            cr.rows,
            key=lambda r: order.index(r.get("criminality")) if r.get("criminality") in order else 9,
        )
        s.body.append(
            P.table(
                ["criminality", "records", "share"],
                [
                    [
                        r.get("criminality") or "not given",
                        P.fmt_int(r["n"]),
                        P.fmt_pct(r["n"] / total, 1),
                    ]
                    for r in rows
                ],
                numeric=[1, 2],
            )
        )
        conv = sum(
            r["n"] for r in cr.rows if r.get("criminality") in ("convicted", "pending_charges")
        )
        s.body.append(
            f"<p>Convicted or with charges pending: {P.fmt_int(conv)} of {P.fmt_int(total)} "
            f"({P.fmt_pct(conv / total, 1)}). ICE counts illegal entry and re-entry as crimes, so "
            "“convicted” includes people whose only conviction is an immigration offence.</p>"
        )
        io = self.count(
            "convicted records by immigration-only conviction",
            s,
            by="immigration_only_conviction",
            **self.filters(criminality=["convicted"]),
        )
        split = {r.get("immigration_only_conviction"): r["n"] for r in io.rows}
        if split.get(True) is None and split.get(False) is None:
            s.body.append(
                P.unsupported(
                    "The immigration-only split needs the most serious conviction charge, which "
                    "these "
                    f"releases ({releases}) do not have."
                )
            )
            self._detainer_split(s)
        else:
            t, f, u = split.get(True, 0), split.get(False, 0), split.get(None, 0)
            s.body.append(
                P.table(
                    ["convicted records whose most serious conviction is…", "records"],
                    [
                        ["an immigration offence only (illegal entry/re-entry, …)", P.fmt_int(t)],
                        ["another offence", P.fmt_int(f)],
                        ["not recorded", P.fmt_int(u)],
                    ],
                    numeric=[1],
                )
            )

    def _detainer_split(self, s: _Section) -> None:
        """Context from the detainers table, when the store has one with charges."""
        if "detainers" not in self._tables():
            return
        try:
            io = self.count(
                "detainers issued in the window, convicted, by immigration-only conviction",
                s,
                dataset="detainers",
                by="immigration_only_conviction",
                **self.filters(metric=False, criminality=["convicted"]),
            )
        except (QueryError, BackendError):
            return
        split = {r.get("immigration_only_conviction"): r["n"] for r in io.rows}
        if not (split.get(True) or split.get(False)):
            return
        t, f = split.get(True, 0), split.get(False, 0)
        s.body.append(
            f"<p>For context only – a different population: of the {P.fmt_int(t + f)} detainers "
            f"issued in the same window and AORs for people with a recorded conviction charge, "
            f"{P.fmt_int(t)} ({P.fmt_pct(t / (t + f), 1)}) had an immigration offence as their "
            "most "
            "serious conviction (detainers table, MSC charge).</p>"
        )

    def s_claims(self) -> None:
        s = _Section("claims", "Claims checked against the records")
        self.sections.append(s)
        if not self.claims:
            s.body.append(P.note("No claims file was given (icetally report --claims FILE)."))
            return
        from icetally.analysis.claims import check

        paths = self.claims if isinstance(self.claims, list | tuple) else [self.claims]
        results: list[dict[str, Any]] = []
        for c in paths:
            results += check(c, store=self.store).results
        self.claim_results = results
        counts: dict[str, int] = {}
        for r in results:
            counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
        s.body.append(
            "<p>"
            + ", ".join(f"{n} {P.esc(v)}" for v, n in sorted(counts.items()))
            + f" of {len(results)} claims (tolerances: docs/claims.md).</p>"
        )
        rows = []
        for r in results:
            stated = r["stated"]
            if r["measure"] == "share" and isinstance(stated, float):
                st = P.fmt_pct(stated)
                ob = P.fmt_pct(r["observed"], 1) if r["observed"] is not None else "–"
            else:
                st = P.fmt_int(stated)
                ob = P.fmt_int(r["observed"])
            rows.append(
                [
                    P.esc(r["id"]),
                    P.esc(r["measure"]),
                    f'<span class="verdict v-{P.esc(r["verdict"])}" '
                    f'data-claim="{P.esc(r["id"])}">{P.esc(r["verdict"])}</span>',
                    P.esc(st),
                    P.esc(ob),
                    P.esc(P.fmt_int(r["expected"])),
                    P.esc(P.fmt_int(r["excess"])),
                    P.esc(r["explanation"]),
                ]
            )
            if r.get("query"):
                q = r["query"]
                self.add_query(
                    s,
                    f"claim {r['id']}",
                    q.get("sql"),
                    dataset=q.get("dataset"),
                    filters=q.get("filters"),
                    releases=q.get("releases", []),
                )
        s.body.append(
            P.table(
                [
                    "claim",
                    "measure",
                    "verdict",
                    "stated",
                    "observed",
                    "expected",
                    "excess",
                    "explanation",
                ],
                rows,
                numeric=[3, 4, 5, 6],
                raw=range(8),
            )
        )

    def _tables(self) -> set[str]:
        """Which optional tables the store has. Probed one by one: Ibis 12's list_tables
        fails on DuckDB 2.0 and leaves a half-read result on the connection."""
        if not hasattr(self, "_tbl"):
            names = ("detainers", "jurisdictions", "jurisdiction_policies")
            self._tbl = {name for name in names if self.store.has_table(name)}
        return self._tbl

    def s_cooperation(self) -> None:
        s = _Section("cooperation", "Local cooperation: detainers and 287(g)")
        self.sections.append(s)
        tbls = self._tables()
        has_det = False
        if "detainers" in tbls:
            t = table(self.con, "detainers")
            has_det = bool(t.count().to_pyarrow().as_py())
        has_287 = "jurisdictions" in tbls
        if not has_det and not has_287:
            s.supported = False
            s.body.append(
                P.unsupported(
                    "The store holds no detainers and no 287(g) lists, so whether these AORs "
                    "cooperate with ICE cannot be read from it. Load a detainers release "
                    "(icetally ingest) or the 287(g) lists (icetally jurisdictions load) and "
                    "render again."
                )
            )
            return
        from icetally.analysis.jurisdictions import cooperation, jurisdictions

        lo = self.end - timedelta(364)
        aors = self.aors or None
        if has_det:
            co = cooperation(
                self.store,
                level="aor",
                by="year",
                date_from=lo,
                date_to=self.end,
            )
            agg: dict[str, list[int]] = {}
            for r in co["series"]:
                a = agg.setdefault(r["jurisdiction"], [0, 0])
                a[0] += r["detainers"]
                a[1] += r["declined"]
            self.add_query(
                s,
                f"detainers by AOR and lift reason, {lo} to {self.end}",
                co["query"]["sql"],
                dataset="detainers",
                filters=co["query"]["filters"],
                releases=[],
            )
            if not agg:
                s.body.append(P.note(f"No detainers recorded from {lo} to {self.end}."))
            else:
                want = aors or sorted(agg)
                rows = []
                for a in want:
                    n, k = agg.get(a, [0, 0])
                    m = self.model_window(self.start, self.end, [a])
                    rows.append(
                        [
                            a,
                            _aor_name(a),
                            P.fmt_int(n),
                            P.fmt_int(k),
                            P.fmt_pct(k / n, 1) if n else "–",
                            P.fmt_int(m["excess"]) if m["aors"] else "–",
                        ]
                    )
                s.body.append(
                    f"<p>Detainers issued in the year to {self.end} and how many the local agency "
                    "declined (lift reason “Detainer Declined by LEA”), beside each AOR's excess "
                    "in "
                    "the window.</p>"
                )
                s.body.append(
                    P.table(
                        [
                            "AOR",
                            "name",
                            "detainers",
                            "declined",
                            "decline rate",
                            "excess in window",
                        ],
                        rows,
                        numeric=[2, 3, 4, 5],
                    )
                )
                cc = cooperation(
                    self.store,
                    level="county",
                    by="year",
                    date_from=lo,
                    date_to=self.end,
                )
                per: dict[str, dict[str, Any]] = {}
                for r in cc["series"]:
                    if aors and r.get("aor") not in aors:
                        continue
                    p = per.setdefault(
                        r["jurisdiction"],
                        {"county": r.get("county"), "aor": r.get("aor"), "n": 0, "k": 0},
                    )
                    p["n"] += r["detainers"]
                    p["k"] += r["declined"]
                top = sorted(
                    (p for p in per.values() if p["n"] >= 30), key=lambda p: -(p["k"] / p["n"])
                )[:10]
                if top and top[0]["k"]:
                    s.body.append(
                        P.table(
                            ["county", "AOR", "detainers", "declined", "decline rate"],
                            [
                                [
                                    p["county"],
                                    p["aor"],
                                    P.fmt_int(p["n"]),
                                    P.fmt_int(p["k"]),
                                    P.fmt_pct(p["k"] / p["n"], 1),
                                ]
                                for p in top
                            ],
                            numeric=[2, 3, 4],
                            caption="Counties with the highest decline rates "
                            "(at least 30 detainers)",
                        )
                    )
                s.body.append(
                    "<p>A decline is a refusal recorded by ICE; a jurisdiction that limits "
                    "cooperation "
                    "may also simply receive fewer detainers. Whether extra enforcement followed a "
                    "change in cooperation is a before/after question: <code>icetally "
                    "cooperation</code> "
                    "finds change points and <code>did</code> compares counties "
                    "(docs/jurisdictions.md).</p>"
                )
        else:
            s.body.append(
                P.unsupported("The store holds no detainers, so decline rates cannot be computed.")
            )
        if has_287:
            j = jurisdictions(self.store, level="aor", on=self.end)
            rows = [
                [
                    r["aor"],
                    r.get("name"),
                    P.fmt_int(r["g287_agreements"]),
                    P.fmt_int(r["g287_pending"]),
                    r["cooperation"],
                ]
                for r in j["rows"]
                if not aors or r["aor"] in aors
            ]
            s.body.append(
                P.table(
                    ["AOR", "name", "287(g) agreements", "pending", "status"], rows, numeric=[2, 3]
                )
            )
            for w in j["warnings"]:
                s.body.append(P.note(w))
        else:
            s.body.append(
                P.unsupported(
                    "The store holds no 287(g) lists (icetally jurisdictions load "
                    "../shared/data/287g/), "
                    "so agreements are not shown."
                )
            )

    def release_names(self, ids: list[str]) -> str:
        rel = self._releases()
        names = [
            f"{rel[i]['file_name']}{' / ' + rel[i]['sheet'] if rel[i].get('sheet') else ''}"
            for i in ids
            if i in rel
        ]
        return ", ".join(names) or "none"

    def _releases(self) -> dict[str, dict[str, Any]]:
        if not hasattr(self, "_rel"):
            self._rel = {r["release_id"]: r for r in self.store.releases()}
        return self._rel

    def s_methods(self) -> None:
        s = _Section("methods", "Methods, releases and coverage")
        self.sections.append(s)
        s.body.append(
            "<p><strong>Counting.</strong> Every released record counts once, as the agency counts "
            "(no de-duplication: the releases' person identifiers are not linked). Windows are "
            "inclusive. Each figure's query is printed under its section: the SQL, the filters and "
            "the releases it read; run the same slice with <code>icetally count</code>.</p>"
            "<p><strong>Baseline.</strong> Per AOR, a negative-binomial model of the daily count "
            "with a smooth trend (B-spline, knots every six weeks), weekday effects, federal "
            "holidays and the year-end lull, fitted robustly (Tukey biweight) and refitted without "
            "the operations the detector finds and without the report window, so an operation does "
            f"not raise its own baseline. The last {DEFAULT_INCOMPLETE_TAIL_DAYS} days of a "
            "release "
            "are treated as incomplete. Intervals are 95% prediction intervals (count noise and "
            "baseline error).</p>"
            f"<p><strong>Operations.</strong> icetally's surge detector: every 1–14-day window "
            "of every AOR is scored against the baseline (expectation-based negative-binomial "
            "scan); "
            "a window is reported when a normal AOR-year would show one as strong with "
            "probability "
            f"≤ {self.threshold}; AORs acting together are found by a joint scan. Details and the "
            "evaluation: docs/methods.md. The records do not label operations: an operation's size "
            "can only be bracketed between its excess over baseline and everything recorded in its "
            "window.</p>"
        )
        used = sorted({r for q in self.queries for r in (q.get("releases") or [])})
        rel = self._releases()
        rows = []
        picked = [rel[i] for i in (used or list(rel)) if i in rel]
        picked.sort(
            key=lambda r: (r["dataset"], str(r.get("coverage_start") or ""), r["file_name"])
        )
        for r in picked:
            rows.append(
                [
                    r["file_name"] + (f" / {r['sheet']}" if r.get("sheet") else ""),
                    r["dataset"],
                    r.get("title") or "",
                    f"{r.get('coverage_start') or r.get('min_event_date')} – "
                    f"{r.get('coverage_end') or r.get('max_event_date')}",
                    P.fmt_int(r.get("rows_loaded")),
                    P.fmt_int(r.get("rows_quarantined")),
                    (r.get("sha256") or "")[:16],
                ]
            )
        s.body.append("<h3>Releases used</h3>")
        s.body.append(
            P.table(
                ["file", "dataset", "title", "coverage", "rows", "quarantined", "sha256"],
                rows,
                numeric=[4, 5],
            )
        )
        s.body.append("<h3>Coverage</h3>")
        s.body.append(
            f"<p>{P.esc(self.dataset)}: {self.cov.start} to {self.cov.end} (from the releases' "
            "stated coverage, else their first and last event). A day outside the coverage has no "
            "records, which is not the same as no arrests.</p>"
        )
        s.body.append(
            "<details><summary>Surge detection parameters</summary><pre>"
            + P.esc(json.dumps(self.surge_result.parameters, indent=1, default=str))
            + "</pre></details>"
        )

    # ------------------------------------------------------------------ page

    def page(self) -> str:
        synthetic = self.store.synthetic
        title = (
            f"{self.metric_words().capitalize()} in {self.where()}, "
            f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"
        )
        head = []
        if synthetic:
            head.append(
                '<div class="banner" role="alert" id="synthetic-banner">SYNTHETIC DATA – NOT REAL '
                "ENFORCEMENT RECORDS<p>The records in this store are a synthetic demo release "
                "(icetally demo): random rows drawn from rates calibrated on real releases, with "
                "planted operations. No figure here describes real arrests.</p></div>"
            )
        head.append(f"<h1>{P.esc(title)}</h1>")
        sub = (
            f"icetally report · dataset {self.dataset} · metric {self.metric} · "
            f"coverage {self.cov.start} – {self.cov.end}"
        )
        if self.surge is not None:
            sub += f" · operation {self.surge.id}"
        head.append(f'<p class="sub">{P.esc(sub)}</p>')
        toc = "".join(
            f'<li><a href="#{P.esc(x.id)}">{P.esc(x.title)}</a></li>' for x in self.sections
        )
        head.append(f'<nav class="toc"><ol>{toc}</ol></nav>')
        missing = [x.title for x in self.sections if not x.supported]
        if missing:
            head.append(
                P.note(
                    "The records cannot support: "
                    + "; ".join(missing)
                    + " (each section says why)."
                )
            )
        for n in self.notes:
            head.append(P.note(n))
        body = "".join(head) + "".join(x.html() for x in self.sections)
        foot = "icetally report"
        if synthetic:
            foot += " · SYNTHETIC DATA – not real enforcement records"
        body += f"<footer>{P.esc(foot)}</footer>"
        return P.document(title, body, synthetic=synthetic)


def render(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    db: str | os.PathLike[str] | None = None,
    date_from: str | date | None = None,
    date_to: str | date | None = None,
    surge_id: str | None = None,
    aor: str | list[str] | None = None,
    claims: Any = None,
    dataset: str = "arrests",
    metric: str = "all",
    backend: str | None = None,
) -> str:
    """One self-contained HTML page for a window (``date_from``/``date_to``) or a detected
    operation (``surge_id``), optionally restricted to AORs and with a claims file.
    ``store`` is a Store or a path (``db`` is the same, by its older name)."""
    with Store.borrow(store, db=db, backend=backend) as s:
        b = ReportBuilder(
            s,
            date_from=date_from,
            date_to=date_to,
            surge_id=surge_id,
            aor=aor,
            claims=claims,
            dataset=dataset,
            metric=metric,
        )
        return b.build()
