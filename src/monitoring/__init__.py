"""Monitoring: is the model still fit for the city it screens, and are the sources still the
sources it learnt from?

`reference` is what a model version is compared with (its latest training round's snapshot,
scored, stored with the version); `checks` builds the Evidently reports (data quality, drift of
the factors, the profile's families and the predictions, performance once a round's results
are in) and reads their tests back as named checks; `deliveries` compares each source's latest
delivery with its earlier ones; `verdict` turns the failed checks into one recommendation in
plain words.
"""
