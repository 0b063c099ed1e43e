"""The rule catalogue (integrity MG0xx, topology MG1xx, schema MG2xx, database MG3xx).

``catalogue`` lists the rules (and is imported by the parser and the graph),
``run.evaluate`` applies them to a scenario.
"""
