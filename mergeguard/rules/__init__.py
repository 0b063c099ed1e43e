"""The rules (integrity MG0xx, topology MG1xx, schema MG2xx, database MG3xx).

One unit per rule, ``mgNNN_<name>.py``: its code's facts, What/Why/Fix,
examples and check (``rule.Rule``).  ``catalogue`` discovers the units,
``run.evaluate`` applies their checks to a scenario, ``docs`` renders them.
Logic several units share lives beside them: ``heads`` (MG1xx),
``schema_sides`` / ``schema_effects`` / ``schema_twins`` / ``schema_pairs``
(MG2xx), ``integrity`` (the reader's and the graph's MG001-MG007).
"""
