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
"""Functions whose code is an object in the user's own Swift account.

The API checks the object with the caller's token (it exists, it is
readable, it is not larger than ``[storage]max_swift_object_size``) and
streams it for downloads. At each execution the engine asks Swift for the
object's etag with a token scoped by the function's trust, and downloads
the object into ``[storage]package_cache_dir`` when that etag is new: the
etag is the package's md5 for the orchestrator, so a replaced object runs
on fresh workers; the copies of earlier contents are removed then, and
all copies when the function's workers are released (delete, detach).
The user's object is never changed or deleted.
"""

import glob
import os
import re

from oslo_log import log as logging

from qinling import exceptions
from qinling.storage import package
from qinling.storage import swift

LOG = logging.getLogger(__name__)

INVALID = "Failed to validate object in Swift."
MD5_RE = re.compile(r"^[0-9a-f]{32}$")


def parse_etag(headers):
    """The object's etag without the quotes Swift puts around a large
    object's."""
    return headers.get("etag", "").strip('"')


def cache_name(function_id, etag):
    """The cached package's file name: safe whatever the etag holds."""
    return "%s_%s.zip" % (function_id, re.sub(r"[^A-Za-z0-9-]", "_", etag))


class SwiftObjects:
    """Swift objects as function code.

    :param keystone: a :class:`qinling.keystone.Keystone`.
    """

    def __init__(self, conf, keystone):
        self._conf = conf
        self._keystone = keystone
        self.max_size = conf.storage.max_swift_object_size
        self.cache_dir = os.path.join(conf.storage.package_cache_dir,
                                      "swift-objects")

    def _user_connection(self, ctx):
        return swift.connection(self._conf,
                                self._keystone.user_session(ctx))

    def check(self, ctx, container, obj):
        """HEAD the object with the caller's token.

        :returns: its etag.
        :raises InputException: missing, not readable by the caller, or
            too large.
        """
        try:
            headers = self._user_connection(ctx).head_object(container, obj)
        except swift.ERRORS as e:
            LOG.info("Swift object %s/%s of project %s cannot be used: %s",
                     container, obj, ctx.project_id, e)
            raise exceptions.InputException(INVALID)
        size = int(headers.get("content-length") or 0)
        if size > self.max_size:
            LOG.info("Swift object %s/%s of project %s has %d bytes, over "
                     "the limit of %d", container, obj, ctx.project_id,
                     size, self.max_size)
            raise exceptions.InputException(INVALID)
        return parse_etag(headers)

    def open(self, ctx, container, obj):
        """Stream the object with the caller's token.

        :returns: a readable with ``read(size)`` and ``close()``.
        :raises StorageNotFoundException: the object is gone.
        :raises StorageProviderException: Swift refused.
        """
        try:
            _headers, body = self._user_connection(ctx).get_object(
                container, obj, resp_chunk_size=package.CHUNK)
        except swift.ERRORS as e:
            raise _unreadable(container, obj, e)
        return body

    def fetch(self, token, project_id, function_id, container, obj):
        """The object's current content as a local package file.

        :param token: a trust-scoped token, from
            :meth:`qinling.keystone.Keystone.trust_token`.
        :returns: ``(path, etag)``.
        :raises StorageNotFoundException: the object is gone.
        :raises StorageProviderException: Swift refused.
        :raises InputException, RequestEntityTooLarge: the object is not
            a valid package, or too large.
        """
        try:
            conn = swift.connection(self._conf,
                                    self._keystone.token_session(token))
            etag = parse_etag(conn.head_object(container, obj))
            path = os.path.join(self.cache_dir, project_id,
                                cache_name(function_id, etag))
            if not os.path.exists(path):
                # A plain object's etag is its md5: a replacement during
                # the download is caught.
                swift.download(conn, container, obj, path, self.max_size,
                               etag if MD5_RE.match(etag) else None)
                # Earlier contents of the object are not run again.
                self._remove(function_id, keep=path)
        except swift.ERRORS as e:
            raise _unreadable(container, obj, e)
        return path, etag

    def forget(self, function_id):
        """Remove the cached copies of a function's object (the function
        was deleted, or its workers released: it is fetched again when it
        runs next)."""
        self._remove(function_id)

    def _remove(self, function_id, keep=None):
        pattern = os.path.join(self.cache_dir, "*",
                               glob.escape(function_id) + "_*.zip")
        for path in glob.glob(pattern):
            if path == keep:
                continue
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def _unreadable(container, obj, error):
    LOG.warning("Swift object %s/%s cannot be read: %s", container, obj,
                error)
    if swift.is_not_found(error):
        return exceptions.StorageNotFoundException(
            "Swift object %s/%s of the function not found."
            % (container, obj))
    return exceptions.StorageProviderException(
        "Swift object %s/%s of the function cannot be read (%s)."
        % (container, obj, swift.reason(error)))
