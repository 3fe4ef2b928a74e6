"""Made with release 0.1.0 (commit 5a60841): two owners' exports, imported into SQLite and PostgreSQL."""
import json, sqlite3, subprocess, sys
from pathlib import Path
sys.path.insert(0, ".")
from skype_etl_gui.sample import write_sample, USER_ID
from skype_etl_gui.etl import ETLPipeline
from tests.pgserver import PostgresServer, find_bindir

out = Path("tests/data/v0.1.0")
a = out / "export-a.tar"
write_sample(a, messages=400, seed=3)
# owner B shares the contact 8:live:anna.tamm (with the same message ids) and a group thread with A
import tarfile
with tarfile.open(a) as tar:
    doc = json.load(tar.extractfile("messages.json"))
anna = next(c for c in doc["conversations"] if c["id"] == "8:live:anna.tamm")
thread = next(c for c in doc["conversations"] if c["id"].startswith("19:") and c["id"].endswith("@thread.skype"))
shared_ids = [m["id"] for m in anna["MessageList"] if m.get("id")][:2]
thread_ids = [m["id"] for m in thread["MessageList"] if m.get("id")][:2]
def msg(mid, conv, content, frm, version, mtype="RichText"):
    return {"id": mid, "displayName": None, "originalarrivaltime": "2024-01-02T03:04:05.678Z", "messagetype": mtype,
            "version": version, "content": content, "conversationid": conv, "from": frm, "properties": None,
            "amsreferences": None}
B = "8:live:bob.other"
docb = {"userId": B, "exportDate": "2025-05-01T10:00", "conversations": [
    {"id": "8:live:anna.tamm", "displayName": "Anna (Bob's chat)", "version": 1700000000000.0, "properties": {},
     "threadProperties": None, "MessageList": [
        msg(shared_ids[0], "8:live:anna.tamm", "Bob's private message to Anna", B, 1),
        msg(shared_ids[1], "8:live:anna.tamm", "Anna's private reply to <b>Bob</b>", "8:live:anna.tamm", 2),
        msg("1700000000001", "8:live:anna.tamm", "only in Bob's chat", B, 1700000000001),
     ]},
    {"id": thread["id"], "displayName": thread["displayName"], "version": 1700000000000.0, "properties": {},
     "threadProperties": thread["threadProperties"], "MessageList": [
        msg(thread_ids[0], thread["id"], "the same group message, a newer version", "8:live:anna.tamm", 9e15),
        msg("1700000000002", thread["id"], "a group message only Bob's export has", B, 1700000000002),
        msg(None, thread["id"], "no id", B, 1),
     ]},
]}
b = out / "export-b.json"
b.write_text(json.dumps(docb, indent=1, ensure_ascii=False))
db = out / "archive.db"
db.unlink(missing_ok=True)
for e in (a, b):
    s = ETLPipeline(f"sqlite:///{db}", parallel=False).run(e)
    print(s["status"], s["messages"], s["errors"])
c = sqlite3.connect(db); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.execute("PRAGMA journal_mode=DELETE"); c.execute("VACUUM"); c.close()
server = PostgresServer(find_bindir()).start()
try:
    name = server.create_database()
    for e in (a, b):
        s = ETLPipeline(server.url(name), parallel=False).run(e)
        print(s["status"], s["messages"], s["errors"])
    cmd = [str(server.bindir / "pg_dump"), "-h", str(server.socket_dir), "-p", str(server.port), "-U", "postgres",
           "--no-owner", "--no-privileges", "--no-comments", name]
    if server.as_postgres:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    dump = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    (out / "archive-postgres.sql").write_text(dump)
finally:
    server.stop()
