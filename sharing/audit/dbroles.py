"""The runtime database role: exactly the privileges the code needs, and a check that says otherwise.

Two roles (docs/deploy.md): the owner runs `migrate`, owns every table and the purge function;
the runtime role (the portal, the workers, the commands that serve users) owns nothing. On the
access log's tables (every table of the `audit` app) it may only SELECT and INSERT; the purge
ledger it may only read; `django_migrations` only read (Django checks for unapplied migrations);
every other model table SELECT, INSERT, UPDATE and DELETE. Never TRUNCATE, REFERENCES or TRIGGER,
never CREATE in the schema or the database, never EXECUTE on `audit_purge()`, never
`session_replication_role`.

`grant` is idempotent and also sets the owner's default privileges, so a table a later
migration creates is usable at once; the `post_migrate` hook (apps.py) re-applies `grant` for
every role that has such default privileges, which narrows a new audit table to SELECT, INSERT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from .models import AuditPurge

APPEND_ONLY = ("SELECT", "INSERT")
READ_ONLY = ("SELECT",)
READ_WRITE = ("SELECT", "INSERT", "UPDATE", "DELETE")
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT", "UPDATE")
PURGE_FUNCTION = "audit_purge(jsonb)"
AUDIT_APP = "audit"


def wanted_table_privileges() -> dict[str, tuple[str, ...]]:
    """Table name -> exactly what the runtime role should hold on it."""
    wanted: dict[str, tuple[str, ...]] = {"django_migrations": READ_ONLY}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        if model is AuditPurge:
            wanted[model._meta.db_table] = READ_ONLY
        elif model._meta.app_label == AUDIT_APP:
            wanted[model._meta.db_table] = APPEND_ONLY
        else:
            wanted[model._meta.db_table] = READ_WRITE
    return wanted


def _q(connection: BaseDatabaseWrapper, name: str) -> str:
    return str(connection.ops.quote_name(name))


def _one(connection: BaseDatabaseWrapper, sql: str, params: Any = None) -> object:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _rows(connection: BaseDatabaseWrapper, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _tables(connection: BaseDatabaseWrapper) -> list[str]:
    return [
        str(name)
        for (name,) in _rows(
            connection,
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace "
            "AND c.relkind IN ('r', 'p') ORDER BY c.relname",
        )
    ]


def _sequences(connection: BaseDatabaseWrapper, tables: list[str]) -> list[str]:
    """The sequences behind the given tables' identity and serial columns."""
    return [
        str(name)
        for (name,) in _rows(
            connection,
            "SELECT DISTINCT s.relname FROM pg_class s JOIN pg_depend d ON d.objid = s.oid AND d.classid = "
            "'pg_class'::regclass JOIN pg_class t ON t.oid = d.refobjid WHERE s.relkind = 'S' "
            "AND s.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%s) ORDER BY s.relname",
            [tables],
        )
    ]


def role_exists(connection: BaseDatabaseWrapper, role: str) -> bool:
    return bool(_one(connection, "SELECT 1 FROM pg_roles WHERE rolname = %s", [role]))


def create_role(connection: BaseDatabaseWrapper, role: str, password: str = "") -> bool:
    """Create the login role if it is missing; True if created. Safe when another process races us."""
    if role_exists(connection, role):
        return False
    sql = f"CREATE ROLE {_q(connection, role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT"
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(sql + (" PASSWORD %s" if password else ""), [password] if password else None)
    except DatabaseError:
        if not role_exists(connection, role):  # not a concurrent creation: a real refusal
            raise
        return False
    return True


def is_owner(connection: BaseDatabaseWrapper) -> bool:
    """Whether this login owns the tables (or is a superuser): only then do GRANT and REVOKE take effect."""
    return bool(
        _one(
            connection,
            "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class "
            "WHERE oid = to_regclass('audit_auditevent')",
        )
    )


