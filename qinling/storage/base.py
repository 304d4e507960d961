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
"""The contract of a package storage provider, and its loader."""

import abc
import typing

from oslo_log import log as logging
from stevedore import driver as stevedore_driver

from qinling import exceptions

LOG = logging.getLogger(__name__)

NAMESPACE = "qinling.storage.provider"


class PackageStorage(abc.ABC):
    """Keeps function packages (zip files), one per function version."""

    @abc.abstractmethod
    def store(self, project_id: str, function_id: str,
              data: typing.BinaryIO,
              md5sum: typing.Optional[str] = None) -> str:
        """Store a package after checking it.

        :param project_id: the owner's project.
        :param function_id: the function's id.
        :param data: a readable binary file holding the zip.
        :param md5sum: the md5 the caller expects, if any.
        :returns: the package's md5.
        :raises InputException: md5 mismatch, not a zip, a member whose
            path escapes the package directory, or a package that
            unpacks past ``[storage]max_package_unpacked_size`` or holds
            more than ``[storage]max_package_members`` members.
        :raises RequestEntityTooLarge: over ``[storage]max_package_size``.
        """

    @abc.abstractmethod
    def retrieve(self, project_id: str, function_id: str, md5sum: str,
                 version: int = 0) -> typing.BinaryIO:
        """Open a stored package for reading.

        :raises StorageNotFoundException: no such package.
        """

    @abc.abstractmethod
    def local_path(self, project_id: str, function_id: str, md5sum: str,
                   version: int = 0) -> str:
        """Return a path on this host where the package can be read.

        :raises StorageNotFoundException: no such package.
        """

    @abc.abstractmethod
    def delete(self, project_id: str, function_id: str, md5sum: str,
               version: int = 0) -> None:
        """Delete a stored package; a missing one is ignored."""

    @abc.abstractmethod
    def copy(self, project_id: str, function_id: str, md5sum: str,
             version: int) -> None:
        """Keep the function's current package as version ``version``.

        :raises StorageNotFoundException: the function has no such package.
        """


def load(conf) -> PackageStorage:
    """Load the provider named by ``[storage]provider``.

    :raises StorageProviderException: no such provider is installed.
    """
    name = conf.storage.provider
    try:
        mgr = stevedore_driver.DriverManager(
            NAMESPACE, name, invoke_on_load=True, invoke_args=(conf,))
    except Exception as e:  # stevedore raises several unrelated types
        LOG.error("Cannot load storage provider %s: %s", name, e)
        raise exceptions.StorageProviderException(
            "Storage provider %s cannot be loaded." % name)
    return mgr.driver
