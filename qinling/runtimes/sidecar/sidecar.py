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
"""The package sidecar of a runtime pod (upstream Qinling's protocol).

Standard library only, nothing from ``qinling``. It shares the packages
volume with the runtime container and downloads function packages into it:

* ``POST /download`` with ``{download_url, function_id, token?, unzip?}``
  fetches the zip (``X-Auth-Token`` when a token is given) and unzips it
  into ``<packages>/<function_id>/``, once; it answers ``downloaded``, or
  500 ``Failed to download function package from <url>, error: ...``.
* ``PUT /packages/<function_id>?md5=<md5>`` with the zip as the body (the
  Kubernetes orchestrator pushes packages this way, so a pod needs no
  route and no credentials to any storage): the sidecar checks the md5 of
  what it received and unzips it into ``<packages>/<function_id>/``. A
  sidecar holds one package: it answers ``uploaded`` for that package
  again, and 409 for any other, so a package planted by anyone else makes
  the engine's own upload fail instead of being run.
* ``GET /ping`` answers ``pong``.

A package may hold at most ``--max-package-members`` members and unpack
to at most ``--max-unpacked-size`` bytes: the sizes its central directory
declares are checked first, and the bytes written are counted, since a
declared size may lie.

Usage: ``python3 sidecar.py [--host 127.0.0.1] [--port 9091]
[--packages /var/qinling/packages] [--max-package-bytes N]
[--max-unpacked-size BYTES] [--max-package-members N]``.
"""

import argparse
import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
import zipfile

DOWNLOAD_TIMEOUT = 30
MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_UNPACKED_SIZE = 100 * 1024 * 1024
DEFAULT_MAX_PACKAGE_MEMBERS = 10000
CHUNK = 64 * 1024
MAX_PACKAGE_BYTES = 50 * 1024 * 1024
_MD5 = re.compile(r"^[0-9a-f]{32}$")


class DownloadError(Exception):
    """The package cannot be had; the message is for the caller."""

    def __init__(self, message, code=500):
        super().__init__(message)
        self.code = code


def _safe_extract(zip_path, dest, max_size, max_members):
    root = os.path.realpath(dest)
    too_large = ValueError(f"the package unpacks to more than the limit of "
                           f"{max_size} bytes")
    with zipfile.ZipFile(zip_path) as archive:
        members = archive.infolist()
        if len(members) > max_members:
            raise ValueError(f"the package has {len(members)} members, more "
                             f"than the limit of {max_members}")
        if sum(member.file_size for member in members) > max_size:
            raise too_large
        for member in members:
            target = os.path.realpath(os.path.join(root, member.filename))
            if os.path.commonpath([root, target]) != root:
                raise ValueError(f"package member {member.filename!r} "
                                 "escapes the package directory")
        budget = max_size
        for member in members:
            target = os.path.join(root, member.filename)
            if member.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.open(member) as source, open(target, "wb") as out:
                for chunk in iter(lambda: source.read(CHUNK), b""):
                    budget -= len(chunk)
                    if budget < 0:
                        raise too_large
                    out.write(chunk)


