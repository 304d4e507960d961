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
"""Keystone: trusts, so work started without a user runs as the owner.

When a user creates a function (with auth on) a trust is made from that
user to the service user, for the user's project and roles, with
impersonation. Later executions that come without a user token (jobs,
webhooks) run as the owner through it, and every execution's worker gets
a short-lived token scoped by the trust: never the service user's
credentials, which stay in this process.

The service user is the ``password`` auth plugin configured in
``[keystone_authtoken]`` (as for keystonemiddleware).
"""

import threading
import time

from keystoneauth1 import access
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import access as access_plugin
from keystoneauth1.identity import v3
from oslo_log import log as logging
from oslo_utils import timeutils

from qinling import exceptions

LOG = logging.getLogger(__name__)

GROUP = "keystone_authtoken"
# A cached trust token is renewed once it has less than this left.
TOKEN_MIN_LIFETIME = 300


def register_opts(conf):
    # keystonemiddleware registers [keystone_authtoken] on import.
    from keystonemiddleware import auth_token  # noqa: F401
    loading.register_auth_conf_options(conf, GROUP)


class TrustFailed(exceptions.QinlingException):
    message = "Trust creation failed for function."


class Keystone:
    """Trust operations on behalf of one service process."""

    def __init__(self, conf):
        register_opts(conf)
        self._conf = conf
        self._lock = threading.Lock()
        self._tokens = {}

    def _service_auth(self, **overrides):
        return loading.load_auth_from_conf_options(
            self._conf, GROUP, **overrides)

    def _session(self, auth):
        # TLS settings are keystonemiddleware's, in the same group.
        opts = self._conf.keystone_authtoken
        verify = False if opts.insecure else (opts.cafile or True)
        return ks_session.Session(auth=auth, verify=verify)

    def user_session(self, ctx):
        """A session acting with the caller's token, in its project."""
        auth = v3.Token(auth_url=self.auth_url, token=ctx.auth_token,
                        project_id=ctx.project_id)
        return self._session(auth)

    def service_session(self):
        """A session of the service user (``[keystone_authtoken]``)."""
        return self._session(self._service_auth())

    def token_session(self, token):
        """A session acting with a token from :meth:`trust_token`, whose
        catalog it uses; it never asks Keystone for another token."""
        auth_ref = access.create(body=token["token_data"],
                                 auth_token=token["token"])
        return self._session(access_plugin.AccessInfoPlugin(
            auth_ref, auth_url=token["auth_url"]))

    @property
    def auth_url(self):
        return self._conf.keystone_authtoken.auth_url

    def create_trust(self, ctx):
        """Trust from the caller to the service user, for the caller's
        project and roles.

        :returns: the trust's id.
        :raises TrustFailed: Keystone refused.
        """
        user_sess = self.user_session(ctx)
        service_sess = self.service_session()
        try:
            trustee_id = service_sess.get_user_id()
            body = {"trust": {
                "trustor_user_id": ctx.user_id,
                "trustee_user_id": trustee_id,
                "project_id": ctx.project_id,
                "impersonation": True,
                "roles": [{"name": role} for role in ctx.roles],
            }}
            resp = user_sess.post("/OS-TRUST/trusts", json=body,
                                  endpoint_filter={"service_type": "identity",
                                                   "interface": "public"})
        except ks_exc.ClientException as e:
            LOG.error("Creating a trust for user %s failed: %s",
                      ctx.user_id, e)
            raise TrustFailed()
        return resp.json()["trust"]["id"]

    def delete_trust(self, ctx, trust_id):
        """Delete a trust, as its trustor (the caller)."""
        self._forget(trust_id)
        sess = self.user_session(ctx)
        try:
            sess.delete("/OS-TRUST/trusts/%s" % trust_id,
                        endpoint_filter={"service_type": "identity",
                                         "interface": "public"})
        except ks_exc.NotFound:
            pass
        except ks_exc.ClientException as e:
            LOG.warning("Deleting trust %s failed: %s", trust_id, e)

    def _identity_url(self):
        url = self.auth_url.rstrip("/")
        return url if url.endswith("/v3") else url + "/v3"

    def trust_token(self, trust_id):
        """A token scoped by the trust, with its body (and catalog).

        Reused while it has more than TOKEN_MIN_LIFETIME seconds left.

        :returns: ``{"auth_url", "token", "token_data"}``.
        :raises TrustFailed: Keystone refused.
        """
        with self._lock:
            cached = self._tokens.get(trust_id)
        if cached and cached[0] - time.time() > TOKEN_MIN_LIFETIME:
            return cached[1]
        self._service_auth()  # registers the password plugin's options
        opts = self._conf.keystone_authtoken
        user = {"name": opts.username, "password": opts.password,
                "domain": {"name": opts.user_domain_name or "Default"}}
        if opts.user_domain_id:
            user["domain"] = {"id": opts.user_domain_id}
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": user}},
            "scope": {"OS-TRUST:trust": {"id": trust_id}}}}
        try:
            resp = self._session(None).post(
                self._identity_url() + "/auth/tokens", json=body,
                authenticated=False)
        except ks_exc.ClientException as e:
            LOG.error("A token for trust %s cannot be had: %s", trust_id, e)
            raise TrustFailed("The function's trust cannot be used: %s"
                              % e.__class__.__name__)
        data = resp.json()
        value = {"auth_url": self._identity_url(),
                 "token": resp.headers["X-Subject-Token"],
                 "token_data": data}
        expires = timeutils.parse_isotime(data["token"]["expires_at"])
        with self._lock:
            self._tokens[trust_id] = (expires.timestamp(), value)
        return value

    def _forget(self, trust_id):
        with self._lock:
            self._tokens.pop(trust_id, None)
