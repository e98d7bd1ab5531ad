"""uvicorn's HTTP/1.1 protocol (httptools), answering a request it cannot parse with a
problem document like every other error.

uvicorn answers such a request (a broken request line, a bad header, conflicting lengths)
before the application runs, in plain text; a client that reads every error as
application/problem+json then fails on exactly the answers that are hardest to debug. The
body comes from `problems.problem`, the one mapping of errors to answers.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from services.api.problems import PROBLEM, problem


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose answer to an unparseable request is a 400 problem document."""

    def send_400_response(self, msg: str) -> None:
        body = bytes(problem(400, f"malformed HTTP request: {msg}",
                             rule="malformed_request").body)
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"content-type: ", PROBLEM.encode(), b"\r\n",
                        b"content-length: ", str(len(body)).encode(), b"\r\n",
                        b"connection: close\r\n\r\n", body])
        self.transport.write(b"".join(content))
        self.transport.close()
