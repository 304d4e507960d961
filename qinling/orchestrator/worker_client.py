# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""The worker protocol and an HTTP client for a runtime worker
(``GET /ping``, ``POST /execute``).

A worker listens on a unix socket (local workers) or on TCP (a pod). The
client keeps a few keep-alive connections, one per concurrent request, so
that executions running at the same time do not wait for each other.
"""

import http.client
import json
import socket
import threading
import urllib.parse

from oslo_log import log as logging

from qinling import exceptions
from qinling.orchestrator import base

LOG = logging.getLogger(__name__)

#: Seconds added to an execution's timeout before the client gives up: the
#: worker needs time to fork, kill a timed-out child and answer.
EXECUTE_TIMEOUT_MARGIN = 10.0
#: Bytes of an answer beside its result: the logs (1 MiB, at most six
#: bytes of JSON each) and the other fields.
ANSWER_OVERHEAD = 6 * 1024 * 1024 + 64 * 1024
RESULT_TOO_LARGE_MESSAGE = ("The function's result exceeded the limit of "
                            "{limit} bytes.")


def answer_limit(max_result_size):
    """Bytes of an /execute answer holding a result of at most
    ``max_result_size`` bytes (a worker that does not check its results
    itself, such as an upstream runtime image, is cut off there)."""
    return max_result_size + ANSWER_OVERHEAD


class AnswerTooLarge(Exception):
    """The worker's answer is longer than the client reads."""

_DISCONNECTED = (http.client.RemoteDisconnected, BrokenPipeError,
                 ConnectionResetError)


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection over a unix stream socket."""

    def __init__(self, path, timeout=None):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class WorkerClient:
    """Talks to one worker.

    :param address: the path of the worker's unix socket, or a base URL
        ``http://host:port`` for a worker listening on TCP.
    :param name: how messages name the worker; the address by default.
    :param max_idle: keep-alive connections kept open between requests.
    :param max_answer_size: bytes of an answer read at most (see
        :func:`answer_limit`); None for no limit.
    """

    def __init__(self, address, name=None, max_idle=8, max_answer_size=None):
        self.address = address
        self.name = name or address
        self._max_idle = max_idle
        self.max_answer_size = max_answer_size
        self._idle = []
        self._lock = threading.Lock()
        if address.startswith("http://"):
            url = urllib.parse.urlsplit(address)
            self._factory = lambda: http.client.HTTPConnection(
                url.hostname, url.port)
        else:
            self._factory = lambda: UnixHTTPConnection(address)

    def ping(self, timeout=5.0):
        """Ask the worker whether it is up.

        :param timeout: seconds to wait for the answer.
        :returns: True if the worker answered 200.
        """
        try:
            status, _ = self._request("GET", "/ping", None, timeout)
        except (OSError, http.client.HTTPException):
            return False
        return status == 200

    def execute(self, body, timeout):
        """Run one execution and return the worker's answer.

        :param body: the ``/execute`` request body.
        :param timeout: the execution's timeout in seconds; the client
            waits that long plus :data:`EXECUTE_TIMEOUT_MARGIN`.
        :returns: the decoded JSON answer (``output``, ``duration``,
            ``logs``, ``success``), whatever the HTTP status; a failure
            naming the result limit for an answer longer than the client
            reads.
        :raises OrchestratorException: the worker is not reachable, did not
            answer in time or answered something that is not JSON.
        """
        wait = float(timeout) + EXECUTE_TIMEOUT_MARGIN
        try:
            status, data = self._request(
                "POST", "/execute", json.dumps(body).encode(), wait)
        except TimeoutError:
            raise exceptions.OrchestratorException(
                f"Worker {self.name} did not answer within "
                f"{wait:.0f} seconds.")
        except AnswerTooLarge:
            limit = self.max_answer_size - ANSWER_OVERHEAD
            return {"success": False, "logs": "", "output":
                    RESULT_TOO_LARGE_MESSAGE.format(limit=max(limit, 0))}
        except (OSError, http.client.HTTPException) as e:
            LOG.warning("Worker %s is not reachable: %r", self.address, e)
            raise exceptions.OrchestratorException(
                f"Worker {self.name} is not reachable: "
                f"{str(e) or type(e).__name__}")
        try:
            answer = json.loads(data)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            LOG.warning("Worker %s answered HTTP %s: %r", self.address,
                        status, data[:500])
            raise exceptions.OrchestratorException(
                f"Worker {self.name} returned an invalid answer "
                f"(HTTP {status}).")
        return answer

    def close(self):
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _request(self, method, path, body, timeout):
        conn, reused = self._acquire()
        try:
            return self._send(conn, method, path, body, timeout)
        except _DISCONNECTED:
            conn.close()
            if not reused:
                raise
            # The worker closed an idle keep-alive connection (it was
            # restarted): the request never reached it, so send it again.
            conn, _ = self._new(), False
            try:
                return self._send(conn, method, path, body, timeout)
            except BaseException:
                conn.close()
                raise
        except BaseException:
            conn.close()
            raise

    def _send(self, conn, method, path, body, timeout):
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        headers = {"Content-Type": "application/json"} if body else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        limit = self.max_answer_size
        data = resp.read() if limit is None else resp.read(limit + 1)
        if limit is not None and len(data) > limit:
            conn.close()
            raise AnswerTooLarge()
        if resp.will_close:
            conn.close()
        else:
            self._release(conn)
        return resp.status, data

    def _new(self):
        return self._factory()

    def _acquire(self):
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._new(), False

    def _release(self, conn):
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.close()


def request_body(function, request):
    """The ``/execute`` body of one execution (upstream's fields, plus the
    trust-scoped token when there is one and the function's
    ``environment`` when it has one).

    :param function: the FunctionSpec the worker serves.
    :param request: the ExecutionRequest.
    """
    body = {
        "execution_id": request.execution_id,
        "function_id": function.function_id,
        "function_version": function.function_version,
        "entry": function.entry,
        "input": request.input,
        "timeout": function.timeout,
        "cpu": function.cpu,
        "memory_size": function.memory_size,
        "download_url": request.download_url,
        "request_id": request.request_id,
    }
    if request.auth:
        # Upstream's key for the token; the rest builds os_session.
        body["token"] = request.auth["token"]
        body["auth"] = request.auth
    if request.environment:
        body["environment"] = request.environment
    return body


def _number(value, kind):
    try:
        number = kind(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def result(answer):
    """The ExecutionResult of a worker's ``/execute`` answer; fields of
    the wrong type are dropped."""
    logs = answer.get("logs") or ""
    return base.ExecutionResult(
        success=answer.get("success") is True,
        output=answer.get("output"),
        duration=_number(answer.get("duration") or 0, float) or 0.0,
        logs=logs if isinstance(logs, str) else str(logs),
        cpu_time=_number(answer.get("cpu_time"), float),
        memory_peak=_number(answer.get("memory_peak"), int))
