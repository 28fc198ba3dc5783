"""Operations around the engine: alerts and chat commands, secrets (``credentials``, the
only keyring user), owner-only files (``fsafe``), the engine lock, logs, systemd
notifications, backups and ``doctor``."""
