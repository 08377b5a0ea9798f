"""demo — the realistic demo protocol behind `make run` (`manage.py seed_demo`).

Owns: seeding markets, prices, positions and snapshot history, the insurance fund and a first coverage run,
margin policies, oracle feeds and alert rules of the demo. Nothing imports it.
May import: every other app.
"""
