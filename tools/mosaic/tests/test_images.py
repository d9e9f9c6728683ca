"""What `mosaic images build` stages: the lock's pins for the images' platform, the wheels
they name, and a tag that names the tree it was built from."""

import subprocess
from pathlib import Path

from mosaic import images

LOCKED = """\
aiohappyeyeballs==2.7.1 \\
    --hash=sha256:aaa \\
    --hash=sha256:bbb
    # via aiohttp
async-timeout==5.0.1 ; python_full_version < '3.11.3' \\
    --hash=sha256:ccc
    # via redis
colorama==0.4.6 ; sys_platform == 'win32' \\
    --hash=sha256:ddd
    # via click
exceptiongroup==1.2.2 ; python_full_version < '3.11' \\
    --hash=sha256:eee
    # via anyio
PyYAML==6.0.2 \\
    --hash=sha256:fff
"""


def test_pins_are_kept_for_any_3_11_release_on_linux_without_markers() -> None:
    kept = images.for_images(LOCKED).splitlines()
    assert [line.split()[0] for line in kept] == [
        "aiohappyeyeballs==2.7.1",
        "async-timeout==5.0.1",  # Debian's 3.11.2 needs it, though this machine's may not
        "PyYAML==6.0.2",
    ]  # colorama is Windows-only, exceptiongroup for Pythons before any 3.11
    assert kept[0] == "aiohappyeyeballs==2.7.1 --hash=sha256:aaa --hash=sha256:bbb"
    assert all(";" not in line and "#" not in line for line in kept)


def test_the_wheels_of_the_pins_are_found_by_their_normalized_names(tmp_path: Path) -> None:
    for name in (
        "pyyaml-6.0.2-cp311-cp311-manylinux_2_17_x86_64.whl",
        "async_timeout-5.0.1-py3-none-any.whl",
        "async_timeout-4.0.3-py3-none-any.whl",  # another version: not this pin's
        "aiohappyeyeballs-2.7.1-py3-none-any.whl",
    ):
        (tmp_path / name).touch()
    found = images._wheels_of(tmp_path, ["PyYAML==6.0.2", "async-timeout==5.0.1"])
    assert [w.name for w in found] == [
        "async_timeout-5.0.1-py3-none-any.whl",
        "pyyaml-6.0.2-cp311-cp311-manylinux_2_17_x86_64.whl",
    ]


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


def test_a_tag_names_the_commit_and_the_changes_of_a_changed_tree(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    git(tmp_path, "add", "a.py")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "a")
    clean = images.Revision.of(tmp_path)
    assert len(clean.commit) == 40 and clean.tag == clean.commit[:12]
    (tmp_path / "a.py").write_text("x = 2\n")
    first = images.Revision.of(tmp_path)
    (tmp_path / "a.py").write_text("x = 3\n")
    second = images.Revision.of(tmp_path)
    assert first.tag.startswith(f"{clean.tag}-dirty-") and second.tag.startswith(clean.tag)
    assert first.tag != second.tag  # an image of an earlier edit is not this one's
    assert images.Revision.of(tmp_path / "nowhere").tag == "unversioned"


def test_every_service_and_the_tools_get_an_image() -> None:
    root = Path(__file__).resolve().parents[3]
    found = {p.name: p.package for p in images.packages(root)}
    assert found.pop(images.TOOLS) == "mosaic"
    assert found == {name: name for name in found}
    assert {"catalog", "frontend", "orders", "notifications"} <= set(found)
