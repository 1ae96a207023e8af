"""SCIM 2.0 provisioning (RFC 7643/7644) for Entra ID and Okta: the resource shapes
(resources.py), filters turned into SQL (filters.py) and the user operations (users.py),
which go through the app's own user services (people/users.py) so no rule is written twice.
The HTTP side is app/api/scim.py; docs/scim.md has the set-up and the attribute map."""
