"""The code location loads fast because heavy libraries are imported only where used."""

import subprocess
import sys

HEAVY = ("evidently", "lightgbm", "pandera", "mlflow", "optuna", "pandas", "sklearn")


def test_loading_definitions_imports_no_heavy_library():
    code = (
        "import sys, mlplatform.definitions\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