def grant(connection: BaseDatabaseWrapper, role: str) -> None:
    """Give `role` exactly what the code needs on this database; idempotent. Run as the owner."""
    r = _q(connection, role)
    schema = str(_one(connection, "SELECT quote_ident(current_schema())"))
    database = str(_one(connection, "SELECT quote_ident(current_database())"))
    wanted = wanted_table_privileges()
    tables = _tables(connection)
    statements = [
        f"GRANT CONNECT ON DATABASE {database} TO {r}",
        f"REVOKE CREATE ON DATABASE {database} FROM {r}",
        f"GRANT USAGE ON SCHEMA {schema} TO {r}",
        f"REVOKE CREATE ON SCHEMA {schema} FROM {r}",
        # A table or sequence a later migration creates: usable at once (post_migrate narrows audit tables).
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {', '.join(READ_WRITE)} ON TABLES TO {r}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE ON SEQUENCES TO {r}",
        # Functions the owner creates are not everyone's to call (audit_purge revokes its own too).
        "ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC",
    ]
    for table in tables:
        if table not in wanted:
            continue
        statements.append(f"REVOKE ALL ON TABLE {_q(connection, table)} FROM {r}")
        statements.append(f"GRANT {', '.join(wanted[table])} ON TABLE {_q(connection, table)} TO {r}")
    for sequence in _sequences(connection, [t for t in tables if t in wanted]):
        statements.append(f"REVOKE ALL ON SEQUENCE {_q(connection, sequence)} FROM {r}")
        statements.append(f"GRANT USAGE ON SEQUENCE {_q(connection, sequence)} TO {r}")
    if _one(connection, "SELECT to_regprocedure(%s)", [f"{schema}.{PURGE_FUNCTION}"]):
        statements.append(f"REVOKE ALL ON FUNCTION {schema}.{PURGE_FUNCTION} FROM PUBLIC, {r}")
    # One transaction: the running portal never sees a table between its REVOKE and its GRANT.
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def remembered_roles(connection: BaseDatabaseWrapper) -> list[str]:
    """The roles `grant` set the current role's default table privileges up for (the runtime roles).

    Only grantees holding exactly SELECT, INSERT, UPDATE, DELETE by default: a read-only role a DBA
    set up the same way is not mistaken for a runtime role.
    """
    return [
        str(name)
        for (name,) in _rows(
            connection,
            "SELECT g.rolname FROM pg_default_acl d, aclexplode(d.defaclacl) a "
            "JOIN pg_roles g ON g.oid = a.grantee WHERE d.defaclrole = (SELECT oid FROM pg_roles "
            "WHERE rolname = current_user) AND d.defaclobjtype = 'r' AND a.grantee <> d.defaclrole "
            "GROUP BY g.rolname HAVING array_agg(DISTINCT a.privilege_type ORDER BY a.privilege_type) = %s "
            "ORDER BY 1",
            [sorted(READ_WRITE)],
        )
    ]


@dataclass(frozen=True)
class Problem:
    subject: str
    issue: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.issue}"


def check(connection: BaseDatabaseWrapper, role: str) -> tuple[list[Problem], int]:
    """Every privilege of `role` that is too wide or missing; and how many objects were checked."""
    if not role_exists(connection, role):
        return [Problem(f"role {role}", "does not exist")], 0
    problems = _role_problems(connection, role)
    wanted = wanted_table_privileges()
    tables = _tables(connection)
    checked = 0
    for table in tables:
        if table not in wanted:
            continue
        checked += 1
        held = {
            p
            for p in TABLE_PRIVILEGES
            if _one(connection, "SELECT has_table_privilege(%s, %s::regclass, %s)", [role, _q(connection, table), p])
            or (
                p in ("SELECT", "INSERT", "UPDATE", "REFERENCES")
                and _one(
                    connection,
                    "SELECT has_any_column_privilege(%s, %s::regclass, %s)",
                    [role, _q(connection, table), p],
                )
            )
        }
        missing = [p for p in wanted[table] if p not in held]
        extra = [p for p in TABLE_PRIVILEGES if p in held and p not in wanted[table]]
        if missing:
            problems.append(Problem(f"table {table}", f"missing {', '.join(missing)}"))
        if extra:
            problems.append(Problem(f"table {table}", f"too wide: {', '.join(extra)}"))
    for table in sorted(set(wanted) - set(tables)):
        problems.append(Problem(f"table {table}", "missing: the table does not exist (migrate first)"))
    for sequence in _sequences(connection, [t for t in tables if t in wanted]):
        checked += 1
        held = {
            p
            for p in SEQUENCE_PRIVILEGES
            if _one(
                connection, "SELECT has_sequence_privilege(%s, %s::regclass, %s)", [role, _q(connection, sequence), p]
            )
        }
        if "USAGE" not in held:
            problems.append(Problem(f"sequence {sequence}", "missing USAGE"))
        if held - {"USAGE"}:
            problems.append(Problem(f"sequence {sequence}", f"too wide: {', '.join(sorted(held - {'USAGE'}))}"))
    return problems, checked


