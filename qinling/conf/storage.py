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
"""Options of the ``[storage]`` group."""

from oslo_config import cfg

group = cfg.OptGroup("storage", title="Function package storage options")

opts = [
    cfg.StrOpt(
        "provider", default="local",
        help="Package storage provider, by its entry point name in the "
             "qinling.storage.provider namespace."),
    cfg.StrOpt(
        "file_system_dir", default="$state_path/packages",
        help="Directory where the local provider keeps function packages."),
    cfg.IntOpt(
        "max_package_size", default=50 * 1024 * 1024, min=1,
        help="Largest function package accepted, in bytes."),
    cfg.IntOpt(
        "max_package_unpacked_size", default=100 * 1024 * 1024,
        min=1024 * 1024,
        help="Bytes a function package may unpack to. Checked from the "
             "sizes the zip declares when the package is uploaded (a "
             "larger one is refused with 400), and again by counting the "
             "bytes written whenever a package is unpacked, since declared "
             "sizes may lie."),
    cfg.IntOpt(
        "max_package_members", default=10000, min=1,
        help="Files and directories a function package may hold; a package "
             "with more is refused with 400."),
    cfg.StrOpt(
        "swift_container", default="qinling-packages",
        help="Container, in the service user's own Swift account, where "
             "the swift provider keeps function packages."),
    cfg.StrOpt(
        "swift_interface", default="public",
        choices=("public", "internal", "admin"),
        help="Which object-store endpoint of the Keystone catalog the "
             "service uses: for the swift provider and for functions whose "
             "code is a Swift object."),
    cfg.IntOpt(
        "max_swift_object_size", default=51 * 1024 * 1024, min=1,
        help="Largest Swift object accepted as a function's code, in "
             "bytes (upstream's limit is 51 MiB)."),
    cfg.StrOpt(
        "package_cache_dir", default="$state_path/package-cache",
        help="Directory where packages fetched from Swift are kept on "
             "this host, so a package is downloaded once per version of "
             "it."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return [(group, opts)]
