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
"""What an operator watches: /healthcheck, the access log and /metrics,
on real servers."""

import re

import pytest
import requests

from tests.functional import api as api_client
from tests.functional import deployments

JSON = {"Accept": "application/json"}


def _metric(text, name, **labels):
    """The value of one sample in a Prometheus exposition, or None."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^([a-zA-Z_:]+)(\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(3) or ""))
        if all(found.get(k) == str(v) for k, v in labels.items()):
            return float(match.group(4))
    return None


def test_healthcheck_of_the_all_in_one_reports_its_checks(server):
    resp = requests.get(server.url + "/healthcheck", timeout=30)

    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert "database: OK" in resp.text
    assert "engine: in this process" in resp.text


def test_healthcheck_detailed_view_is_open_without_auth(server):
    resp = requests.get(server.url + "/healthcheck", headers=JSON,
                        timeout=30)

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["detailed"] is True
    reasons = {r["reason"] for r in body["reasons"]}
    assert "database: OK" in reasons
    assert all(r["details"].endswith(" ms") for r in body["reasons"])


def test_every_request_writes_an_access_log_line(server, api):
    resp = api.get("/v1/functions?limit=1", headers=JSON)
    assert resp.status_code == 200
    request_id = resp.headers["x-openstack-request-id"]

    line = _wait_log_line(server, request_id)

    assert "qinling.api.access" in line
    assert "GET /v1/functions?limit=1 status 200" in line
    assert re.search(r"time \d+\.\d{4} \(first byte \d+\.\d{4}\)", line)


def _wait_log_line(deployment, needle, tries=100):
    import time
    for _ in range(tries):
        for proc in deployment.processes:
            with open(proc.log_path, errors="replace") as f:
                for line in f:
                    if needle in line and "qinling.api.access" in line:
                        return line
        time.sleep(0.1)
    raise AssertionError("no access log line with %s" % needle)


def test_metrics_count_executions_workers_and_cold_starts(api, runtime):
    function = api.create_function(runtime["id"],
                                   api_client.sample_zip("hello_world"))
    for _ in range(3):
        execution = api.execute(function["id"])
        assert execution["status"] == "success", execution
    failing = api.create_function(runtime["id"], api_client.make_zip(
        {"main.py": "def main(**kw):\n    raise ValueError('no')\n"}))
    assert api.execute(failing["id"])["status"] == "failed"

    resp = api.get("/metrics")

    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    text = resp.text
    assert _metric(text, "qinling_executions_total",
                   function_id=function["id"], status="success") == 3
    assert _metric(text, "qinling_executions_total",
                   function_id=failing["id"], status="failed") == 1
    assert _metric(text, "qinling_execution_duration_seconds_count",
                   runtime_id=runtime["id"]) >= 4
    assert _metric(text, "qinling_cold_starts_total",
                   runtime_id=runtime["id"]) >= 2
    assert _metric(text, "qinling_executions_running",
                   runtime_id=runtime["id"]) == 0
    assert _metric(text, "qinling_workers", runtime_id=runtime["id"],
                   state="claimed") >= 2
    assert _metric(text, "qinling_workers", runtime_id=runtime["id"],
                   state="free") is not None
    assert _metric(text, "qinling_pool_refill_seconds_count",
                   runtime_id=runtime["id"]) >= 1
    assert _metric(text, "qinling_api_time_to_first_byte_seconds_count",
                   method="POST", route="/v1/executions") >= 4


def test_refused_webhook_deliveries_are_counted(bounded_server):
    api = api_client.Api(bounded_server.url)
    runtime = api.create_runtime()
    function = api.create_function(runtime["id"], api_client.make_zip(
        {"main.py": "import time\n\ndef main(**kw):\n    time.sleep(3)\n"}))
    webhook = api.post("/v1/webhooks", json={
        "function_id": function["id"]}).json()
    statuses = [api.post("/v1/webhooks/%s/invoke" % webhook["id"],
                         json={}).status_code for _ in range(4)]
    assert 429 in statuses, statuses

    text = api.get("/metrics").text

    assert _metric(text, "qinling_webhook_deliveries_refused_total",
                   reason="too_many_running") == statuses.count(429)


@pytest.fixture(scope="module")
def split_deployment(tmp_path_factory):
    """qinling-api and qinling-engine on RabbitMQ and MariaDB, with the
    engine's metrics on their own port; this module's own, as a test
    stops its engine."""
    engine_port = deployments.free_port()
    deployment = deployments.Deployment(
        "rabbit-mariadb", str(tmp_path_factory.mktemp("split")),
        {"metrics": {"engine_port": engine_port},
         # A call no engine answers fails soon after the function's
         # timeout; a killed engine's heartbeat stays fresh meanwhile, so
         # the API still hands sync executions to the bus.
         "engine": {"rpc_timeout_margin": 1, "execution_lease": 300}})
    try:
        deployment.start()
    except deployments.Unavailable as e:
        pytest.skip(str(e))
    deployment.engine_metrics_url = "http://127.0.0.1:%d/metrics" % \
        engine_port
    yield deployment
    deployment.stop()


def test_split_deployment_serves_api_and_engine_metrics_apart(
        split_deployment):
    api = api_client.Api(split_deployment.url)
    runtime = api.create_runtime()
    function = api.create_function(runtime["id"],
                                   api_client.sample_zip("hello_world"))
    assert api.execute(function["id"])["status"] == "success"

    engine = requests.get(split_deployment.engine_metrics_url, timeout=30)
    api_metrics = api.get("/metrics").text

    assert _metric(engine.text, "qinling_executions_total",
                   function_id=function["id"], status="success") == 1
    assert _metric(engine.text, "qinling_workers", runtime_id=runtime["id"],
                   state="claimed") == 1
    assert _metric(api_metrics, "qinling_executions_total",
                   function_id=function["id"], status="success") is None
    assert _metric(api_metrics, "qinling_api_requests_total",
                   method="POST", route="/v1/executions",
                   status="201") == 1


def test_healthcheck_fails_with_the_reason_when_no_engine_answers(
        split_deployment):
    url = split_deployment.url + "/healthcheck"
    healthy = requests.get(url, timeout=30)
    assert healthy.status_code == 200, healthy.text
    assert "message bus: OK; engine: answering" in healthy.text

    engine = next(p for p in split_deployment.processes
                  if p.name == "qinling-engine")
    engine.kill()
    resp = requests.get(url, timeout=30)

    assert resp.status_code == 503
    assert "database: OK" in resp.text
    assert "engine: none answered on topic" in resp.text


def test_rpc_errors_are_counted_when_no_engine_answers(split_deployment):
    # After test_healthcheck_fails_with_the_reason_when_no_engine_answers,
    # which killed the engine.
    engine = next(p for p in split_deployment.processes
                  if p.name == "qinling-engine")
    assert engine.popen.poll() is not None
    api = api_client.Api(split_deployment.url)
    function = next(f for f in api.get("/v1/functions").json()["functions"])
    api.http.put(api.url + "/v1/functions/%s" % function["id"],
                 data={"timeout": "1"})

    resp = api.post("/v1/executions", json={"function_id": function["id"]},
                    timeout=60)

    assert resp.status_code == 503, resp.text
    assert "never started" in resp.json()["faultstring"]
    text = api.get("/metrics").text
    assert _metric(text, "qinling_rpc_errors_total",
                   method="create_execution", error="MessagingTimeout") >= 1
    # The API ended the execution no engine took, and counted its end.
    assert _metric(text, "qinling_executions_total",
                   function_id=function["id"], status="error") == 1


def test_usage_sums_executions_cpu_and_memory_time_per_function(api,
                                                                runtime):
    memory = 48 * 1024 * 1024
    function = api.create_function(
        runtime["id"], api_client.sample_zip("hello_world"),
        memory_size=memory)
    other = api.create_function(runtime["id"],
                                api_client.sample_zip("hello_world"))
    executions = [api.execute(function["id"]) for _ in range(3)]
    executions.append(api.execute(other["id"]))
    assert all(e["status"] == "success" for e in executions), executions

    resp = api.get("/v1/usage", headers=JSON, params={
        "start": "2000-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"})

    assert resp.status_code == 200, resp.text
    usage = resp.json()
    assert usage["project_id"] == "default"
    assert usage["start"] == "2000-01-01T00:00:00Z"
    by_function = {u["function_id"]: u for u in usage["functions"]}
    mine = by_function[function["id"]]
    assert mine["executions"] == 3
    durations = [json_duration(e) for e in executions[:3]]
    assert mine["duration"] == pytest.approx(sum(durations), abs=1e-3)
    assert mine["memory_byte_seconds"] == pytest.approx(
        memory * sum(durations), rel=1e-3)
    assert mine["cpu_time"] >= 0
    assert by_function[other["id"]]["executions"] == 1
    assert usage["total"]["executions"] >= 4


def json_duration(execution):
    import json
    return json.loads(execution["result"])["duration"]


def test_usage_of_a_period_before_the_executions_is_empty(api, runtime):
    resp = api.get("/v1/usage", headers=JSON, params={
        "start": "2001-01-01T00:00:00Z", "end": "2001-02-01T00:00:00Z"})

    assert resp.status_code == 200, resp.text
    assert resp.json()["functions"] == []
    assert resp.json()["total"]["executions"] == 0


@pytest.mark.parametrize("params, faultstring", [
    ({"start": "yesterday"}, "Invalid start: 'yesterday' is not an ISO 8601 "
     "time such as 2026-01-31T00:00:00Z."),
    ({"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
     "The start of the period must be before its end."),
])
def test_usage_with_a_bad_period_is_a_400(api, params, faultstring):
    resp = api.get("/v1/usage", headers=JSON, params=params)

    assert resp.status_code == 400
    assert resp.json()["faultstring"] == faultstring


@pytest.fixture(scope="module")
def keystone_callers(auth_server, keystone):
    from tests.functional import test_auth
    return {
        "member": test_auth.Caller(auth_server.url, keystone.token("user-a")),
        "other": test_auth.Caller(auth_server.url, keystone.token("user-b")),
        "admin": test_auth.Caller(auth_server.url, keystone.token("admin")),
        "anonymous": test_auth.Caller(auth_server.url, None),
    }


@pytest.mark.parametrize("who, status", [
    ("anonymous", 401), ("member", 403), ("admin", 200)])
def test_metrics_with_auth_on_are_for_admins(keystone_callers, who, status):
    resp = keystone_callers[who].request("GET", "/metrics")

    assert resp.status_code == status, resp.text
    if status == 200:
        assert "qinling_api_requests_total" in resp.text
    else:
        assert resp.json()["faultstring"]


@pytest.mark.parametrize("who, detailed", [
    ("anonymous", False), ("member", False), ("admin", True)])
def test_healthcheck_with_auth_on_is_open_and_detailed_for_admins(
        keystone_callers, who, detailed):
    resp = keystone_callers[who].request("GET", "/healthcheck",
                                         headers=JSON)

    assert resp.status_code == 200, resp.text
    assert resp.json()["detailed"] is detailed


def test_usage_of_another_project_is_for_admins(keystone_callers, keystone):
    project_a = keystone.projects["project-a"]
    own = keystone_callers["member"].request("GET", "/v1/usage")
    assert own.status_code == 200, own.text
    assert own.json()["project_id"] == project_a

    refused = keystone_callers["other"].request(
        "GET", "/v1/usage", params={"project_id": project_a})
    allowed = keystone_callers["admin"].request(
        "GET", "/v1/usage", params={"project_id": project_a})

    assert refused.status_code == 403, refused.text
    assert refused.json()["faultstring"] == "Operation not allowed"
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["project_id"] == project_a
    assert keystone_callers["anonymous"].request(
        "GET", "/v1/usage").status_code == 401
