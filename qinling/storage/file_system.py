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

import os
import shutil

from oslo_log import log as logging

from qinling import exceptions
from qinling.storage import base
from qinling.storage import package

LOG = logging.getLogger(__name__)


class FileSystemStorage(base.PackageStorage):

    def __init__(self, conf):
        self.root = conf.storage.file_system_dir
        self.max_size = conf.storage.max_package_size
        self.unpack_limits = package.UnpackLimits.from_conf(conf)

    def _dir(self, project_id):
        return os.path.join(self.root, project_id)

    def _name(self, function_id, md5sum, version):
        if version:
            return "%s_%d_%s.zip" % (function_id, version, md5sum)
        return "%s_%s.zip" % (function_id, md5sum)

    def store(self, project_id, function_id, data, md5sum=None):
        directory = self._dir(project_id)
        tmp_path, actual = package.spool(package.file_chunks(data),
                                         directory, self.max_size, md5sum,
                                         self.unpack_limits)
        try:
            os.replace(tmp_path, os.path.join(
                directory, self._name(function_id, actual, 0)))
        except BaseException:
            os.unlink(tmp_path)
            raise
        return actual

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
