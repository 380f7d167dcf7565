"""Complexity of learned codecs (paper Tables II and III): kMAC per pixel and parameters per module.

- :mod:`rdbench.complexity.architectures`: the architectures, their paper modules and the papers' numbers;
- :mod:`rdbench.complexity.counting`: the counting convention (torchinfo, the paper's) and the cross-checks;
- :mod:`rdbench.complexity.tables`: Tables II / III as CSV, Markdown and LaTeX.

Measured coding time (Table II's ms/MP columns beside kMAC/px) is :mod:`rdbench.timing`.
Everything public is re-exported here (``from rdbench import complexity as cx; cx.count(...)``).
"""

from rdbench.complexity.architectures import (ARCHITECTURES, PAPER_SOURCE, PAPER_TABLE2_NOTE, PAPER_TABLE3,
                                              PAPER_TABLE3_LOCLIC, PAPER_TABLE3_LOCLIC_NOTE, PAPER_TABLE3_NOTE,
                                              Architecture, get_architecture)
from rdbench.complexity.counting import (COUNTER_NOTE, COUNTERS, DECODER_PARTS, DEFAULT_SIZE, ENCODER_PARTS,
                                         Complexity, ModuleCount, count)
from rdbench.complexity.tables import (Column, Table, table2, table3, to_csv, to_latex, to_markdown,
                                       write_table)

__all__ = ["ARCHITECTURES", "PAPER_SOURCE", "PAPER_TABLE2_NOTE", "PAPER_TABLE3", "PAPER_TABLE3_LOCLIC",
           "PAPER_TABLE3_LOCLIC_NOTE", "PAPER_TABLE3_NOTE", "Architecture", "get_architecture", "COUNTER_NOTE",
           "COUNTERS", "DECODER_PARTS", "DEFAULT_SIZE", "ENCODER_PARTS", "Complexity", "ModuleCount", "count",
           "Column", "Table", "table2", "table3", "to_csv", "to_latex", "to_markdown", "write_table"]
