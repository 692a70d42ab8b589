"""Same inputs -> byte-identical bundles, whatever the cwd, the path spelling, the
checkout location, the key order in the inputs or the environment (issue 5)."""

from __future__ import annotations

import os
from pathlib import Path

from bundles_support import BUNDLES, compile_all, file_hashes, make_repo, reversed_keys_yaml


def test_bundles_are_byte_identical_across_cwds_paths_checkouts_and_key_order(tmp_path: Path) -> None:
    # Reference: compiled from the repository root with relative paths.
    first = make_repo(tmp_path / "checkout-one")
    compile_all(first)
    expected = file_hashes(first / "bundles")
    assert sorted({name.split("/")[0] for name in expected}) == sorted(BUNDLES)
    assert len(expected) == 15  # args.json, config.yaml, launch.sh each, ds_config.json for training

    # A second checkout elsewhere, its inputs rewritten with every key order reversed,
    # compiled from a subdirectory through `../` paths, in another environment.
    second = make_repo(tmp_path / "elsewhere" / "checkout-two", shuffle=True)
    original = (first / "configs" / "base.yaml").read_text()
    shuffled = (second / "configs" / "base.yaml").read_text()
    assert shuffled != original and shuffled.splitlines()[0] != original.splitlines()[1]
    (second / "sub").mkdir()
    compile_all(
        second,
        cwd=second / "sub",
        prefix="../",
        env={
            "TZ": "Pacific/Kiritimati",
            "LC_ALL": "C",
            "PYTHONHASHSEED": "12345",
            "HOME": str(tmp_path),
            "SATC_UNRELATED": "1",
        },
    )
    assert file_hashes(second / "bundles") == expected

    # A third: absolute input paths, given through a symlinked directory, from `/`.
    third = make_repo(tmp_path / "checkout-three")
    link = tmp_path / "link"
    os.symlink(third, link)
    compile_all(third, cwd=Path("/"), prefix=f"{link}/")
    assert file_hashes(third / "bundles") == expected

    # Nothing machine-specific leaks into the bytes.
    for checkout in (first, second, third):
        for path in (checkout / "bundles").rglob("*"):
            if path.is_file():
                text = path.read_text("utf-8")
                assert str(tmp_path) not in text and "\r" not in text
                assert text.endswith("\n")


def test_reversed_keys_keep_every_value() -> None:
    from omegaconf import OmegaConf

    text = "a:\n  x: 1e-8\n  y: [1, 2]\nb: 3.\n"
    again = reversed_keys_yaml(text)
    assert again.index("b:") < again.index("a:")
    assert OmegaConf.to_container(OmegaConf.create(again)) == {"a": {"x": 1e-8, "y": [1, 2]}, "b": 3.0}