def _role_problems(connection: BaseDatabaseWrapper, role: str) -> list[Problem]:
    problems: list[Problem] = []
    attributes = _rows(
        connection,
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication FROM pg_roles WHERE rolname = %s",
        [role],
    )[0]
    for name, held in zip(("SUPERUSER", "CREATEROLE", "CREATEDB", "BYPASSRLS", "REPLICATION"), attributes, strict=True):
        if held:
            problems.append(Problem(f"role {role}", f"too wide: {name}"))
    owner = _one(connection, "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'audit_auditevent'::regclass")
    if owner == role:
        problems.append(Problem(f"role {role}", "too wide: owns the tables (it must not be the migrating role)"))
    elif owner and _one(connection, "SELECT pg_has_role(%s, %s, 'MEMBER')", [role, owner]):
        problems.append(Problem(f"role {role}", f"too wide: member of the owner role {owner}"))
    for kind, name in _rows(
        connection,
        "SELECT 'table', relname FROM pg_class WHERE relowner = %(r)s::regrole "
        "AND relnamespace = current_schema()::regnamespace UNION ALL "
        "SELECT 'function', proname FROM pg_proc WHERE proowner = %(r)s::regrole UNION ALL "
        "SELECT 'schema', nspname FROM pg_namespace WHERE nspowner = %(r)s::regrole UNION ALL "
        "SELECT 'database', datname FROM pg_database WHERE datdba = %(r)s::regrole AND datname = current_database()",
        {"r": role},
    ):
        problems.append(Problem(f"{kind} {name}", f"too wide: owned by {role}"))
    if _one(connection, "SELECT has_schema_privilege(%s, current_schema(), 'CREATE')", [role]):
        problems.append(Problem("schema", "too wide: CREATE"))
    if not _one(connection, "SELECT has_schema_privilege(%s, current_schema(), 'USAGE')", [role]):
        problems.append(Problem("schema", "missing USAGE"))
    if _one(connection, "SELECT has_database_privilege(%s, current_database(), 'CREATE')", [role]):
        problems.append(Problem("database", "too wide: CREATE"))
    if not _one(connection, "SELECT has_database_privilege(%s, current_database(), 'CONNECT')", [role]):
        problems.append(Problem("database", "missing CONNECT"))
    purge = _one(connection, "SELECT to_regprocedure(%s)", [PURGE_FUNCTION])
    if purge and _one(
        connection, "SELECT has_function_privilege(%s, %s::regprocedure, 'EXECUTE')", [role, PURGE_FUNCTION]
    ):
        problems.append(Problem(f"function {PURGE_FUNCTION}", "too wide: EXECUTE"))
    settable = connection.pg_version >= 150000 and _one(  # type: ignore[attr-defined]
        connection, "SELECT has_parameter_privilege(%s, 'session_replication_role', 'SET')", [role]
    )
    if settable or attributes[0]:
        problems.append(Problem("parameter session_replication_role", "too wide: SET"))
    return problems
