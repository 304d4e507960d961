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
"""A small keep-alive HTTP client and the API calls the benchmark makes.

Standard library only. Every measured request, to Qinling and to the HTTP
baseline alike, goes through :class:`Connection`: one persistent
``http.client`` connection per client thread, so ratios compare like with
like.
"""

import http.client
import io
import json
import time
import urllib.parse
import uuid
import zipfile

_STALE = (http.client.RemoteDisconnected, BrokenPipeError,
          ConnectionResetError)

#: The function every scenario runs: it does nothing.
NOOP_SOURCE = "def main(**kwargs):\n    return None\n"


class ApiError(Exception):
    """The API answered something the benchmark cannot go on with."""


class Connection:
    """One keep-alive HTTP connection to a base URL.

    :param base_url: ``http://host:port`` (a path prefix is kept).
    :param headers: sent with every request (for example X-Auth-Token).
    :param timeout: socket timeout in seconds.
    """

    def __init__(self, base_url, headers=None, timeout=60.0):
        url = urllib.parse.urlsplit(base_url)
        self._cls = (http.client.HTTPSConnection if url.scheme == "https"
                     else http.client.HTTPConnection)
        self._host, self._port = url.hostname, url.port
        self._prefix = url.path.rstrip("/")
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._conn = None

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method, path, body=None, headers=None):
        """Send one request; returns (status, body bytes).

        A request on a reused connection that the server had closed is
        sent again once on a new connection (it never reached the server).
        """
        all_headers = dict(self._headers, **(headers or {}))
        for attempt in range(2):
            reused = self._conn is not None
            if not reused:
                self._conn = self._cls(self._host, self._port,
                                       timeout=self._timeout)
            try:
                self._conn.request(method, self._prefix + path, body=body,
                                   headers=all_headers)
                resp = self._conn.getresponse()
                data = resp.read()
            except _STALE:
                self.close()
                if reused and attempt == 0:
                    continue
                raise
            except BaseException:
                self.close()
                raise
            if resp.will_close:
                self.close()
            return resp.status, data
        raise AssertionError("unreachable")

    def json(self, method, path, payload=None):
        """Send JSON (or nothing); returns (status, decoded JSON or None)."""
        body = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"} if body else {}
        status, data = self.request(method, path, body, headers)
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, None


def make_package(source=NOOP_SOURCE):
    """A zip holding ``main.py``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("main.py", source)
    return buf.getvalue()


def _multipart(fields, files):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
            f"\r\n\r\n{value}\r\n".encode())
    for name, (filename, data) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/zip'
            "\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Api:
    """The calls of the Qinling API the benchmark needs, on one connection.

    :param conn: a :class:`Connection` to the API's base URL.
    """

    def __init__(self, conn):
        self.conn = conn

    def _expect(self, method, path, payload, expected):
        status, body = self.conn.json(method, path, payload)
        if status != expected:
            raise ApiError(f"{method} {path} answered {status}: {body}")
        return body

    def create_runtime(self, image="python3", timeout=120.0):
        """Create a runtime and wait until it is available."""
        runtime = self._expect("POST", "/v1/runtimes",
                               {"image": image, "name": "benchmark"}, 201)
        deadline = time.monotonic() + timeout
        while runtime["status"] == "creating":
            if time.monotonic() > deadline:
                raise ApiError(f"runtime {runtime['id']} still creating "
                               f"after {timeout:.0f}s")
            time.sleep(0.05)
            runtime = self._expect("GET", f"/v1/runtimes/{runtime['id']}",
                                   None, 200)
        if runtime["status"] != "available":
            raise ApiError(f"runtime {runtime['id']} is {runtime['status']}:"
                           f" {runtime.get('status_reason')}")
        return runtime

    def delete_runtime(self, runtime_id):
        return self.conn.json("DELETE", f"/v1/runtimes/{runtime_id}")[0]

    def create_function(self, runtime_id, package, name="benchmark"):
        body, content_type = _multipart(
            {"runtime_id": runtime_id, "entry": "main.main", "name": name,
             "code": json.dumps({"source": "package"})},
            {"package": ("package.zip", package)})
        status, data = self.conn.request(
            "POST", "/v1/functions", body, {"Content-Type": content_type})
        if status != 201:
            raise ApiError(f"POST /v1/functions answered {status}: "
                           f"{data[:500]!r}")
        return json.loads(data)

    def delete_function(self, function_id):
        return self.conn.json("DELETE", f"/v1/functions/{function_id}")[0]

    def execute(self, function_id, sync=True):
        """Create an execution; returns (status code, execution or None)."""
        return self.conn.json("POST", "/v1/executions",
                              {"function_id": function_id, "sync": sync})

    def get_execution(self, execution_id):
        return self.conn.json("GET", f"/v1/executions/{execution_id}")


def succeeded(status, execution):
    """Whether a sync execution answer is a success."""
    return (status == 201 and isinstance(execution, dict)
            and execution.get("status") == "success")
