"""$CARRY_DATA_DIR moves Carry's data, the record included (when neither --record nor $CARRY_RECORD names one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PASSPHRASE = "correct horse battery staple"


def test_carry_data_dir_moves_the_record(tmp_path: Path) -> None:
    data = tmp_path / "carry-data"
    env = {k: v for k, v in os.environ.items() if k != "CARRY_RECORD"}
    env.update(CARRY_DATA_DIR=str(data), CARRY_PASSPHRASE=PASSPHRASE, HOME=str(tmp_path / "home"),
               XDG_DATA_HOME=str(tmp_path / "xdg"))  # fmt: skip
    made = subprocess.run([sys.executable, "-m", "app.cli", "init"], env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert (data / "record.carry").is_file()
    assert not (tmp_path / "xdg").exists()  # nothing went to the platform's data directory
    info = subprocess.run([sys.executable, "-m", "app.cli", "info", "--json"], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert info.returncode == 0, info.stderr
    assert Path(json.loads(info.stdout)["path"]) == data / "record.carry"
