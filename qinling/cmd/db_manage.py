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
"""``qinling-db-manage``: alembic migrations of the configured database."""

import argparse
import sys

from qinling.cmd import config


def _parser():
    parser = argparse.ArgumentParser(
        prog="qinling-db-manage",
        description="Migrate the Qinling database.")
    parser.add_argument("--config-file", action="append", default=[],
                        help="Configuration file (repeatable).")
    sub = parser.add_subparsers(dest="command", required=True)
    upgrade = sub.add_parser("upgrade", help="Upgrade to a revision.")
    upgrade.add_argument("revision", nargs="?", default="head")
    sub.add_parser("current", help="Show the current revision.")
    sub.add_parser("history", help="List the migrations.")
    stamp = sub.add_parser("stamp", help="Record a revision, run nothing.")
    stamp.add_argument("revision")
    revision = sub.add_parser("revision", help="Write a new migration.")
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument("--autogenerate", action="store_true")
    return parser


def main(argv=None):
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    conf_args = []
    for path in args.config_file:
        conf_args += ["--config-file", path]
    conf = config.load(conf_args)
    config.prepare_database(conf, migrate=False)
    from qinling.db import migration
    if args.command == "upgrade":
        migration.upgrade(args.revision)
    elif args.command == "current":
        print(migration.current_revision() or "None")
    elif args.command == "history":
        migration.history()
    elif args.command == "stamp":
        migration.stamp(args.revision)
    else:
        migration.revision(args.message, args.autogenerate)
