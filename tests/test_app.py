"""The factory's configuration layers and its refusal to start on a wrong setting."""
import pytest

from portal import create_app
from portal.config import ConfigError


def test_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_refuses_unsupported_database(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        create_app({"SECRET_KEY": "k", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "DATABASE_URL": "mysql://root@localhost/portal"})


def test_layers_defaults_instance_file_environment_then_test_config(monkeypatch, tmp_path):
    (tmp_path / "config.py").write_text(
        "SECRET_KEY = 'from-file'\nREPORTER_KEY = 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY='\nREPORT_TELEPHONE = '0457-1111111'\nDISTRICT_NAME = '文件区'\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PORTAL_REPORT_TELEPHONE", "0457-2222222")
    monkeypatch.setenv("PORTAL_OUTFALLS_PER_PAGE", "20")
    app = create_app({"DISTRICT_NAME": "测试区"})
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["REPORT_TELEPHONE"] == "0457-2222222"
    assert app.config["OUTFALLS_PER_PAGE"] == 20
    assert app.config["DISTRICT_NAME"] == "测试区"
    assert app.config["TIMEZONE"] == "Asia/Shanghai"


def test_sqlite_in_instance_folder_by_default_and_postgres_urls_use_psycopg(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "k", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/portal.db"
    app = create_app({"SECRET_KEY": "k", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "DATABASE_URL": "postgresql://u@db/portal"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/portal"


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(app):
    from portal.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas only apply to SQLite")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
