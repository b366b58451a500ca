"""The ObjectStore contract, run against LocalStore and MinioStore (real S3 server)."""

from __future__ import annotations

import hashlib
import os
import urllib.request

import pytest

from newsroom.errors import ConfigError, InvalidKeyError, ObjectNotFoundError
from newsroom.storage import delete_prefix, open_store
from newsroom.storage.minio import PART_SIZE_BYTES


def test_bytes_and_json_round_trip(store):
    info = store.put_bytes("stories/a/ingest/x.bin", b"\x00\x01payload", metadata={"step": "unit"})
    assert info.size_bytes == 9
    assert store.get_bytes("stories/a/ingest/x.bin") == b"\x00\x01payload"
    store.put_json("stories/a/ingest/doc.json", {"headline": "市政府", "n": 3})
    assert store.get_json("stories/a/ingest/doc.json") == {"headline": "市政府", "n": 3}
    assert store.stat("stories/a/ingest/doc.json").content_type == "application/json"


def test_files_round_trip_with_content_type_and_metadata(store, tmp_path):
    src = tmp_path / "clip.mp4"
    src.write_bytes(os.urandom(1000))
    info = store.put_file("stories/a/source/clip.mp4", src, metadata={"sha256": "abc", "title": "Früh 新闻"})
    assert info.content_type == "video/mp4"
    assert info.metadata["sha256"] == "abc"
    assert store.stat("stories/a/source/clip.mp4").metadata["title"] == "Früh 新闻"
    out = store.get_file("stories/a/source/clip.mp4", tmp_path / "out" / "copy.mp4")
    assert out.read_bytes() == src.read_bytes()


def test_large_file_goes_multipart_and_round_trips(store, tmp_path):
    big = tmp_path / "big.bin"
    data = os.urandom(PART_SIZE_BYTES + 3 * 1024 * 1024)
    big.write_bytes(data)
    assert store.put_file("stories/a/edit/big.bin", big).size_bytes == len(data)
    back = store.get_file("stories/a/edit/big.bin", tmp_path / "back.bin")
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(data).digest()


def test_exists_list_delete(store):
    for name in ("stories/s1/a/1.txt", "stories/s1/b/2.txt", "stories/s2/a/3.txt", "inbox/x.mp4"):
        store.put_bytes(name, b"x")
    assert store.exists("stories/s1/a/1.txt")
    assert not store.exists("stories/s1/a/nope.txt")
    assert sorted(o.key for o in store.list("stories/s1/")) == ["stories/s1/a/1.txt", "stories/s1/b/2.txt"]
    assert len(list(store.list(""))) == 4
    assert delete_prefix(store, "stories/s1/") == 2
    assert list(store.list("stories/s1/")) == []
    store.delete("stories/s2/a/3.txt")
    assert not store.exists("stories/s2/a/3.txt")


def test_copy_keeps_content_type_and_metadata(store):
    store.put_bytes("inbox/clip.mp4", b"video bytes", content_type="video/mp4", metadata={"cms-ref": "A 1"})
    info = store.copy("inbox/clip.mp4", "archive/2026/clip.mp4")
    assert info.key == "archive/2026/clip.mp4" and info.size_bytes == 11
    assert info.content_type == "video/mp4" and info.metadata == {"cms-ref": "A 1"}
    assert store.get_bytes("archive/2026/clip.mp4") == b"video bytes" and store.exists("inbox/clip.mp4")
    with pytest.raises(ObjectNotFoundError):
        store.copy("inbox/none.mp4", "archive/none.mp4")
    assert not store.exists("archive/none.mp4")


def test_missing_object_is_a_clear_error(store, tmp_path):
    with pytest.raises(ObjectNotFoundError, match="no object"):
        store.get_bytes("stories/a/none.json")
    with pytest.raises(ObjectNotFoundError):
        store.stat("stories/a/none.json")
    with pytest.raises(ObjectNotFoundError):
        store.get_file("stories/a/none.json", tmp_path / "x")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("bad", ["../etc/passwd", "/abs/key", "stories/../../x", "a//b", "a/./b",
                                 "stories/a\x00b", "tab\there", "C:/windows", "a\\b", ""])
