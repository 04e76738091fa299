"""Cities described by configuration (`cities/<name>/city.yaml`), with no code per city.

`config` is the city file's schema and loading; `tables` reads a city's tables into
riskdraw's hand-off (entities, events by kind, quarantine); `check` reports on them before
any compute and writes the hand-off; `profile` is the generic point-in-time profile by record
kind (or a published feature table used as it is); `reproduction` is Chicago's published
evaluation reproduced on its configuration.
"""
