import json
import threading

import pytest

from models.atomic import write_json_atomic, write_text_atomic


def test_a_reader_polling_a_file_being_rewritten_sees_only_whole_versions(tmp_path):
    """A job's result.json is polled by the page while the job writes it: no read may see a half-written file
    (the reindex job once answered HTTP 500 on an empty result.json)."""
    path = tmp_path / "result.json"
    write_json_atomic(path, {"version": -1, "pad": ""})
    done = threading.Event()

    def writer():
        for i in range(150):
            write_json_atomic(path, {"version": i, "pad": "x" * 200_000})
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    seen = set()
    while not done.is_set():
        seen.add(json.loads(path.read_text(encoding="utf-8"))["version"])  # raises on a partial file
    thread.join()
    assert json.loads(path.read_text(encoding="utf-8"))["version"] == 149 and len(seen) > 1
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no sibling left behind


def test_a_failed_write_keeps_the_old_file_and_leaves_no_sibling(tmp_path):
    path = tmp_path / "meta.json"
    write_text_atomic(path, "old")
    with pytest.raises(TypeError):
        write_json_atomic(path, {"bad": object()})  # json.dumps fails before anything is written
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(path, "\ud800")  # the write itself fails half-way
    assert path.read_text(encoding="utf-8") == "old" and [p.name for p in tmp_path.iterdir()] == ["meta.json"]
