"""Access: users, their sessions and the directory every service reads.

Users live in MongoDB (`access` database, `store.py` only): a login name (the id that holders
and audit trails carry, `agent:<id>`), a display name, a role (agent, staff, central, admin),
an active flag and an Argon2id password hash (`passwords.py`). An admin manages them through
`api.py` (`/api/access/users`); `make up` creates the first admin and prints its password
once (`Access.ensure_first_admin`).

The console signs in with `POST /api/access/login`: an opaque session in an HttpOnly,
SameSite=Strict cookie, a CSRF token for every cookie-authenticated write, sign-out that
deletes the session on the server, failed sign-ins throttled per user and address and
audited (`accounts.py`). Scripts keep the bearer JWT of `contactcenter token`; the HTTP
guard (`shared/http_guard.py`) and `shared.auth.current_user` accept either and yield the
same principal, `shared.auth.User(id, role)`.

For other services (they never import each other; they read people here):

    directory = Directory(AccessStore(settings, mongo))
    await directory.person("luis")        # Person(id, name, role, active) or None
    await directory.people()              # the active users
    await directory.display_names(["agent:luis", "ana", "lara"])
    # {"agent:luis": "Luis Pérez", "ana": "Ana Gómez", "lara": "Lara"}

`display_names` maps every id given: a directory user to their display name, the bots to
their names, anyone else to the bare login name (never to nothing).
"""

from shared.access.accounts import Access, Directory
from shared.access.people import ASSIGNABLE_ROLES, Person
from shared.access.store import AccessStore

__all__ = ["ASSIGNABLE_ROLES", "Access", "AccessStore", "Directory", "Person"]
