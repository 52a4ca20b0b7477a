"""Incidents (policy 7.2): the crisis watch over stored mentions, incidents and their timeline,
alerts and escalation.
"""
