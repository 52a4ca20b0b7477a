"""Accounts: the people who sign in, their roles and passwords, server-side sessions, sign-in
throttles and the optional second factor.
"""
