import psycopg
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from psycopg import sql


class Command(BaseCommand):
    help = (
        "Create the PostgreSQL database named in DATABASE_URL if it does not exist yet "
        "(connecting to the server's maintenance database). Nothing to do for SQLite."
    )

    def handle(self, *args, **options):
        db = connections["default"].settings_dict
        if db["ENGINE"] != "django.db.backends.postgresql":
            return
        conninfo = psycopg.conninfo.make_conninfo(
            host=db.get("HOST") or None,
            port=str(db.get("PORT") or "") or None,
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout="5",
        )
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
                ).fetchone()
                if not exists:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
                    self.stdout.write(f"created database {db['NAME']}")
        except psycopg.Error as exc:
            raise CommandError(f"PostgreSQL is not reachable or refused: {exc}") from exc
