"""expand_paths: the files of paths and globs, in order; a glob's subdirectories are not inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from esalog.errors import ConfigError
from esalog.sources.files import expand_paths


def test_a_glob_leaves_out_the_directories_it_matches(tmp_path: Path) -> None:
    """A spool with an archive/ folder beside the pushed files (``mail.*``, ``*``): the files are read,
    as ``--follow`` and the Splunk modular input's follow mode do, rather than the run stopping."""
    for name in ("mail.@20261102T080000.s", "mail.@20261102T090000.s"):
        (tmp_path / name).write_text("x\n")
    (tmp_path / "mail.archive").mkdir()
    (tmp_path / "old").mkdir()
    files = [str(tmp_path / "mail.@20261102T080000.s"), str(tmp_path / "mail.@20261102T090000.s")]
    assert expand_paths([str(tmp_path / "mail.*")]) == files
    assert expand_paths([str(tmp_path / "*")]) == files


def test_a_glob_matching_only_directories_says_so(tmp_path: Path) -> None:
    (tmp_path / "esa1").mkdir()
    (tmp_path / "esa2").mkdir()
    with pytest.raises(ConfigError, match=r"no file matches .*, only directories; a glob such as .*esa1/\* reads"):
        expand_paths([str(tmp_path / "*")])


def test_a_directory_named_as_such_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory; give files or a glob such as"):
        expand_paths([str(tmp_path)])
    with pytest.raises(ConfigError, match="no file matches"):
        expand_paths([str(tmp_path / "mail.*")])
