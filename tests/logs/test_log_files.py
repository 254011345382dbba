"""Log files: the listing, one file as text, and every way of asking for a file outside the folder."""

import os

import pytest

pytestmark = pytest.mark.django_db

SECRET = "TOP-SECRET-CONTENT-42"


@pytest.fixture
def log_dir(tmp_path, settings):
    """A log folder of its own, with a sibling folder and files outside it that must stay unreachable."""
    folder = tmp_path / "logs"
    folder.mkdir()
    settings.LOG_DIR = folder
    (folder / "deskhand-web.log").write_text("line 1\nline 2\nline 3\n")
    (folder / "deskhand-web.log.1").write_text("older\n")
    (folder / "deskhand-worker.log").write_text('{"level": "INFO"}\n')
    (tmp_path / "secret.log").write_text(SECRET)
    (tmp_path / "settings.py").write_text(SECRET)
    sibling = tmp_path / "logsx"  # shares the prefix "logs": the classic startswith() escape
    sibling.mkdir()
    (sibling / "secret.log").write_text(SECRET)
    return folder


def assert_not_served(response):
    assert response.status_code == 404
    assert SECRET.encode() not in response.content


def test_it_lists_the_files_with_size_and_modification_time(api, log_dir):
    body = api.get("/api/logs/files").json()
    assert body["total"] == 3
    assert [f["name"] for f in body["items"]] == ["deskhand-web.log", "deskhand-web.log.1", "deskhand-worker.log"]
    web = body["items"][0]
    assert web["size"] == len("line 1\nline 2\nline 3\n")
    assert web["modified"].endswith("+00:00")


def test_the_listing_leaves_out_symlinks_folders_and_other_names(api, log_dir, tmp_path):
    os.symlink(tmp_path / "secret.log", log_dir / "link.log")
    (log_dir / "folder.log").mkdir()
    (log_dir / ".hidden.log").write_text("x")
    (log_dir / "notes.txt").write_text("x")
    names = [f["name"] for f in api.get("/api/logs/files").json()["items"]]
    assert names == ["deskhand-web.log", "deskhand-web.log.1", "deskhand-worker.log"]


def test_an_empty_or_missing_folder_lists_nothing(api, settings, tmp_path):
    settings.LOG_DIR = tmp_path / "nowhere"
    assert api.get("/api/logs/files").json() == {"items": [], "total": 0, "limit": 50, "offset": 0}


def test_it_serves_a_file_as_plain_text(api, log_dir):
    response = api.get("/api/logs/files/deskhand-web.log")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"line 1\nline 2\nline 3\n"


def test_it_serves_a_rotated_file(api, log_dir):
    response = api.get("/api/logs/files/deskhand-web.log.1")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"older\n"


def test_tail_returns_the_last_lines(api, log_dir):
    response = api.get("/api/logs/files/deskhand-web.log?tail=2")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"line 2\nline 3\n"


def test_tail_larger_than_the_file_returns_all_of_it(api, log_dir):
    assert api.get("/api/logs/files/deskhand-web.log?tail=100").content == b"line 1\nline 2\nline 3\n"


def test_tail_of_a_large_file_reads_across_blocks(api, log_dir):
    lines = [f"line {n} " + "x" * 200 for n in range(2000)]
    (log_dir / "big.log").write_text("\n".join(lines))  # no final newline
    body = api.get("/api/logs/files/big.log?tail=500").content.decode()
    assert body.split("\n") == lines[-500:]


@pytest.mark.parametrize("tail", ["0", "-1", "abc", "1.5", "100001"])
def test_a_bad_tail_is_refused_naming_it(api, log_dir, tail):
    response = api.get(f"/api/logs/files/deskhand-web.log?tail={tail}")
    assert response.status_code == 400
    assert response.json()["details"]["field"] == "tail"


def test_an_unknown_file_is_404(api, log_dir):
    response = api.get("/api/logs/files/deskhand-nothing.log")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_file_of_another_kind_in_the_folder_is_not_served(api, log_dir):
    (log_dir / "notes.txt").write_text(SECRET)
    assert_not_served(api.get("/api/logs/files/notes.txt"))


