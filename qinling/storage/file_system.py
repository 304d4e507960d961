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
"""Packages kept as files under ``[storage]file_system_dir``.

Layout: ``<dir>/<project_id>/<function_id>_<md5>.zip`` for the function,
``<function_id>_<version>_<md5>.zip`` for a version. A package is written to
a temporary file, checked, and renamed into place, so a failed upload
leaves no file behind.
"""

import hashlib
import os
import shutil
import tempfile
import zipfile

from oslo_log import log as logging

from qinling import exceptions
from qinling.storage import base

LOG = logging.getLogger(__name__)

CHUNK = 64 * 1024


def check_zip_members(path):
    """Raise InputException unless ``path`` is a zip whose members stay
    inside the directory it is unpacked into."""
    if not zipfile.is_zipfile(path):
        raise exceptions.InputException(
            "Package is not a valid ZIP package.")
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        raise exceptions.InputException(
            "Package is not a valid ZIP package.")
    for name in names:
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise exceptions.InputException(
                "Package member %r escapes the package directory." % name)


class FileSystemStorage(base.PackageStorage):

    def __init__(self, conf):
        self.root = conf.storage.file_system_dir
        self.max_size = conf.storage.max_package_size

    def _dir(self, project_id):
        return os.path.join(self.root, project_id)

    def _name(self, function_id, md5sum, version):
        if version:
            return "%s_%d_%s.zip" % (function_id, version, md5sum)
        return "%s_%s.zip" % (function_id, md5sum)

    def store(self, project_id, function_id, data, md5sum=None):
        directory = self._dir(project_id)
        os.makedirs(directory, exist_ok=True)
        fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=".upload-")
        try:
            actual = self._copy(data, fd)
            if md5sum and md5sum != actual:
                raise exceptions.InputException("Package md5 mismatch.")
            check_zip_members(tmp_path)
            os.replace(tmp_path, os.path.join(
                directory, self._name(function_id, actual, 0)))
        except BaseException:
            os.unlink(tmp_path)
            raise
        return actual

    def _copy(self, data, fd):
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = data.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_size:
                    raise exceptions.RequestEntityTooLarge(
                        "Package is larger than the limit of %d bytes."
                        % self.max_size)
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise exceptions.InputException("Package is empty.")
        return digest.hexdigest()

    def local_path(self, project_id, function_id, md5sum, version=0):
        path = os.path.join(self._dir(project_id),
                            self._name(function_id, md5sum, version))
        if not os.path.exists(path):
            raise exceptions.StorageNotFoundException(
                "Package of function %s for project %s not found."
                % (function_id, project_id))
        return path

    def retrieve(self, project_id, function_id, md5sum, version=0):
        return open(self.local_path(project_id, function_id, md5sum,
                                    version), "rb")

    def copy(self, project_id, function_id, md5sum, version):
        source = self.local_path(project_id, function_id, md5sum)
        target = os.path.join(self._dir(project_id),
                              self._name(function_id, md5sum, version))
        tmp = target + ".tmp"
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)

    def delete(self, project_id, function_id, md5sum, version=0):
        path = os.path.join(self._dir(project_id),
                            self._name(function_id, md5sum, version))
        try:
            os.unlink(path)
        except FileNotFoundError:
            LOG.debug("Package %s was already gone", path)
