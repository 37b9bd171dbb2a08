"""What the store's reporting mixins use of :class:`geoapp.store.Store`, for type checkers.

:class:`~geoapp.store.submissions.SubmissionsMixin` and
:class:`~geoapp.store.review.ReviewMixin` both write versions through the store's own
``region``, ``_backend``, ``_transaction``, ``_current``, ``_insert_version`` and
``_audit``. :class:`VersionWriter` declares them once; at run time it is an empty class
and the store provides them.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from geoapp.store.backend import Backend, Connection


class VersionWriter:
    """The store's parts a mixin that writes versions uses (declared, not defined)."""

    if TYPE_CHECKING:  # provided by Store
        region: str
        _backend: Backend

        def _transaction(
            self, *, write: bool = False
        ) -> contextlib.AbstractContextManager[Connection]: ...

        @staticmethod
        def _current(con: Connection, dataset: str) -> int: ...

        def _insert_version(self, con: Connection, dataset: str, frame, **kw) -> int: ...

        @staticmethod
        def _audit(con: Connection, **kw) -> None: ...
