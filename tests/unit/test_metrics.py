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
"""The route labels of the API's metrics, and the workers collector."""

import pytest

from qinling import metrics

ID = "0ba6c4ee-4e2f-4c35-b2d4-8b8e2cbb5a11"


@pytest.mark.parametrize("path, route", [
    ("/", "/"),
    ("/v1/", "/v1"),
    ("/healthcheck", "/healthcheck"),
    ("/metrics/", "/metrics"),
    ("/v1/functions", "/v1/functions"),
    ("/v1/functions/%s" % ID, "/v1/functions/{id}"),
    ("/v1/functions/%s/versions/3/scale_up" % ID,
     "/v1/functions/{id}/versions/{n}/scale_up"),
    ("/v1/executions/%s/log" % ID, "/v1/executions/{id}/log"),
    ("/v1/webhooks/%s/invoke" % ID, "/v1/webhooks/{id}/invoke"),
    ("/v1/aliases/prod", "/v1/aliases/{name}"),
    ("/v1/functions/" + "x" * 200, "/v1/functions"),
    ("/wp-admin/setup.php", "other"),
    ("/favicon.ico", "other"),
])
def test_route_of_a_path(path, route):
    assert metrics.route(path) == route


def test_workers_collector_counts_free_and_claimed_workers():
    collector = metrics.WorkersCollector(
        lambda: {"rt-b": (5, 2), "rt-a": (2, 2)})

    (family,) = collector.collect()

    assert [(s.labels["runtime_id"], s.labels["state"], s.value)
            for s in family.samples] == [
        ("rt-a", "free", 2), ("rt-a", "claimed", 0),
        ("rt-b", "free", 2), ("rt-b", "claimed", 3)]
