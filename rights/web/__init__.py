"""The web UI for label staff, artists, platforms and auditors: plain Django views over rights.actions.

Views only read the request, call the same plain functions as the API and the admin, and render;
every row they show comes from a scope in `rights.roles`.
"""
