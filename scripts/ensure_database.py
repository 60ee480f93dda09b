"""Create the PostgreSQL database named in a URL if it does not exist (used by `make test`)."""

import sys

import dj_database_url
import psycopg
from psycopg import sql


def main(url: str) -> None:
    cfg = dj_database_url.parse(url)
    params = {
        "host": cfg["HOST"] or None,
        "port": cfg["PORT"] or None,
        "user": cfg["USER"] or None,
        "password": cfg["PASSWORD"] or None,
    }
    with psycopg.connect(
        dbname="postgres", autocommit=True, **{k: v for k, v in params.items() if v}
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (cfg["NAME"],)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg["NAME"])))
            print(f"created database {cfg['NAME']}")


if __name__ == "__main__":
    main(sys.argv[1])
