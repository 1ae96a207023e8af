"""People: users (the one `create_user`), org unit administration, API tokens, browser
sessions, single sign-on and a user's own account. Import the modules themselves
(`from app.services.people import users`); this package exports nothing of its own.
"""
