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
"""Which RPC path a process takes."""

from qinling import rpc


def test_oslo_messagings_default_url_does_not_count_as_configured(conf):
    assert not rpc.transport_configured(conf)


def test_a_configured_transport_url_counts(conf, tmp_path):
    config_file = tmp_path / "q.conf"
    config_file.write_text(
        "[DEFAULT]\ntransport_url = rabbit://u:p@127.0.0.1:5672/\n")
    conf(["--config-file", str(config_file)], project="qinling",
         default_config_files=[])

    assert rpc.transport_configured(conf)
