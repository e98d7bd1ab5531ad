"""Where an API process's CPU goes: py-spy samples it, and each sample is put in one
category by its innermost frame that names one (a call into C, such as orjson or hashlib,
counts for the Python function that made it).

py-spy (a sampling profiler, on PyPI) reads the process from outside, so the measured API
runs unchanged. It keeps only samples of the thread holding the GIL (`--gil`): on busy
cores a thread woken from a wait is runnable long before it runs, and counting runnable
threads would charge that wait to the code it wakes up in (an event loop's poll, a database
driver's wait). C code that releases the GIL while it works is not seen; the process's CPU
time from /proc is the total that the samples split.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


@dataclass(frozen=True)
class Rule:
    """A category and the frames that belong to it."""

    category: str
    files: tuple[str, ...] = ()
    """Parts of a frame's file path (a folder or a file)."""
    functions: tuple[str, ...] = ()
    """Function names (with their class: `BaseModel.model_validate_json`), any file."""
    only_functions: Callable[[str], bool] | None = None
    """Within `files`, only frames whose function this accepts."""

    def matches(self, function: str, file: str) -> bool:
        if function in self.functions:
            return True
        if not any(part in file for part in self.files):
            return False
        return self.only_functions is None or self.only_functions(function)


def _validating(function: str) -> bool:
    return "validate" in function or function.endswith("__init__")


def _dumping(function: str) -> bool:
    return "dump" in function or "serial" in function


RULES: tuple[Rule, ...] = (
    Rule("auth (token check)", files=("services/auth.py", "jwt/")),
    Rule("sealing (AES-GCM of personal data)",
         files=("services/storage/sealing.py", "services/storage/keystore.py",
                "cryptography/")),
    Rule("hashing (hash chain)", functions=("chain_hash", "link", "HeadCache.known",
                                            "HeadCache.update")),
    Rule("validation (pydantic)", files=("pydantic/", "pydantic_core/"),
         only_functions=_validating),
    Rule("validation (pydantic)", files=("services/commands/common.py",),
         functions=("repeated_key", "_accepted_input")),
    Rule("serialisation (JSON, events, frames)", files=("pydantic/", "pydantic_core/"),
         only_functions=_dumping),
    Rule("serialisation (JSON, events, frames)",
         files=("eventsourcing/persistence.py", "services/storage/application.py",
                "services/runtime/outcomes.py"),
         functions=("frame", "FrameReader.feed", "_receipt", "Submission.fingerprint",
                    "_WriterConnection._settled", "_outcome")),
    Rule("store round trip (psycopg, SQL)",
         files=("psycopg", "eventsourcing/postgres.py", "eventsourcing/sqlite.py",
                "services/storage/recorders.py", "sqlite3/")),
    Rule("domain rules and command handlers",
         files=("domain/", "services/commands/", "eventsourcing/domain.py")),
    Rule("writer (batches, outcomes, cache)",
         files=("services/runtime/writer.py", "services/runtime/unit_of_work.py",
                "eventsourcing/application.py", "services/bootstrap.py",
                "concurrent/futures/")),
    Rule("writer socket (IPC)", files=("services/runtime/ipc.py",)),
    Rule("HTTP protocol (httptools parsing, response writes)",
         files=("uvicorn/protocols/", "framing.py")),
    Rule("HTTP application (ASGI, fast path, FastAPI)",
         files=("services/api/", "command_routes.py", "starlette/", "fastapi/", "uvicorn/")),
    Rule("read models and policies (supervisor)",
         files=("projections/", "services/runtime/reactions.py",
                "services/runtime/store_follower.py", "asyncpg/")),
    Rule("event loop and threads", files=("asyncio/", "uvloop/", "threading.py",
                                          "selectors.py", "queue.py")),
)
OTHER = "other"
CATEGORIES = (*dict.fromkeys(r.category for r in RULES), OTHER)


def category_of(stack: list[str]) -> str:
    """The category of one sample, by its innermost frame that a rule names."""
    for frame in reversed(stack):
        found = FRAME.match(frame)
        if found is None:
            continue
        function, file = found["function"], found["file"]
        for rule in RULES:
            if rule.matches(function, file):
                return rule.category
    return OTHER


def categorise(raw: str) -> Counter[str]:
    """Samples per category from py-spy's raw (collapsed stacks) output."""
    counts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack_text, _, count = line.rpartition(" ")
        if not stack_text or not count.isdigit():
            continue
        counts[category_of(stack_text.split(";"))] += int(count)
    return counts


def py_spy() -> str | None:
    """The py-spy of this virtualenv, else one on PATH."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


class Sampler:
    """py-spy recording one process for `seconds` (started at once, in the background)."""

    def __init__(self, pid: int, seconds: float, out: Path, rate: int = 200) -> None:
        executable = py_spy()
        if executable is None:
            raise RuntimeError("py-spy is not installed (pip install py-spy)")
        self.out = out
        self.process = subprocess.Popen(
            [executable, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
             "--rate", str(rate), "--format", "raw", "--function", "--gil", "--nonblocking",
             "--output", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)

    def result(self, timeout: float = 60.0) -> Counter[str]:
        _, error = self.process.communicate(timeout=timeout)
        if self.process.returncode != 0 or not self.out.exists():
            raise RuntimeError(f"py-spy failed ({self.process.returncode}): "
                               f"{error.decode(errors='replace')[-500:]}")
        return categorise(self.out.read_text())