# --- Traversal: each way of escaping the folder, one test each -------------------------------------


def test_traversal_with_a_plain_dot_dot_is_404(api, log_dir):
    assert_not_served(api.get("/api/logs/files/../secret.log"))


def test_traversal_to_a_non_log_file_is_404(api, log_dir):
    assert_not_served(api.get("/api/logs/files/../settings.py"))


def test_traversal_with_an_encoded_slash_is_404(api, log_dir):
    assert_not_served(api.get("/api/logs/files/..%2fsecret.log"))


def test_traversal_with_encoded_dots_is_404(api, log_dir):
    assert_not_served(api.get("/api/logs/files/%2e%2e%2fsecret.log"))


def test_traversal_with_encoded_dots_and_uppercase_hex_is_404(api, log_dir):
    assert_not_served(api.get("/api/logs/files/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd"))


def test_traversal_double_encoded_is_404(api, log_dir):
    assert_not_served(api.get("/api/logs/files/%252e%252e%252fsecret.log"))


def test_traversal_with_backslashes_is_404(api, log_dir):
    assert_not_served(api.get("/api/logs/files/..%5c..%5cwin.ini"))
    assert_not_served(api.get("/api/logs/files/..\\secret.log"))


def test_an_absolute_path_is_404(api, log_dir, tmp_path):
    assert_not_served(api.get(f"/api/logs/files/{tmp_path / 'secret.log'}"))


def test_an_encoded_absolute_path_is_404(api, log_dir):
    assert_not_served(api.get("/api/logs/files/%2fetc%2fpasswd"))


def test_a_nul_byte_is_404(api, log_dir):
    assert_not_served(api.get("/api/logs/files/deskhand-web.log%00.txt"))


def test_a_path_that_comes_back_into_the_folder_is_404(api, log_dir):
    assert_not_served(api.get("/api/logs/files/logs/../deskhand-web.log"))


def test_a_sibling_folder_sharing_the_prefix_is_404(api, log_dir):
    assert_not_served(api.get("/api/logs/files/../logsx/secret.log"))


def test_a_symlink_inside_the_folder_pointing_outside_is_404(api, log_dir, tmp_path):
    os.symlink(tmp_path / "secret.log", log_dir / "link.log")
    assert_not_served(api.get("/api/logs/files/link.log"))


def test_a_symlinked_log_folder_entry_to_a_folder_is_404(api, log_dir, tmp_path):
    os.symlink(tmp_path / "logsx", log_dir / "dir.log")
    assert_not_served(api.get("/api/logs/files/dir.log/secret.log"))
    assert_not_served(api.get("/api/logs/files/dir.log"))


def test_a_hidden_file_is_404(api, log_dir):
    (log_dir / ".secret.log").write_text(SECRET)
    assert_not_served(api.get("/api/logs/files/.secret.log"))


def test_a_folder_named_like_a_log_is_404(api, log_dir):
    (log_dir / "folder.log").mkdir()
    assert_not_served(api.get("/api/logs/files/folder.log"))


# --- Contract ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/logs/files", "/api/logs/files/deskhand-web.log"])
def test_log_files_need_the_api_token(anonymous, log_dir, path):
    response = anonymous.get(path)
    assert response.status_code == 401
    assert b"line 1" not in response.content


@pytest.mark.parametrize("method", ["post", "delete", "put"])
def test_log_files_are_read_only(api, log_dir, method):
    assert getattr(api, method)("/api/logs/files/deskhand-web.log", {}, format="json").status_code == 405
    assert getattr(api, method)("/api/logs/files", {}, format="json").status_code == 405
    assert (log_dir / "deskhand-web.log").exists()


def test_the_log_endpoints_are_documented(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/logs/files" in schema["paths"]
    assert "/api/logs/files/{filename}" in schema["paths"]
    stream = schema["paths"]["/api/logs/stream"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
