"""The scratch-database worker: ``python -m mergeguard.scratchdb.worker``.

The only process that imports a project's migrations (untrusted code). It reads
ONE JSON plan from stdin, runs every path of it with Alembic's own
``command.upgrade`` / ``command.downgrade`` and writes ONE JSON result document
to stdout. Everything else (Alembic's logging, warnings, prints of migrations,
the reset command's output, even a child process writing to fd 1) goes to
stderr: fd 1 is pointed at stderr before any project code runs, and the
document is written to a private duplicate of the original stdout.

Plan (``protocol.Plan.to_json``)::

    {"config_file": "/abs/alembic.ini" | null, "toml_file": "/abs/pyproject.toml" | null,
     "section": "alembic", "script_location": "/abs/migrations",
     "version_locations": ["/abs/migrations/versions"], "url": "sqlite:////abs/scratch.sqlite",
     "env": "auto" | "project" | "builtin", "timeout": 120, "version_table": "alembic_version",
     "reset": {"kind": "sqlite-file", "path": "/abs/scratch.sqlite"}
              | {"kind": "command", "argv": ["..."]} | null,
     "paths": [{"name": "b2 alone", "steps": [{"op": "upgrade", "target": "b2" | ["c3", "d4"]},
                                              {"op": "downgrade", "target": "base"},
                                              {"op": "schema", "label": "up"}]}]}

Result (``protocol.Outcome.to_json``)::

    {"env_used": "project" | "builtin", "env_error": null | "<one line>",
     "paths": [{"name", "ok", "failed_step": null | {"op", "target", "index", ["label"]}
                                                 (op "reset" or "connect": target, index null),
                "error": null | "<the database's own text>", "error_type", "revision",
                "location": null | {"path", "line"}, "sql": null | "<statement>",
                "missing_module": null | {"name", "path" | null, "line" | null},
                "ran": [revisions], "steps": [{"op", "target", "index", "ok", "ran", "seconds"}],
                "schemas": {label: snapshot}, "seconds"}]}

``missing_module`` is set when the step failed because a module is not
installed (a ``ModuleNotFoundError`` with a name, anywhere in the exception's
chain); ``path``/``line`` are the deepest frame inside the worker's working
directory, which is the project's tree (the line whose import needed it). It
is never set for the project's env.py when "auto" falls back to the built-in
environment: only a failure the fallback cannot help is reported.

Exit status 0 with a result document (a failing path is a result, not an
error), 2 for a malformed plan (one line on stderr, ``{"error": ...}`` on
stdout), 3 for an internal error of the worker itself.

Plan, result and progress entries are the dataclasses of
``mergeguard.scratchdb.protocol`` (the one place both sides read and write
them); this package imports nothing else of mergeguard.

``__main__`` is the entry point, ``runner`` the main loop; the parts live
beside them: ``plan`` (parsing the plan), ``connections`` (the guard on
connections, cancelling statements, resets), ``drivers`` (the guard on the DBAPI connects),
``watchdog`` (time limits), ``environments`` (the project's env.py or the
built-in one, Alembic's Config, the logger swap),
``schema_snapshot`` (schema snapshots) and ``results`` (the result of each path).
"""
