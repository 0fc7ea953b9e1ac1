"""The testbed's people: Rucio accounts, the OIDC issuer's users and the hub's users are these."""

USERS = ("alice", "bob")