def test_hostile_keys_are_rejected(store, bad):
    with pytest.raises(InvalidKeyError):
        store.put_bytes(bad, b"x")


def test_url_gives_a_readable_link(store):
    store.put_bytes("stories/a/ingest/t.txt", b"hello")
    url = store.url("stories/a/ingest/t.txt")
    with urllib.request.urlopen(url, timeout=10) as response:  # file:// or presigned http://127.0.0.1
        assert response.read() == b"hello"


def test_links_name_the_public_address(minio_settings):
    """Presigned links for people use NEWSROOM_MINIO_PUBLIC_URL (here: the same server as 'localhost')."""
    from newsroom.storage import open_store

    host, port = minio_settings.minio_endpoint.split(":")
    public = open_store(minio_settings.model_copy(update={"minio_public_url": f"http://localhost:{port}"}))
    public.put_bytes("stories/a/edit/p.txt", b"public")
    url = public.url("stories/a/edit/p.txt")
    assert url.startswith(f"http://localhost:{port}/") and host not in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"public"
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        open_store(minio_settings.model_copy(update={"minio_public_url": "http://media.example.org/some/path"}))


def test_local_writes_are_atomic_and_leave_no_temp_files(tmp_path):
    from newsroom.storage import LocalStore

    store = LocalStore(tmp_path)
    with pytest.raises(TypeError):
        store.put_bytes("stories/a/x.json", "not bytes")  # type: ignore[arg-type]
    assert not store.exists("stories/a/x.json")
    store.put_bytes("stories/a/x.json", b"1")
    store.put_bytes("stories/a/x.json", b"22")
    assert store.get_bytes("stories/a/x.json") == b"22"
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []
    assert [o.key for o in store.list()] == ["stories/a/x.json"]  # metadata sidecars are not objects


def test_open_store_follows_settings(minio_settings, tmp_path):
    from newsroom.config import Settings

    assert "local:" in open_store(Settings(local_root=tmp_path)).location
    minio = open_store(minio_settings)
    assert minio.location.startswith("s3://")
    minio.put_bytes("stories/a/b.txt", b"x")
    assert minio.client.bucket_exists(minio_settings.minio_bucket)


def test_storage_calls_have_deadlines_and_bounded_retries(tmp_path):
    """A server that accepts connections and never answers (a stalled S3): each call gives up after its read
    deadline, is retried `retries` times, then raises TransientError; a closed port fails the same way."""
    import socket
    import threading

    from newsroom.errors import TransientError
    from newsroom.storage.minio import MinioStore

    accepted: list[socket.socket] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        server.settimeout(0.2)
        stop = threading.Event()

        def accept() -> None:
            while not stop.is_set():
                try:
                    accepted.append(server.accept()[0])  # hold it open, say nothing
                except TimeoutError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        stalled = MinioStore(f"127.0.0.1:{server.getsockname()[1]}", "k", "secret-key", "stalled-bucket", region="us-east-1",
                             create_bucket=False, connect_timeout_s=0.5, read_timeout_s=0.5, retries=2,
                             retry_backoff_s=0.01)
        try:
            with pytest.raises(TransientError, match="cannot reach MinIO"):
                stalled.stat("stories/a/b.json")
        finally:
            stop.set()
            thread.join()
            for conn in accepted:
                conn.close()
    assert len(accepted) == 3  # the first try and two retries, then it gave up
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    refused = MinioStore(f"127.0.0.1:{closed}", "k", "secret-key", "stalled-bucket", region="us-east-1", create_bucket=False,
                         retries=1, retry_backoff_s=0.01)
    with pytest.raises(TransientError):
        refused.get_bytes("stories/a/b.json")


def test_settings_reach_the_store_deadlines(minio_settings):
    store = open_store(minio_settings.model_copy(update={"storage_connect_timeout_s": 2.0, "storage_read_timeout_s": 7.0,
                                                          "storage_retries": 1}))
    timeout = store.client._http.connection_pool_kw["timeout"]
    assert (timeout.connect_timeout, timeout.read_timeout) == (2.0, 7.0)
    assert store.client._http.connection_pool_kw["retries"].total == 1
    assert store.deadline_s == 18.0
