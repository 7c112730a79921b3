"""The Sphinx docs build with nitpicky references and warnings as errors, and document the public API."""

from __future__ import annotations

import inspect
import pickle
import subprocess
import sys

from support import ROOT

import telegraphy.errors


def test_docs_build_nitpicky_without_warnings_and_document_the_api(tmp_path):
    result = subprocess.run([sys.executable, "-m", "sphinx", "-n", "-W", "--keep-going", "-q", "-b", "dummy",
                             "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    with open(tmp_path / "doctrees" / "environment.pickle", "rb") as fh:
        env = pickle.load(fh)
    documented = set(env.domaindata["py"]["objects"])
    errors = {f"telegraphy.{name}" for name, obj in vars(telegraphy.errors).items()
              if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == "telegraphy.errors"}
    expected = errors | {
        "telegraphy.publish", "telegraphy.publish_many", "telegraphy.configure", "telegraphy.get_token",
        "telegraphy.Event", "telegraphy.plugins.Transport", "telegraphy.Proxy", "telegraphy.Proxy._send",
        "telegraphy.representative.Representative", "telegraphy.representative.Representative.receive",
    }
    assert expected <= documented, sorted(expected - documented)
