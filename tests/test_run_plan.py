"""leadnb.run.plan: notebook names, parameters against what a notebook declares, fingerprints.

Fixture notebooks from tests/fixtures/notebooks (``ok.ipynb`` declares ``greeting: str`` and
``n_rows: int`` besides the four standard parameters); whole plans on the tiny project of
:func:`test_runner.make_project`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from test_runner import FIXTURES, SECRET_TOKEN, SECRET_VAR, make_project, secret_url

from leadnb.data.notebook_parameters import (
    STANDARD_PARAMETERS,
    check_notebook_names,
    check_notebook_parameters,
    declared_parameters,
    type_fits,
)
from leadnb.errors import DataError, ParamsError
from leadnb.run import plan
from leadnb.run.plan import plan_run


@pytest.mark.parametrize(
    ("value", "annotation", "ok"),
    [
        (3, "int", True),
        (True, "int", False),
        ("3", "int", False),
        (3, "float", True),
        (0.5, "float", True),
        ("a", "str", True),
        (None, "str | None", True),
        (None, "Optional[str]", True),
        (None, "str", False),
        (["a"], "list[str]", True),
        ("a", "list[str]", False),
        ({"a": 1}, "dict[str, int]", True),
        (False, "bool", True),
        (0, "bool", False),
        ("anything", "None", True),  # not annotated
        ("anything", "pd.Timestamp", True),  # an annotation we do not model
    ],
)
def test_type_fits(value: Any, annotation: str, ok: bool) -> None:
    assert type_fits(value, annotation) is ok


def test_declared_parameters_of_fixture() -> None:
    declared = declared_parameters(FIXTURES / "ok.ipynb")
    assert list(declared) == [*STANDARD_PARAMETERS, "greeting", "n_rows"]
    assert declared["n_rows"]["inferred_type_name"] == "int"


def test_unknown_parameter_names_notebook_key_and_declared() -> None:
    with pytest.raises(ParamsError) as err:
        check_notebook_parameters(FIXTURES / "ok.ipynb", {"greetng": "hi"}, params_file="p.yaml")
    text = str(err.value)
    assert "ok" in text and "greetng" in text and "greeting, n_rows" in text
    assert "did you mean greeting" in text
    assert err.value.exit_code == 2


def test_mistyped_parameter() -> None:
    with pytest.raises(ParamsError, match=r"ok\.n_rows must be int, got 'three'"):
        check_notebook_parameters(FIXTURES / "ok.ipynb", {"n_rows": "three"})


def test_reserved_parameter_cannot_come_from_section() -> None:
    with pytest.raises(ParamsError, match="leadnb run sets it"):
        check_notebook_parameters(FIXTURES / "ok.ipynb", {"as_of": "2026-01-01"})


def test_a_fitting_section_returns_the_declared_parameters() -> None:
    declared = check_notebook_parameters(FIXTURES / "ok.ipynb", {"greeting": "hi", "n_rows": 3})
    assert declared == declared_parameters(FIXTURES / "ok.ipynb")


def test_notebook_without_standard_parameters(tmp_path: Path) -> None:
    nb = nbformat.read(FIXTURES / "ok.ipynb", as_version=4)
    nb.cells[1].source = 'params_path: str = ""  # params\nas_of: str = ""  # date'
    nbformat.write(nb, tmp_path / "partial.ipynb")
    with pytest.raises(ParamsError, match="out_dir, interactive"):
        check_notebook_parameters(tmp_path / "partial.ipynb", {})
    nb.cells[1].metadata.tags = []
    nbformat.write(nb, tmp_path / "untagged.ipynb")
    with pytest.raises(ParamsError, match="no cell tagged 'parameters'"):
        check_notebook_parameters(tmp_path / "untagged.ipynb", {})


def test_check_notebook_names(tmp_path: Path) -> None:
    for name in ("a", "b_2"):
        (tmp_path / f"{name}.ipynb").write_text("{}")
    assert check_notebook_names(["a", " b_2.ipynb ", "a"], tmp_path) == ["a", "b_2"]
    for bad in ("../a", "a/b", "a b", "ä", "a.b", ".ipynb.ipynb"):
        with pytest.raises(ParamsError, match="not a plain name"):
            check_notebook_names([bad], tmp_path)
    with pytest.raises(ParamsError, match="not found: c; available in"):
        check_notebook_names(["c"], tmp_path)
    with pytest.raises(ParamsError, match="no notebooks to run"):
        check_notebook_names(["", " "], tmp_path)


# --------------------------------------------------------------------------------------------
# whole plans


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    params = make_project(tmp_path / "p")
    monkeypatch.setenv(SECRET_VAR, secret_url(tmp_path / "p"))
    return params


def test_plan_parameters_and_secrets(project: Path) -> None:
    raw = yaml.safe_load(project.read_text())
    raw["nurture_roi"] = {"greeting": "hi", "n_rows": 4}
    project.write_text(yaml.safe_dump(raw))
    nbs = project.parent / "nbs"
    p = plan_run(project, notebooks=["nurture_roi", "ok"], as_of="2026-03-31", notebook_dir=nbs)
    assert p.notebooks == ["nurture_roi", "ok"] and p.as_of == "2026-03-31"
    assert p.parameters["nurture_roi"] == {
        "params_path": str(project.resolve()),
        "as_of": "2026-03-31",
        "out_dir": "",
        "interactive": False,
        "greeting": "hi",
        "n_rows": 4,
    }
    assert set(p.parameters["ok"]) == set(STANDARD_PARAMETERS)
    # the secret URL is masked whole, and never a parameter
    assert p.secrets[0].mask == f"[secret ${SECRET_VAR}]" and SECRET_TOKEN in p.secrets[0].value
    assert SECRET_TOKEN not in str(p.parameters)


def test_plan_refuses_bad_data_with_data_error(project: Path) -> None:
    (project.parent / "leads.csv").write_text("lead_id,email\nL1,a@x\nL1,b@x\n")
    with pytest.raises(DataError, match="lead_id"):
        plan_run(project, notebooks=["ok"], notebook_dir=project.parent / "nbs")


def test_plan_refuses_a_missing_notebook_folder(project: Path, tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="notebook folder not found"):
        plan_run(project, notebook_dir=tmp_path / "nowhere")


def test_inputs_fingerprint_rules_registrations_and_abm(project: Path) -> None:
    root = project.parent
    (root / "rules.yaml").write_text("[]\n")
    (root / "regs").mkdir()
    (root / "abm.csv").write_text("account_id\nA1\n")
    # the scoring notebook of this project declares an ABM list, as the real one does
    nb = nbformat.read(root / "nbs" / "scoring_calibration.ipynb", as_version=4)
    nb.cells[1].source += '\nabm_accounts_file: str = ""  # ABM account list'
    nbformat.write(nb, root / "nbs" / "scoring_calibration.ipynb")
    raw = yaml.safe_load(project.read_text())
    raw["scoring"] = {"rules": "rules.yaml"}
    raw["experiments"] = {"registry": "regs"}
    raw["scoring_calibration"] = {"abm_accounts_file": "abm.csv"}
    project.write_text(yaml.safe_dump(raw))
    reg = Path("params/experiments/nurture-cadence-2026q1.yaml").resolve()
    (root / "regs" / reg.name).write_bytes(reg.read_bytes())
    p = plan_run(project, notebook_dir=root / "nbs")
    by_kind = {i["table"]: i for i in p.inputs}
    for kind, path in [
        ("params", project),
        ("scoring_rules", root / "rules.yaml"),
        ("registration", root / "regs" / reg.name),
        ("abm_accounts", root / "abm.csv"),
        ("leads", root / "leads.csv"),
    ]:
        assert by_kind[kind]["path"] == str(path.resolve())
        assert by_kind[kind]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert by_kind["leads"]["rows"] == 3
    # the SQL table: hashed from its rows, named by its variable, never by its URL
    costs = by_kind["costs"]
    assert costs["path"] == f"sql via ${SECRET_VAR}" and costs["rows"] == 1
    assert len(costs["sha256"]) == 64
    # a subset run without the scoring notebook does not read the ABM list
    p = plan_run(project, notebooks=["ok"], notebook_dir=root / "nbs")
    assert "abm_accounts" not in {i["table"] for i in p.inputs}


def test_sha256_file_reads_in_chunks(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # more than one 1 MiB chunk
    (tmp_path / "f.bin").write_bytes(data)
    assert plan.sha256_file(tmp_path / "f.bin") == hashlib.sha256(data).hexdigest()
