"""PostgreSQL schema, one list of statements per version step (index = version reached - 1).

Same tables and column names as SQLite; times are timestamptz and kept
structure is jsonb.
"""

MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE IF NOT EXISTS conversations (
            id TEXT PRIMARY KEY,
            display_name TEXT,
            kind TEXT,
            version DOUBLE PRECISION,
            topic TEXT,
            member_count INTEGER,
            properties JSONB,
            thread_properties JSONB,
            run_id TEXT
        )""",
        """CREATE TABLE IF NOT EXISTS messages (
            conversation_id TEXT NOT NULL,
            id TEXT NOT NULL,
            sender_id TEXT,
            sender_name TEXT,
            sent_at TIMESTAMPTZ,
            message_type TEXT,
            content_raw TEXT,
            content_text TEXT,
            version DOUBLE PRECISION,
            edited_at TIMESTAMPTZ,
            deleted_at TIMESTAMPTZ,
            properties JSONB,
            details JSONB,
            run_id TEXT,
            PRIMARY KEY (conversation_id, id)
        )""",
        "CREATE INDEX IF NOT EXISTS messages_by_time ON messages (conversation_id, sent_at)",
        "CREATE INDEX IF NOT EXISTS messages_by_sender ON messages (sender_id)",
        """CREATE TABLE IF NOT EXISTS participants (
            conversation_id TEXT NOT NULL,
            participant_id TEXT NOT NULL,
            display_name TEXT,
            source TEXT,
            PRIMARY KEY (conversation_id, participant_id)
        )""",
        """CREATE TABLE IF NOT EXISTS attachments (
            conversation_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            file_name TEXT,
            file_size BIGINT,
            uri TEXT,
            doc_id TEXT,
            media_type TEXT,
            message_version DOUBLE PRECISION,
            PRIMARY KEY (conversation_id, message_id, position)
        )""",
        """CREATE TABLE IF NOT EXISTS etl_runs (
            id TEXT PRIMARY KEY,
            export_path TEXT,
            export_fingerprint TEXT,
            export_size BIGINT,
            export_user_id TEXT,
            export_date TEXT,
            database_url TEXT,
            status TEXT NOT NULL,
            started_at TIMESTAMPTZ,
            finished_at TIMESTAMPTZ,
            duration_s DOUBLE PRECISION,
            conversations INTEGER DEFAULT 0,
            messages BIGINT DEFAULT 0,
            messages_skipped BIGINT DEFAULT 0,
            errors BIGINT DEFAULT 0,
            resumed_from TEXT,
            checkpoint JSONB,
            telemetry JSONB,
            error_message TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS etl_runs_by_fingerprint ON etl_runs (export_fingerprint, started_at)",
        """CREATE TABLE IF NOT EXISTS etl_errors (
            id BIGSERIAL PRIMARY KEY,
            run_id TEXT NOT NULL,
            created_at TIMESTAMPTZ,
            phase TEXT,
            severity TEXT,
            conversation_id TEXT,
            message_id TEXT,
            error_type TEXT,
            message TEXT,
            raw_snippet TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS etl_errors_by_run ON etl_errors (run_id, severity)",
    ],
]
