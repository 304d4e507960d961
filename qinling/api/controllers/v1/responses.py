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
"""Bodies of the plain pecan endpoints: JSON documents and zip downloads."""

import webob
from webob import static

JSON = "application/json"
ZIP = "application/zip"
TEXT = "text/plain"


def json(body, status=200):
    return webob.Response(status=status, content_type=JSON,
                          charset="UTF-8", json_body=body)


def zip_file(package, filename):
    """Stream an open zip file as a download named ``filename``."""
    return webob.Response(
        content_type=ZIP,
        content_disposition='attachment; filename="%s"' % filename,
        app_iter=static.FileIter(package))
