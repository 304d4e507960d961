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
"""Requests generated from api-ref/openapi.yaml, valid and not, against a
real qinling-server: none gets a 5xx or a dropped connection, and every
refusal is a JSON faultstring.

The budget is bounded: ``EXAMPLES`` requests per operation, and no new
operation starts after ``BUDGET`` seconds (those left are skipped with the
reason). Generation is derandomized, so a run repeats the last one.
Half of the requests that name a resource in their path name one that
exists (created by the ``resources`` fixture), so that the operations get
past their 404s; scale_up keeps random ids, as each real one starts
workers.
"""

import itertools
import os
import time

import hypothesis
import pytest
import requests
import schemathesis

from tests.functional import api as api_client

SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "api-ref",
                    "openapi.yaml")
EXAMPLES = 60
BUDGET = 150
# The path parameters of each kind of resource the fixture creates.
PATH_KINDS = ("runtime_id", "function_id", "version_number",
              "execution_id", "job_id", "webhook_id", "alias_name")

schema = schemathesis.openapi.from_path(SPEC)
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE,
           schemathesis.GenerationMode.NEGATIVE],
    max_examples=EXAMPLES, deterministic=True, database="none")

_started = []
_turn = itertools.count()


@pytest.fixture(scope="module")
def resources(fuzz_server):
    """One resource of each kind, as path parameters."""
    api = api_client.Api(fuzz_server.url)
    runtime = api.create_runtime()
    function = api.create_function(runtime["id"],
                                   api_client.sample_zip("echo"))
    fid = function["id"]
    version = api.post("/v1/functions/%s/versions" % fid, json={})
    assert version.status_code == 201, version.text
    alias = api.post("/v1/aliases", json={"name": "generated",
                                          "function_id": fid})
    assert alias.status_code == 201, alias.text
    job = api.post("/v1/jobs", json={"function_id": fid,
                                     "pattern": "0 0 1 1 *"})
    assert job.status_code == 201, job.text
    webhook = api.post("/v1/webhooks", json={"function_id": fid})
    assert webhook.status_code == 201, webhook.text
    execution = api.execute(fid)
    return {"runtime_id": runtime["id"], "function_id": fid,
            "version_number": version.json()["version_number"],
            "execution_id": execution["id"], "job_id": job.json()["id"],
            "webhook_id": webhook.json()["id"], "alias_name": "generated"}


def _use_real_ids(case, resources):
    if case.path_parameters is None or case.path.endswith("/scale_up"):
        return
    if next(_turn) % 2:
        return
    for name in case.path_parameters:
        if name in PATH_KINDS:
            case.path_parameters[name] = resources[name]


@schema.parametrize()
@hypothesis.settings(deadline=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_generated_requests_get_no_server_error(case, fuzz_server,
                                                resources):
    if not _started:
        _started.append(time.monotonic())
    if time.monotonic() - _started[0] > BUDGET:
        pytest.skip("the budget of %d s for generated requests is spent"
                    % BUDGET)
    _use_real_ids(case, resources)

    try:
        resp = case.call(base_url=fuzz_server.url, timeout=60)
    except requests.ConnectionError as e:
        pytest.fail("%s dropped the connection: %s\n%s" % (
            case.as_curl_command(), e, fuzz_server.logs()[-3000:]))

    assert resp.status_code < 500, "%s\n%s\n%s" % (
        case.as_curl_command(), resp.text[:2000], fuzz_server.logs()[-3000:])
    if resp.status_code >= 400:
        # schemathesis gives each header as a list, under its lower name.
        content_type = resp.headers.get("content-type", [""])[0]
        assert content_type.startswith("application/json"), (
            resp.status_code, content_type, case.as_curl_command(),
            resp.text[:500])
        assert resp.json()["faultstring"], case.as_curl_command()
