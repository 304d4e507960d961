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
"""Run several ``keystone-manage`` commands in one process.

Each ``keystone-manage`` run spends ~2.5 s importing Keystone; this pays that
once. Run by the Keystone venv's Python::

    python keystone_setup.py CONFIG_FILE 'db_sync' 'fernet_setup ...' ...

Each further argument is one command line, split on whitespace.
"""

import sys

from keystone.cmd import cli


def main(config_file, commands):
    for command in commands:
        print("== keystone-manage %s" % command, flush=True)
        cli.main(argv=["keystone-manage", "--config-file", config_file]
                 + command.split())
        # Forget the parsed command line so the next main() may parse its
        # own; the registered options stay.
        cli.CONF.clear()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
