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
"""Packages kept in Swift, in the service's own account.

Objects live in the container ``[storage]swift_container`` of the account
of the ``[keystone_authtoken]`` service user's project, named
``<project_id>/<function_id>_<md5>.zip`` for the function and
``<project_id>/<function_id>_<version>_<md5>.zip`` for a version. A package
is checked locally (as by the local provider) before it is uploaded.

Workers need a file: :meth:`SwiftStorage.local_path` downloads a package
once into ``[storage]package_cache_dir`` (atomically) and reuses it while
it is there. The helpers at the top are shared with
:mod:`qinling.storage.swift_objects`.
"""

import os
import threading

from keystoneauth1 import exceptions as ks_exc
from oslo_log import log as logging
from swiftclient import client as swift_client
from swiftclient import exceptions as swift_exc

from qinling import exceptions
from qinling import keystone
from qinling.storage import base
from qinling.storage import package

LOG = logging.getLogger(__name__)

# What a failed Swift call raises: Swift's answer, Keystone's, or the
# network's (swiftclient lets requests' errors through).
ERRORS = (swift_exc.ClientException, ks_exc.ClientException, OSError)


def connection(conf, session):
    """A swiftclient connection acting through a keystoneauth session, on
    the object-store endpoint of its catalog."""
    return swift_client.Connection(
        session=session, retries=1, timeout=60,
        os_options={
            "service_type": "object-store",
            "endpoint_type": conf.storage.swift_interface,
            "region_name": conf.keystone_authtoken.region_name})


def is_not_found(error):
    return getattr(error, "http_status", None) == 404


def download(conn, container, name, path, max_size, md5sum=None):
    """Download an object to ``path`` (atomically), checked as a package.

    :param md5sum: the md5 the object must have, if known.
    :returns: the md5 of what was written.
    :raises swiftclient ClientException: Swift refused.
    :raises InputException, RequestEntityTooLarge: not a valid package.
    """
    _headers, body = conn.get_object(container, name,
                                     resp_chunk_size=package.CHUNK)
    try:
        tmp_path, md5 = package.spool(body, os.path.dirname(path),
                                      max_size, md5sum)
    finally:
        body.close()
    os.replace(tmp_path, path)
    return md5


class SwiftStorage(base.PackageStorage):

    def __init__(self, conf):
        self._conf = conf
        self._keystone = keystone.Keystone(conf)
        self.container = conf.storage.swift_container
        self.max_size = conf.storage.max_package_size
        self.unpack_limits = package.UnpackLimits.from_conf(conf)
        self.cache_dir = os.path.join(conf.storage.package_cache_dir,
                                      "packages")
        self._lock = threading.Lock()
        self._session = None
        self._container_ready = False

    def _connection(self):
        # One service session (its token is reused until it expires); a
        # connection per call, as swiftclient's are not thread-safe.
        with self._lock:
            if self._session is None:
                self._session = self._keystone.service_session()
        return connection(self._conf, self._session)

    @staticmethod
    def _name(project_id, function_id, md5sum, version):
        if version:
            return "%s/%s_%d_%s.zip" % (project_id, function_id, version,
                                        md5sum)
        return "%s/%s_%s.zip" % (project_id, function_id, md5sum)

    def _cache_path(self, name):
        return os.path.join(self.cache_dir, *name.split("/"))

    def _failed(self, action, name, error):
        LOG.error("Swift %s of %s/%s failed: %s", action, self.container,
                  name, error)
        return exceptions.StorageProviderException(
            "Package storage in Swift failed: %s of the package was "
            "refused (%s)." % (action, reason(error)))

    def _not_found(self, project_id, function_id):
        return exceptions.StorageNotFoundException(
            "Package of function %s for project %s not found."
            % (function_id, project_id))

    def store(self, project_id, function_id, data, md5sum=None):
        tmp_path, actual = package.spool(
            package.file_chunks(data),
            os.path.join(self.cache_dir, project_id), self.max_size, md5sum,
            self.unpack_limits)
        name = self._name(project_id, function_id, actual, 0)
        try:
            conn = self._connection()
            if not self._container_ready:
                conn.put_container(self.container)
                self._container_ready = True
            with open(tmp_path, "rb") as f:
                conn.put_object(self.container, name, f, etag=actual,
                                content_type="application/zip")
        except ERRORS as e:
            os.unlink(tmp_path)
            raise self._failed("upload", name, e)
        # The checked file is the cached copy: no download to run it here.
        os.replace(tmp_path, self._cache_path(name))
        return actual

    def local_path(self, project_id, function_id, md5sum, version=0):
        name = self._name(project_id, function_id, md5sum, version)
        path = self._cache_path(name)
        if os.path.exists(path):
            return path
        try:
            download(self._connection(), self.container, name, path,
                     self.max_size, md5sum)
        except ERRORS as e:
            if is_not_found(e):
                raise self._not_found(project_id, function_id)
            raise self._failed("download", name, e)
        return path

    def retrieve(self, project_id, function_id, md5sum, version=0):
        return open(self.local_path(project_id, function_id, md5sum,
                                    version), "rb")

    def copy(self, project_id, function_id, md5sum, version):
        source = self._name(project_id, function_id, md5sum, 0)
        target = self._name(project_id, function_id, md5sum, version)
        try:
            self._connection().copy_object(
                self.container, source,
                destination="/%s/%s" % (self.container, target))
        except ERRORS as e:
            if is_not_found(e):
                raise self._not_found(project_id, function_id)
            raise self._failed("copy", source, e)

    def delete(self, project_id, function_id, md5sum, version=0):
        # Called after the row is gone and on undo paths: a failure is
        # logged with the object's name for the operator, never raised.
        name = self._name(project_id, function_id, md5sum, version)
        try:
            os.unlink(self._cache_path(name))
        except FileNotFoundError:
            pass
        try:
            self._connection().delete_object(self.container, name)
        except ERRORS as e:
            if is_not_found(e):
                LOG.debug("Package %s was already gone", name)
            else:
                LOG.error("Swift deletion of %s/%s failed, the object is "
                          "left behind: %s", self.container, name, e)


def reason(error):
    """A short reason for a failed Swift call, for users' messages."""
    status = getattr(error, "http_status", None)
    if status:
        return "HTTP %s" % status
    return error.__class__.__name__
