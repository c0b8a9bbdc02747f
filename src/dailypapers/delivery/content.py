"""What one digest holds: trending papers, alert matches and recommendations, each paper with
why it is there. Papers already sent to the subscription in an earlier digest are left out, and
a paper appears once per message (in the first section that has it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dailypapers.community import lists
from dailypapers.delivery import alerts, recommend
from dailypapers.delivery.links import absolute
from dailypapers.delivery.schedule import period_of
from dailypapers.delivery.window import Window, new_papers, window
from dailypapers.models import DailyEntry, Paper
from dailypapers.store import Store
from dailypapers.store.subscriptions import Subscription

if TYPE_CHECKING:
    from dailypapers.search.encoder.embeddings import Encoder
    from dailypapers.search.keyword import KeywordIndex

TRENDING = {"daily": 10, "weekly": 15}
PER_ALERT = 10
RECOMMENDED = 10
AUTHORS = 5
SUMMARY_CHARS = 280


@dataclass
class Item:
    id: str
    title: str
    url: str
    authors: list[str]
    more_authors: int
    upvotes: int
    categories: list[str]
    summary: str
    why: list[str]
    arxiv_url: str
    pdf_url: str
    code_url: str | None = None
    listed: str | None = None


@dataclass
class Section:
    key: str  # trending | alerts | recommended
    title: str
    note: str
    items: list[Item] = field(default_factory=list)


@dataclass
class Digest:
    subscription: Subscription
    period: dt.date
    instant: dt.datetime
    window: Window
    sections: list[Section]
    base: str

    @property
    def items(self) -> list[tuple[str, str]]:
        """(paper id, section) in message order."""
        return [(item.id, s.key) for s in self.sections for item in s.items]

    @property
    def count(self) -> int:
        return sum(len(s.items) for s in self.sections)

    @property
    def empty(self) -> bool:
        return self.count == 0

    @property
    def title(self) -> str:
        kind = "daily" if self.subscription.frequency == "daily" else "weekly"
        return f"Your {kind} digest"

    @property
    def subject(self) -> str:
        parts = [f"{len(s.items)} {s.title.lower()}" for s in self.sections if s.items]
        day = f"{self.period:%a} {self.period:%b} {self.period.day}"
        return f"dailypapers {day}: " + ", ".join(parts)


def _truncate(text: str, n: int = SUMMARY_CHARS) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"


def _code_url(paper: Paper) -> str | None:
    return next((link.url for link in paper.links if link.kind in ("github", "code")
                 and link.url.lower().startswith(("https://", "http://"))), None)


def _item(base: str, paper: Paper, entry: DailyEntry | None, local_votes: int, why: list[str]) -> Item:
    return Item(
        id=paper.arxiv_id, title=" ".join(paper.title.split()), url=absolute(base, f"/papers/{paper.arxiv_id}"),
        authors=[a.name for a in paper.authors[:AUTHORS]], more_authors=max(0, len(paper.authors) - AUTHORS),
        upvotes=(entry.upvotes if entry else 0) + local_votes, categories=paper.categories[:3],
        summary=_truncate(paper.abstract), why=why, arxiv_url=f"https://arxiv.org/abs/{paper.arxiv_id}",
        pdf_url=f"https://arxiv.org/pdf/{paper.arxiv_id}", code_url=_code_url(paper),
        listed=entry.date.isoformat() if entry else None)


def _trending_why(rank: int, label: str, e) -> str:
    return (f"#{rank} trending on {label}: {e.votes:,} upvotes in {e.age_hours:.0f} h; "
            f"score {e.sentence()}")


def assemble(store: Store, sub: Subscription, instant: dt.datetime, *, base: str, now: dt.datetime,
             since: dt.datetime | None = None, index: KeywordIndex | None = None,
             encoder: Encoder | None = None) -> Digest:
    """The digest of `sub` for the period of `instant` (nothing is written)."""
    w = window(store, instant, sub.frequency, since)
    delivered = store.outbox.delivered(sub.id)
    member = sub.user_id
    rejected = set(store.not_interested.ids(member)) if member else set()
    shown: set[str] = set()
    picks: list[tuple[str, str, list[str]]] = []  # (section, paper id, why)

    if sub.include_trending and w.start_day is not None and w.end_day is not None:
        reference = min(instant, now)
        page = lists.daily(store, w.start_day, w.end_day, sort="trending", limit=200, now=reference)
        label = "this week's lists" if w.days > 1 else f"the list of {w.end_day:%b} {w.end_day.day}"
        for rank, listed in enumerate(page.items, 1):
            pid = listed.paper.arxiv_id
            if pid in delivered or pid in rejected or pid in shown:
                continue
            picks.append(("trending", pid, [_trending_why(rank, label, page.extra["scores"][pid])]))
            shown.add(pid)
            if sum(1 for s, _, _ in picks if s == "trending") >= TRENDING[sub.frequency]:
                break

    candidates = new_papers(store, w) if member else []
    hits: dict[str, list[str]] = {}
    if member and (sub.include_alerts or sub.include_recommendations):
        hits = recommend.alert_hits(store, member, candidates, index=index, encoder=encoder)
    if member and sub.include_alerts:
        for saved in store.saved_searches.for_user(member, alerts_only=True):
            taken = 0
            for m in alerts.match(store, saved, candidates, index=index, encoder=encoder):
                if m.paper_id in delivered or m.paper_id in rejected or m.paper_id in shown or taken >= PER_ALERT:
                    continue
                why = [f"matches your alert “{saved.name}”"
                       + (f" (meaning, cosine {m.similarity:.2f})" if m.how == "semantic" else "")]
                why += [f"also matches your alert “{n}”" for n in hits.get(m.paper_id, []) if n != saved.name]
                picks.append(("alerts", m.paper_id, why))
                shown.add(m.paper_id)
                taken += 1

    ranking = None
    if member and sub.include_recommendations:
        ranking = recommend.rank(store, member, candidates, alert_hits=hits, limit=RECOMMENDED + len(shown) + 200)
        taken = 0
        for rec in ranking.items:
            if rec.paper_id in delivered or rec.paper_id in shown or taken >= RECOMMENDED:
                continue
            picks.append(("recommended", rec.paper_id, rec.reasons))
            shown.add(rec.paper_id)
            taken += 1

    ids = [pid for _, pid, _ in picks]
    papers = store.papers_by_ids(ids)
    entries = store.latest_entries(ids)
    local = store.votes.counts(ids)
    notes = {
        "trending": f"The most upvoted papers of {w.label}, ranked by the trending score.",
        "alerts": "New papers matching the searches you saved with an alert.",
        "recommended": ranking.note() if ranking else "",
    }
    titles = {"trending": "Trending", "alerts": "Alert matches", "recommended": "For you"}
    sections = []
    for key in ("trending", "alerts", "recommended"):
        items = [_item(base, papers[pid], entries.get(pid), local.get(pid, 0), why)
                 for section, pid, why in picks if section == key and pid in papers]
        if items:
            sections.append(Section(key, titles[key], notes[key], items))
    return Digest(sub, period_of(instant, sub.timezone), instant, w, sections, base)
