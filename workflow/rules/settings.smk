# Setting stamps (rdbench.results.setting_stamp): results/settings/<name>-<digest>.json, listed as
# inputs by the rules a setting affects. Parsing writes nothing, a dry run included: the stamp of a
# changed setting is written by the rule below, so the jobs that list it rerun. Needs RESULTS.
from pathlib import Path

from rdbench.results import STAMP_DIGEST, setting_stamp, write_setting

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
    run:
        write_setting(output[0], params.value)
