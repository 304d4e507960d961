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
"""Serve Aodh's API with wsgiref, in the Aodh venv.

Aodh ships no ``aodh-api`` console script, only a WSGI entry point.

Usage: python aodh_wsgi.py CONFIG_FILE PORT   (listens on 127.0.0.1)
"""

import socketserver
import sys
from wsgiref import simple_server

config_file, port = sys.argv[1], int(sys.argv[2])
# Aodh parses sys.argv with oslo.config: leave it nothing of ours.
sys.argv = sys.argv[:1]

from aodh.api import app  # noqa: E402


class ThreadingServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("aodh-api: %s\n" % (fmt % args))


application = app.build_wsgi_app(argv=["--config-file", config_file])
simple_server.make_server("127.0.0.1", port, application,
                          server_class=ThreadingServer,
                          handler_class=QuietHandler).serve_forever()
