"""A stream's history as JSON, CSV or a printable HTML report (pure rendering).

Exports carry exactly what the viewer was allowed to see: personal data shows as
"[redacted]" without a grant and as "[erased]" once its subject was erased.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from html import escape
from typing import Any, Literal

import orjson
from pydantic import BaseModel

from services.audit.diff import describe
from services.audit.models import History, HistoryEntry, VerifyReport
from services.audit.render import canonical

ExportFormat = Literal["json", "csv", "html"]
MEDIA_TYPES: dict[str, str] = {"json": "application/json", "csv": "text/csv; charset=utf-8",
                               "html": "text/html; charset=utf-8"}
CSV_COLUMNS = ("version", "position", "recorded_at", "type", "actor", "at", "command_id",
               "correlation_id", "changes", "data", "chain_hash", "chain")
INTACT = "intact"


class ExportInfo(BaseModel):
    """Who exported what, when and why, and whether the stream's chain held at that moment."""

    exported_by: str
    purpose: str
    exported_at: datetime
    chain: VerifyReport


def render(history: History, info: ExportInfo, fmt: ExportFormat) -> bytes:
    if fmt == "json":
        return export_json(history, info)
    if fmt == "csv":
        return export_csv(history).encode()
    return export_html(history, info).encode()


def export_json(history: History, info: ExportInfo) -> bytes:
    document = {"export": info.model_dump(mode="json"), "history": history.model_dump(mode="json")}
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)


def _verdicts(history: History) -> dict[int, str]:
    """Each broken version's verdict ("altered: ..."); versions not named are intact."""
    said: dict[int, list[str]] = {}
    for broken in history.chain.breaks:
        said.setdefault(broken.version, []).append(f"{broken.kind}: {broken.detail}")
    return {version: "; ".join(texts) for version, texts in said.items()}


def _row(entry: HistoryEntry, verdict: str = INTACT) -> dict[str, Any]:
    meta = entry.meta
    return {
        "version": entry.version, "position": entry.position,
        "recorded_at": entry.recorded_at.isoformat() if entry.recorded_at else "",
        "type": entry.type, "actor": meta.actor if meta else "",
        "at": meta.at.isoformat() if meta else "",
        "command_id": str(meta.command_id) if meta else "",
        "correlation_id": str(meta.correlation_id) if meta else "",
        "changes": "; ".join(describe(c) for c in entry.changes),
        "data": canonical(entry.data), "chain_hash": entry.chain_hash or "", "chain": verdict,
    }


def export_csv(history: History) -> str:
    """One row per event: when, what, who, the fields it changed, its data, chain hash and
    whether it matches the chain; a chain break at no returned event (a deleted one) gets a
    row of its own."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n",
                            restval="")
    writer.writeheader()
    verdicts = _verdicts(history)
    for entry in history.entries:
        writer.writerow(_row(entry, verdicts.pop(entry.version, INTACT)))
    for version, verdict in sorted(verdicts.items()):
        writer.writerow({"version": version, "chain": verdict})
    return out.getvalue()


STYLE = """
body { font: 11pt/1.4 system-ui, sans-serif; margin: 2em; color: #111; }
h1 { font-size: 16pt; margin-bottom: 0.2em; } h2 { font-size: 13pt; margin-top: 1.5em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #eee; } td.changes { white-space: pre-wrap; }
.ok { color: #064; } .broken { color: #a00; font-weight: bold; }
pre { white-space: pre-wrap; font-size: 9pt; border: 1px solid #ccc; padding: 6px; }
@media print { body { margin: 0; } tr { page-break-inside: avoid; }
  thead { display: table-header-group; } }
"""


def export_html(history: History, info: ExportInfo) -> str:
    """A self-contained report that prints well (A4, repeated table headers)."""
    chain = info.chain
    verdict = (f'<span class="ok">intact: {chain.events_checked} events match their hash '
               "chain</span>" if chain.ok else
               f'<span class="broken">BROKEN: {escape(_break_text(chain))}</span>')
    verdicts = _verdicts(history)
    rows = "\n".join(_html_row(e, verdicts.get(e.version)) for e in history.entries)
    final = history.entries[-1].state if history.entries else {}
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>History of {escape(history.type)} {history.stream_id}</title>
<style>{STYLE}</style></head><body>
<h1>History of {escape(history.type)} {history.stream_id}</h1>
<table>
<tr><th>Exported by</th><td>{escape(info.exported_by)}</td></tr>
<tr><th>Purpose</th><td>{escape(info.purpose)}</td></tr>
<tr><th>Exported at</th><td>{info.exported_at.isoformat()}</td></tr>
<tr><th>Version</th><td>{history.version} ({len(history.entries)} events in this export)</td></tr>
<tr><th>Personal data</th><td>{escape(history.personal_data)}</td></tr>
<tr><th>Hash chain</th><td>{verdict}</td></tr>
</table>
<h2>Events</h2>
<table><thead><tr><th>#</th><th>Recorded</th><th>Event</th><th>Actor</th><th>Said</th>
<th>Changes</th><th>Chain hash</th></tr></thead><tbody>
{rows}
</tbody></table>
<h2>State after version {history.version}</h2>
<pre>{escape(orjson.dumps(final, option=orjson.OPT_INDENT_2).decode())}</pre>
</body></html>
"""


def _html_row(entry: HistoryEntry, broken: str | None) -> str:
    row = _row(entry)
    said = "\n".join(f"{k}: {v if isinstance(v, str) else canonical(v)}"
                     for k, v in entry.data.items())
    changes = "\n".join(describe(c) for c in entry.changes)
    hash_ = entry.chain_hash[:16] + "..." if entry.chain_hash else ""
    return (f"<tr><td>{entry.version}</td><td>{escape(row['recorded_at'])}</td>"
            f"<td>{escape(entry.type)}</td><td>{escape(row['actor'])}</td>"
            f'<td class="changes">{escape(said)}</td><td class="changes">{escape(changes)}</td>'
            f"<td><code>{escape(hash_)}</code>{_broken_mark(broken)}</td></tr>")


def _broken_mark(verdict: str | None) -> str:
    return "" if verdict is None else f'<br><span class="broken">BROKEN: {escape(verdict)}</span>'


def _break_text(chain: VerifyReport) -> str:
    first = chain.first_break
    if first is not None:
        return (f"{first.kind} event {first.version} (position {first.position}); "
                f"expected {first.expected}, found {first.found}")
    bad = [a for a in chain.anchors if not a.ok]
    if bad:
        return f"anchor {bad[0].from_position}..{bad[0].to_position} does not match"
    return "snapshot mismatch"
