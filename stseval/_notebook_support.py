"""Where the notebooks are and where they read and write: the kit's notebook-support helpers.

The notebooks are package data. The ``.ipynb`` files in the repository's
``notebooks/`` folder are the source (edited in JupyterLab, linted by ruff);
the wheel carries them as ``stseval/_notebooks`` (hatchling ``force-include``,
like the instruments) and :func:`notebooks_dir` finds them with
:mod:`importlib.resources`, so an installed kit runs ``stseval report``,
``stseval demo`` and ``stseval lab`` from any folder. In a checkout (editable
install) the package has no ``_notebooks`` folder and the same lookup falls
back to the ``notebooks/`` folder beside the package.

:func:`prepare_workspace` makes the git-ignored working copy that
``stseval lab`` / ``make lab`` open, so running a notebook never writes outputs
into the committed files.

Part of :mod:`stseval.report` (the notebooks use it through that namespace).
"""

from __future__ import annotations

import shutil
import tempfile
from importlib import resources
from pathlib import Path

import pandas as pd

from .errors import UsageError

__all__ = [
    "load_study",
    "notebooks_dir",
    "output_dir",
    "prepare_workspace",
    "read_estimates",
    "resolve_path",
]

#: Name of the notebooks folder inside the installed package.
PACKAGED_FOLDER = "_notebooks"


def notebooks_dir() -> Path:
    """The folder of the kit's notebooks.

    Installed from a wheel: ``stseval/_notebooks`` inside the package (found
    with :func:`importlib.resources.files`). In a checkout: the
    ``notebooks/`` folder beside the ``stseval`` package.

    Raises
    ------
    UsageError
        Neither folder exists (a broken installation).
    """
    package = resources.files("stseval")
    packaged = package / PACKAGED_FOLDER
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(str(package)).parent / "notebooks"
    if checkout.is_dir():
        return checkout
    raise UsageError(
        f"the kit's notebooks were found neither in {packaged} nor in {checkout}; "
        "reinstall stseval (pip install --force-reinstall stseval)"
    )


def prepare_workspace(folder="workspace", *, source=None) -> Path:
    """Copy the kit's notebooks into ``folder`` unless they are there already.

    A notebook already in ``folder`` is kept as it is (it may hold the user's
    edits and outputs); only missing ones are copied. Returns the folder.

    Parameters
    ----------
    folder : path
        The working copy (``workspace/``, git-ignored in the repository).
    source : path, optional
        Folder to copy from; default :func:`notebooks_dir`.
    """
    src = Path(source) if source is not None else notebooks_dir()
    dest = Path(folder).expanduser().resolve()
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} exists and is not a folder; give another workspace folder")
    dest.mkdir(parents=True, exist_ok=True)
    for nb in sorted(src.glob("*.ipynb")):
        if not (dest / nb.name).exists():
            shutil.copyfile(nb, dest / nb.name)
    return dest


def resolve_path(path, *, must_exist: bool = True) -> Path:
    """Find ``path`` as given, or relative to the current folder's parent.

    A notebook runs with its own folder as the working directory (papermill
    ``cwd``, nbval, JupyterLab in ``workspace/`` or ``notebooks/``) while its
    default parameters are written relative to the repository root
    (``data/synthetic/small``); looking in the parent of the current folder
    makes both work.

    Raises
    ------
    UsageError
        ``must_exist`` and the path is found in none of the places (they are listed).
    """
    if path is None or str(path).strip() == "":
        raise UsageError("a path is required, got an empty value")
    p = Path(str(path)).expanduser()
    candidates = [p] if p.is_absolute() else [Path.cwd() / p, Path.cwd().parent / p]
    for cand in candidates:
        if cand.exists():
            return cand.resolve()
    if must_exist:
        raise UsageError(
            f"{path} was not found; looked in " + ", ".join(str(c.parent) for c in candidates)
        )
    return candidates[0].resolve()


def output_dir(path=None) -> Path:
    """Create and return the folder results are written to (a new temporary one if empty)."""
    if path is None or str(path).strip() == "":
        return Path(tempfile.mkdtemp(prefix="stseval-"))
    out = Path(str(path)).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    return out


def load_study(study_dir, *, scored_path=None):
    """:meth:`stseval.Study.from_dir` on :func:`resolve_path` of ``study_dir`` (validated).

    Parameters
    ----------
    study_dir : path
        The study folder.
    scored_path : path, optional
        A Parquet file of ``study.scored()`` written by the report pipeline for
        this run (``<out>/scored.parquet``). Given (not empty), the study's
        scored table is taken from it instead of scoring again; it must have
        one row per response, in the order of ``responses.csv`` (``worker_id``
        and ``wave`` are checked row by row).

    The study last loaded is kept while none of its files (nor ``scored_path``)
    changes: a warm kernel of ``stseval report`` runs notebook after notebook of one
    study and reads and validates it once. A Study cannot change, so sharing it is safe.

    Raises
    ------
    UsageError
        ``scored_path`` is not a file, or does not belong to this study.
    """
    from .study import Study

    folder = resolve_path(study_dir)
    scored = (
        resolve_path(scored_path) if scored_path is not None and str(scored_path).strip() else None
    )
    key = (_fingerprint(folder), None if scored is None else _fingerprint(scored))
    hit = _LOADED.get(key)
    if hit is not None:
        return hit
    study = Study.from_dir(folder)
    if scored is not None:
        _prime_scored(study, scored)
    _LOADED.clear()  # one study at a time: a kernel of the report runs one study's notebooks
    _LOADED[key] = study
    return study


#: The last study loaded, by the fingerprint of its files: a warm kernel runs notebook after
#: notebook of one study, and a Study cannot change, so it is read and validated once.
_LOADED: dict = {}


def _fingerprint(path: Path) -> tuple:
    """Path, and name, size and modification time of every file in it (or of the file)."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    stats = []
    for f in files:
        st = f.stat()
        stats.append(
            (str(f.relative_to(path)) if path.is_dir() else f.name, st.st_size, st.st_mtime_ns)
        )
    return (str(path.resolve()), tuple(stats))


def _prime_scored(study, path: Path) -> None:
    """Put the scored table read from ``path`` into ``study``'s cache of :meth:`Study.scored`."""
    try:
        study.with_scored(pd.read_parquet(path))
    except UsageError:
        raise UsageError(
            f"{path} is not the scored table of the study in {study.source}: its rows do "
            "not match responses.csv (worker_id, wave); delete it or leave scored_path empty"
        ) from None


def read_estimates(path) -> pd.DataFrame:
    """Read an estimates CSV written by the kit, with the column types restored.

    Text columns (``note``, ``method``, ``es_type``, ``wave``, ``cohort``, ``linkage``,
    ``verdict``) come back as strings with
    empty cells as ``""``; counts (``n_workers``, ``n_orgs``) as nullable
    integers. Nothing is recomputed: ``p_adjusted`` and ``p_fdr_all_areas``
    are the values in the file.

    Raises
    ------
    UsageError
        The file does not exist.
    """
    file = resolve_path(path)
    if not file.is_file():
        raise UsageError(f"{file} is not a file; expected an estimates CSV")
    text = ("note", "method", "es_type", "es_description", "wave", "cohort", "linkage", "verdict")
    est = pd.read_csv(file, keep_default_na=True, dtype={c: "str" for c in text})
    for col in text:
        if col in est:
            est[col] = est[col].fillna("").astype(str)
    for col in ("n_workers", "n_orgs"):
        if col in est:
            est[col] = pd.to_numeric(est[col], errors="coerce").astype("Int64")
    return est
