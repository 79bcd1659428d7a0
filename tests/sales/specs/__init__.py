"""The sales domain's rules, each a specification over plain values (no database, no
broker): money and exchange rates, pipelines, forecast fields, scoring, assignment and the
forecast arithmetic, on data sets computed by hand."""
