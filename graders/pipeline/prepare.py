"""Prepare what workers need to grade an assignment: its gradebook, source and release notebooks.

Everything is made by nbgrader's own ``generate_assignment`` (through its Python API, in
this process). One cost is avoided: a brand-new nbgrader gradebook runs the ``alembic``
program to stamp its schema version, a new Python process that imports nbgrader (about 5 s
on the 2-core reference machine). Here the empty gradebook is made once per run, the way
nbgrader's ``Gradebook`` makes one but with the schema version read in this process
(0.3 s), and copied wherever a new gradebook is needed.
"""
from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

from .model import PreparedAssignment

ROOT = Path(__file__).resolve().parents[2]


def empty_gradebook(course_id: str) -> bytes:
    """The bytes of a new, empty nbgrader sqlite gradebook (schema, alembic stamp and course row).

    What ``nbgrader.api.Gradebook`` does for a new database, except that the alembic head
    comes from nbgrader's migration scripts read in this process instead of from the
    ``alembic heads`` program (``tests/pipeline/test_pipeline_cli.py`` checks the two agree).
    """
    import nbgrader
    from alembic.script import ScriptDirectory
    from nbgrader.api import Base, Gradebook
    from sqlalchemy import create_engine, text

    head = ScriptDirectory(str(Path(nbgrader.__file__).parent / "alembic")).get_current_head()
    with tempfile.TemporaryDirectory(prefix="graders-empty-") as tmp:
        db = Path(tmp) / "gradebook.db"
        engine = create_engine(f"sqlite:///{db}", future=True)
        Base.metadata.create_all(bind=engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL);"))
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head);"), {"head": head})
        engine.dispose()
        with Gradebook(f"sqlite:///{db}", course_id=course_id):  # adds the course row
            pass
        return db.read_bytes()


def _generate(assignment: str, source_root: Path, config, db_url: str, workdir: Path) -> Path:
    """``generate_assignment`` from ``source_root`` into ``workdir/release`` and the gradebook ``db_url``."""
    from graders.course_config import nbgrader_api, private_course

    (workdir / "source").symlink_to(source_root.resolve(), target_is_directory=True)
    api = nbgrader_api(private_course(config, workdir, db_url))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy and nbformat chatter
        outcome = api.generate_assignment(assignment, force=True, create=True)
    if not outcome.get("success"):
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n"
                           f"{outcome.get('log') or ''}{outcome.get('error') or ''}")
    return workdir / "release" / assignment


def prepare_assignments(assignments: list[str], source_root: Path = ROOT / "solutions",
                    course_id: str = "regularization", master_db_url: str | None = None,
                    config_file: Path | None = None) -> dict[str, PreparedAssignment]:
    """Capture what workers need to grade each assignment, made by the real ``generate_assignment``
    with the course's ``nbgrader_config.py`` (or ``config_file``).

    With ``master_db_url`` each assignment (its notebooks and graded cells) is also
    registered in the course gradebook, where the results will be recorded.
    """
    from graders.course_config import CONFIG_FILE, load

    from .verdicts import expected_checks

    config = load(config_file or CONFIG_FILE, course_id=course_id)
    sources = {aid: sorted((source_root / aid).glob("*.ipynb")) for aid in assignments}
    for assignment, notebooks in sources.items():
        if not notebooks:
            raise ValueError(f"Expected notebooks in {source_root / assignment}. "
                             "Received: an empty or missing folder.")
    empty = empty_gradebook(course_id)
    if master_db_url and master_db_url.startswith("sqlite:///"):
        master = Path(master_db_url[len("sqlite:///"):])
        if not master.exists():  # start it from the empty gradebook: no second alembic run
            master.parent.mkdir(parents=True, exist_ok=True)
            master.write_bytes(empty)
    prepared_by_id = {}
    with tempfile.TemporaryDirectory(prefix="graders-course-") as tmp:
        for assignment in assignments:
            work = Path(tmp) / assignment
            (work / "template").mkdir(parents=True)
            db = work / "template" / "gradebook.db"
            db.write_bytes(empty)
            release_dir = _generate(assignment, source_root, config, f"sqlite:///{db}", work / "template")
            if master_db_url:
                (work / "master").mkdir()
                _generate(assignment, source_root, config, master_db_url, work / "master")
            source = {p.stem: p.read_bytes() for p in sources[assignment]}
            files = {p.relative_to(release_dir).as_posix(): p.read_bytes()
                     for p in sorted(release_dir.rglob("*")) if p.is_file() and p.suffix != ".ipynb"}
            prepared_by_id[assignment] = PreparedAssignment(
                assignment=assignment, course_id=course_id, gradebook=db.read_bytes(), source=source,
                release={p.stem: p.read_bytes() for p in sorted(release_dir.glob("*.ipynb"))}, files=files,
                config=config,
                checks=expected_checks(source))
    return prepared_by_id

