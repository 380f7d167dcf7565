# Setting stamps (rdbench.results.setting_stamp): results/settings/<name>-<digest>.json, listed as
# inputs by the rules a setting affects. Parsing writes nothing, a dry run included: the stamp of a
# changed setting is written by the rule below, so the jobs that list it rerun. Needs RESULTS.
from pathlib import Path

from rdbench.results import STAMP_DIGEST, date_setting, setting_stamp

SETTING_VALUES = {}  # stamp file stem -> value


def stamp(name, value):
    """The stamp path of one setting's current value (made by rule `setting` when it is new)."""
    path = setting_stamp(RESULTS, name, value)
    SETTING_VALUES[Path(path).stem] = value
    return path


rule setting:
    output:
        str(Path(RESULTS) / "settings" / "{stamp}.json"),
    params:
        value=lambda wc: SETTING_VALUES[wc.stamp],
    wildcard_constraints:
        stamp=f"[^/]+-{STAMP_DIGEST}",
    localrule: True
    script:
        "../scripts/setting.py"


def setting_stamps():
    """Every stamp of this run, for rule `all`: a stamp is written only as a dependency of a target.
    Snakemake reruns a job whose output exists only for an input that is newer, never for one that is
    missing (a fresh clone without .snakemake records, say), so the new stamp of a changed setting
    must be a target's input: its `setting` job then runs, and every job that lists it reruns."""
    return [str(Path(RESULTS) / "settings" / f"{stem}.json") for stem in SETTING_VALUES]


def date_settings():
    """Snakemake touches each stamp when its `setting` job ends, after the stamp's "since": date the
    stamps back once the run ends, so that a second run finds every file as this one left it."""
    for stem in SETTING_VALUES:
        path = Path(RESULTS) / "settings" / f"{stem}.json"
        if path.exists():
            date_setting(path)


onsuccess:
    date_settings()


onerror:
    date_settings()
