"""The committed demo cohort is what `python tests/cohort.py` builds from the current assignments."""
import filecmp

from cohort import COHORT, build


def test_demo_cohort_is_up_to_date(tmp_path):
    students = build(tmp_path / "cohort")
    assert len(students) >= 20
    cmp = filecmp.dircmp(COHORT, tmp_path / "cohort")
    stale = []

    def walk(d, prefix=""):
        stale.extend(prefix + n for n in d.left_only + d.right_only + d.diff_files)
        for name, sub in d.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(cmp)
    assert not stale, f"run `python tests/cohort.py`; stale: {stale[:10]}"
