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
"""A small HTTP client for the functional tests, speaking the wire format."""

import io
import json
import os
import time
import zipfile

import requests

FUNCTIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                             "functions")


def make_zip(files):
    """A zip (bytes) of ``{name: text}``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def sample_zip(name, as_module="main.py"):
    """Zip the sample ``tests/functions/python/<name>.py`` as a package."""
    with open(os.path.join(FUNCTIONS_DIR, "python", name + ".py")) as f:
        return make_zip({as_module: f.read()})


class Api:
    """Calls a running Qinling over HTTP."""

    def __init__(self, url):
        self.url = url.rstrip("/")
        self.http = requests.Session()

    def get(self, path, **kwargs):
        return self.http.get(self.url + path, **kwargs)

    def post(self, path, **kwargs):
        return self.http.post(self.url + path, **kwargs)

    def delete(self, path, **kwargs):
        return self.http.delete(self.url + path, **kwargs)

    def create_runtime(self, image="openstackqinling/python3-runtime",
                       wait=True):
        resp = self.post("/v1/runtimes", json={"image": image,
                                               "name": "python3"})
        assert resp.status_code == 201, resp.text
        runtime = resp.json()
        if wait:
            runtime = self.wait_runtime(runtime["id"])
        return runtime

    def wait_runtime(self, runtime_id, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runtime = self.get("/v1/runtimes/%s" % runtime_id).json()
            if runtime["status"] != "creating":
                return runtime
            time.sleep(0.1)
        raise AssertionError("runtime %s still creating" % runtime_id)

    def create_function(self, runtime_id, package, entry="main.main",
                        expect=201, **fields):
        data = {"runtime_id": runtime_id, "entry": entry,
                "code": json.dumps({"source": "package"})}
        data.update({k: str(v) for k, v in fields.items()})
        resp = self.post("/v1/functions", data=data,
                         files={"package": ("package.zip", package)})
        assert resp.status_code == expect, resp.text
        return resp.json()

    def execute(self, function_id, input=None, sync=True, expect=201):
        body = {"function_id": function_id, "sync": sync}
        if input is not None:
            body["input"] = input
        resp = self.post("/v1/executions", json=body)
        assert resp.status_code == expect, resp.text
        return resp.json()

    def wait_execution(self, execution_id, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            execution = self.get("/v1/executions/%s" % execution_id).json()
            if execution["status"] != "running":
                return execution
            time.sleep(0.05)
        raise AssertionError("execution %s still running" % execution_id)