class Packages:
    """The shared packages directory; one download at a time."""

    def __init__(self, root, max_size=DEFAULT_MAX_UNPACKED_SIZE,
                 max_members=DEFAULT_MAX_PACKAGE_MEMBERS):
        self.root = os.path.abspath(root)
        self.max_size = max_size
        self.max_members = max_members
        self._lock = threading.Lock()
        #: (function_id, md5) of the package pushed to this sidecar.
        self.held = None

    def upload(self, function_id, md5, data):
        """Unzip a pushed package, once per sidecar.

        :raises DownloadError: a bad request (400), another package is
            already here (409) or the zip cannot be unzipped (400).
        """
        if (not function_id or function_id in (".", "..")
                or "/" in function_id or "\0" in function_id):
            raise DownloadError("Invalid function_id.", 400)
        if not _MD5.match(md5 or ""):
            raise DownloadError("Invalid md5.", 400)
        if hashlib.md5(data, usedforsecurity=False).hexdigest() != md5:
            raise DownloadError("The package does not match its md5.", 400)
        func_dir = os.path.join(self.root, function_id)
        with self._lock:
            if self.held == (function_id, md5):
                return
            if self.held is not None or os.path.exists(func_dir):
                raise DownloadError("This worker already holds a package.",
                                    409)
            os.makedirs(self.root, exist_ok=True)
            tmp_dir = tempfile.mkdtemp(prefix=".upload-", dir=self.root)
            try:
                zip_path = os.path.join(tmp_dir, "package.zip")
                with open(zip_path, "wb") as out:
                    out.write(data)
                code_dir = os.path.join(tmp_dir, "code")
                os.mkdir(code_dir)
                _safe_extract(zip_path, code_dir, self.max_size,
                              self.max_members)
                os.rename(code_dir, func_dir)
            except (ValueError, zipfile.BadZipFile) as e:
                raise DownloadError(f"The package cannot be unzipped: {e}",
                                    400)
            finally:
                shutil.rmtree(tmp_dir, ignore_errors=True)
            self.held = (function_id, md5)

    def download(self, params):
        """Fetch and unzip one package unless it is already there.

        :raises DownloadError: the request or the download failed.
        """
        url, function_id = params.get("download_url"), params.get(
            "function_id")
        if (not isinstance(function_id, str) or not function_id
                or function_id in (".", "..") or "/" in function_id):
            raise DownloadError("Invalid function_id.")
        if not isinstance(url, str) or not url.startswith(("http://",
                                                             "https://")):
            raise DownloadError("Invalid download_url.")
        func_dir = os.path.join(self.root, function_id)
        with self._lock:
            if os.path.isdir(func_dir):
                return
            os.makedirs(self.root, exist_ok=True)
            tmp_dir = tempfile.mkdtemp(prefix=".download-", dir=self.root)
            try:
                self._fetch(url, params.get("token"), tmp_dir,
                            params.get("unzip", True))
                os.rename(os.path.join(tmp_dir, "code"), func_dir)
            except (OSError, ValueError, zipfile.BadZipFile) as e:
                raise DownloadError(f"Failed to download function package "
                                    f"from {url}, error: {e}")
            finally:
                shutil.rmtree(tmp_dir, ignore_errors=True)

    def _fetch(self, url, token, tmp_dir, unzip):
        zip_path = os.path.join(tmp_dir, "package.zip")
        request = urllib.request.Request(url)
        if token:
            request.add_header("X-Auth-Token", token)
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) \
                as resp, open(zip_path, "wb") as out:
            shutil.copyfileobj(resp, out)
        code_dir = os.path.join(tmp_dir, "code")
        os.mkdir(code_dir)
        if unzip:
            _safe_extract(zip_path, code_dir, self.max_size,
                          self.max_members)
        else:
            os.rename(zip_path, os.path.join(code_dir, "package.zip"))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "QinlingSidecar/1.0"

    def log_message(self, format, *args):
        pass

    def _send(self, code, text):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/ping":
            self._send(200, "pong")
        else:
            self._send(404, "Not found.")

    def _length(self, limit):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > limit:
            self.close_connection = True
            return None
        return length

    def do_PUT(self):
        url = urllib.parse.urlsplit(self.path)
        length = self._length(self.server.max_package_bytes)
        if length is None:
            self._send(413, "The package is too large.")
            return
        data = self.rfile.read(length)
        prefix = "/packages/"
        if not url.path.startswith(prefix):
            self._send(404, "Not found.")
            return
        function_id = urllib.parse.unquote(url.path[len(prefix):])
        md5 = urllib.parse.parse_qs(url.query).get("md5", [""])[0]
        try:
            self.server.packages.upload(function_id, md5, data)
        except DownloadError as e:
            self._send(e.code, str(e))
            return
        except OSError as e:
            self._send(500, f"The package cannot be stored: {e}")
            return
        self._send(200, "uploaded")

    def do_POST(self):
        length = self._length(MAX_BODY_BYTES)
        if length is None:
            self.close_connection = True
            self._send(400, "Invalid Content-Length.")
            return
        body = self.rfile.read(length)
        if self.path != "/download":
            self._send(404, "Not found.")
            return
        try:
            params = json.loads(body)
            if not isinstance(params, dict):
                raise ValueError("not an object")
        except ValueError:
            self._send(400, "The request body must be a JSON object.")
            return
        try:
            self.server.packages.download(params)
        except DownloadError as e:
            self._send(500, str(e))
            return
        self._send(200, "downloaded")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Qinling package sidecar.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9091)
    parser.add_argument("--packages", default="/var/qinling/packages")
    parser.add_argument("--max-package-bytes", type=int,
                        default=MAX_PACKAGE_BYTES)
    parser.add_argument("--max-unpacked-size", type=int,
                        default=DEFAULT_MAX_UNPACKED_SIZE)
    parser.add_argument("--max-package-members", type=int,
                        default=DEFAULT_MAX_PACKAGE_MEMBERS)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    server = http.server.ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.max_package_bytes = args.max_package_bytes
    server.packages = Packages(args.packages, args.max_unpacked_size,
                               args.max_package_members)
    # As a container's pid 1 the sidecar gets no default SIGTERM action:
    # stop at once instead of waiting out the pod's grace period.
    signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(
        target=server.shutdown, daemon=True).start())
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
