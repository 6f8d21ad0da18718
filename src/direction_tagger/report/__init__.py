"""report: a run summary and the comparison of a sweep's runs."""
