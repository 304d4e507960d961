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
"""The package sidecar and the Node.js server asking it for a package,
both on loopback TCP as in a pod."""

import http.server
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import zipfile

import pytest
import requests

from qinling.orchestrator.local import images
from qinling.runtimes.sidecar import sidecar

NODE = shutil.which("node")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def zip_of(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buf.getvalue()


@pytest.fixture
def site():
    """A loopback web site serving packages; records the tokens it saw."""
    served = {"/hello.zip": zip_of({"main.js": "exports.main = () => 'hi';\n",
                                    "main.py": "def main():\n    return 1\n"}),
              "/evil.zip": zip_of({"../../evil": "x"}),
              "/bomb.zip": zip_of({"zeros": b"\0" * (2 * 1024 * 1024)}),
              "/many.zip": zip_of({"f%d" % i: "x" for i in range(20)}),
              "/junk.zip": b"not a zip"}
    tokens = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            tokens.append(self.headers.get("X-Auth-Token"))
            data = served.get(self.path)
            self.send_response(200 if data else 404)
            self.send_header("Content-Length", str(len(data or b"")))
            self.end_headers()
            self.wfile.write(data or b"")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tokens
    server.shutdown()
    server.server_close()


def start(argv, url):
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url + "/ping", timeout=1)
            return process
        except requests.ConnectionError:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)


@pytest.fixture
def sidecar_url(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start([sys.executable, sidecar.__file__, "--port", str(port),
                     "--packages", str(tmp_path / "packages"),
                     "--max-unpacked-size", str(1024 * 1024),
                     "--max-package-members", "10"], url)
    yield url, tmp_path / "packages"
    process.terminate()
    process.wait(10)


def test_a_package_is_downloaded_with_the_token_and_unzipped_once(
        sidecar_url, site):
    url, packages = sidecar_url
    base, tokens = site
    body = {"download_url": base + "/hello.zip", "function_id": "f1",
            "token": "tok"}

    first = requests.post(url + "/download", json=body, timeout=30)
    second = requests.post(url + "/download", json=body, timeout=30)

    assert (first.status_code, first.text) == (200, "downloaded")
    assert second.status_code == 200
    assert tokens == ["tok"]
    assert sorted(os.listdir(packages / "f1")) == ["main.js", "main.py"]


@pytest.mark.parametrize("path,detail", [
    ("/junk.zip", "File is not a zip file"),
    ("/evil.zip", "escapes the package directory"),
    ("/bomb.zip", "the package unpacks to more than the limit of 1048576 "
                  "bytes"),
    ("/many.zip", "the package has 20 members, more than the limit of 10"),
    ("/missing.zip", "HTTP Error 404")])
def test_a_bad_package_fails_with_upstreams_message(sidecar_url, site, path,
                                                    detail):
    url, packages = sidecar_url
    base, _ = site

    resp = requests.post(url + "/download", json={
        "download_url": base + path, "function_id": "f2"}, timeout=30)

    assert resp.status_code == 500
    assert resp.text.startswith(
        f"Failed to download function package from {base + path}, error: ")
    assert detail in resp.text
    assert not os.path.exists(packages / "f2")


@pytest.mark.skipif(NODE is None, reason="Node.js is missing")
def test_the_nodejs_server_in_a_pod_gets_its_package_from_the_sidecar(
        sidecar_url, site):
    url, packages = sidecar_url
    base, _ = site
    port = free_port()
    node_url = f"http://127.0.0.1:{port}"
    node = start([NODE, images.server_files("nodejs", "nodejs")[0],
                  "--port", str(port), "--host", "127.0.0.1",
                  "--packages", str(packages), "--sidecar", url], node_url)
    try:
        resp = requests.post(node_url + "/execute", data=json.dumps({
            "execution_id": "e1", "function_id": "f3", "entry": "main.main",
            "download_url": base + "/hello.zip", "timeout": 5}), timeout=30)
    finally:
        node.terminate()
        node.wait(10)

    assert resp.json()["output"] == "hi"


def _md5(data):
    import hashlib
    return hashlib.md5(data).hexdigest()


def test_a_pushed_package_is_checked_against_its_md5_and_unzipped(
        sidecar_url):
    url, packages = sidecar_url
    data = zip_of({"main.py": "def main():\n    return 1\n"})

    first = requests.put(url + "/packages/f1?md5=" + _md5(data), data=data,
                         timeout=30)
    again = requests.put(url + "/packages/f1?md5=" + _md5(data), data=data,
                         timeout=30)

    assert (first.status_code, first.text) == (200, "uploaded")
    assert again.status_code == 200
    assert os.listdir(packages / "f1") == ["main.py"]


def test_a_sidecar_holding_a_package_refuses_any_other(sidecar_url):
    url, packages = sidecar_url
    planted = zip_of({"main.py": "def main():\n    return 'planted'\n"})
    real = zip_of({"main.py": "def main():\n    return 'real'\n"})
    assert requests.put(url + "/packages/f1?md5=" + _md5(planted),
                        data=planted, timeout=30).status_code == 200

    resp = requests.put(url + "/packages/f1?md5=" + _md5(real), data=real,
                        timeout=30)
    other = requests.put(url + "/packages/f2?md5=" + _md5(real), data=real,
                         timeout=30)

    assert resp.status_code == 409 and other.status_code == 409
    assert not os.path.exists(packages / "f2")


@pytest.mark.parametrize("path,body,code,detail", [
    ("/packages/f1?md5=" + "0" * 32, b"data", 400, "does not match"),
    ("/packages/f1?md5=nope", b"data", 400, "Invalid md5"),
    ("/packages/%2E%2E?md5=" + _md5(b"x"), b"x", 400, "Invalid function_id"),
    ("/packages/f1?md5=" + _md5(b"not a zip"), b"not a zip", 400,
     "cannot be unzipped"),
    ("/elsewhere", b"", 404, "Not found")])
def test_a_bad_push_is_refused_and_leaves_nothing(sidecar_url, path, body,
                                                  code, detail):
    url, packages = sidecar_url

    resp = requests.put(url + path, data=body, timeout=30)

    assert resp.status_code == code
    assert detail in resp.text
    assert not os.path.exists(packages / "f1")
