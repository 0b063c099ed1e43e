"""The rule catalogue (integrity MG0xx, topology MG1xx, schema MG2xx, database MG3xx)."""
