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
"""Exceptions that carry their HTTP status code and a message template.

The API turns any :class:`QinlingException` into ``{"faultstring": ...}``
with ``http_code`` as the status (see ``qinling.api.errors``). The engine's
exceptions travel back over RPC by class name and are re-raised as the same
class on the API side.
"""


class QinlingException(Exception):
    """Base class; ``message`` is a template filled from keyword arguments."""

    http_code = 500
    message = "An unknown exception occurred."

    def __init__(self, message=None, **kwargs):
        if message is None:
            message = self.message % kwargs if kwargs else self.message
        self.message = message
        super().__init__(message)

    def __str__(self):
        return self.message

    # WSME reads these two to render ``{"faultcode", "faultstring"}``.
    @property
    def code(self):
        return self.http_code

    @property
    def faultstring(self):
        return self.message


class InputException(QinlingException):
    http_code = 400
    message = "Invalid input."


class UnauthorizedException(QinlingException):
    http_code = 401
    message = "Unauthorized"


class NotAllowedException(QinlingException):
    http_code = 403
    message = "Operation not allowed"


class NotFoundException(QinlingException):
    http_code = 404
    message = "Resource not found"


class DBEntityNotFoundError(NotFoundException):
    """A row looked up by id (or name) does not exist for the caller."""


class StorageNotFoundException(NotFoundException):
    message = "Storage file not found"


class MethodNotAllowedException(QinlingException):
    http_code = 405
    message = "Method not allowed"


class ConflictException(QinlingException):
    http_code = 409
    message = "Conflict"


class RuntimeNotAvailableException(ConflictException):
    message = "Runtime not available"


class RequestEntityTooLarge(QinlingException):
    http_code = 413
    message = "Request entity too large"


class UnsupportedMediaType(QinlingException):
    http_code = 415
    message = "Unsupported media type"


class TooManyRequests(QinlingException):
    """Refused for now; ``retry_after`` seconds is a fair wait."""

    http_code = 429
    message = "Too many requests; try again later."

    def __init__(self, message=None, retry_after=1, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class BadGatewayException(QinlingException):
    """A service this one called on the caller's behalf failed."""

    http_code = 502
    message = "A service behind this one failed."


class DBError(QinlingException):
    http_code = 400


class StorageProviderException(QinlingException):
    message = "Package storage failed."


class OrchestratorException(QinlingException):
    """A driver could not do what the engine asked; the message is for
    users."""

    message = "Orchestrator operation failed."


class WorkerUnavailable(OrchestratorException):
    """No worker could be prepared to run a function."""

    message = "No worker is available to run the function."


class EngineUnavailable(QinlingException):
    http_code = 503
    message = "The engine did not answer in time."
