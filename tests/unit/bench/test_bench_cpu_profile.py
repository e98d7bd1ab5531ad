"""How the benchmark's CPU profile puts py-spy's samples into categories, and splits a
process's CPU time per command over them."""

from __future__ import annotations

from collections import Counter

from bench.cpuprofile import OTHER, categorise, category_of
from bench.sections.profile import per_command

LOOP = "Runner.run (asyncio/runners.py:86)"
FAST_PATH = "CommandFastPath.__call__ (services/api/command_routes.py:81)"


def test_a_sample_counts_for_its_innermost_frame_a_category_names() -> None:
    stack = [LOOP, FAST_PATH, "_accepted_input (services/api/command_routes.py:125)",
             "TokenIssuer.verify (services/auth.py:250)",
             "PyJWS._load (jwt/api_jws.py:356)"]
    assert category_of(stack) == "auth (token check)"


def test_pydantic_frames_are_validation_or_serialisation_by_what_they_do() -> None:
    validate = [FAST_PATH, "BaseModel.model_validate_json (pydantic/main.py:802)"]
    dump = [FAST_PATH, "BaseModel.model_dump_json (pydantic/main.py:538)"]
    assert category_of(validate) == "validation (pydantic)"
    assert category_of(dump) == "serialisation (JSON, events, frames)"


def test_the_hash_chain_is_told_from_the_rest_of_the_recorder() -> None:
    insert = "ChainedPostgresRecorder._insert_events (services/storage/recorders.py:197)"
    assert category_of([insert, "link (services/storage/recorders.py:49)",
                        "chain_hash (services/storage/recorders.py:37)"]) == "hashing (hash chain)"
    assert category_of([insert]) == "store round trip (psycopg, SQL)"


def test_our_protocol_and_uvicorns_are_the_http_protocol_however_py_spy_names_the_file(
        ) -> None:
    protocol = "HTTP protocol (httptools parsing, response writes)"
    assert category_of([LOOP, "OneWritePerRound.flush (framing.py:41)"]) == protocol
    assert category_of([LOOP, "OneWritePerRound.flush (services/api/framing.py:41)"]) == protocol
    assert category_of([LOOP, "RequestResponseCycle.send "
                              "(uvicorn/protocols/http/httptools_impl.py:463)"]) == protocol


def test_a_stack_no_rule_names_is_other() -> None:
    assert category_of(["<module> (corridor:1)", "main (somewhere/else.py:3)"]) == OTHER


def test_raw_output_is_summed_per_category_and_odd_lines_are_skipped() -> None:
    raw = (f"{LOOP};{FAST_PATH} 7\n"
           f"{LOOP};Sealer.seal (services/storage/sealing.py:222) 3\n"
           f"{LOOP};{FAST_PATH} 2\n"
           "not a sample line\n")
    assert categorise(raw) == Counter({"HTTP application (ASGI, fast path, FastAPI)": 9,
                                       "sealing (AES-GCM of personal data)": 3})


def test_cpu_per_command_is_split_in_proportion_to_the_samples() -> None:
    samples = Counter({"auth (token check)": 1, "sealing (AES-GCM of personal data)": 3})
    found = per_command(cpu_s=0.8, samples=samples, commands=1000)
    assert found["cpu_us_per_command"] == 800.0
    assert found["us_per_command"] == {"auth (token check)": 200.0,
                                       "sealing (AES-GCM of personal data)": 600.0}
    assert found["share"]["sealing (AES-GCM of personal data)"] == 0.75
